package objstore

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// idleProxy forwards TCP connections to a target and treats a connection idle for longer than
// idle, after a response, as closed by the server: the next request on it is answered with a
// reset. This is the race behind "broken pipe" on RustFS-class stores: the server drops a kept-
// alive connection just as the client sends the next part into it. Closing eagerly instead would
// let net/http see the FIN first and discard the connection, hiding the race this proxy is for.
// With idle 0 it is a plain forwarder.
type idleProxy struct {
	Addr   string
	target string
	idle   time.Duration
	Resets atomic.Int64 // requests refused on connections that had gone idle
	Conns  atomic.Int64
}

func startProxy(t testing.TB, target string, idle time.Duration) *idleProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &idleProxy{Addr: l.Addr().String(), target: target, idle: idle}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.Conns.Add(1)
			wg.Add(1)
			go func() { defer wg.Done(); p.serve(c.(*net.TCPConn)) }()
		}
	}()
	return p
}

func (p *idleProxy) serve(client *net.TCPConn) {
	defer client.Close()
	conn, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	server := conn.(*net.TCPConn)
	defer server.Close()
	var mu sync.Mutex
	var answeredAt time.Time // when the server last sent bytes; zero while a request is open
	done := make(chan struct{})
	go func() { // server to client
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 {
				mu.Lock()
				answeredAt = time.Now()
				mu.Unlock()
				if _, err := client.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				client.CloseWrite()
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := client.Read(buf)
		if n > 0 {
			mu.Lock()
			dead := p.idle > 0 && !answeredAt.IsZero() && time.Since(answeredAt) > p.idle
			answeredAt = time.Time{}
			mu.Unlock()
			if dead {
				p.Resets.Add(1)
				client.SetLinger(0) // RST, as a server answers data on a socket it has closed
				return
			}
			if _, err := server.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			server.CloseWrite()
			<-done // let the response drain
			return
		}
	}
}
