package rpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/circuitbreak"
	"github.com/cloudwego/kitex/pkg/kerrors"
	"github.com/cloudwego/kitex/pkg/remote"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/user"
	"github.com/mdouyin/mdouyin/kitex_gen/user/userservice"
)

// users is a user role whose GetProfiles knows no user numbered missing (a
// business error) and answers every other call.
type users struct {
	user.UserService
	calls atomic.Int64
}

const missing = 404

func (u *users) GetProfiles(_ context.Context, req *user.GetProfilesRequest) (*user.GetProfilesResponse, error) {
	u.calls.Add(1)
	if len(req.UserIds) > 0 && req.UserIds[0] == missing {
		return nil, errs.New(base.ErrCode_UserNotFound, "user not found")
	}
	return &user.GetProfilesResponse{Profiles: map[int64]*base.Profile{}}, nil
}

// serve runs impl as the user role on addr ("127.0.0.1:0" for any port) until the
// returned stop is called (or the test ends). It waits for addr to be free, as it
// is for a moment after a server on it stopped.
func serve(t *testing.T, addr string, impl user.UserService) (string, func()) {
	t.Helper()
	var ln net.Listener
	for deadline := time.Now().Add(30 * time.Second); ; {
		var err error
		if ln, err = Listen("user", addr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // polling for the port
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := userservice.NewServer(impl, ServerOptions(ctx, "user", ln)...)
	done := make(chan error, 1)
	go func() { done <- srv.Run() }()
	var stopped atomic.Bool
	stop := func() {
		if stopped.CompareAndSwap(false, true) {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

// open returns the keys of cb's breakers at level ("service" or "instance") that
// are not closed (open or half-open).
func open(cb *circuitbreak.CBSuite, level string) map[string]bool {
	out := map[string]bool{}
	dump, _ := cb.Dump().(map[string]any)
	levelDump, _ := dump[level].(map[string]any)
	for k := range levelDump {
		if k != "msg" { // "all circuit breakers are in closed state"
			out[k] = true
		}
	}
	return out
}

func newClient(t *testing.T, cb *circuitbreak.CBSuite, addrs ...string) userservice.Client {
	t.Helper()
	c, err := userservice.NewClient("user", append(ClientOptions("user", addrs, 2*time.Second), client.WithCircuitBreaker(cb))...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func call(c userservice.Client, id int64) error {
	_, err := c.GetProfiles(context.Background(), &user.GetProfilesRequest{UserIds: []int64{id}})
	return err
}

// A role that stops opens the method's breaker, which then fails calls at once; a
// role that comes back closes it again. Business errors never open it.
func TestBreakerOpensAndCloses(t *testing.T) {
	srv := &users{}
	addr, stop := serve(t, "127.0.0.1:0", srv)
	cb := NewBreaker("user", userservice.NewServiceInfo())
	c := newClient(t, cb, addr)

	// Business errors are answers: many more than the breaker's sample, all
	// reaching the role and the caller as they are.
	const biz = 3 * ServiceMinSamples
	for i := 0; i < biz; i++ {
		if err := call(c, missing); errs.CodeOf(err) != base.ErrCode_UserNotFound {
			t.Fatalf("call %d: %v, want the business error UserNotFound", i, err)
		}
	}
	if n := srv.calls.Load(); n != biz {
		t.Fatalf("the role saw %d calls, want %d", n, biz)
	}
	if o := open(cb, "service"); len(o) > 0 {
		t.Fatalf("business errors opened breakers %v", o)
	}

	stop()
	var calls int
	var lastErr error
	for deadline := time.Now().Add(30 * time.Second); ; calls++ {
		err := call(c, 1)
		if errors.Is(err, kerrors.ErrServiceCircuitBreak) {
			break
		}
		// Until then: a pooled connection the server closed, refused connections,
		// and the replica's own breaker once it opened (which Kitex tries before
		// failing).
		if !errors.Is(err, kerrors.ErrRemoteOrNetwork) && !errors.Is(err, kerrors.ErrInstanceCircuitBreak) {
			t.Fatalf("call %d to a stopped role: %v", calls, err)
		}
		lastErr = err
		if time.Now().After(deadline) || calls > 20*ServiceMinSamples {
			t.Fatalf("the method's breaker did not open after %d failed calls (last: %v)", calls, lastErr)
		}
	}
	t.Logf("breaker opened after %d failed calls (with %d successes in its window)", calls, biz)
	if !open(cb, "service")["user/GetProfiles"] {
		t.Fatalf("open breakers %v, want user/GetProfiles", open(cb, "service"))
	}
	start := time.Now()
	err := call(c, 1)
	t.Logf("a call with the breaker open failed in %v", time.Since(start))
	if !errors.Is(err, kerrors.ErrCircuitBreak) {
		t.Fatalf("call with the breaker open: %v, want a circuit-break error", err)
	}
	// Only this method is cut off.
	if _, err := c.Login(context.Background(), &user.LoginRequest{}); errors.Is(err, kerrors.ErrServiceCircuitBreak) {
		t.Fatalf("Login was cut off by GetProfiles' breaker: %v", err)
	}

	// The role comes back on the same address: after the breaker's cooling time
	// trial calls get through, and their success closes it.
	before := srv.calls.Load()
	serve(t, addr, srv)
	for deadline := time.Now().Add(60 * time.Second); ; {
		err := call(c, 1)
		if err == nil && len(open(cb, "service")) == 0 && len(open(cb, "instance")) == 0 {
			break
		}
		if err != nil && !errors.Is(err, kerrors.ErrCircuitBreak) && !errors.Is(err, kerrors.ErrRemoteOrNetwork) {
			t.Fatalf("call while the role comes back: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("breakers did not close after the role came back (open: %v %v; last error %v)",
				open(cb, "service"), open(cb, "instance"), err)
		}
		time.Sleep(20 * time.Millisecond) // polling the breaker's recovery
	}
	for i := 0; i < 5; i++ {
		if err := call(c, 1); err != nil {
			t.Fatalf("call %d after the breaker closed: %v", i, err)
		}
	}
	if srv.calls.Load() <= before {
		t.Fatal("the role saw no call after it came back")
	}
}

// With two replicas, a stopped one is avoided: its breaker opens so that Kitex
// stops dialling it before discovery forgets it, and every call succeeds.
func TestBreakerAvoidsADeadReplica(t *testing.T) {
	a, b := &users{}, &users{}
	addrA, _ := serve(t, "127.0.0.1:0", a)
	addrB, stopB := serve(t, "127.0.0.1:0", b)
	cb := NewBreaker("user", userservice.NewServiceInfo())
	c := newClient(t, cb, addrA, addrB)
	for i := 0; a.calls.Load() == 0 || b.calls.Load() == 0; i++ {
		if err := call(c, 1); err != nil {
			t.Fatal(err)
		}
		if i > 200 {
			t.Fatalf("calls do not reach both replicas: %d and %d", a.calls.Load(), b.calls.Load())
		}
	}

	stopB()
	calls, failed := 0, 0
	for deadline := time.Now().Add(30 * time.Second); !open(cb, "instance")[addrB]; calls++ {
		// A refused connection is retried on the other replica by Kitex; only a
		// call already sent on a pooled connection that the stopped replica
		// closed can fail (Kitex cannot know it was not received).
		if err := call(c, 1); err != nil {
			if !errors.Is(err, kerrors.ErrRemoteOrNetwork) || errors.Is(err, kerrors.ErrGetConnection) {
				t.Fatalf("call %d with one replica stopped: %v", calls, err)
			}
			failed++
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stopped replica's breaker did not open after %d calls (open: %v)", calls, open(cb, "instance"))
		}
	}
	t.Logf("the stopped replica's breaker opened after %d calls (%d failed on a stale connection)", calls, failed)
	before := a.calls.Load()
	for i := 0; i < 2*InstanceMinSamples; i++ {
		if err := call(c, 1); err != nil {
			t.Fatalf("call %d with the stopped replica's breaker open: %v", i, err)
		}
	}
	if n := a.calls.Load() - before; n != 2*InstanceMinSamples {
		t.Fatalf("the live replica served %d of %d calls", n, 2*InstanceMinSamples)
	}
	if o := open(cb, "instance"); o[addrA] {
		t.Fatalf("the live replica's breaker is open: %v", o)
	}
	if o := open(cb, "service"); len(o) > 0 {
		t.Fatalf("a dead replica opened the method's breaker: %v", o)
	}
}

func TestBreakerErrorTypes(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	bg := context.Background()
	exception := kerrors.ErrRemoteOrNetwork.WithCauseAndExtraMsg(remote.NewTransErrorWithMsg(remote.InternalError, "db down"), "remote")
	timeout := kerrors.ErrRPCTimeout.WithCause(errors.New("timeout=3s"))
	refused := kerrors.ErrRemoteOrNetwork.WithCause(kerrors.ErrGetConnection.WithCause(errors.New("connection refused")))
	broken := kerrors.ErrRemoteOrNetwork.WithCause(errors.New("connection reset by peer"))
	for _, tc := range []struct {
		name          string
		ctx           context.Context
		err           error
		svc, instance circuitbreak.ErrorType
	}{
		{"success", bg, nil, circuitbreak.TypeSuccess, circuitbreak.TypeSuccess},
		{"business error", bg, kerrors.NewBizStatusError(int32(base.ErrCode_UserNotFound), "no"), circuitbreak.TypeSuccess, circuitbreak.TypeSuccess},
		{"wrapped business error", bg, fmt.Errorf("x: %w", errs.New(base.ErrCode_InvalidArgument, "bad")), circuitbreak.TypeSuccess, circuitbreak.TypeSuccess},
		{"callee's internal failure", bg, exception, circuitbreak.TypeFailure, circuitbreak.TypeSuccess},
		{"timeout", bg, timeout, circuitbreak.TypeTimeout, circuitbreak.TypeTimeout},
		{"refused connection", bg, refused, circuitbreak.TypeFailure, circuitbreak.TypeFailure},
		{"broken connection", bg, broken, circuitbreak.TypeFailure, circuitbreak.TypeFailure},
		{"caller cancelled", bg, kerrors.ErrRPCTimeout.WithCause(fmt.Errorf("timeout=3s: %w by business", context.Canceled)), circuitbreak.TypeIgnorable, circuitbreak.TypeIgnorable},
		{"cancelled context", cancelled, broken, circuitbreak.TypeIgnorable, circuitbreak.TypeIgnorable},
		{"no resolver (local)", bg, kerrors.ErrNoResolver, circuitbreak.TypeIgnorable, circuitbreak.TypeSuccess},
	} {
		if got := serviceErrorType(tc.ctx, nil, nil, tc.err); got != tc.svc {
			t.Errorf("%s: service level %v, want %v", tc.name, got, tc.svc)
		}
		if got := instanceErrorType(tc.ctx, nil, nil, tc.err); got != tc.instance {
			t.Errorf("%s: instance level %v, want %v", tc.name, got, tc.instance)
		}
	}
}
