package gateway

import (
	"net"
	"sync"
	"time"
)

// drainListener remembers the connections it accepted so that a graceful shutdown
// can end the idle keep-alive ones at once. Hertz waits for every open connection
// to close on its own, and a client that keeps one open (as the app does) would
// hold shutdown for the whole drain time. Setting a read deadline ends a connection
// that is waiting for its next request, while a request already being handled
// still writes its answer.
type drainListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[*drainConn]struct{}
}

func newDrainListener(ln net.Listener) *drainListener {
	return &drainListener{Listener: ln, conns: map[*drainConn]struct{}{}}
}

func (l *drainListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	dc := &drainConn{Conn: c, l: l}
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
	l    *drainListener
	once sync.Once
}

func (c *drainConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
