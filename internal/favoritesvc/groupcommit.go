package favoritesvc

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// BatchStore is a Store that can also apply many writes in one transaction: what
// GroupCommit needs of the store under it. SQLStore is one.
type BatchStore interface {
	Store
	// Apply makes the writes in order, in one transaction, each exactly as Like
	// or Unlike would, and reports per write whether it changed anything. When
	// it fails, none of the writes is made.
	Apply(ctx context.Context, ws []Write) ([]bool, error)
}

// GroupCommitOptions size a GroupCommit. Zero fields take the defaults.
type GroupCommitOptions struct {
	// MaxBatch bounds the writes of one transaction (default 128).
	MaxBatch int
	// MaxQueue bounds the writes waiting for a transaction, over all lanes
	// (default 2048); past it a write is refused at once as busy.
	MaxQueue int
	// Lanes is how many transactions run at once (default 1). Writes are spread
	// over the lanes by video, so one video's likes always share a lane and its
	// count row is changed once per transaction. SQLite has one writer, so more
	// than one lane only adds waiting there; MySQL can commit several at once.
	Lanes int
}

// Defaults of GroupCommitOptions.
const (
	defaultMaxBatch = 128
	defaultMaxQueue = 2048
	// batchTimeout bounds one transaction of a batch (and each write retried
	// alone after the batch failed): the writers wait for it whatever their own
	// contexts say, so it must end even if the database hangs.
	batchTimeout = 30 * time.Second
)

// errBusy answers a write that finds the queue full, or whose context ends
// before its batch began: nothing of it was written.
var errBusy = errs.New(base.ErrCode_Unavailable, "server busy, try again")

// GroupCommit is a Store that commits concurrent likes and unlikes together
// (group commit): writers queue, one committer per lane takes up to MaxBatch of
// them and applies them in one transaction (BatchStore.Apply), and every writer
// gets its own answer once that transaction has committed. Nothing is
// acknowledged before it is durable, so a crash loses no acknowledged like; what
// a batch saves is the per-transaction cost (SQLite lets one writer in at a time,
// and a hot video's count row is changed once per batch instead of once per
// like).
//
// A batch commits whole or not at all. If it fails, every write of it is tried
// again alone, so one bad write fails only its own writer. A writer whose
// context ends while it waits in the queue is taken out and told busy (nothing
// written); once its write is in a batch, it waits for the batch's outcome and
// reports it, so an answer never disagrees with the database.
//
// No goroutine runs while nothing is queued: the first write into an idle lane
// starts its committer, which stops when the lane is empty.
//
// Reads go straight to the store.
type GroupCommit struct {
	store    BatchStore
	maxBatch int
	lanes    []*lane
	batches  atomic.Int64
}

// lane is a queue of writes and whether its committer runs.
type lane struct {
	g       *GroupCommit
	max     int // queued writes
	mu      sync.Mutex
	queue   []*pending
	running bool
}

// pending is one write waiting for its batch.
type pending struct {
	w       Write
	taken   bool // into a batch; guarded by the lane's mu
	dropped bool // abandoned by its writer before that; guarded by the lane's mu
	done    chan struct{}
	changed bool
	err     error
}

var _ Store = (*GroupCommit)(nil)

// NewGroupCommit returns a group-committing Store over store.
func NewGroupCommit(store BatchStore, o GroupCommitOptions) *GroupCommit {
	if o.MaxBatch <= 0 {
		o.MaxBatch = defaultMaxBatch
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = defaultMaxQueue
	}
	if o.Lanes <= 0 {
		o.Lanes = 1
	}
	g := &GroupCommit{store: store, maxBatch: o.MaxBatch}
	perLane := max(1, o.MaxQueue/o.Lanes)
	for range o.Lanes {
		g.lanes = append(g.lanes, &lane{g: g, max: perLane})
	}
	return g
}

func (g *GroupCommit) Like(ctx context.Context, l Like) (bool, error) {
	return g.write(ctx, Write{Like: l})
}

func (g *GroupCommit) Unlike(ctx context.Context, userID, videoID int64) (bool, error) {
	return g.write(ctx, Write{Like: Like{UserID: userID, VideoID: videoID}, Unlike: true})
}

func (g *GroupCommit) Liked(ctx context.Context, userID int64, after *Position, limit int) ([]Like, error) {
	return g.store.Liked(ctx, userID, after, limit)
}

