package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/config"
)

// refusingServer accepts connections on a drainListener and, for each, reads
// the first line's worth of bytes, refuses the rest of the request the way
// closeUnread does (the stopReading deadline), writes answer and closes. The
// channel receives once per connection, when Close has returned.
func refusingServer(t *testing.T, answer string) (addr string, closed <-chan struct{}) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newDrainListener(inner, 0, 0)
	t.Cleanup(func() { ln.Close() })
	done := make(chan struct{}, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				io.ReadFull(c, make([]byte, 16))
				c.SetReadDeadline(stopReading)
				if _, err := c.Read(make([]byte, 1)); err == nil {
					t.Error("a read after stopReading succeeded")
				}
				io.WriteString(c, answer)
				c.Close()
				done <- struct{}{}
			}()
		}
	}()
	return inner.Addr().String(), done
}

// TestLingeringClose: a client that sends a whole body the server refused
// before reading it, and reads the answer only afterwards (as most HTTP
// clients do), gets the answer and then the end of the stream, not a reset
// connection; closing with its data unread would have reset it.
func TestLingeringClose(t *testing.T) {
	addr, closed := refusingServer(t, "refused")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	body := bytes.Repeat([]byte("x"), lingerBytes*3/4) // more than loopback's socket buffers hold
	if _, err := conn.Write(body); err != nil {
		t.Fatalf("sending a refused body: %v (the server reset the connection)", err)
	}
	got, err := io.ReadAll(conn)
	if err != nil || string(got) != "refused" {
		t.Fatalf("after sending: read %q, %v; want the answer and the end of the stream", got, err)
	}
	<-closed
}

// TestLingerIsBounded: a client that keeps sending, or sends nothing and keeps
// the connection open, does not hold it: the server closes after lingerBytes
// or lingerTime, and the client sees the answer first.
func TestLingerIsBounded(t *testing.T) {
	addr, closed := refusingServer(t, "refused")
	t.Run("endless body", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(60 * time.Second))
		answer := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(conn)
			answer <- string(b)
		}()
		var sent int64
		chunk := make([]byte, 64<<10)
		for {
			n, err := conn.Write(chunk)
			sent += int64(n)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("the server still read after %d bytes", sent)
				}
				break
			}
		}
		<-closed
		if got := <-answer; got != "refused" {
			t.Errorf("the client read %q, want the answer", got)
		}
		// What was sent past lingerBytes sits in the sockets' buffers.
		if sent > 4*lingerBytes {
			t.Errorf("the client sent %d bytes before the connection ended (linger bound %d)", sent, lingerBytes)
		}
	})
	t.Run("silent client", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(60 * time.Second))
		if _, err := conn.Write(make([]byte, 16)); err != nil {
			t.Fatal(err)
		}
		// The client neither sends nor closes: the server closes by itself
		// once lingerTime has passed.
		<-closed
		got, err := io.ReadAll(conn)
		if err != nil || string(got) != "refused" {
			t.Errorf("read %q, %v; want the answer and the end of the stream", got, err)
		}
	})
}

// TestUnreadChunkedBody: a chunked body that the route never reads (a GET, a
// wrong method, an unknown route), in chunks larger than the server's read
// buffer, is read and dropped after the handler, so the client gets its answer
// and the connection serves the next request; Hertz's own skip failed on such
// chunks and reset the connection under the client. A chunked rest past the
// body limit is not read: the answer still arrives, and the connection closes.
func TestUnreadChunkedBody(t *testing.T) {
	base := startGateway(t, Services{})
	addr := strings.TrimPrefix(base, "http://")
	dial := func(t *testing.T) (net.Conn, *bufio.Reader) {
		t.Helper()
		var conn net.Conn
		var err error
		for deadline := time.Now().Add(10 * time.Second); ; {
			if conn, err = net.Dial("tcp", addr); err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond) // polling a server being started
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		return conn, bufio.NewReader(conn)
	}
	// send writes a request with a chunked body of the given chunks, the
	// headers first and each chunk apart, as a streaming client does.
	send := func(t *testing.T, conn net.Conn, method, target string, chunks ...int) {
		t.Helper()
		if _, err := fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n", method, target); err != nil {
			t.Fatal(err)
		}
		for _, n := range chunks {
			if _, err := fmt.Fprintf(conn, "%x\r\n%s\r\n", n, bytes.Repeat([]byte("x"), n)); err != nil {
				t.Fatalf("%s %s: sending a %d-byte chunk: %v (the server reset the connection)", method, target, n, err)
			}
		}
		if _, err := io.WriteString(conn, "0\r\n\r\n"); err != nil {
			t.Fatalf("%s %s: ending the body: %v", method, target, err)
		}
	}
	answer := func(t *testing.T, r *bufio.Reader, method string) *http.Response {
		t.Helper()
		resp, err := http.ReadResponse(r, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("reading the answer: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for _, tc := range []struct {
		method, target string
		status         int
	}{
		{"GET", "/healthz", http.StatusOK},
		{"GET", "/no/such/route", http.StatusNotFound},
		{"HEAD", "/douyin/comment/action/", http.StatusMethodNotAllowed},
		{"PUT", "/douyin/feed/", http.StatusMethodNotAllowed},
	} {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			conn, r := dial(t)
			send(t, conn, tc.method, tc.target, 5135, 64<<10, 10)
			if resp := answer(t, r, tc.method); resp.StatusCode != tc.status || resp.Close {
				t.Fatalf("HTTP %d (closing: %v), want %d on a connection kept open", resp.StatusCode, resp.Close, tc.status)
			}
			send(t, conn, "GET", "/healthz")
			if resp := answer(t, r, "GET"); resp.StatusCode != http.StatusOK {
				t.Fatalf("the next request on the connection: HTTP %d", resp.StatusCode)
			}
		})
	}
	t.Run("past the body limit", func(t *testing.T) {
		conn, r := dial(t)
		limit := int(config.Default().HTTP.MaxBodyBytes)
		send(t, conn, "GET", "/no/such/route", limit, limit/2)
		if resp := answer(t, r, "GET"); resp.StatusCode != http.StatusNotFound || !resp.Close {
			t.Fatalf("HTTP %d (closing: %v), want 404 and the connection closing", resp.StatusCode, resp.Close)
		}
		if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
			t.Fatalf("after the answer: %q, %v; want the end of the stream", rest, err)
		}
	})
}
