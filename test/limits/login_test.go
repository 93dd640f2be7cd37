package limits

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// argon2Bound bounds how far the server's resident memory may rise above its
// idle size under a login flood: the password pool holds at most
// argon2InFlight hashes of argon2MiB each, and the collector may let finished
// hashes' memory wait up to about three times as much again before it reuses
// it (README: about 2.5 times in all); 32 MiB covers the rest of a flood
// (connections, requests). Without the pool's bound the floods below would
// hash 20 (one client's burst) or 40 (many clients) passwords at once: 320 MiB
// or 640 MiB.
const argon2Bound = 4*argon2InFlight*argon2MiB<<20 + 32<<20

// Codes of the answers a login flood may get.
const (
	codeRateLimited    = 6
	codeUnavailable    = 8 // the password pool's queue gave up: "server busy"
	codeBadCredentials = 10001
)

// loginAs sends one login from client c, with extra headers.
func loginAs(ctx context.Context, c *http.Client, name, pw string, header http.Header) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		srv.base+"/douyin/user/login/?"+url.Values{"username": {name}, "password": {pw}}.Encode(), nil)
	if err != nil {
		return reply{}, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return do(c, req)
}

// flood sends n logins at once for accounts that do not exist (each still
// costs the server a hash, as a real check would) and counts the answers by
// status_code. xff, when not nil, gives request i its X-Forwarded-For.
func flood(t *testing.T, c *http.Client, n int, xff func(i int) string) map[int64]int {
	t.Helper()
	var (
		mu     sync.Mutex
		counts = map[int64]int{}
		wg     sync.WaitGroup
	)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			h := http.Header{}
			if xff != nil {
				h.Set("X-Forwarded-For", xff(i))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			r, err := loginAs(ctx, c, uniqueName("nobody"), "guess-password", h)
			if err != nil {
				t.Errorf("flood login: %v", err)
				return
			}
			if r.code() == codeRateLimited && !strings.Contains(r.msg(), "too many requests") {
				t.Errorf("a rate-limited login says %q, not that the client is sending too many requests", r.msg())
			}
			mu.Lock()
			counts[r.code()]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return counts
}

// TestLoginFloodOneClient sends hundreds of concurrent logins from one client.
// Past its burst the client is rate-limited with a clear error; the logins that
// pass are hashed a bounded number at a time, so the server's memory stays
// within the pool's bound; and another client logs in meanwhile.
func TestLoginFloodOneClient(t *testing.T) {
	const n = 200
	other := newUser(t, "127.0.0.24")
	attacker := clientAt("127.0.0.14")
	rss0, _ := srv.memory(t)
	srv.resetPeak(t)
	var counts map[int64]int
	var wg sync.WaitGroup
	began := time.Now()
	wg.Go(func() { counts = flood(t, attacker, n, nil) })
	// Another client's login and reads, while the flood's hashes are queued.
	other.login(t)
	other.served(t)
	wg.Wait()
	took := time.Since(began)
	srv.alive(t)
	_, peak := srv.memory(t)

	t.Logf("login flood from one client: %d logins in %v answered %v (6 rate-limited, 10001 bad credentials); another user: %s; server memory idle %s, before %s, peak %s (bound idle + %s)",
		n, took.Round(time.Millisecond), counts, other.latencies(), mib(srv.idleRSS), mib(rss0), mib(peak), mib(argon2Bound))
	for code, k := range counts {
		if code != codeRateLimited && code != codeBadCredentials {
			t.Errorf("%d flood logins answered status_code %d", k, code)
		}
	}
	// The burst is 20 and the rate 5/s: whatever the flood's duration on a
	// loaded machine, most of it must have been limited.
	if passed := counts[codeBadCredentials]; passed > 20+int(5*took.Seconds())+1 || counts[codeRateLimited] < n/2 {
		t.Errorf("%d of %d logins from one client were checked (rule %s)", passed, n, loginRule)
	}
	if peak-srv.idleRSS > argon2Bound {
		t.Errorf("server memory peaked at %s under the flood, %s above idle: beyond the password pool's bound %s", mib(peak), mib(peak-srv.idleRSS), mib(argon2Bound))
	}
}

// TestLoginFloodManyClients sends 40 concurrent logins through the trusted
// proxy, each from a different client address (X-Forwarded-For): the
// per-client limit lets every one through, so all reach the password pool. Its
// bound keeps the server's memory within argon2Bound; every login gets a clear
// answer; other users' reads are served meanwhile.
func TestLoginFloodManyClients(t *testing.T) {
	const n = 40
	other := newUser(t, "127.0.0.26")
	proxy := clientAt(trustedProxy)
	rss0, _ := srv.memory(t)
	srv.resetPeak(t)
	var counts map[int64]int
	began := time.Now()
	whileServed(t, other, func() {
		counts = flood(t, proxy, n, func(i int) string { return fmt.Sprintf("198.18.%d.%d", i/250, 1+i%250) })
	})
	took := time.Since(began)
	srv.alive(t)
	_, peak := srv.memory(t)
	t.Logf("login flood from %d clients behind the proxy: answered in %v: %v; another user's reads: %s; server memory idle %s, before %s, peak %s (bound idle + %s)",
		n, took.Round(time.Millisecond), counts, other.latencies(), mib(srv.idleRSS), mib(rss0), mib(peak), mib(argon2Bound))
	for code, k := range counts {
		if code != codeBadCredentials && code != codeUnavailable {
			t.Errorf("%d logins from distinct clients answered status_code %d", k, code)
		}
	}
	if counts[codeBadCredentials] == 0 {
		t.Error("no login from distinct clients was checked: were they keyed to the proxy?")
	}
	if peak-srv.idleRSS > argon2Bound {
		t.Errorf("server memory peaked at %s under the flood, %s above idle: beyond the password pool's bound %s", mib(peak), mib(peak-srv.idleRSS), mib(argon2Bound))
	}
}

// TestForwardedFor checks whose address a request is limited under: the
// socket peer, unless the peer is a trusted proxy, whose X-Forwarded-For then
// names the client (its rightmost untrusted entry). The logins here carry no
// password, so they are refused before any hashing and cost nothing but the
// limit's tokens.
func TestForwardedFor(t *testing.T) {
	// burst drains a client's login bucket (20) and reports whether the client
	// was limited by the end.
	burst := func(c *http.Client, xff func(i int) string) (limited int) {
		t.Helper()
		for i := range 40 {
			h := http.Header{}
			if xff != nil {
				h.Set("X-Forwarded-For", xff(i))
			}
			ctx, cancel := context.WithTimeout(context.Background(), otherDeadline)
			r, err := loginAs(ctx, c, uniqueName("x"), "", h)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			if r.code() == codeRateLimited {
				limited++
			}
		}
		return limited
	}
	first := func(c *http.Client, xff string) int64 {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), otherDeadline)
		defer cancel()
		r, err := loginAs(ctx, c, uniqueName("x"), "", http.Header{"X-Forwarded-For": {xff}})
		if err != nil {
			t.Fatal(err)
		}
		return r.code()
	}

	// A client that is not a proxy cannot pick a fresh bucket per request by
	// forging X-Forwarded-For.
	direct := clientAt("127.0.0.16")
	if limited := burst(direct, func(i int) string { return fmt.Sprintf("203.0.113.%d", i+1) }); limited == 0 {
		t.Error("a direct client forging a new X-Forwarded-For each time was never limited")
	}

	// Behind the trusted proxy, each forwarded client has its own bucket; what
	// a client prepends itself is ignored.
	proxy := clientAt(trustedProxy)
	if limited := burst(proxy, func(i int) string { return fmt.Sprintf("10.9.%d.1, 192.0.2.77", i) }); limited == 0 {
		t.Error("one client behind the proxy, prepending forged hops, was never limited")
	}
	if code := first(proxy, "192.0.2.78"); code == codeRateLimited {
		t.Error("another client behind the proxy was limited with the first one")
	}
	if code := first(clientAt("127.0.0.17"), "192.0.2.79"); code == codeRateLimited {
		t.Error("a direct client was limited under the proxy's clients' buckets")
	}
}

// TestAccountLimit tries one account's password from many client addresses:
// past the account's burst the logins are limited whoever sends them, while
// another account is not.
func TestAccountLimit(t *testing.T) {
	victim := newUser(t, "127.0.0.18")
	proxy := clientAt(trustedProxy)
	limited := 0
	for i := range 12 {
		ctx, cancel := context.WithTimeout(context.Background(), otherDeadline)
		r, err := loginAs(ctx, proxy, victim.Name, "", http.Header{"X-Forwarded-For": {fmt.Sprintf("198.19.0.%d", i+1)}})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if r.code() == codeRateLimited {
			limited++
		}
	}
	if limited == 0 {
		t.Errorf("12 logins to one account from 12 clients were never limited (rule %s)", accountRule)
	}
	someone := newUser(t, "127.0.0.19")
	someone.login(t)
	t.Logf("account limit: %d of 12 guesses at one account from distinct clients limited; another account's login: %s", limited, someone.latencies())
}
