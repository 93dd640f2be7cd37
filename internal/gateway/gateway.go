// Package gateway is the HTTP face of mdouyin: the app's API (api.md), token
// checks, rate limits, and the joining of answers from the service roles.
package gateway

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/cloudwego/hertz/pkg/app"
	"github.com/cloudwego/hertz/pkg/app/middlewares/server/recovery"
	"github.com/cloudwego/hertz/pkg/app/server"
	hconfig "github.com/cloudwego/hertz/pkg/common/config"
	"github.com/cloudwego/hertz/pkg/network/standard"
	"github.com/maypok86/otter/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mdouyin/mdouyin/internal/config"
	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/blob"
	"github.com/mdouyin/mdouyin/internal/platform/obs"
	"github.com/mdouyin/mdouyin/internal/ratelimit"
	"github.com/mdouyin/mdouyin/internal/token"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
	"github.com/mdouyin/mdouyin/kitex_gen/favorite"
	"github.com/mdouyin/mdouyin/kitex_gen/message"
	"github.com/mdouyin/mdouyin/kitex_gen/relation"
	"github.com/mdouyin/mdouyin/kitex_gen/user"
	"github.com/mdouyin/mdouyin/kitex_gen/video"
)

// Services are the roles the gateway talks to: Go implementations in one process,
// Kitex client adapters in a cluster. The gateway cannot tell which.
type Services struct {
	User         user.UserService
	Video        video.VideoService
	Favorite     favorite.FavoriteService
	Comment      comment.CommentService
	CommentAdmin comment.CommentAdminService
	Relation     relation.RelationService
	Message      message.MessageService
}

// Deps is what a Gateway is built from.
type Deps struct {
	Config   config.Config
	Services Services
	Tokens   *token.Manager // verifies app tokens locally, without a call to the user role
	// AdminTokens issues and verifies the operations console's tokens (audience
	// admin); nil keeps the admin API closed.
	AdminTokens *token.Manager
	// Console holds the admin console's files (web/admin), served under /admin/.
	Console  fs.FS
	Limits   *ratelimit.Registry // per route class rate limits
	Log      *slog.Logger
	Metrics  *prometheus.Registry
	Media    blob.Store                  // media served under /media/ (local disk in one process)
	Ready    func(context.Context) error // readiness of this process's dependencies
	Listener net.Listener                // optional; otherwise Config.HTTPAddr is listened on
	// OpsOnly serves just the operator endpoints, for processes that run a
	// service role and no API.
	OpsOnly bool
}

// Gateway serves HTTP.
type Gateway struct {
	cfg     config.Config
	svc     Services
	tokens  *token.Manager
	limits  *ratelimit.Registry
	log     *slog.Logger
	ready   func(context.Context) error
	trusted []netip.Prefix
	h       *server.Hertz
	static  *staticImages
	media   blob.Store
	ln      *drainListener
	loc     *time.Location // the time zone of create_date
	degrade *degrader      // answers without roles that are down (degrade.go)

	accounts *otter.Cache[int64, struct{}] // ids known to have an account (accounts.go)
	cache    *readCaches                   // profiles and the guest feed's first page (readcache.go)

	adminTokens *token.Manager
	console     fs.FS
}

var errRateLimited = errs.New(base.ErrCode_RateLimited, "too many requests; please slow down and try again shortly")

