package limits

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSlowloris opens many connections that send a request a byte at a time and
// never finish it: half never end their headers, half declare a small body and
// send it a byte at a time (a slow POST). Each connection is reopened when the
// server closes it, as a slowloris does. The read timeout must close every one
// of them, with nothing or a 4xx/JSON answer, never a 5xx, while another user
// is served.
func TestSlowloris(t *testing.T) {
	const (
		attacker = "127.0.0.11"
		conns    = 200
		drip     = 100 * time.Millisecond // between the bytes an attacker sends
		// stuck is how long a connection may stay open before the test calls
		// it unbounded: many times the read timeout.
		stuck = 10 * readTimeout
	)
	other := newUser(t, "127.0.0.21")

	var (
		mu        sync.Mutex
		closedIn  []time.Duration // time from connect to the server's close
		answers   = map[string]int{}
		openFails int
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// slow keeps one attacker connection open until the server closes it.
	slow := func(i int) {
		conn, err := dialFrom(attacker)
		if err != nil {
			mu.Lock()
			openFails++
			mu.Unlock()
			return
		}
		defer conn.Close()
		began := time.Now()
		head := "GET /douyin/feed/ HTTP/1.1\r\nHost: limits\r\nX-Slow: "
		if i%2 == 1 {
			head = "POST /douyin/comment/action/?video_id=1&action_type=1 HTTP/1.1\r\nHost: limits\r\n" +
				"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ncomment_text="
		}
		// The server's answer, if any, and its closing of the connection.
		closed := make(chan string, 1)
		go func() {
			r := bufio.NewReader(conn)
			line, _ := r.ReadString('\n')
			io.Copy(io.Discard, r)
			closed <- strings.TrimSpace(line)
		}()
		if _, err := conn.Write([]byte(head)); err != nil {
			return
		}
		tick := time.NewTicker(drip)
		defer tick.Stop()
		for {
			select {
			case line := <-closed:
				mu.Lock()
				closedIn = append(closedIn, time.Since(began))
				answers[statusOf(line)]++
				mu.Unlock()
				return
			case <-stop:
				return
			case <-tick.C:
				if time.Since(began) > stuck {
					t.Errorf("a slow connection stayed open for %v", time.Since(began).Round(time.Millisecond))
					return
				}
				// A write error means the server closed; the reader reports it.
				conn.Write([]byte("a"))
			}
		}
	}
	rss0, _ := srv.memory(t)
	srv.resetPeak(t)
	whileServed(t, other, func() {
		for i := range conns {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					slow(i)
				}
			})
		}
		// The attack goes on until every attacker connection was closed by
		// the server at least once (twice the attack's size in all).
		deadline := time.Now().Add(60 * time.Second)
		for {
			mu.Lock()
			n := len(closedIn)
			mu.Unlock()
			if n >= 2*conns || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond) // polling the attack's progress
		}
		close(stop)
	})
	wg.Wait()
	srv.alive(t)
	_, peak := srv.memory(t)

	mu.Lock()
	defer mu.Unlock()
	if len(closedIn) < 2*conns {
		t.Fatalf("the server closed only %d slow connections in 60s (%d attackers)", len(closedIn), conns)
	}
	for status, n := range answers {
		if strings.HasPrefix(status, "5") {
			t.Errorf("%d slow connections got HTTP %s", n, status)
		}
	}
	t.Logf("slowloris: %d attacker connections at a time, %d closed by the server (%d failed to open); time to close: %s; answers: %v",
		conns, len(closedIn), openFails, summary(closedIn), answers)
	t.Logf("slowloris: another user, meanwhile: %s; server memory %s, peak +%s", other.latencies(), mib(rss0), mib(peak-rss0))
}

// statusOf names what a server sent before closing: its HTTP status, or none.
func statusOf(line string) string {
	f := strings.Fields(line)
	if len(f) >= 2 && strings.HasPrefix(f[0], "HTTP/") {
		return f[1]
	}
	if line == "" {
		return "closed without an answer"
	}
	return "garbage: " + line
}

