package obs

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
)

// HeaderRequestID is the header that carries a request's id in and out.
const HeaderRequestID = "X-Request-Id"

// maxRequestIDLen bounds an incoming id: it is copied into every log line of the
// request, so a client must not be able to make those lines arbitrarily long.
const maxRequestIDLen = 64

// requestIDKey is the context key of the request id; a private type keeps other
// packages from colliding with it.
type requestIDKey struct{}

// requestIDSlot is where the id is kept in the request's keys, for middleware that runs
// outside RequestID and so never sees the context it passes down.
const requestIDSlot = "mdouyin.obs.request_id"

// RequestID returns the middleware that gives every request an id. It keeps the
// caller's X-Request-Id when that is a sane token (1 to 64 of A-Z a-z 0-9 . _ -), so a
// request can be followed through a proxy that already assigned one, and otherwise
// generates 16 random hex digits: an id from outside is echoed into logs and headers,
// so anything longer or with other characters is replaced rather than trusted. The id
// is set on the response and carried in the context that later handlers receive; read
// it with RequestIDFrom.
func RequestID() app.HandlerFunc {
	return func(ctx context.Context, c *app.RequestContext) {
		id := string(c.Request.Header.Peek(HeaderRequestID))
		if !validRequestID(id) {
			id = newRequestID()
		}
		c.Response.Header.Set(HeaderRequestID, id)
		c.Set(requestIDSlot, id)
		c.Next(context.WithValue(ctx, requestIDKey{}, id))
	}
}

// RequestIDFrom returns the id RequestID assigned to the request ctx belongs to, or ""
// when ctx did not pass through it (a background job, a test calling a handler directly).
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func validRequestID(s string) bool {
	if s == "" || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9', b == '.', b == '_', b == '-':
		default:
			return false
		}
	}
	return true
}

// newRequestID returns 64 random bits as 16 hex digits: enough that ids do not collide
// within any log retention window, short enough to read out over a chat. An id names a
// request and guards nothing, so the runtime's fast generator serves (crypto/rand cost
// a system call on every request).
func newRequestID() string {
	var b [16]byte
	const digits = "0123456789abcdef"
	n := rand.Uint64()
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = digits[n&0xf]
		n >>= 4
	}
	return string(b[:])
}

// maxLoggedPathLen bounds the path copied into an access log line; the path of an
// unmatched request is whatever the client chose to send.
const maxLoggedPathLen = 256

// AccessLog returns the middleware that writes one line per request to l, after the
// handlers have run: method, route pattern, path (never the query string, which carries
// tokens), HTTP status, duration, request id and client address. Lines for the operator
// endpoints of api.md D (/healthz, /readyz, /metrics) are written at Debug, since probes
// and scrapes arrive every few seconds and would bury real traffic; everything else at
// Info.
//
// The client address is c.ClientIP(), so it is only as trustworthy as the engine's
// ClientIP function: Hertz's default believes X-Forwarded-For from any peer, and the
// gateway replaces it with one that trusts configured proxies only.
func AccessLog(l *slog.Logger) app.HandlerFunc {
	return func(ctx context.Context, c *app.RequestContext) {
		start := time.Now()
		c.Next(ctx)

		route := routeLabel(c)
		level := slog.LevelInfo
		switch route {
		case "/healthz", "/readyz", "/metrics":
			level = slog.LevelDebug
		}
		if !l.Enabled(ctx, level) {
			return
		}
		path := string(c.Request.URI().Path())
		if len(path) > maxLoggedPathLen {
			path = path[:maxLoggedPathLen]
		}
		v, _ := c.Get(requestIDSlot)
		id, _ := v.(string)
		l.LogAttrs(ctx, level, "http request",
			slog.String("method", methodLabel(c)),
			slog.String("route", route),
			slog.String("path", path),
			slog.Int("status", c.Response.StatusCode()),
			slog.Duration("duration", time.Since(start)),
			slog.String("request_id", id),
			slog.String("client_ip", c.ClientIP()),
		)
	}
}
