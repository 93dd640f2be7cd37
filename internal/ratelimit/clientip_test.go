package ratelimit

import (
	"net/netip"
	"strings"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.10, fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, remote, xff string
		want              string
	}{
		{"no proxy", "203.0.113.5:41234", "", "203.0.113.5"},
		{"spoofed XFF from an untrusted peer", "203.0.113.5:41234", "198.51.100.1", "203.0.113.5"},
		{"spoofed chain from an untrusted peer", "203.0.113.5:1", "10.0.0.1, 192.0.2.10", "203.0.113.5"},
		{"one trusted proxy", "10.1.2.3:80", "198.51.100.7", "198.51.100.7"},
		{"client-supplied prefix ignored", "10.1.2.3:80", "1.1.1.1, 198.51.100.7", "198.51.100.7"},
		{"walk past trusted hops", "10.1.2.3:80", "6.6.6.6, 198.51.100.7, 192.0.2.10, 10.9.9.9", "198.51.100.7"},
		{"trusted peer without XFF", "10.1.2.3:80", "", "10.1.2.3"},
		{"all hops trusted", "10.1.2.3:80", "10.0.0.5, 192.0.2.10", "10.0.0.5"},
		{"garbage rightmost entry", "10.1.2.3:80", "198.51.100.7, not-an-ip", "10.1.2.3"},
		{"garbage behind the client", "10.1.2.3:80", "<script>, 198.51.100.7", "198.51.100.7"},
		{"garbage after a trusted hop", "10.1.2.3:80", "unknown, 10.0.0.5", "10.0.0.5"},
		{"empty list elements", "10.1.2.3:80", "198.51.100.7, , ", "198.51.100.7"},
		{"entry with port", "10.1.2.3:80", "198.51.100.7:5555", "198.51.100.7"},
		{"IPv6 peer", "[2001:db8::1]:443", "198.51.100.7", "2001:db8::1"},
		{"IPv6 trusted peer and client", "[fd00::2]:443", "2001:db8:0:0:0:0:0:42", "2001:db8::42"},
		{"bracketed IPv6 entry with port", "[fd00::2]:443", "[2001:db8::42]:1234", "2001:db8::42"},
		{"IPv6 zone dropped", "[fe80::1%eth0]:443", "", "fe80::1"},
		{"IPv4-mapped peer counts as IPv4", "[::ffff:10.1.2.3]:80", "198.51.100.7", "198.51.100.7"},
		{"IPv4-mapped client unmapped", "10.1.2.3:80", "::ffff:198.51.100.7", "198.51.100.7"},
		{"bare peer address", "203.0.113.5", "", "203.0.113.5"},
		{"unix socket peer", "@", "198.51.100.7", "@"},
		{"garbage peer", "nonsense", "198.51.100.7", "nonsense"},
	} {
		if got := ClientIP(tc.remote, tc.xff, trusted); got != tc.want {
			t.Errorf("%s: ClientIP(%q, %q) = %q, want %q", tc.name, tc.remote, tc.xff, got, tc.want)
		}
	}
}

func TestClientIPNoTrustedProxies(t *testing.T) {
	if got := ClientIP("10.1.2.3:80", "198.51.100.7", nil); got != "10.1.2.3" {
		t.Errorf("with no trusted proxies, XFF was believed: %q", got)
	}
}

func TestClientIPLongChainBounded(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	// A trusted proxy relaying a chain of thousands of trusted hops: the walk stops
	// after maxForwardedHops and reports the last hop it reached.
	hops := make([]string, 5000)
	for i := range hops {
		hops[i] = "10.0.0.1"
	}
	hops[len(hops)-maxForwardedHops-1] = "198.51.100.7" // beyond the bound, never reached
	if got := ClientIP("10.1.2.3:80", strings.Join(hops, ","), trusted); got != "10.0.0.1" {
		t.Errorf("ClientIP over a long chain = %q, want the last hop walked", got)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got, err := ParseTrustedProxies(" 10.0.0.0/8 ,192.0.2.7,::1, 172.16.5.9/12, ::ffff:192.168.0.0/112,")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.7/32", "::1/128", "172.16.0.0/12", "192.168.0.0/16"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("item %d = %s, want %s", i, got[i], want[i])
		}
	}
	if empty, err := ParseTrustedProxies(""); err != nil || len(empty) != 0 {
		t.Errorf("empty list = %v, %v; want none", empty, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.internal", "10.0.0.1, 300.1.1.1"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("ParseTrustedProxies(%q) succeeded", bad)
		} else if !strings.Contains(err.Error(), "item ") {
			t.Errorf("ParseTrustedProxies(%q) error %q does not name the item", bad, err)
		}
	}
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"198.51.100.7":         "198.51.100.7",
		"::ffff:198.51.100.7":  "198.51.100.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"fe80::1%eth0":         "fe80::/64",
		"@":                    "@",
		"2001:db8:1:3:3:4:5:6": "2001:db8:1:3::/64",
	} {
		if got := ClientKey(in); got != want {
			t.Errorf("ClientKey(%q) = %q, want %q", in, got, want)
		}
	}
}
