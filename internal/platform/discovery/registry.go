package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/cloudwego/kitex/pkg/registry"
	"github.com/cloudwego/kitex/server"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefaultTTL is how long a replica's registration outlives its last keep-alive.
// It bounds how long a replica that died without deregistering (kill -9, a lost
// machine) stays in its callers' resolvers, plus their refresh interval; a few
// seconds keeps that short without making a brief etcd hiccup drop live replicas.
const DefaultTTL = 5 * time.Second

// DefaultLinger is how long a deregistered server keeps serving before it stops
// taking calls. Callers re-read their peers every DefaultRefresh; until they do,
// they still pick the replica and may send a call over a pooled connection,
// which would fail without an answer if the server had already closed it (and
// only idempotent calls are retried). Lingering past one refresh, with room for
// a late tick on a loaded machine, lets every caller drop the replica first, so
// stopping a replica (a rolling upgrade, a scale-down) fails no call.
const DefaultLinger = 2 * DefaultRefresh

// retryDelay is how long the registry waits before registering again after etcd
// failed it.
const retryDelay = time.Second

// RegistryOptions configure a Registry. The zero value is usable.
type RegistryOptions struct {
	// Prefix is the etcd key prefix; DefaultPrefix when empty.
	Prefix string
	// TTL is the lease TTL; DefaultTTL when zero. etcd counts in whole seconds and
	// has a minimum of its own (2 s with default timing), so it is rounded up.
	TTL time.Duration
	// Advertise is the host callers should dial when the server listens on every
	// interface (":9101"): such an address names no host another machine can use.
	Advertise string
	// Log receives registration failures and recoveries; slog.Default when nil.
	Log *slog.Logger
	// Linger is how long Deregister waits, once the entry is gone, before it
	// returns and the server stops taking calls; DefaultLinger when zero, none
	// when negative.
	Linger time.Duration
}

// Registry registers Kitex servers in etcd, each under a lease it keeps alive, and
// implements Kitex's registry.Registry (see ServerOptions).
//
// Register never fails because etcd is unreachable: it logs and keeps trying, and
// registers again whenever the lease is lost (etcd was away longer than the TTL),
// so a role that starts or lives through an etcd outage becomes reachable once etcd
// answers instead of exiting. Kitex stops a server whose Register fails, which
// would turn an etcd blip into an outage of every role restarting during it.
type Registry struct {
	cli       *clientv3.Client
	prefix    string
	ttl       int64 // seconds
	advertise string
	linger    time.Duration
	log       *slog.Logger

	mu   sync.Mutex
	regs map[string]*registration // by etcd key
}

// registration is one registered server and the goroutine keeping it listed.
type registration struct {
	key, val string
	cancel   context.CancelFunc
	done     chan struct{}

	mu    sync.Mutex
	lease clientv3.LeaseID // the lease the key is attached to; 0 while unregistered
}

