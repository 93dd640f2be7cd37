package discovery_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/endpoint"
	"github.com/cloudwego/kitex/pkg/kerrors"
	"github.com/cloudwego/kitex/pkg/registry"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/pkg/transmeta"
	"github.com/cloudwego/kitex/server"
	"github.com/cloudwego/kitex/transport"
	etcd "github.com/kitex-contrib/registry-etcd"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/discovery"
	"github.com/mdouyin/mdouyin/internal/platform/discovery/etcdtest"
	"github.com/mdouyin/mdouyin/internal/platform/rpc"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/user"
	"github.com/mdouyin/mdouyin/kitex_gen/user/userservice"
)

// ttl is the lease TTL of test replicas: etcd's minimum, so expiry tests are short.
const ttl = 2 * time.Second

// waitFor is how long a test polls for something that should happen within a
// lease TTL plus a resolver refresh.
const waitFor = 15 * time.Second

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeUser is a user service whose GetProfiles (idempotent) and Register (not)
// count their calls and fail as fail says.
type fakeUser struct {
	profiles, registers atomic.Int64
	fail                func(method string, call int64) error
}

func (f *fakeUser) Register(ctx context.Context, req *user.RegisterRequest) (*user.AuthResponse, error) {
	n := f.registers.Add(1)
	if f.fail != nil {
		if err := f.fail("Register", n); err != nil {
			return nil, err
		}
	}
	return &user.AuthResponse{UserId: n}, nil
}

func (f *fakeUser) GetProfiles(ctx context.Context, req *user.GetProfilesRequest) (*user.GetProfilesResponse, error) {
	n := f.profiles.Add(1)
	if f.fail != nil {
		if err := f.fail("GetProfiles", n); err != nil {
			return nil, err
		}
	}
	return &user.GetProfilesResponse{}, nil
}

func (f *fakeUser) Login(context.Context, *user.LoginRequest) (*user.AuthResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (f *fakeUser) VerifyToken(context.Context, *user.VerifyTokenRequest) (*user.VerifyTokenResponse, error) {
	return nil, errs.ErrNotImplemented
}

// replica is one running user server registered through its own etcd client, as
// a separate process would be.
type replica struct {
	addr   string
	impl   *fakeUser
	cli    *clientv3.Client
	stop   func()
	killed atomic.Bool
}

// killable is the registry of a replica that kill can stop without deregistering.
type killable struct {
	*discovery.Registry
	killed *atomic.Bool
}

func (k killable) Deregister(info *registry.Info) error {
	if k.killed.Load() {
		return nil
	}
	return k.Registry.Deregister(info)
}

func startReplica(t *testing.T, ec *etcdtest.Server, impl *fakeUser) *replica {
	t.Helper()
	return startReplicaLingering(t, ec, impl, 0)
}

// startReplicaLingering starts a replica whose registry lingers as linger says
// (RegistryOptions.Linger).
func startReplicaLingering(t *testing.T, ec *etcdtest.Server, impl *fakeUser, linger time.Duration) *replica {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cli, err := discovery.Dial(ec.Endpoints())
	if err != nil {
		t.Fatal(err)
	}
	reg, err := discovery.NewRegistry(cli, discovery.RegistryOptions{TTL: ttl, Log: quiet, Linger: linger})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{addr: ln.Addr().String(), impl: impl, cli: cli}
	opts := append(rpc.ServerOptions(ctx, "user", ln), server.WithRegistry(killable{reg, &r.killed}))
	opts = append(opts, server.WithExitWaitTime(100*time.Millisecond))
	svr := userservice.NewServer(impl, opts...)
	done := make(chan error, 1)
	go func() { done <- svr.Run() }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			cli.Close()
		})
	}
	t.Cleanup(r.stop)
	// Kitex registers a second after the server starts.
	key := discovery.DefaultPrefix + "/user/" + r.addr
	poll(t, "replica "+r.addr+" registered", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		resp, err := cli.Get(ctx, key)
		return err == nil && len(resp.Kvs) == 1
	})
	return r
}

// kill stops r as kill -9 would: its keep-alives end and nothing deregisters it.
func (r *replica) kill(t *testing.T, ec *etcdtest.Server) {
	t.Helper()
	r.killed.Store(true)
	r.cli.Close()
	r.stop()
	if !registered(t, ec, r.addr) {
		t.Fatal("the killed replica is no longer listed; the test must exercise lease expiry")
	}
}

// attempts records the replica every attempt of a call went to, retries included.
type attempts struct {
	mu    sync.Mutex
	addrs []string
}

