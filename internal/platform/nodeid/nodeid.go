// Package nodeid leases node numbers for the id generator (internal/platform/idgen)
// from etcd, so that the processes of a cluster never stamp the same number into
// their ids at the same time.
//
// A number n is held by putting <prefix>/<n> under an etcd lease, in a transaction
// that succeeds only if the key does not exist (the seed's compare-and-swap), and
// is kept while the lease is kept alive.
//
// Why ids stay unique when etcd blips. A holder keeps its lease alive every TTL/4
// and remembers when it sent the last renewal that etcd acknowledged; etcd cannot
// expire the lease earlier than the lease's full TTL after that. Valid fails once
// TTL (the validity) has passed without a renewal, while the lease itself is
// granted for TTL plus a cooldown, so after the holder stops issuing ids the number
// stays taken for at least the cooldown more. The cooldown covers what idgen needs
// before a number may change hands: the old holder's logical clock can run up to
// idgen's max-ahead limit (10 s) plus a second ahead of the wall clock, and clocks
// of different machines disagree a little. Release likewise keeps the number taken
// for the cooldown. So at any moment a number belongs to one process, and a new
// holder's ids start in seconds after the old holder's last ones.
//
// When the lease is lost (etcd expired it while this process could not reach etcd)
// the Lease acquires a number again once etcd answers, its old one if it is free,
// otherwise the lowest free one. The id generator must therefore check Valid before
// issuing and read Node each time: when Node changes it must build a new
// idgen.Generator for the new number. Keeping the old Generator for the old number
// is never allowed once Node has moved on.
package nodeid

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// DefaultCooldown is how long a number stays taken after its holder stopped issuing
// ids: idgen's default max-ahead (10 s), one second of its logical clock, and four
// seconds for clocks of different machines to disagree.
const DefaultCooldown = 15 * time.Second

// callTimeout bounds each etcd request.
const callTimeout = 3 * time.Second

// Errors Valid and Acquire return, wrapped with detail.
var (
	// ErrExpired means the lease may have expired: no renewal reached etcd for a
	// whole TTL, so another process may hold the number by now.
	ErrExpired = errors.New("nodeid: node number lease may have expired")
	// ErrReleased means Release was called.
	ErrReleased = errors.New("nodeid: node number released")
	// ErrExhausted means every number in the range is held.
	ErrExhausted = errors.New("nodeid: every node number is taken")
)

// Option configures Acquire.
type Option func(*options)

type options struct {
	cooldown time.Duration
	holder   string
}

// WithCooldown sets how long a number stays taken after its holder stopped
// (DefaultCooldown). Zero suits tests and a single process only.
func WithCooldown(d time.Duration) Option { return func(o *options) { o.cooldown = d } }

// WithHolder sets the value stored under the number's key, for operators reading
// etcd; hostname:pid by default.
func WithHolder(s string) Option { return func(o *options) { o.holder = s } }

// Lease is a node number held in etcd. It is safe for concurrent use.
type Lease struct {
	cli      *clientv3.Client
	prefix   string
	max      int
	ttl      time.Duration // validity: Valid fails this long after the last renewal
	grantTTL int64         // seconds: ttl plus the cooldown, rounded up
	cooldown time.Duration
	holder   string
	log      *slog.Logger

	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	node     int
	lease    clientv3.LeaseID // 0 while no number is held
	renewed  time.Time        // when the last acknowledged renewal was sent
	released bool
}

// Acquire claims the lowest free number in [0, max] under prefix and keeps it
// until Release. ttl is how long the process may go on issuing ids without
// reaching etcd; etcd counts leases in whole seconds with a minimum of about two.
func Acquire(ctx context.Context, cli *clientv3.Client, prefix string, max int, ttl time.Duration, log *slog.Logger, opts ...Option) (*Lease, error) {
	o := options{cooldown: DefaultCooldown}
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case cli == nil:
		return nil, errors.New("nodeid: nil etcd client")
	case max < 0:
		return nil, fmt.Errorf("nodeid: negative max %d", max)
	case ttl < time.Second:
		return nil, fmt.Errorf("nodeid: TTL %v below one second", ttl)
	case o.cooldown < 0:
		return nil, fmt.Errorf("nodeid: negative cooldown %v", o.cooldown)
	}
	if o.holder == "" {
		host, _ := os.Hostname()
		o.holder = host + ":" + strconv.Itoa(os.Getpid())
	}
	if log == nil {
		log = slog.Default()
	}
	l := &Lease{
		cli:      cli,
		prefix:   strings.TrimSuffix(prefix, "/") + "/",
		max:      max,
		ttl:      ttl,
		grantTTL: int64((ttl + o.cooldown + time.Second - 1) / time.Second),
		cooldown: o.cooldown,
		holder:   o.holder,
		log:      log,
		done:     make(chan struct{}),
		node:     -1,
	}
	if err := l.claim(ctx, -1); err != nil {
		return nil, err
	}
	kctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go l.keep(kctx)
	return l, nil
}

// Node returns the number held. It changes only after the lease was lost and a
// different number acquired (see the package comment).
func (l *Lease) Node() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.node
}