// TestHeaderLimit sends headers past the server's 16 KiB bound: a 431 answer
// and a closed connection, while another user is served.
func TestHeaderLimit(t *testing.T) {
	other := newUser(t, "127.0.0.25")
	for _, tc := range []struct {
		name    string
		headers string
	}{
		{"one 20 KiB header", "X-Big: " + strings.Repeat("a", 20<<10) + "\r\n"},
		{"2000 small headers", strings.Repeat("X-Many: abcdefgh\r\n", 2000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			whileServed(t, other, func() {
				conn, err := dialFrom("127.0.0.15")
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(otherDeadline))
				// Written concurrently: the server may answer and close before
				// it has read all of it.
				go conn.Write([]byte("GET /douyin/feed/ HTTP/1.1\r\nHost: limits\r\n" + tc.headers + "\r\n"))
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					t.Fatalf("no answer to oversized headers: %v", err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
					t.Errorf("oversized headers: HTTP %d, want 431", resp.StatusCode)
				}
				if _, err := conn.Read(make([]byte, 1)); err == nil {
					t.Error("the connection stayed open after oversized headers")
				} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Error("the connection stayed open after oversized headers")
				}
			})
		})
	}
	t.Logf("headers: another user, meanwhile: %s", other.latencies())
}

// TestSlowReader pipelines many requests for a sizeable answer (/metrics,
// about 16 KiB) on one connection and never reads the answers. Once the
// socket buffers are full the server's write blocks; the write timeout must
// end the connection (its socket leaves ESTABLISHED) instead of leaving a
// goroutine and a connection held for as long as the client likes. Another
// user is served meanwhile.
func TestSlowReader(t *testing.T) {
	const (
		attacker = "127.0.0.27"
		requests = 1000 // about 16 MiB of answers, beyond any socket buffers
	)
	other := newUser(t, "127.0.0.28")
	conn, err := dialFrom(attacker)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	var closedIn time.Duration
	whileServed(t, other, func() {
		began := time.Now()
		go conn.Write([]byte(strings.Repeat("GET /metrics HTTP/1.1\r\nHost: limits\r\n\r\n", requests)))
		deadline := time.Now().Add(30 * writeTimeout)
		for serverSocketState(t, conn) == tcpEstablished {
			if time.Now().After(deadline) {
				t.Fatalf("the server still holds the connection %v after its answers stopped being read", time.Since(began).Round(time.Millisecond))
			}
			time.Sleep(50 * time.Millisecond) // polling the socket table
		}
		closedIn = time.Since(began)
	})
	// What the server did send is well-formed and not a 5xx; it is not all.
	conn.SetReadDeadline(time.Now().Add(otherDeadline))
	br := bufio.NewReader(conn)
	answered := 0
	for ; ; answered++ {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			break
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Errorf("answer %d: HTTP %d", answered, resp.StatusCode)
		}
		if err != nil {
			break
		}
	}
	if answered >= requests {
		t.Errorf("all %d pipelined answers arrived: the connection was never cut", requests)
	}
	t.Logf("slow reader: the server let go of the connection %v after the requests, having sent %d of %d answers; another user: %s",
		closedIn.Round(time.Millisecond), answered, requests, other.latencies())
}

// tcpEstablished is the ESTABLISHED state in /proc/net/tcp.
const tcpEstablished = "01"

// serverSocketState is the state, in /proc/net/tcp, of the server's end of
// conn.
func serverSocketState(t *testing.T, conn net.Conn) string {
	t.Helper()
	hexAddr := func(a net.Addr) string {
		ta := a.(*net.TCPAddr)
		ip := ta.IP.To4()
		return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], ta.Port)
	}
	local, remote := hexAddr(conn.RemoteAddr()), hexAddr(conn.LocalAddr()) // as the server sees them
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 3 && f[1] == local && f[2] == remote {
			return f[3]
		}
	}
	return "gone"
}
