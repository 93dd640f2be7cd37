package ratelimit

import (
	"fmt"
	"net/netip"
	"strings"
)

// maxForwardedHops bounds the walk through X-Forwarded-For. Real chains have a handful
// of proxies; the bound keeps a long header from a misbehaving trusted proxy cheap.
const maxForwardedHops = 32

// ClientIP returns the address to hold a request's client to account for.
//
// remoteAddr is the socket peer ("ip:port", "[ipv6]:port" or a bare address) and xff
// the request's X-Forwarded-For value, with several header lines joined by commas in
// the order received. X-Forwarded-For is written by whoever sends the request, so it
// counts only when the peer is one of the trusted proxies. Even then only its right end
// is believed: each trusted proxy appends the address it saw, so the walk goes from
// the right past trusted hops and stops at the first address that is not a trusted
// proxy, which is the client. Entries further left were supplied by that client and
// are ignored. An entry that is not an address ends the walk at the last hop known
// good, which then stands for the client: refusing to guess keeps a broken or hostile
// header from choosing someone else's bucket.
//
// Addresses come back in canonical form without port or zone, and IPv4-mapped IPv6
// addresses as plain IPv4, so one client always maps to one key. A remoteAddr that is
// not an IP address at all (a Unix socket) is returned unchanged.
func ClientIP(remoteAddr, xff string, trusted []netip.Prefix) string {
	peer, ok := parseAddr(remoteAddr)
	if !ok {
		return remoteAddr
	}
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	client := peer
	rest := xff
	for hops := 0; rest != "" && hops < maxForwardedHops; hops++ {
		var entry string
		if i := strings.LastIndexByte(rest, ','); i >= 0 {
			rest, entry = rest[:i], rest[i+1:]
		} else {
			rest, entry = "", rest
		}
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue // empty list elements are allowed by RFC 9110's list syntax
		}
		addr, ok := parseAddr(entry)
		if !ok {
			break
		}
		client = addr
		if !isTrusted(addr, trusted) {
			break
		}
	}
	return client.String()
}

// parseAddr reads an address with or without a port, with or without IPv6 brackets,
// and normalises it.
func parseAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	var a netip.Addr
	if ap, err := netip.ParseAddrPort(s); err == nil {
		a = ap.Addr()
	} else {
		s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
		if a, err = netip.ParseAddr(s); err != nil {
			return netip.Addr{}, false
		}
	}
	return a.Unmap().WithZone(""), true
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParseTrustedProxies reads a comma-separated list of proxy networks ("10.0.0.0/8")
// and single addresses ("192.0.2.7", "::1"), as the gateway's configuration gives
// them. An empty list trusts no proxy, which is the safe default: X-Forwarded-For is
// then ignored.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		var p netip.Prefix
		if strings.Contains(item, "/") {
			var err error
			if p, err = netip.ParsePrefix(item); err != nil {
				return nil, fmt.Errorf("trusted proxies: item %d %q: not a network such as 10.0.0.0/8", i+1, item)
			}
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				// ::ffff:10.0.0.0/104 is 10.0.0.0/8 written for a dual-stack socket;
				// ClientIP compares unmapped addresses, so unmap the network too.
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			p = p.Masked()
		} else {
			a, ok := parseAddr(item)
			if !ok {
				return nil, fmt.Errorf("trusted proxies: item %d %q: not an IP address or network", i+1, item)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p)
	}
	return out, nil
}

// ClientKey turns a client address from ClientIP into the key its buckets are kept
// under. IPv4 addresses stand for themselves. An IPv6 address stands for its /64:
// a single subscriber usually holds a whole /64 and could otherwise take a fresh
// bucket for every one of its addresses. Anything else is returned unchanged.
func ClientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return p.String()
}
