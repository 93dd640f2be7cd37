// Package idgen issues mdouyin's ids: time-ordered int64s that stay below 2^53 so
// JavaScript clients read them exactly, unique across up to 256 nodes without
// coordination, and whose creation second can be read back for range queries.
//
// An id packs, from the most significant bit down:
//
//	31 bits  seconds since 2024-01-01T00:00:00Z (68 years, until 2092)
//	 8 bits  node number (0-255)
//	14 bits  sequence within the second (16,384 ids per second per node)
//
// That is 53 bits, so every id is a positive integer below 2^53. Ordering by id orders
// by creation second first, which makes ids usable as a time-ordered primary key and
// as a pagination cursor.
//
// Uniqueness rests on the node number: one node number must belong to one Generator
// at a time, and after its holder stops it must not be handed to another process
// until the wall clock has passed the old holder's logical clock, which runs at most
// the max-ahead limit (WithMaxAhead, 10 s by default) plus one second ahead of the
// wall clock. The etcd lease that hands out node numbers in a cluster, or the
// configured node in one process, is responsible for that; this package only
// guarantees uniqueness within one Generator.
package idgen

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// Bit layout of an id.
const (
	seqBits  = 14
	nodeBits = 8
	secBits  = 31

	nodeShift = seqBits
	secShift  = seqBits + nodeBits

	seqMask = 1<<seqBits - 1
	maxSec  = 1<<secBits - 1

	// epochUnix is 2024-01-01T00:00:00Z: a recent epoch leaves the 31 bits of
	// seconds good until 2092.
	epochUnix = 1704067200

	// limit is 2^53, the first integer a float64 (and so JavaScript) cannot hold
	// exactly next to its neighbours.
	limit = 1 << 53
)

// MaxNode is the largest node number a Generator accepts.
const MaxNode = 1<<nodeBits - 1

// DefaultMaxAhead is how far Next lets its logical clock run ahead of the wall clock
// when one second's 16,384 sequence numbers are not enough. Ten seconds absorbs
// bursts of up to ten times the sustained capacity while keeping an id's second
// close to the moment it was created.
const DefaultMaxAhead = 10 * time.Second

// ErrTooFarAhead is returned by Next when issuing another id would put its logical
// clock more than the max-ahead limit ahead of the wall clock: either more ids were
// asked for than the node can issue for a sustained period, or the wall clock
// stepped back further than that limit. The returned error also carries an errs.Error with code
// Unavailable, so a request that hits it tells the client to try again rather than
// reporting an internal failure.
var ErrTooFarAhead = errors.New("idgen: logical clock too far ahead of the wall clock")

// Generator issues unique, time-ordered ids for one node. It is safe for concurrent
// use.
type Generator struct {
	node     int64
	guard    func() error // nil: always allowed (see WithGuard)
	now      func() time.Time
	maxAhead int64 // seconds
	start    int64 // the wall-clock second (since the epoch) when New ran

	// state packs the second and sequence of the last id Next issued as
	// sec<<seqBits | seq, so that one compare-and-swap claims an id. It starts at
	// (start, 0), which keeps Next out of the seconds NextAt may use and means
	// the id 0 is never issued.
	state atomic.Uint64

	histMu sync.Mutex
	hist   map[uint32]uint16 // next unused sequence per historical second
}

type options struct {
	now      func() time.Time
	maxAhead time.Duration
	guard    func() error
}

// Option configures a Generator.
type Option func(*options)

// WithClock makes the Generator read the wall clock from now instead of time.Now, so
// tests can step it forwards and backwards.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithMaxAhead sets how far Next may run ahead of the wall clock before it fails
// with ErrTooFarAhead. It is truncated to whole seconds; zero forbids borrowing
// future seconds at all.
func WithMaxAhead(d time.Duration) Option {
	return func(o *options) { o.maxAhead = d }
}

// WithGuard makes Next and NextAt ask guard first and fail with its error: a
// node number leased from etcd guards the generator, so that a process cut off
// from etcd for longer than its lease stops issuing ids rather than risk one
// that another process, holding the number by then, also issues.
func WithGuard(guard func() error) Option {
	return func(o *options) { o.guard = guard }
}

// New returns a Generator for node, which must be between 0 and MaxNode.
func New(node int, opts ...Option) (*Generator, error) {
	if node < 0 || node > MaxNode {
		return nil, fmt.Errorf("idgen: node %d out of range [0, %d]", node, MaxNode)
	}
	o := options{now: time.Now, maxAhead: DefaultMaxAhead}
	for _, opt := range opts {
		opt(&o)
	}
	if o.now == nil {
		return nil, errors.New("idgen: nil clock")
	}
	if o.maxAhead < 0 {
		return nil, fmt.Errorf("idgen: negative max-ahead %v", o.maxAhead)
	}
	start, err := seconds(o.now())
	if err != nil {
		return nil, err
	}
	g := &Generator{
		node:     int64(node),
		guard:    o.guard,
		now:      o.now,
		maxAhead: int64(o.maxAhead / time.Second),
		start:    start,
	}
	g.state.Store(uint64(start) << seqBits)
	return g, nil
}

// Node returns the node number the Generator stamps into its ids.
func (g *Generator) Node() int { return int(g.node) }

