package idgen

import (
	"sync"
	"testing"
	"time"
)

type mutexGen struct {
	mu       sync.Mutex
	sec, seq int64
	node     int64
	now      func() time.Time
	maxAhead int64
}

func (g *mutexGen) Next() (int64, error) {
	now, err := seconds(g.now())
	if err != nil {
		return 0, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case now > g.sec:
		g.sec, g.seq = now, 0
	case g.seq < seqMask:
		g.seq++
	default:
		g.sec, g.seq = g.sec+1, 0
	}
	if g.sec-now > g.maxAhead {
		return 0, ErrTooFarAhead
	}
	return g.sec<<secShift | g.node<<nodeShift | g.seq, nil
}

func BenchmarkMutexNext(b *testing.B) {
	g := &mutexGen{now: time.Now, maxAhead: 86400, node: 1}
	for b.Loop() {
		if _, err := g.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMutexNextParallel(b *testing.B) {
	g := &mutexGen{now: time.Now, maxAhead: 86400, node: 1}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := g.Next(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
