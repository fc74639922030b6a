// Command toolbox is the one program in the test cluster's ordinary image (pre-loaded on the node
// with AIRGAP_CLUSTER_PRELOAD, and imported by the smoke test). Subcommands:
//
//	toolbox [sleep]              sleep until SIGINT or SIGTERM (the default)
//	toolbox dial HOST:PORT [T]   open one TCP connection with timeout T (default 5s); exit 0 if it
//	                             connected, 1 if not; the outcome also goes to /dev/termination-log
//	                             so that a test can read it from the pod's status
//	toolbox serve [ADDR]         accept TCP connections on ADDR (default :8080), answer each with
//	                             "toolbox HOSTNAME\n" and close it
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	cmd := "sleep"
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	switch cmd {
	case "sleep":
		sleep()
	case "serve":
		addr := ":8080"
		if len(os.Args) > 2 {
			addr = os.Args[2]
		}
		serve(addr)
	case "dial":
		if len(os.Args) < 3 {
			usage()
		}
		timeout := 5 * time.Second
		if len(os.Args) > 3 {
			d, err := time.ParseDuration(os.Args[3])
			if err != nil {
				usage()
			}
			timeout = d
		}
		os.Exit(dial(os.Args[2], timeout))
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: toolbox [sleep] | toolbox dial HOST:PORT [TIMEOUT] | toolbox serve [ADDR]")
	os.Exit(2)
}

func sleep() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
	<-c
}

func serve(addr string) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go func() { sleep(); os.Exit(0) }()
	host, _ := os.Hostname()
	for {
		conn, err := l.Accept()
		if err != nil {
			continue
		}
		fmt.Fprintf(conn, "toolbox %s\n", host)
		conn.Close()
	}
}

func dial(addr string, timeout time.Duration) int {
	start := time.Now()
	conn, err := net.DialTimeout("tcp", addr, timeout)
	took := time.Since(start).Round(time.Millisecond)
	var msg string
	code := 0
	if err != nil {
		msg = fmt.Sprintf("dial %s failed after %s: %v", addr, took, err)
		code = 1
	} else {
		conn.Close()
		msg = fmt.Sprintf("dial %s connected after %s", addr, took)
	}
	fmt.Println(msg)
	// Best effort: absent outside Kubernetes.
	_ = os.WriteFile("/dev/termination-log", []byte(msg), 0o644)
	return code
}