// Next returns a new id, greater than every id this Generator's Next returned
// before.
//
// It never waits. When the current second's sequence is used up it borrows the next
// second, so its logical clock may run ahead of the wall clock; when the wall clock
// steps backwards it keeps counting in the last second it issued. Either way it never
// reissues an id and never goes backwards. Once the logical clock would be more than
// the max-ahead limit (WithMaxAhead) ahead of the wall clock, it returns an error
// wrapping ErrTooFarAhead: failing fast lets an overloaded caller shed the request
// instead of queueing behind a clock that may be minutes wrong.
//
// Next is lock-free: one clock read and, without contention, one compare-and-swap.
// Alone it costs the same as a mutex (the clock read dominates); under contention
// it measured 1.3 to 2 times faster.
func (g *Generator) Next() (int64, error) {
	if g.guard != nil {
		if err := g.guard(); err != nil {
			return 0, err
		}
	}
	now, err := seconds(g.now())
	if err != nil {
		return 0, err
	}
	// checked is the state after whose loading now was last read. A state uses
	// only its low 45 bits, so the initial all-ones value matches none.
	checked := ^uint64(0)
	for {
		old := g.state.Load()
		sec, seq := int64(old>>seqBits), int64(old&seqMask)
		switch {
		case now > sec:
			sec, seq = now, 0
		case seq < seqMask:
			seq++
		default:
			sec, seq = sec+1, 0
		}
		if sec-now > g.maxAhead {
			// The reading may be stale: this goroutine can have been descheduled
			// while others moved the state on. Only a reading taken after this
			// state was loaded proves the clock really is behind. Each retry
			// here follows progress by another caller, so the loop stays
			// lock-free.
			if checked != old {
				checked = old
				if now, err = seconds(g.now()); err != nil {
					return 0, err
				}
				continue
			}
			return 0, fmt.Errorf("%w: %d s ahead (%w)", ErrTooFarAhead, sec-now,
				errs.New(base.ErrCode_Unavailable, "server busy, try again"))
		}
		if sec > maxSec {
			return 0, errors.New("idgen: the id space ends in 2092")
		}
		if g.state.CompareAndSwap(old, uint64(sec)<<seqBits|uint64(seq)) {
			return g.compose(sec, seq), nil
		}
	}
}

// NextAt returns a new id whose second is t's, for back-filling data that was
// created in the past (the dataset seeder).
//
// t must lie before the moment New ran: Next only issues ids from that second on, so
// the two can never collide. Within one Generator, NextAt never returns the same id
// twice, whatever order the times come in; it fails once a second's 16,384 ids are
// used up instead of borrowing a neighbouring second, so Time of the id is always
// t's second. Two Generators with the same node number (two seeder runs, or a seeder
// and a server) can collide: give a seeder a node of its own.
//
// NextAt remembers the next sequence for every second it has been asked about, a few
// bytes per distinct second, for the Generator's lifetime.
func (g *Generator) NextAt(t time.Time) (int64, error) {
	if g.guard != nil {
		if err := g.guard(); err != nil {
			return 0, err
		}
	}
	sec, err := seconds(t)
	if err != nil {
		return 0, err
	}
	if sec >= g.start {
		return 0, fmt.Errorf("idgen: NextAt(%v): only seconds before the generator started (%v) are free",
			t.UTC().Format(time.RFC3339), time.Unix(epochUnix+g.start, 0).UTC().Format(time.RFC3339))
	}
	g.histMu.Lock()
	defer g.histMu.Unlock()
	if g.hist == nil {
		g.hist = make(map[uint32]uint16)
	}
	seq := int64(g.hist[uint32(sec)])
	if sec == 0 && g.node == 0 && seq == 0 {
		seq = 1 // (0, 0, 0) would be the id 0, which is not a valid id
	}
	if seq > seqMask {
		return 0, fmt.Errorf("idgen: NextAt: all %d ids of %v are used", seqMask+1, t.UTC().Format(time.RFC3339))
	}
	g.hist[uint32(sec)] = uint16(seq + 1)
	return g.compose(sec, seq), nil
}

func (g *Generator) compose(sec, seq int64) int64 {
	return sec<<secShift | g.node<<nodeShift | seq
}

// seconds returns t as whole seconds since the epoch, or an error when the id layout
// cannot represent that second.
func seconds(t time.Time) (int64, error) {
	s := t.Unix() - epochUnix
	if s < 0 || s > maxSec {
		return 0, fmt.Errorf("idgen: time %v outside the id range 2024-01-01 to 2092-01-19",
			t.UTC().Format(time.RFC3339))
	}
	return s, nil
}

// Time returns the second in which id was issued (by Next, possibly a second or a
// few borrowed ahead of the wall clock). It is meaningful only for valid ids.
func Time(id int64) time.Time {
	return time.Unix(epochUnix+id>>secShift, 0).UTC()
}

// Node returns the node number that issued id.
func Node(id int64) int {
	return int(id >> nodeShift & (1<<nodeBits - 1))
}

// MinForTime returns the smallest id any node can issue in t's second, so that
// `id >= MinForTime(from) AND id < MinForTime(to)` selects the ids issued in
// [from, to) at whole-second precision. Times before the epoch give 0 and times
// after the end of the id range give 2^53, so such bounds still select correctly.
func MinForTime(t time.Time) int64 {
	s := t.Unix() - epochUnix
	switch {
	case s < 0:
		return 0
	case s > maxSec:
		return limit
	}
	return s << secShift
}

// Valid reports whether id could have been issued by this package: positive and
// below 2^53. Handlers use it to reject ids from clients before touching storage.
func Valid(id int64) bool {
	return id > 0 && id < limit
}
