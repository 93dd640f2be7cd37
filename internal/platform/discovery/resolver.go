package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudwego/kitex/client"
	kdiscovery "github.com/cloudwego/kitex/pkg/discovery"
	"github.com/cloudwego/kitex/pkg/kerrors"
	"github.com/cloudwego/kitex/pkg/loadbalance"
	"github.com/cloudwego/kitex/pkg/loadbalance/lbcache"
	"github.com/cloudwego/kitex/pkg/retry"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// DefaultRefresh is how often a client re-reads its peers' replicas from etcd. A
// replica that registers, deregisters or expires is seen within it; each refresh
// is one small range read per peer role per process.
const DefaultRefresh = time.Second

// Resolver reads the replicas of a role from etcd for Kitex clients. It implements
// Kitex's discovery.Resolver.
//
// When etcd cannot be read, Kitex keeps using the replicas it last resolved, so an
// etcd outage does not stop calls between roles that are up.
type Resolver struct {
	cli    *clientv3.Client
	prefix string
	name   string
}

var _ kdiscovery.Resolver = (*Resolver)(nil)

// NewResolver returns a Resolver reading through cli under prefix (DefaultPrefix
// when empty). The caller keeps cli open while clients use the Resolver.
func NewResolver(cli *clientv3.Client, prefix string) (*Resolver, error) {
	if cli == nil {
		return nil, errors.New("discovery: nil etcd client")
	}
	if prefix == "" {
		prefix = DefaultPrefix
	}
	r := &Resolver{cli: cli, prefix: strings.TrimSuffix(prefix, "/")}
	// Kitex shares one balancer cache among all clients whose resolvers have the
	// same name, for the life of the process. A name of its own keeps clients of
	// this Resolver from ever reading through another one (a closed client, or
	// another cluster in a test).
	r.name = fmt.Sprintf("mdouyin-etcd@%p", r)
	return r, nil
}

// Target returns the role a client calls: its service name.
func (r *Resolver) Target(_ context.Context, target rpcinfo.EndpointInfo) string {
	return target.ServiceName()
}

// Resolve returns the replicas of role currently listed in etcd. No replica is an
// empty result rather than an error, so that Kitex drops the replicas it knew and
// fails calls at once with "no instance" instead of dialling dead addresses.
func (r *Resolver) Resolve(ctx context.Context, role string) (kdiscovery.Result, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	resp, err := r.cli.Get(ctx, serviceKey(r.prefix, role), clientv3.WithPrefix())
	if err != nil {
		return kdiscovery.Result{}, fmt.Errorf("discovery: resolve %s: %w", role, err)
	}
	insts := make([]kdiscovery.Instance, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var in instance
		if err := json.Unmarshal(kv.Value, &in); err != nil || in.Address == "" {
			continue // not a replica entry; someone else's key under our prefix
		}
		if in.Network == "" {
			in.Network = "tcp"
		}
		if in.Weight <= 0 {
			in.Weight = kdiscovery.DefaultWeight
		}
		insts = append(insts, kdiscovery.NewInstance(in.Network, in.Address, in.Weight, in.Tags))
	}
	return kdiscovery.Result{Cacheable: true, CacheKey: role, Instances: insts}, nil
}

// Diff reports what changed between two results for Kitex's balancers.
func (r *Resolver) Diff(cacheKey string, prev, next kdiscovery.Result) (kdiscovery.Change, bool) {
	return kdiscovery.DefaultDiff(cacheKey, prev, next)
}

// Name identifies the Resolver to Kitex's balancer cache.
func (r *Resolver) Name() string { return r.name }

// ClientConfig configures the Kitex clients of one peer role.
type ClientConfig struct {
	// Timeout bounds each attempt of a call.
	Timeout time.Duration
	// ConnectTimeout bounds dialling a replica; Timeout when zero. A replica that
	// died without deregistering costs callers this much per attempt until it
	// drops out of the resolver, so it is worth keeping well below Timeout.
	ConnectTimeout time.Duration
	// Refresh is how often replicas are re-read from etcd; DefaultRefresh when
	// zero.
	Refresh time.Duration
	// Idempotent names the methods (as in the IDL) that may be retried on another
	// replica when an attempt fails without an answer: a timeout, a failed
	// connection, a broken transport or an internal error of the callee. Calling
	// them twice must be harmless (reads; likes and follows, which are idempotent
	// by key). Every other method is never retried, and business errors are
	// answers, never retried. (Kitex itself, for every method, picks another
	// replica when it cannot connect to the first: nothing was sent, so that is
	// safe and is what keeps calls working while a killed replica is still listed.)
	Idempotent []string
}

// maxRetries is how many times an idempotent call is retried, each time on another
// replica when there is one.
const maxRetries = 2

// ClientOptions are the options that make a Kitex client find its role's replicas
// through r and spread calls over them by weighted round robin. Transport and
// metadata handlers (rpc.ClientOptions without its static addresses) are the
// caller's to add.
//
// Kitex also stops retrying while more than 30 % of a method's recent calls fail
// (its retry circuit breaker), so retries cannot multiply the load on a role that
// is down as a whole.
func ClientOptions(r *Resolver, c ClientConfig) []client.Option {
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = c.Timeout
	}
	if c.Refresh <= 0 {
		c.Refresh = DefaultRefresh
	}
	opts := []client.Option{
		client.WithResolver(r),
		client.WithLoadBalancer(loadbalance.NewWeightedRoundRobinBalancer(), &lbcache.Options{
			RefreshInterval: c.Refresh,
			Cacheable:       true,
		}),
		client.WithConnectTimeout(c.ConnectTimeout),
	}
	if c.Timeout > 0 {
		opts = append(opts, client.WithRPCTimeout(c.Timeout))
	}
	if len(c.Idempotent) > 0 {
		opts = append(opts, client.WithRetryMethodPolicies(RetryPolicies(c.Idempotent)))
	}
	return opts
}

// RetryPolicies returns Kitex retry policies that retry the named methods, and
// only those, on failures that carry no answer (see ClientConfig.Idempotent).
func RetryPolicies(idempotent []string) map[string]retry.Policy {
	fp := retry.NewFailurePolicy()
	fp.WithMaxRetryTimes(maxRetries)
	fp.WithRetryBreaker(0.3)
	fp.WithSpecifiedResultRetry(&retry.ShouldResultRetry{
		ErrorRetryWithCtx: func(_ context.Context, err error, _ rpcinfo.RPCInfo) bool { return unanswered(err) },
	})
	p := retry.BuildFailurePolicy(fp)
	m := make(map[string]retry.Policy, len(idempotent))
	for _, name := range idempotent {
		m[name] = p
	}
	return m
}

// unanswered reports whether err means the callee gave no answer, so an idempotent
// call may be tried again. Timeouts are retried by Kitex's policy itself.
func unanswered(err error) bool {
	if err == nil {
		return false
	}
	if _, ok := kerrors.FromBizStatusError(err); ok {
		return false
	}
	return errors.Is(err, kerrors.ErrGetConnection) || errors.Is(err, kerrors.ErrRemoteOrNetwork)
}
