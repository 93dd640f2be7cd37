package testenv

import (
	"net"
	"strconv"
	"testing"
)

func TestFreeAddrStaysOutOfTheEphemeralRange(t *testing.T) {
	lo, hi := quietPorts()
	seen := map[string]bool{}
	for range 200 {
		addr := FreeAddr(t)
		if seen[addr] {
			t.Fatalf("%s handed out twice", addr)
		}
		seen[addr] = true
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		port, _ := strconv.Atoi(p)
		if port < lo || port >= hi {
			t.Fatalf("port %d outside [%d, %d)", port, lo, hi)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("%s is not free: %v", addr, err)
		}
		ln.Close()
	}
	// An outgoing connection's local port comes from the ephemeral range, which
	// FreeAddr must never draw from.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().(*net.TCPAddr).Port
	if local >= lo && local < hi {
		t.Fatalf("an outgoing connection got port %d, inside FreeAddr's range [%d, %d)", local, lo, hi)
	}
}