// NewRegistry returns a Registry writing through cli, which the caller keeps
// open until every server using the Registry has stopped.
func NewRegistry(cli *clientv3.Client, o RegistryOptions) (*Registry, error) {
	if cli == nil {
		return nil, errors.New("discovery: nil etcd client")
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.TTL == 0 {
		o.TTL = DefaultTTL
	}
	if o.TTL < 0 {
		return nil, fmt.Errorf("discovery: negative lease TTL %v", o.TTL)
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Linger == 0 {
		o.Linger = DefaultLinger
	}
	return &Registry{
		cli:       cli,
		prefix:    strings.TrimSuffix(o.Prefix, "/"),
		ttl:       int64((o.TTL + time.Second - 1) / time.Second),
		advertise: o.Advertise,
		linger:    max(o.Linger, 0),
		log:       o.Log,
		regs:      make(map[string]*registration),
	}, nil
}

// ServerOptions are the Kitex server options that register the server in r under
// its service name (the role, from rpc.ServerOptions) and listener address once it
// serves, and deregister it when it stops, before it drains calls in flight.
func ServerOptions(r *Registry) []server.Option {
	return []server.Option{server.WithRegistry(r)}
}

// Register lists info's server in etcd and keeps it listed until Deregister.
func (r *Registry) Register(info *registry.Info) error {
	key, val, err := r.entry(info)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.regs[key]; ok {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	reg := &registration{key: key, val: val, cancel: cancel, done: make(chan struct{})}
	r.regs[key] = reg
	// The first attempt runs before Register returns, so that in a healthy cluster
	// the replica is listed as soon as its server reports itself registered.
	if err := r.put(ctx, reg); err != nil {
		r.log.Warn("discovery: cannot register yet; retrying", "key", key, "err", err)
	}
	go r.keep(ctx, reg)
	return nil
}

// Deregister removes info's server from etcd by revoking its lease, then lingers
// (RegistryOptions.Linger) while callers drop the replica; Kitex stops taking
// calls only after it returns. When etcd cannot be reached the entry disappears
// by itself once the lease expires, so that is logged rather than failing the
// server's shutdown.
func (r *Registry) Deregister(info *registry.Info) error {
	key, _, err := r.entry(info)
	if err != nil {
		return err
	}
	r.mu.Lock()
	reg := r.regs[key]
	delete(r.regs, key)
	r.mu.Unlock()
	if reg == nil {
		return nil
	}
	reg.cancel()
	<-reg.done

	ctx, cancel := withTimeout(context.Background())
	defer cancel()
	if lease := reg.currentLease(); lease != 0 {
		_, err = r.cli.Revoke(ctx, lease)
	} else {
		// A registration cut short by the cancellation may have reached etcd.
		_, err = r.cli.Delete(ctx, key)
	}
	if err != nil {
		r.log.Warn("discovery: cannot deregister; the entry expires with its lease",
			"key", key, "ttl_s", r.ttl, "err", err)
	}
	time.Sleep(r.linger)
	return nil
}

// keep keeps reg's lease alive, and registers again whenever the lease is lost,
// until ctx ends.
func (r *Registry) keep(ctx context.Context, reg *registration) {
	defer close(reg.done)
	for ctx.Err() == nil {
		lease := reg.currentLease()
		if lease == 0 {
			if err := r.put(ctx, reg); err != nil {
				if ctx.Err() == nil {
					r.log.Warn("discovery: register failed; retrying", "key", reg.key, "err", err)
				}
				sleep(ctx, retryDelay)
				continue
			}
			r.log.Info("discovery: registered", "key", reg.key)
			continue
		}
		// KeepAlive renews the lease every TTL/3 and closes its channel when the
		// lease is gone or could not be renewed for a whole TTL.
		ch, err := r.cli.KeepAlive(ctx, lease)
		for alive := err == nil; alive; {
			select {
			case <-ctx.Done(): // a closed etcd client may not close ch
				return
			case _, alive = <-ch:
			}
		}
		if ctx.Err() != nil {
			return
		}
		r.log.Warn("discovery: lease lost; registering again", "key", reg.key, "err", err)
		reg.setLease(0)
	}
}

// put attaches reg's entry to a new lease.
func (r *Registry) put(ctx context.Context, reg *registration) error {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	g, err := r.cli.Grant(ctx, r.ttl)
	if err != nil {
		return err
	}
	if _, err := r.cli.Put(ctx, reg.key, reg.val, clientv3.WithLease(g.ID)); err != nil {
		rctx, rcancel := withTimeout(context.Background())
		defer rcancel()
		_, _ = r.cli.Revoke(rctx, g.ID) // best effort: unrevoked, it expires unused
		return err
	}
	reg.setLease(g.ID)
	return nil
}

// entry returns the etcd key and value listing info's server.
func (r *Registry) entry(info *registry.Info) (key, val string, err error) {
	if info == nil || info.ServiceName == "" {
		return "", "", errors.New("discovery: registry info without a service name")
	}
	if strings.Contains(info.ServiceName, "/") {
		return "", "", fmt.Errorf("discovery: service name %q contains '/'", info.ServiceName)
	}
	if info.Addr == nil {
		return "", "", fmt.Errorf("discovery: %s: registry info without an address", info.ServiceName)
	}
	addr, err := r.address(info.Addr)
	if err != nil {
		return "", "", fmt.Errorf("discovery: %s: %w", info.ServiceName, err)
	}
	val, err = instance{Network: info.Addr.Network(), Address: addr, Weight: info.Weight, Tags: info.Tags}.encode()
	if err != nil {
		return "", "", err
	}
	return replicaKey(r.prefix, info.ServiceName, addr), val, nil
}

// address is the address callers should dial to reach a server listening on a.
func (r *Registry) address(a net.Addr) (string, error) {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "", fmt.Errorf("listener address %q: %w", a, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if r.advertise == "" {
			return "", fmt.Errorf("the server listens on every interface (%s), which names no host to dial: listen on a host address or set the address to advertise", a)
		}
		host = r.advertise
	}
	return net.JoinHostPort(host, port), nil
}

func (reg *registration) currentLease() clientv3.LeaseID {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return reg.lease
}

func (reg *registration) setLease(id clientv3.LeaseID) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	reg.lease = id
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