// New builds the gateway and its routes; Run serves them.
func New(d Deps) (*Gateway, error) {
	g := &Gateway{
		cfg:      d.Config,
		svc:      d.Services,
		tokens:   d.Tokens,
		limits:   d.Limits,
		log:      d.Log,
		ready:    d.Ready,
		degrade:  newDegrader(d.Metrics, d.Log),
		accounts: newKnownAccounts(),
		cache:    newReadCaches(),
		static:   newStaticImages(),
		media:    d.Media,
		loc:      time.UTC,

		adminTokens: d.AdminTokens,
		console:     d.Console,
	}
	if d.Metrics != nil {
		d.Metrics.MustRegister(g.cache.comments.collectors()...)
	}
	if loc, err := time.LoadLocation(d.Config.TimeZone); err == nil {
		g.loc = loc
	}
	for _, s := range d.Config.HTTP.TrustedProxies {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, err
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		g.trusted = append(g.trusted, p)
	}
	hopts := []hconfig.Option{
		// Bodies stream; the server-wide bound is the largest route's, and each
		// route enforces its own (body.go).
		server.WithStreamBody(true),
		// Hertz would otherwise read a whole multipart upload into memory and temp
		// files before any handler, ignoring our limits; forms are parsed on demand.
		server.WithDisablePreParseMultipartForm(true),
		server.WithMaxRequestBodySize(int(max(d.Config.HTTP.MaxBodyBytes, d.Config.HTTP.MaxUploadBytes))),
		server.WithMaxHeaderBytes(16 << 10),
		server.WithReadTimeout(d.Config.HTTP.ReadTimeout),
		server.WithWriteTimeout(d.Config.HTTP.WriteTimeout),
		server.WithIdleTimeout(d.Config.HTTP.IdleTimeout),
		server.WithExitWaitTime(d.Config.HTTP.ShutdownTimeout),
		// api.md A.1: both path forms are served, never redirected.
		server.WithRedirectTrailingSlash(false),
		server.WithRedirectFixedPath(false),
		server.WithHandleMethodNotAllowed(true),
		server.WithDisablePrintRoute(true),
		// Go's own network stack: it accepts our listener (netpoll needs a raw
		// TCP listener), which lets Shutdown end idle keep-alive connections.
		server.WithTransport(standard.NewTransporter),
	}
	ln := d.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", d.Config.HTTPAddr); err != nil {
			return nil, fmt.Errorf("gateway: cannot listen on %s: %w", d.Config.HTTPAddr, err)
		}
	}
	g.ln = newDrainListener(ln, d.Config.HTTP.ReadTimeout, d.Config.HTTP.WriteTimeout)
	hopts = append(hopts, server.WithListener(g.ln))
	g.h = server.New(hopts...)
	// Hertz's own ClientIP believes X-Forwarded-For from anyone; ours only from
	// configured proxies. The access log uses it.
	g.h.SetClientIPFunc(g.clientIP)
	g.h.Use(obs.RequestID(), obs.HTTPTracing(), obs.AccessLog(d.Log), obs.NewHTTPMetrics(d.Metrics).Middleware(),
		recovery.Recovery(recovery.WithRecoveryHandler(g.recovered)), finishBody(d.Config.HTTP.MaxBodyBytes))
	if d.OpsOnly {
		g.opsRoutes(d.Metrics)
	} else {
		g.routes(d.Metrics)
	}
	return g, nil
}

// Run serves until Shutdown is called; it returns nil after a graceful shutdown.
func (g *Gateway) Run() error {
	return g.h.Run()
}

// Shutdown stops accepting connections and waits, up to the configured shutdown
// timeout, for requests in flight to finish.
func (g *Gateway) Shutdown(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- g.h.Shutdown(ctx) }()
	// Hertz closes the listener first; then idle connections are ended so only
	// requests in flight hold the shutdown.
	for {
		g.ln.expireReads()
		select {
		case err := <-done:
			return err
		case <-time.After(50 * time.Millisecond):
			// Repeat: a connection that was mid-request finishes it and then
			// waits for another, which must be ended too.
		}
	}
}

// recovered answers a request whose handler panicked like any internal failure
// (HTTP 200, a generic message) and logs the panic with its stack, once.
func (g *Gateway) recovered(ctx context.Context, c *app.RequestContext, err any, stack []byte) {
	g.log.ErrorContext(ctx, "handler panicked", "route", c.FullPath(), "request_id", obs.RequestIDFrom(ctx),
		"panic", fmt.Sprint(err), "stack", string(stack))
	c.Abort()
	g.fail(ctx, c, errs.New(base.ErrCode_Internal, internalMsg), nil)
}

// currentUser returns the id in the request's token, or 0 when there is no valid
// token. It is for routes where logging in is optional.
func (g *Gateway) currentUser(c *app.RequestContext) int64 {
	t := param(c, "token")
	if t == "" {
		return 0
	}
	id, err := g.tokens.Verify(t)
	if err != nil {
		return 0
	}
	return id
}

