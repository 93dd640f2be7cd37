package ratelimit

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzClientIP feeds the client-address reading a fuzzed peer address, a
// fuzzed X-Forwarded-For header and a fuzzed list of trusted proxies. The
// header must count only behind a trusted peer, and then only as far as the
// reference walk below (independent of ClientIP's) believes it; the answer is
// a canonical address (or the peer as given when that is no address), and
// its bucket key is the address itself or, for IPv6, the /64 holding it.
func FuzzClientIP(f *testing.F) {
	for _, s := range [][3]string{
		{"203.0.113.5:41234", "198.51.100.1", "10.0.0.0/8"},
		{"10.1.2.3:80", "6.6.6.6, 198.51.100.7, 192.0.2.10, 10.9.9.9", "10.0.0.0/8, 192.0.2.10"},
		{"10.1.2.3:80", "198.51.100.7, not-an-ip", "10.0.0.0/8"},
		{"[fd00::2]:443", "[2001:db8::42]:1234, , ", "fd00::/8"},
		{"[::ffff:10.1.2.3]:80", "::ffff:198.51.100.7", "::ffff:10.0.0.0/104"},
		{"[fe80::1%eth0]:443", "fe80::2%lo", "fe80::/10"},
		{"127.0.0.1:1", strings.Repeat("127.0.0.1,", 40) + "1.2.3.4", "127.0.0.1"},
		{"@", "198.51.100.7", "0.0.0.0/0"},
		{"1.2.3.4", "5.6.7.8", "0.0.0.0/0, ::/0"},
		{"1.2.3.4:5", "x", "1.2.3.4/33, nonsense"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, remote, xff, proxies string) {
		trusted, err := ParseTrustedProxies(proxies)
		if err != nil {
			if trusted != nil || err.Error() == "" {
				t.Fatalf("ParseTrustedProxies(%q) = %v, %v", proxies, trusted, err)
			}
			trusted = nil
		}
		for _, p := range trusted {
			if !p.IsValid() || p != p.Masked() || p.Addr().Zone() != "" || (p.Addr().Is4In6() && p.Bits() >= 96) {
				t.Fatalf("ParseTrustedProxies(%q) holds %v", proxies, p)
			}
		}

		got := ClientIP(remote, xff, trusted)
		if want := referenceClientIP(remote, xff, trusted); got != want {
			t.Fatalf("ClientIP(%q, %q, %v) = %q, want %q", remote, xff, trusted, got, want)
		}
		if _, ok := address(remote); !ok {
			return
		}
		a, err := netip.ParseAddr(got)
		if err != nil || a.String() != got || a.Zone() != "" || a.Is4In6() {
			t.Fatalf("ClientIP(%q, %q) = %q, not a canonical address", remote, xff, got)
		}
		key := ClientKey(got)
		if a.Is4() {
			if key != got {
				t.Fatalf("ClientKey(%q) = %q", got, key)
			}
		} else if p, err := netip.ParsePrefix(key); err != nil || p.Bits() != 64 || !p.Contains(a) {
			t.Fatalf("ClientKey(%q) = %q, not the /64 holding it", got, key)
		}
	})
}

// referenceClientIP is ClientIP as its comment states it, written another
// way: the list split whole, walked from its right end over at most
// maxForwardedHops elements (empty ones included) while each is an address
// and the one before it was trusted.
func referenceClientIP(remote, xff string, trusted []netip.Prefix) string {
	peer, ok := address(remote)
	if !ok {
		return remote
	}
	trustedAddr := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	client := peer
	var entries []string
	if xff != "" {
		entries = strings.Split(xff, ",")
	}
	for i, hops := len(entries)-1, 0; i >= 0 && hops < maxForwardedHops && trustedAddr(client); i, hops = i-1, hops+1 {
		e := strings.TrimSpace(entries[i])
		if e == "" {
			continue
		}
		a, ok := address(e)
		if !ok {
			break
		}
		client = a
	}
	return client.String()
}

// address reads "ip", "ip:port", "[ip]:port" or "[ip]" and normalises it.
// Like ClientIP it forgives a lone bracket.
func address(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}