func (a *attempts) mw(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, req, resp any) error {
		err := next(ctx, req, resp)
		if ri := rpcinfo.GetRPCInfo(ctx); ri != nil && ri.To().Address() != nil {
			a.mu.Lock()
			a.addrs = append(a.addrs, ri.To().Address().String())
			a.mu.Unlock()
		}
		return err
	}
}

func (a *attempts) take() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.addrs
	a.addrs = nil
	return out
}

func newClient(t *testing.T, ec *etcdtest.Server, cfg discovery.ClientConfig, a *attempts, extra ...client.Option) userservice.Client {
	t.Helper()
	res, err := discovery.NewResolver(ec.Client(t), "")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(discovery.ClientOptions(res, cfg),
		client.WithTransportProtocol(transport.TTHeaderFramed),
		client.WithMetaHandler(transmeta.ClientTTHeaderHandler),
	)
	if a != nil {
		opts = append(opts, client.WithInstanceMW(a.mw))
	}
	opts = append(opts, extra...)
	c, err := userservice.NewClient("user", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// batch makes n GetProfiles calls and returns the replicas they reached and
// whether all succeeded.
func batch(c userservice.Client, a *attempts, n int) (map[string]int, bool) {
	a.take()
	ok := true
	for range n {
		if _, err := c.GetProfiles(context.Background(), &user.GetProfilesRequest{}); err != nil {
			ok = false
		}
	}
	seen := map[string]int{}
	for _, addr := range a.take() {
		seen[addr]++
	}
	return seen, ok
}

func TestReplicasJoinAndLeave(t *testing.T) {
	ec := etcdtest.Start(t)
	r1 := startReplica(t, ec, &fakeUser{})
	r2 := startReplica(t, ec, &fakeUser{})
	a := &attempts{}
	c := newClient(t, ec, discovery.ClientConfig{
		Timeout: time.Second, ConnectTimeout: 200 * time.Millisecond,
		Idempotent: []string{"GetProfiles"},
	}, a)

	// Calls spread over both replicas.
	seen, ok := batch(c, a, 20)
	if !ok || seen[r1.addr] == 0 || seen[r2.addr] == 0 || len(seen) != 2 {
		t.Fatalf("20 calls over two replicas reached %v (all ok: %v)", seen, ok)
	}
	t.Logf("20 calls: %v", seen)

	// A replica that stops deregisters and is dropped.
	start := time.Now()
	r1.stop()
	pollBatch(t, c, a, "stopped replica dropped", func(seen map[string]int) bool {
		return len(seen) == 1 && seen[r2.addr] > 0
	})
	t.Logf("stopped replica dropped after %v", time.Since(start).Round(10*time.Millisecond))

	// A new replica is used once it registers.
	r3 := startReplica(t, ec, &fakeUser{})
	pollBatch(t, c, a, "new replica used", func(seen map[string]int) bool {
		return seen[r3.addr] > 0 && seen[r2.addr] > 0
	})

	// A replica killed without deregistering is dropped once its lease expires.
	start = time.Now()
	r3.kill(t, ec)
	pollBatch(t, c, a, "killed replica dropped", func(seen map[string]int) bool {
		return len(seen) == 1 && seen[r2.addr] > 0
	})
	t.Logf("killed replica dropped after %v (lease TTL %v, refresh %v)",
		time.Since(start).Round(10*time.Millisecond), ttl, discovery.DefaultRefresh)
	if registered(t, ec, r3.addr) {
		t.Fatal("the killed replica is still registered")
	}

	// With no replica left, calls fail at once instead of dialling dead addresses.
	r2.stop()
	poll(t, "calls fail with no instance", func() bool {
		_, err := c.GetProfiles(context.Background(), &user.GetProfilesRequest{})
		return errors.Is(err, kerrors.ErrNoMoreInstance)
	})
}

// TestRetriesOnlyIdempotent checks that a failed attempt of an idempotent method is
// retried, and that neither a non-idempotent method nor a business error is.
func TestRetriesOnlyIdempotent(t *testing.T) {
	ec := etcdtest.Start(t)
	impl := &fakeUser{fail: func(method string, call int64) error {
		switch {
		case call == 1:
			return errors.New("internal failure") // no answer: retryable if idempotent
		case method == "GetProfiles" && call == 3:
			return errs.New(base.ErrCode_UserNotFound, "no such user") // an answer
		}
		return nil
	}}
	startReplica(t, ec, impl)
	c := newClient(t, ec, discovery.ClientConfig{Timeout: time.Second, Idempotent: []string{"GetProfiles"}}, nil)
	ctx := context.Background()

	if _, err := c.GetProfiles(ctx, &user.GetProfilesRequest{}); err != nil {
		t.Fatalf("GetProfiles: %v; want the failed attempt retried", err)
	}
	if n := impl.profiles.Load(); n != 2 {
		t.Fatalf("GetProfiles reached the server %d times, want 2 (one retry)", n)
	}

	_, err := c.Register(ctx, &user.RegisterRequest{Username: "a", Password: "b"})
	if err == nil {
		t.Fatal("Register succeeded; want its failure returned, not retried")
	}
	if n := impl.registers.Load(); n != 1 {
		t.Fatalf("Register reached the server %d times, want 1: it is not idempotent", n)
	}

	_, err = c.GetProfiles(ctx, &user.GetProfilesRequest{})
	if errs.CodeOf(err) != base.ErrCode_UserNotFound {
		t.Fatalf("GetProfiles: %v, want the business error", err)
	}
	if n := impl.profiles.Load(); n != 3 {
		t.Fatalf("GetProfiles reached the server %d times in all, want 3: a business error is an answer", n)
	}
}

// TestDeadReplicaSkipped checks that while a killed replica is still listed,
// calls to it, idempotent or not, go to another replica: Kitex picks again when it
// cannot connect, which is safe for every method because nothing was sent. Each
// call reaches a live replica exactly once.
func TestDeadReplicaSkipped(t *testing.T) {
	ec := etcdtest.Start(t)
	live := startReplica(t, ec, &fakeUser{})
	dead := startReplica(t, ec, &fakeUser{})
	a := &attempts{}
	// A connection per call: what is tested is a call to a listed replica that
	// is gone (refused, so it never reached it), not the reuse of a pooled
	// connection the kill closed, whose next call may already have been sent
	// when the close is seen (a busy machine made that race).
	c := newClient(t, ec, discovery.ClientConfig{
		Timeout: time.Second, ConnectTimeout: 200 * time.Millisecond,
		Idempotent: []string{"GetProfiles"},
	}, a, client.WithShortConnection())
	if seen, ok := batch(c, a, 4); !ok || len(seen) != 2 {
		t.Fatalf("warm-up calls reached %v (all ok: %v)", seen, ok)
	}
	dead.kill(t, ec)

	a.take()
	const n = 6
	for i := range n {
		if _, err := c.Register(context.Background(), &user.RegisterRequest{}); err != nil {
			t.Fatalf("Register %d with one replica dead: %v", i, err)
		}
		if _, err := c.GetProfiles(context.Background(), &user.GetProfilesRequest{}); err != nil {
			t.Fatalf("GetProfiles %d with one replica dead: %v", i, err)
		}
	}
	if !registered(t, ec, dead.addr) {
		t.Fatal("the dead replica expired during the test, so it was never picked")
	}
	var toDead int
	for _, addr := range a.take() {
		if addr == dead.addr {
			toDead++
		}
	}
	if toDead == 0 {
		t.Fatal("no attempt went to the dead replica; the test proved nothing")
	}
	if got := live.impl.registers.Load(); got != n {
		t.Fatalf("the live replica served %d Register calls, want %d", got, n)
	}
	t.Logf("%d of %d attempts went to the dead replica first", toDead, 2*n+toDead)
}

// TestStoppingReplicaFailsNoCall checks that a replica stopped gracefully (a
// rolling upgrade) fails none of the non-idempotent calls a pooled client keeps
// making: it leaves etcd first and serves until the client has dropped it.
func TestStoppingReplicaFailsNoCall(t *testing.T) {
	ec := etcdtest.Start(t)
	leaving := startReplica(t, ec, &fakeUser{})
	staying := startReplica(t, ec, &fakeUser{})
	c := newClient(t, ec, discovery.ClientConfig{Timeout: 2 * time.Second}, nil, client.WithLongConnection(rpc.Pool))
	ctx := context.Background()
	poll(t, "both replicas called", func() bool {
		_, err := c.Register(ctx, &user.RegisterRequest{})
		return err == nil && leaving.impl.registers.Load() > 0 && staying.impl.registers.Load() > 0
	})

	// Callers keep calling while the replica stops, and for as many calls again
	// after it has stopped.
	const callers, after = 8, 50
	stopped := make(chan struct{})
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < after; {
				select {
				case <-stopped:
					n++
				default:
				}
				if _, err := c.Register(ctx, &user.RegisterRequest{}); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	before := leaving.impl.registers.Load()
	start := time.Now()
	leaving.stop()
	t.Logf("replica stopped in %v", time.Since(start).Round(10*time.Millisecond))
	close(stopped)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d calls failed while a replica stopped gracefully; first: %v", n, firstErr.Load())
	}
	if served := leaving.impl.registers.Load() - before; served == 0 {
		t.Fatal("the leaving replica served no call while it stopped; the test proved nothing")
	}
	t.Logf("leaving replica served %d calls, staying %d", leaving.impl.registers.Load(), staying.impl.registers.Load())
}

// TestContribResolverReadsOurEntries checks that our registrations keep
// kitex-contrib/registry-etcd's layout, so its resolver and tools read them.
func TestContribResolverReadsOurEntries(t *testing.T) {
	ec := etcdtest.Start(t)
	r := startReplica(t, ec, &fakeUser{})
	res, err := etcd.NewEtcdResolver(ec.Endpoints())
	if err != nil {
		t.Fatal(err)
	}
	got, err := res.Resolve(context.Background(), "user")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Instances) != 1 || got.Instances[0].Address().String() != r.addr || got.Instances[0].Weight() <= 0 {
		t.Fatalf("contrib resolver read %+v, want %s", got.Instances, r.addr)
	}
}

func TestRegistryNeedsAHostToAdvertise(t *testing.T) {
	ec := etcdtest.Start(t)
	reg, err := discovery.NewRegistry(ec.Client(t), discovery.RegistryOptions{TTL: ttl, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	all := &net.TCPAddr{IP: net.IPv4zero, Port: 9101}
	if err := reg.Register(registryInfo(all)); err == nil {
		t.Fatal("registering 0.0.0.0:9101 without an advertised host succeeded")
	}
	reg, err = discovery.NewRegistry(ec.Client(t), discovery.RegistryOptions{TTL: ttl, Advertise: "10.1.2.3", Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(registryInfo(all)); err != nil {
		t.Fatal(err)
	}
	if !registered(t, ec, "10.1.2.3:9101") {
		t.Fatal("not registered under the advertised host")
	}
	if err := reg.Deregister(registryInfo(all)); err != nil {
		t.Fatal(err)
	}
	if registered(t, ec, "10.1.2.3:9101") {
		t.Fatal("still registered after Deregister")
	}
}

// TestRegistrationSurvivesEtcdRestart checks that a replica registered before etcd
// went away is listed again once etcd returns, whether or not its lease survived.
func TestRegistrationSurvivesEtcdRestart(t *testing.T) {
	ec := etcdtest.Start(t)
	r := startReplica(t, ec, &fakeUser{})
	start := time.Now()
	ec.Stop()
	t.Logf("etcd stopped in %v", time.Since(start).Round(10*time.Millisecond))
	start = time.Now()
	ec.Restart()
	t.Logf("etcd restarted in %v", time.Since(start).Round(10*time.Millisecond))
	poll(t, "replica listed after etcd restart", func() bool { return registered(t, ec, r.addr) })
	t.Logf("replica listed %v after etcd restarted", time.Since(start).Round(10*time.Millisecond))
	// Remove the entry behind the registry's back, as a lost lease would.
	cli := ec.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := cli.Delete(ctx, discovery.DefaultPrefix+"/user/"+r.addr); err != nil {
		t.Fatal(err)
	}
	lr, err := cli.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lr.Leases {
		if _, err := cli.Revoke(ctx, l.ID); err != nil {
			t.Fatal(err)
		}
	}
	start = time.Now()
	poll(t, "replica registered again after its lease was revoked", func() bool { return registered(t, ec, r.addr) })
	t.Logf("registered again %v after its lease was revoked", time.Since(start).Round(10*time.Millisecond))
}

func registryInfo(addr net.Addr) *registry.Info {
	return &registry.Info{ServiceName: "user", Addr: addr, Weight: 10}
}

func registered(t *testing.T, ec *etcdtest.Server, addr string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	resp, err := ec.Client(t).Get(ctx, discovery.DefaultPrefix+"/user/"+addr)
	if err != nil {
		t.Fatalf("etcd get: %v", err)
	}
	return len(resp.Kvs) == 1
}

// pollBatch makes batches of calls until one succeeds entirely and reaches the
// replicas done accepts.
func pollBatch(t *testing.T, c userservice.Client, a *attempts, what string, done func(map[string]int) bool) {
	t.Helper()
	poll(t, what, func() bool {
		seen, ok := batch(c, a, 10)
		return ok && done(seen)
	})
}

// poll calls cond until it holds, failing the test if it does not within waitFor.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, waitFor)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