// requireUser returns the id in the request's token, or an Unauthenticated error.
// For a write (any method but GET and HEAD) the account must also exist
// (accounts.go).
func (g *Gateway) requireUser(ctx context.Context, c *app.RequestContext) (int64, error) {
	t := param(c, "token")
	if t == "" {
		return 0, errs.New(base.ErrCode_Unauthenticated, "please log in first (token is missing)")
	}
	id, err := g.tokens.Verify(t)
	if err != nil || c.IsGet() || c.IsHead() {
		return id, err
	}
	if err := g.checkAccount(ctx, id); err != nil {
		return 0, err
	}
	return id, nil
}

// allow applies the rate limit of a route class to key.
func (g *Gateway) allow(ctx context.Context, c *app.RequestContext, class, key string) bool {
	ok, _ := g.limits.Allow(class, key)
	return ok
}

// clientIP is the caller's address: the socket peer, or the X-Forwarded-For hop
// before our trusted proxies.
func (g *Gateway) clientIP(c *app.RequestContext) string {
	var xff []byte
	for i, v := range c.Request.Header.PeekAll("X-Forwarded-For") {
		if i > 0 {
			xff = append(xff, ',')
		}
		xff = append(xff, v...)
	}
	return ratelimit.ClientIP(c.RemoteAddr().String(), string(xff), g.trusted)
}

// RateClasses are the route classes rate_limit.rules may name: login and register
// per client address, account per username on login, write and read per client
// address on the other routes, comment per account on publishing a comment, admin
// per client address on the console's login.
var RateClasses = []string{"login", "register", "account", "write", "read", "comment", "admin"}

// limited applies a route class's limit per client address before the handler.
// A class without a rule costs nothing: not even the client's address is worked
// out.
func (g *Gateway) limited(class string) app.HandlerFunc {
	if !g.limits.Limits(class) {
		return func(context.Context, *app.RequestContext) {} // Hertz goes on to the next handler
	}
	return func(ctx context.Context, c *app.RequestContext) {
		if !g.allow(ctx, c, class, ratelimit.ClientKey(g.clientIP(c))) {
			g.fail(ctx, c, errRateLimited, nil)
			c.Abort()
		}
	}
}

// baseURL is where clients reach this server: MDOUYIN_PUBLIC_URL, or the scheme and
// Host of the request so a phone on the LAN gets reachable URLs.
func (g *Gateway) baseURL(c *app.RequestContext) string {
	if g.cfg.PublicURL != "" {
		return strings.TrimRight(g.cfg.PublicURL, "/")
	}
	scheme := "http"
	if string(c.GetHeader("X-Forwarded-Proto")) == "https" && g.fromTrustedProxy(c) {
		scheme = "https"
	}
	host := string(c.Host())
	if host == "" || !validHost(host) {
		host = "localhost" + portOf(g.cfg.HTTPAddr)
	}
	return scheme + "://" + host
}

func (g *Gateway) fromTrustedProxy(c *app.RequestContext) bool {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return false
	}
	for _, p := range g.trusted {
		if p.Contains(ap.Addr().Unmap()) {
			return true
		}
	}
	return false
}

// mediaURL turns a stored reference into an absolute URL: absolute URLs pass
// through, blob keys are served under /media/, and empty ones get fallback.
func (g *Gateway) mediaURL(root, ref, fallback string) string {
	switch {
	case ref == "":
		return root + fallback
	case strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://"):
		return ref
	}
	// An object store hands out its own URLs (public or presigned), so media
	// does not pass through the gateway.
	if u, ok := g.media.(blob.URLer); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if link, err := u.URL(ctx, ref); err == nil {
			return link
		} else {
			g.log.Warn("no URL from the object store; serving the media through the gateway", "key", ref, "err", err)
		}
	}
	return root + "/media/" + ref
}

// validHost accepts a Host header made of host-name and address characters only,
// so a hostile header cannot inject anything into the URLs we build.
func validHost(h string) bool {
	if len(h) > 255 {
		return false
	}
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '.' || r == '-' || r == ':' || r == '[' || r == ']':
		default:
			return false
		}
	}
	return true
}

func portOf(addr string) string {
	if _, port, err := net.SplitHostPort(addr); err == nil && port != "80" {
		return ":" + port
	}
	return ""
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			b[i] = ch + 'a' - 'A'
		}
	}
	return string(b)
}
