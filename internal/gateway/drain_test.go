package gateway

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"
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