// Valid returns nil while ids may be issued with Node: a renewal reached etcd less
// than the TTL ago. Otherwise its error wraps ErrExpired or ErrReleased and carries
// an errs.Error with code Unavailable, so a request that needed an id asks the
// client to try again.
func (l *Lease) Valid() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	unavailable := errs.New(base.ErrCode_Unavailable, "server busy, try again")
	if l.released {
		return fmt.Errorf("%w (%w)", ErrReleased, unavailable)
	}
	if l.lease == 0 {
		return fmt.Errorf("%w: lost node %d; waiting for etcd to grant a number again (%w)", ErrExpired, l.node, unavailable)
	}
	if since := time.Since(l.renewed); since >= l.ttl {
		return fmt.Errorf("%w: node %d not renewed for %v (TTL %v); no ids until etcd answers (%w)",
			ErrExpired, l.node, since.Round(time.Millisecond), l.ttl, unavailable)
	}
	return nil
}

// Release stops renewing and gives the number back. The number stays taken for
// the cooldown, then another process may claim it. If etcd cannot be reached the
// lease expires by itself, which is as safe; the error says so.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return nil
	}
	l.released = true
	l.mu.Unlock()
	l.cancel()
	<-l.done

	l.mu.Lock()
	node, lease := l.node, l.lease
	l.mu.Unlock()
	if lease == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	key := l.key(node)
	if l.cooldown > 0 {
		// Move the key to a lease that ends with the cooldown, if it is still ours.
		cool, err := l.cli.Grant(ctx, int64((l.cooldown+time.Second-1)/time.Second))
		if err != nil {
			return fmt.Errorf("nodeid: release node %d (it expires with its lease): %w", node, err)
		}
		if _, err := l.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.LeaseValue(key), "=", lease)).
			Then(clientv3.OpPut(key, l.holder+" (released)", clientv3.WithLease(cool.ID))).
			Commit(); err != nil {
			return fmt.Errorf("nodeid: release node %d (it expires with its lease): %w", node, err)
		}
	}
	if _, err := l.cli.Revoke(ctx, lease); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return fmt.Errorf("nodeid: release node %d (it expires with its lease): %w", node, err)
	}
	return nil
}

// keep renews the lease every TTL/4 until Release, and claims a number again when
// the lease is lost.
func (l *Lease) keep(ctx context.Context) {
	defer close(l.done)
	interval := l.ttl / 4
	t := time.NewTicker(interval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l.mu.Lock()
		node, lease := l.node, l.lease
		l.mu.Unlock()

		if lease == 0 {
			if err := l.claim(ctx, node); err != nil {
				if ctx.Err() == nil {
					l.log.Warn("nodeid: cannot claim a node number yet", "err", err)
				}
				continue
			}
			l.log.Warn("nodeid: node number claimed again", "old", node, "node", l.Node())
			failing = false
			continue
		}

		sent := time.Now()
		rctx, cancel := context.WithTimeout(ctx, interval)
		_, err := l.cli.KeepAliveOnce(rctx, lease)
		cancel()
		switch {
		case err == nil:
			l.mu.Lock()
			l.renewed = sent
			l.mu.Unlock()
			if failing {
				l.log.Info("nodeid: etcd answers again; node number kept", "node", node)
				failing = false
			}
		case errors.Is(err, rpctypes.ErrLeaseNotFound):
			l.log.Error("nodeid: node number lease expired; no ids until a number is claimed again", "node", node)
			l.mu.Lock()
			l.lease = 0
			l.mu.Unlock()
		case ctx.Err() != nil:
			return
		default:
			if !failing {
				l.log.Warn("nodeid: cannot renew the node number lease", "node", node, "err", err,
					"valid_for", time.Until(l.renewedAt().Add(l.ttl)).Round(time.Millisecond))
			}
			failing = true
		}
	}
}

func (l *Lease) renewedAt() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.renewed
}

// claim takes a number under a new lease: prefer first if it is in range and
// free, then the lowest free one.
func (l *Lease) claim(ctx context.Context, prefer int) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	sent := time.Now()
	g, err := l.cli.Grant(ctx, l.grantTTL)
	if err != nil {
		return fmt.Errorf("nodeid: grant a lease: %w", err)
	}
	node, err := l.take(ctx, g.ID, prefer)
	if err != nil {
		rctx, rcancel := context.WithTimeout(context.Background(), callTimeout)
		defer rcancel()
		_, _ = l.cli.Revoke(rctx, g.ID) // best effort: unrevoked, it expires holding nothing
		return err
	}
	l.mu.Lock()
	l.node, l.lease, l.renewed = node, g.ID, sent
	l.mu.Unlock()
	return nil
}

// take puts a free number's key under lease and returns the number.
func (l *Lease) take(ctx context.Context, lease clientv3.LeaseID, prefer int) (int, error) {
	resp, err := l.cli.Get(ctx, l.prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return 0, fmt.Errorf("nodeid: list node numbers: %w", err)
	}
	taken := make(map[int]bool, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		if n, err := strconv.Atoi(strings.TrimPrefix(string(kv.Key), l.prefix)); err == nil {
			taken[n] = true
		}
	}
	candidates := make([]int, 0, l.max+2)
	if prefer >= 0 && prefer <= l.max {
		candidates = append(candidates, prefer)
	}
	for n := 0; n <= l.max; n++ {
		candidates = append(candidates, n)
	}
	for _, n := range candidates {
		if taken[n] {
			continue
		}
		key := l.key(n)
		r, err := l.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, l.holder, clientv3.WithLease(lease))).
			Commit()
		if err != nil {
			return 0, fmt.Errorf("nodeid: claim node %d: %w", n, err)
		}
		if r.Succeeded {
			return n, nil
		}
		taken[n] = true // claimed by another process since the listing
	}
	return 0, fmt.Errorf("%w: all %d numbers under %q are held", ErrExhausted, l.max+1, l.prefix)
}

func (l *Lease) key(n int) string { return l.prefix + strconv.Itoa(n) }
