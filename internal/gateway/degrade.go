package gateway

// Degradation: answering without a role that is down.
//
// The gateway is the BFF of the comment-platform design (seed 004): it composes
// answers from several roles, and a role that only decorates an answer must not take
// the answer down with it. Names and avatars from the user role, and the counts of
// the relation, favorite and video roles, decorate lists of videos, comments and
// users; when such a role is unavailable the list is answered without its part
// (optional). A route whose whole point is what the role holds (a user's profile, a
// login) answers Unavailable instead (essential). Business errors are answers, never
// degraded: they reach the client as they are.

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/obs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// The roles the gateway may answer without, as they appear in logs and in the
// dependency label of mdouyin_gateway_degraded_total.
const (
	depUser     = "user"
	depRelation = "relation"
	depFavorite = "favorite"
	depVideo    = "video"
	depComment  = "comment"
	depMessage  = "message"
)

// degradeLogEvery bounds how often one role's unavailability is logged: a role that
// is down fails every request, and one line per request would bury everything else.
const degradeLogEvery = 10 * time.Second

// degradable reports whether err, from a call to another role, means that role is
// unavailable: unreachable, timing out, failing without a business answer, or cut
// off by its circuit breaker (which fails calls at once, without trying the role).
func degradable(err error) bool {
	if err == nil {
		return false
	}
	if _, isBiz := errs.From(err); isBiz {
		return false
	}
	return unavailable(err)
}

// optional handles the outcome of a call to dep that a response can do without: it
// returns nil when err is nil or means dep is unavailable (counting and logging the
// degradation), and err itself otherwise. ctx is the call's: once it is cancelled (a
// sibling call failed first, or the client went away) a failure is not dep's.
func (g *Gateway) optional(ctx context.Context, dep string, err error) error {
	d := g.degradation()
	switch {
	case err == nil:
		d.answered(dep)
		return nil
	case ctx.Err() != nil || !degradable(err):
		return err
	}
	d.unavailable(ctx, dep, err, true)
	return nil
}

// essential handles a failed call to dep that the response cannot do without: when
// dep is unavailable the answer is Unavailable (the circuit breaker's fail-fast
// included), logged at most every degradeLogEvery; any other error is returned as
// it is.
func (g *Gateway) essential(ctx context.Context, dep string, err error) error {
	if ctx.Err() != nil || !degradable(err) {
		return err
	}
	g.degradation().unavailable(ctx, dep, err, false)
	return errs.New(base.ErrCode_Unavailable, unavailableMsg)
}

// answered records that dep answered a call, which ends a degradation of it.
func (g *Gateway) answered(dep string) {
	g.degradation().answered(dep)
}

// degradation returns g's degrader.
func (g *Gateway) degradation() *degrader { return g.degrade }

// degrader counts and logs the requests answered without a role, per role.
type degrader struct {
	log      *slog.Logger
	degraded *prometheus.CounterVec
	roles    sync.Map // role → *roleHealth
	now      func() time.Time
}

// roleHealth is what the gateway has seen of one role lately.
type roleHealth struct {
	down atomic.Bool // failed since it last answered; read on every answer

	mu       sync.Mutex
	lastLog  time.Time // when a warning about the role was last logged
	warned   bool      // a warning was logged since the role last answered
	degraded int64     // requests answered without the role since the last log line
	failed   int64     // requests failed for want of it since the last log line
}

// newDegrader returns a degrader logging to log, with its counter registered in
// reg when reg is not nil. Like prometheus.MustRegister it panics when reg already
// holds the counter: two gateways wired to one registry is a wiring mistake.
func newDegrader(reg prometheus.Registerer, log *slog.Logger) *degrader {
	d := &degrader{
		log: log,
		degraded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "mdouyin",
			Subsystem: "gateway",
			Name:      "degraded_total",
			Help:      "Requests answered without a role that was unavailable (down, timing out or cut off by its circuit breaker), by that role.",
		}, []string{"dependency"}),
		now: time.Now,
	}
	// Every role's series exists from the start, so a rate() over it needs no
	// first degradation to be meaningful.
	for _, r := range []string{depUser, depRelation, depFavorite, depVideo, depComment, depMessage} {
		d.degraded.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(d.degraded)
	}
	return d
}

func (d *degrader) health(role string) *roleHealth {
	if h, ok := d.roles.Load(role); ok {
		return h.(*roleHealth)
	}
	h, _ := d.roles.LoadOrStore(role, &roleHealth{})
	return h.(*roleHealth)
}

// unavailable records a request that found role unavailable: answered without it
// (degraded) or failed. The first such request after the role last answered is
// logged at warn, and then one line per degradeLogEvery says how many followed.
func (d *degrader) unavailable(ctx context.Context, role string, err error, degraded bool) {
	if degraded {
		d.degraded.WithLabelValues(role).Inc()
	}
	h := d.health(role)
	h.down.Store(true)
	h.mu.Lock()
	defer h.mu.Unlock()
	if degraded {
		h.degraded++
	} else {
		h.failed++
	}
	now := d.now()
	if !h.lastLog.IsZero() && now.Sub(h.lastLog) < degradeLogEvery {
		// Also after the role answered in between: a role that flaps is logged
		// no more often than one that stays down.
		return
	}
	d.log.WarnContext(ctx, "a role is unavailable; lists are answered without it, requests that need it fail",
		"dependency", role, "degraded_requests", h.degraded, "failed_requests", h.failed,
		"request_id", obs.RequestIDFrom(ctx), "err", err)
	h.lastLog, h.warned, h.degraded, h.failed = now, true, 0, 0
}

// answered records that role answered. The first answer after a logged warning is
// logged once, with what happened since that warning.
func (d *degrader) answered(role string) {
	h := d.health(role)
	if !h.down.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down.Load() {
		return
	}
	h.down.Store(false)
	if !h.warned {
		// Its failures since the last warning were within degradeLogEvery of it
		// and are told with the next one.
		return
	}
	d.log.Info("a role answers again", "dependency", role,
		"degraded_requests", h.degraded, "failed_requests", h.failed)
	h.warned, h.degraded, h.failed = false, 0, 0
}
