package rpc

import (
	"context"
	"errors"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/circuitbreak"
	"github.com/cloudwego/kitex/pkg/kerrors"
	"github.com/cloudwego/kitex/pkg/remote"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/pkg/serviceinfo"
)

// Circuit-breaker thresholds. Kitex's breakers count calls over a sliding window of
// 10 s; an open breaker stays open for 5 s, then lets one trial call through every
// 200 ms and closes after two of them succeed in a row (one failure reopens it).
//
// A method of a role opens once half of at least ServiceMinSamples calls in the
// window failed (no answer, or an internal failure of the callee). Twenty calls is
// a moment of a busy gateway's traffic, so a role that is down is noticed while
// its callers still care, yet a handful of unlucky calls cannot open it.
//
// A replica opens once half of at least InstanceMinSamples calls to it failed at
// the transport. Kitex then sends its calls to the other replicas at once instead of
// dialling the dead one first, which is what keeps a killed replica from costing
// anything in the seconds before etcd forgets it.
const (
	ServiceErrorRate   = 0.5
	ServiceMinSamples  = 20
	InstanceErrorRate  = 0.5
	InstanceMinSamples = 10
)

// NewBreaker returns the circuit breakers for a Kitex client of role, whose methods
// svc lists; pass it to client.WithCircuitBreaker. Every client needs a breaker of
// its own (Kitex ties it to the client's event bus).
//
// There are two levels. One breaker per method of the role (the service level):
// while it is open, calls fail at once with kerrors.ErrServiceCircuitBreak, so a
// role that is down costs its callers no timeouts and gets no load while it comes
// back; its callers degrade or answer "unavailable". One breaker per replica
// address (the instance level): while open, Kitex picks another replica, and only
// when every replica is open does a call fail with kerrors.ErrInstanceCircuitBreak.
// Both errors are kerrors.ErrCircuitBreak.
//
// Only failures that carry no answer count: timeouts, refused or broken
// connections, and failures of the callee that are not business errors. A business
// error (an errs.Error carried in TTHeader) is an answer, and so counts as a
// success; a call its caller cancelled counts as nothing. Breakers are per method,
// not per role, so that one method whose own dependency is down (the message role's
// Chat, which needs the user role) does not cut off the methods that still work
// (its Latest).
func NewBreaker(role string, svc *serviceinfo.ServiceInfo) *circuitbreak.CBSuite {
	key := func(ri rpcinfo.RPCInfo) string { return role + "/" + ri.To().Method() }
	s := circuitbreak.NewCBSuite(key,
		circuitbreak.WithServiceGetErrorType(serviceErrorType),
		circuitbreak.WithInstanceGetErrorType(instanceErrorType))
	cfg := circuitbreak.CBConfig{Enable: true, ErrRate: ServiceErrorRate, MinSample: ServiceMinSamples}
	if svc != nil {
		// A method's thresholds are looked up by its key; Kitex's defaults (200
		// calls) would apply to any key not set here.
		for m := range svc.Methods {
			s.UpdateServiceCBConfig(role+"/"+m, cfg)
		}
	}
	s.UpdateInstanceCBConfig(circuitbreak.CBConfig{Enable: true, ErrRate: InstanceErrorRate, MinSample: InstanceMinSamples})
	return s
}

// serviceErrorType classifies the outcome of one attempt of a call for the
// method's breaker. It is Kitex's own classification (which ignores local faults
// such as a missing resolver, and counts timeouts and every other failure) with
// two more rules: a business error is a success, and a call given up by its caller
// says nothing about the callee.
func serviceErrorType(ctx context.Context, req, resp any, err error) circuitbreak.ErrorType {
	switch {
	case err == nil, answeredWithBizError(err):
		return circuitbreak.TypeSuccess
	case cancelled(ctx, err):
		return circuitbreak.TypeIgnorable
	}
	return circuitbreak.ErrorTypeOnServiceLevel(ctx, req, resp, err)
}

// instanceErrorType classifies the outcome of one attempt for the breaker of the
// replica it went to. Only what points at that replica rather than at the request
// counts: a connection that cannot be made, a transport that breaks or times out.
// Anything the replica answered, even an internal failure of its handler, shows it
// is up, so the call counts as a success here (the method's breaker counts it).
func instanceErrorType(ctx context.Context, _, _ any, err error) circuitbreak.ErrorType {
	switch {
	case err == nil, answeredWithBizError(err), answeredWithException(err):
		return circuitbreak.TypeSuccess
	case cancelled(ctx, err):
		return circuitbreak.TypeIgnorable
	case kerrors.IsTimeoutError(err):
		return circuitbreak.TypeTimeout
	case errors.Is(err, kerrors.ErrGetConnection), errors.Is(err, kerrors.ErrRemoteOrNetwork):
		return circuitbreak.TypeFailure
	}
	return circuitbreak.TypeSuccess
}

// answeredWithBizError reports whether err is a business error. Kitex normally keeps
// those out of the middleware chain (they reach the caller after it), so this is a
// guard that they can never open a breaker.
func answeredWithBizError(err error) bool {
	_, ok := kerrors.FromBizStatusError(err)
	return ok
}

// answeredWithException reports whether err is an exception the callee sent back
// (a Thrift application exception): the replica is up and talking.
func answeredWithException(err error) bool {
	var te *remote.TransError
	return errors.As(err, &te)
}

// cancelled reports whether the caller gave up on the call: its context was
// cancelled (a client that went away, a sibling call that failed first).
func cancelled(ctx context.Context, err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, kerrors.ErrCanceledByBusiness) ||
		errors.Is(ctx.Err(), context.Canceled)
}

// BreakerOption is the client option that puts NewBreaker(role, svc) on a client.
func BreakerOption(role string, svc *serviceinfo.ServiceInfo) client.Option {
	return client.WithCircuitBreaker(NewBreaker(role, svc))
}