func (g *GroupCommit) VideoStats(ctx context.Context, viewer int64, ids []int64) (map[int64]VideoStat, error) {
	return g.store.VideoStats(ctx, viewer, ids)
}

func (g *GroupCommit) UserStats(ctx context.Context, ids []int64) (map[int64]UserStat, error) {
	return g.store.UserStats(ctx, ids)
}

// Queued returns how many writes wait for a batch (abandoned ones included until
// a committer passes them).
func (g *GroupCommit) Queued() int {
	n := 0
	for _, l := range g.lanes {
		n += l.len()
	}
	return n
}

// Batches returns how many batch transactions have been attempted.
func (g *GroupCommit) Batches() int64 { return g.batches.Load() }

// write queues w in its video's lane and waits for its answer.
func (g *GroupCommit) write(ctx context.Context, w Write) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, errBusy
	}
	l := g.lanes[uint64(w.Like.VideoID)%uint64(len(g.lanes))]
	p := &pending{w: w, done: make(chan struct{})}
	l.mu.Lock()
	if len(l.queue) >= l.max {
		l.mu.Unlock()
		return false, errBusy
	}
	l.queue = append(l.queue, p)
	if !l.running {
		l.running = true
		go l.run()
	}
	l.mu.Unlock()

	select {
	case <-p.done:
		return p.changed, p.err
	case <-ctx.Done():
	}
	l.mu.Lock()
	if !p.taken {
		p.dropped = true // the committer skips it: nothing will be written
		l.mu.Unlock()
		return false, errBusy
	}
	l.mu.Unlock()
	<-p.done // in a batch already: its outcome is the answer
	return p.changed, p.err
}

// run commits batches until the lane is empty.
func (l *lane) run() {
	var batch []*pending
	for {
		l.settle()
		batch = l.take(batch[:0])
		if len(batch) == 0 {
			return
		}
		l.g.commit(batch)
		clear(batch) // let the answered writes go
	}
}

// maxYields bounds how often a committer yields before it takes a batch.
const maxYields = 4

// settle lets writers that are ready to run queue before the committer takes a
// batch: it yields the processor while that makes the queue grow (a few times at
// most). Under load, requests whose handlers only wait for a CPU then join this
// batch instead of the next, and fuller batches spend less on commits; on an idle
// machine the first yield returns at once and nothing waits.
func (l *lane) settle() {
	n := l.len()
	for range maxYields {
		runtime.Gosched()
		m := l.len()
		if m == n || m >= l.g.maxBatch {
			return
		}
		n = m
	}
}

func (l *lane) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.queue)
}

// take moves up to maxBatch live writes from the queue into batch; with none
// left it marks the committer stopped, under the same lock a writer checks.
func (l *lane) take(batch []*pending) []*pending {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := 0
	for ; i < len(l.queue) && len(batch) < l.g.maxBatch; i++ {
		if p := l.queue[i]; !p.dropped {
			p.taken = true
			batch = append(batch, p)
		}
	}
	rest := copy(l.queue, l.queue[i:])
	clear(l.queue[rest:])
	l.queue = l.queue[:rest]
	if len(batch) == 0 {
		l.running = false
	}
	return batch
}

// commit applies a batch in one transaction and answers its writers; if the
// transaction fails, it applies every write alone so only the bad ones fail.
func (g *GroupCommit) commit(batch []*pending) {
	g.batches.Add(1)
	ws := make([]Write, len(batch))
	for i, p := range batch {
		ws[i] = p.w
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	changed, err := g.store.Apply(ctx, ws)
	cancel()
	switch {
	case err == nil:
		for i, p := range batch {
			p.changed = changed[i]
		}
	case len(batch) == 1 || errors.Is(err, context.DeadlineExceeded):
		// Alone already, or the database did not answer in time: trying each
		// write again would only make every writer wait that long once more.
		for _, p := range batch {
			p.err = err
		}
	default:
		// Nothing of the batch was written; each write alone is what it would
		// have been without group commit.
		for _, p := range batch {
			ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
			var c []bool
			c, p.err = g.store.Apply(ctx, []Write{p.w})
			cancel()
			if p.err == nil {
				p.changed = c[0]
			}
		}
	}
	for _, p := range batch {
		close(p.done)
	}
}
