package gateway

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// drainListener remembers the connections it accepted so that a graceful shutdown
// can end the idle keep-alive ones at once. Hertz waits for every open connection
// to close on its own, and a client that keeps one open (as the app does) would
// hold shutdown for the whole drain time. Setting a read deadline ends a connection
// that is waiting for its next request, while a request already being handled
// still writes its answer.
//
// It also applies the slow-client timeouts that Hertz's standard transport leaves
// out. Hertz sets the read deadline only from a connection's second request on,
// so the first request gets readTimeout here, from the moment the connection is
// accepted: a client sending its headers (or body) a byte at a time is cut off
// then. And Hertz never sets a write deadline on this transport, so every write
// gets writeTimeout: a client that stops reading its answer loses the connection
// instead of holding it forever. The write deadline is per write, not per
// answer, so a long video download that keeps moving is not cut off.
type drainListener struct {
	net.Listener
	readTimeout, writeTimeout time.Duration // 0: none

	mu    sync.Mutex
	conns map[*drainConn]struct{}
}

func newDrainListener(ln net.Listener, readTimeout, writeTimeout time.Duration) *drainListener {
	return &drainListener{Listener: ln, readTimeout: readTimeout, writeTimeout: writeTimeout, conns: map[*drainConn]struct{}{}}
}

func (l *drainListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	dc := &drainConn{Conn: c, l: l}
	if l.readTimeout > 0 {
		c.SetReadDeadline(time.Now().Add(l.readTimeout))
	}
	l.mu.Lock()
	l.conns[dc] = struct{}{}
	l.mu.Unlock()
	return dc, nil
}

// expireReads makes every open connection's next read fail now.
func (l *drainListener) expireReads() {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for c := range l.conns {
		c.SetReadDeadline(now)
	}
}

type drainConn struct {
	net.Conn
	l      *drainListener
	once   sync.Once
	linger atomic.Bool // close with a lingering close (see stopReading)
}

// Lingering close. A request refused before its body was read (an oversized
// one) ends its connection, but closing a socket with the client's data unread
// makes the kernel reset the connection, and a reset throws away whatever the
// client had received and not yet read: an ordinary client, which reads its
// answer only after sending its whole body, would see "connection reset"
// instead of the answer. So such a connection is closed in two steps: its
// sending half first (the client reads the answer, then end of stream), then,
// after reading and discarding what the client still sends for up to
// lingerTime or lingerBytes, the whole of it. Both bounds keep a client that
// claims gigabytes from holding the connection or costing more than a
// request the server accepts.
const (
	lingerTime  = time.Second
	lingerBytes = 8 << 20
)

// stopReading is the read deadline that tells a drainConn that the request's
// body will not be read: reads fail at once, and the connection lingers when
// it closes. Hertz's connection type gives no way to reach the net.Conn under
// it, so the mark travels through SetReadDeadline; being in 1970, it can be
// no real deadline.
var stopReading = time.Unix(0, 1)

func (c *drainConn) SetReadDeadline(t time.Time) error {
	if t.Equal(stopReading) {
		c.linger.Store(true)
		t = time.Now()
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *drainConn) Write(p []byte) (int, error) {
	if t := c.l.writeTimeout; t > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(t))
	}
	return c.Conn.Write(p)
}

func (c *drainConn) Close() error {
	if c.linger.CompareAndSwap(true, false) {
		c.lingerUntilClosed()
	}
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// lingerUntilClosed closes the sending half and discards what the client still
// sends, within the linger bounds. A shutdown's expireReads ends it early.
func (c *drainConn) lingerUntilClosed() {
	half, ok := c.Conn.(interface{ CloseWrite() error })
	if !ok || half.CloseWrite() != nil {
		return
	}
	c.Conn.SetReadDeadline(time.Now().Add(lingerTime))
	io.CopyN(io.Discard, c.Conn, lingerBytes)
}
