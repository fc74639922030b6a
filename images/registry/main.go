// Command registry is the in-cluster OCI registry of terraform-provider-airgap: the CNCF
// Distribution registry, used as a library, configured only by its flags and AIRGAP_REGISTRY_*
// variables (see README.md). It never reads a configuration file or REGISTRY_* variables.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sirupsen/logrus"
)

// version is linked in by the image build (-X main.version=...).
var version = "dev"

func main() {
	s, err := parseSettings(os.Args[1:], os.Getenv)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "registry:", err)
		os.Exit(2)
	}
	if s.printVersion {
		fmt.Println(version)
		return
	}
	if s.prepareRoot != "" {
		if err := prepareRoot(s.root, s.prepareRoot); err != nil {
			fmt.Fprintln(os.Stderr, "registry:", err)
			os.Exit(1)
		}
		return
	}
	setUpLogging()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, s); err != nil {
		logrus.Errorf("registry: %v", err)
		os.Exit(1)
	}
}

// setUpLogging sends Distribution's logrus output to stdout at info, as text with precise times.
func setUpLogging() {
	logrus.SetOutput(os.Stdout)
	logrus.SetLevel(logrus.InfoLevel)
	logrus.SetFormatter(&logrus.TextFormatter{TimestampFormat: "2006-01-02T15:04:05.000Z07:00", FullTimestamp: true})
}
