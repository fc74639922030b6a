package tools

import (
	"net"
	"testing"
)

// FreePort returns a port on 127.0.0.1 that nothing listens on, for a test server to take.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
