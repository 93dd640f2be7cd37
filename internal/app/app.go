// Package app is the composition root: the only code that knows whether the roles
// run together in one process or each in its own. In one process roles call each
// other's Go implementations; in a role process the peers are Kitex clients behind
// the same generated interfaces.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/server"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/mdouyin/mdouyin/internal/commentadminsvc"
	"github.com/mdouyin/mdouyin/internal/commentsvc"
	"github.com/mdouyin/mdouyin/internal/config"
	"github.com/mdouyin/mdouyin/internal/favoritesvc"
	"github.com/mdouyin/mdouyin/internal/gateway"
	"github.com/mdouyin/mdouyin/internal/messagesvc"
	"github.com/mdouyin/mdouyin/internal/password"
	"github.com/mdouyin/mdouyin/internal/platform/rpc"
	"github.com/mdouyin/mdouyin/internal/ratelimit"
	"github.com/mdouyin/mdouyin/internal/relationsvc"
	"github.com/mdouyin/mdouyin/internal/token"
	"github.com/mdouyin/mdouyin/internal/usersvc"
	"github.com/mdouyin/mdouyin/internal/videosvc"
	"github.com/mdouyin/mdouyin/kitex_gen/comment/commentadminservice"
	"github.com/mdouyin/mdouyin/kitex_gen/comment/commentservice"
	"github.com/mdouyin/mdouyin/kitex_gen/favorite/favoriteservice"
	"github.com/mdouyin/mdouyin/kitex_gen/message/messageservice"
	"github.com/mdouyin/mdouyin/kitex_gen/relation/relationservice"
	"github.com/mdouyin/mdouyin/kitex_gen/user/userservice"
	"github.com/mdouyin/mdouyin/kitex_gen/video/videoservice"
)

// Options say what one process runs.
type Options struct {
	Config config.Config
	// Role is the one role to run; empty runs every role in this process.
	Role string
	Log  *slog.Logger
	// HTTPListener and RPCListener, when set, replace listening on the configured
	// addresses (tests pass loopback listeners on free ports).
	HTTPListener net.Listener
	RPCListener  net.Listener
	// OnReady is called once the process serves.
	OnReady func()
}

// Run runs the process until ctx ends, then shuts down gracefully: the HTTP server
// drains requests in flight, the RPC server drains calls, and storage closes last.
func Run(ctx context.Context, o Options) error {
	cfg, log := o.Config, o.Log
	if err := cfg.Validate(o.Role); err != nil {
		return err
	}
	limits, err := newLimits(cfg)
	if err != nil {
		return err
	}
	start := time.Now()
	p, err := openPlatform(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer p.Close()

	secret, err := jwtSecret(cfg, log)
	if err != nil {
		return err
	}
	tokens, err := newTokens(cfg, secret)
	if err != nil {
		return err
	}

	roles := config.Roles
	if o.Role != "" {
		roles = []string{o.Role}
	}
	local, err := buildLocal(ctx, p, tokens, roles)
	if err != nil {
		return err
	}
	var svcs gateway.Services
	if o.Role == "" || o.Role == "gateway" {
		if svcs, err = wire(cfg, local); err != nil {
			return err
		}
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	eg, egCtx := errgroup.WithContext(runCtx)

	// Every process serves HTTP: the whole API in the gateway, and the operator
	// endpoints (health, readiness, metrics) everywhere.
	gw, err := gateway.New(gateway.Deps{
		Config:   cfg,
		Services: svcs,
		Tokens:   tokens,
		Limits:   limits,
		Log:      log,
		Metrics:  p.metrics,
		Ready:    p.Ready,
		Listener: o.HTTPListener,
		OpsOnly:  o.Role != "" && o.Role != "gateway",
	})
	if err != nil {
		return err
	}
	eg.Go(gw.Run)
	eg.Go(func() error {
		<-egCtx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout+time.Second)
		defer cancel()
		// A failed drain (time ran out) is worth a line in the log, not a failed exit.
		if err := gw.Shutdown(sctx); err != nil {
			log.Warn("HTTP shutdown", "err", err)
		}
		return nil
	})

	if o.Role != "" && o.Role != "gateway" {
		ln := o.RPCListener
		if ln == nil {
			if ln, err = rpc.Listen(o.Role, cfg.RPC.Addr); err != nil {
				return err
			}
		}
		svr := kitexServer(egCtx, o.Role, ln, local)
		eg.Go(svr.Run)
	}

	log.Info("mdouyin serving", "role", roleName(o.Role), "http", cfg.HTTPAddr, "ready_in", time.Since(start).Round(time.Millisecond))
	if o.OnReady != nil {
		o.OnReady()
	}
	err = eg.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	log.Info("mdouyin stopped", "role", roleName(o.Role))
	return err
}

func roleName(role string) string {
	if role == "" {
		return "all"
	}
	return role
}

func newTokens(cfg config.Config, secret string) (*token.Manager, error) {
	var prev []token.Key
	for _, s := range cfg.JWT.PreviousSecrets {
		prev = append(prev, token.KeyFromSecret([]byte(s)))
	}
	return token.NewManager(token.AudienceApp, token.KeyFromSecret([]byte(secret)), prev, cfg.JWT.TTL)
}

func newLimits(cfg config.Config) (*ratelimit.Registry, error) {
	if cfg.RateLimit.Rules == "off" {
		return ratelimit.Disabled(), nil
	}
	rules, err := ratelimit.ParseClasses(cfg.RateLimit.Rules)
	if err != nil {
		return nil, fmt.Errorf("rate_limit.rules (MDOUYIN_RATE_LIMITS): %w", err)
	}
	for class := range rules {
		if !slices.Contains(gateway.RateClasses, class) {
			return nil, fmt.Errorf("rate_limit.rules (MDOUYIN_RATE_LIMITS): unknown class %q; the classes are %s",
				class, strings.Join(gateway.RateClasses, ", "))
		}
	}
	return ratelimit.NewRegistry(rules, 100_000), nil
}

// localServices holds the Go implementations of the roles this process runs.
type localServices struct {
	gateway.Services
}

// buildLocal builds the roles this process runs, each over its own storage.
func buildLocal(ctx context.Context, p *platform, tokens *token.Manager, roles []string) (localServices, error) {
	var l localServices
	for _, role := range roles {
		switch role {
		case "user":
			d, err := p.DB(ctx, "user")
			if err != nil {
				return l, err
			}
			store, err := usersvc.NewSQLStore(ctx, d)
			if err != nil {
				return l, err
			}
			params := password.DefaultParams()
			params.Memory = p.cfg.Password.MemoryKiB
			hasher, err := password.NewHasher(params, p.cfg.Password.MaxInFlight)
			if err != nil {
				return l, err
			}
			p.metrics.MustRegister(
				prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mdouyin_password_hashes_in_flight",
					Help: "Argon2id hashes being computed now (bounded by password.max_in_flight)."},
					func() float64 { return float64(hasher.InFlight()) }),
				prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mdouyin_password_hashes_queued",
					Help: "Logins and registrations waiting for an Argon2id slot."},
					func() float64 { return float64(hasher.Queued()) }),
			)
			l.User = usersvc.New(store, p.ids, hasher, tokens, p.log)
		case "video":
			l.Video = videosvc.New()
		case "favorite":
			l.Favorite = favoritesvc.New()
		case "comment":
			l.Comment = commentsvc.New()
		case "comment-admin":
			l.CommentAdmin = commentadminsvc.New()
		case "relation":
			l.Relation = relationsvc.New()
		case "message":
			l.Message = messagesvc.New()
		}
	}
	return l, nil
}

// wire completes the services the gateway uses: local ones as they are, the others
// as Kitex clients of their role's address in rpc.peers. Every missing address is
// reported at once.
func wire(cfg config.Config, l localServices) (gateway.Services, error) {
	s := l.Services
	peers, err := cfg.PeerAddrs()
	if err != nil {
		return s, err
	}
	opts := func(role string) ([]client.Option, error) {
		addr, ok := peers[role]
		if !ok {
			return nil, fmt.Errorf("no address for the %s role: set rpc.peers (MDOUYIN_PEERS) to include %s=host:port", role, role)
		}
		return rpc.ClientOptions(role, []string{addr}, cfg.RPC.Timeout), nil
	}
	var errs []error
	need := func(role string, set func([]client.Option) error) {
		o, err := opts(role)
		if err == nil {
			err = set(o)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if s.User == nil {
		need("user", func(o []client.Option) error {
			c, err := userservice.NewClient("user", o...)
			s.User = usersvc.NewRemote(c)
			return err
		})
	}
	if s.Video == nil {
		need("video", func(o []client.Option) error {
			c, err := videoservice.NewClient("video", o...)
			s.Video = videosvc.NewRemote(c)
			return err
		})
	}
	if s.Favorite == nil {
		need("favorite", func(o []client.Option) error {
			c, err := favoriteservice.NewClient("favorite", o...)
			s.Favorite = favoritesvc.NewRemote(c)
			return err
		})
	}
	if s.Comment == nil {
		need("comment", func(o []client.Option) error {
			c, err := commentservice.NewClient("comment", o...)
			s.Comment = commentsvc.NewRemote(c)
			return err
		})
	}
	if s.CommentAdmin == nil {
		need("comment-admin", func(o []client.Option) error {
			c, err := commentadminservice.NewClient("comment-admin", o...)
			s.CommentAdmin = commentadminsvc.NewRemote(c)
			return err
		})
	}
	if s.Relation == nil {
		need("relation", func(o []client.Option) error {
			c, err := relationservice.NewClient("relation", o...)
			s.Relation = relationsvc.NewRemote(c)
			return err
		})
	}
	if s.Message == nil {
		need("message", func(o []client.Option) error {
			c, err := messageservice.NewClient("message", o...)
			s.Message = messagesvc.NewRemote(c)
			return err
		})
	}
	return s, errors.Join(errs...)
}

// kitexServer serves role's local implementation over Kitex on ln.
func kitexServer(ctx context.Context, role string, ln net.Listener, l localServices) server.Server {
	opts := rpc.ServerOptions(ctx, role, ln)
	switch role {
	case "user":
		return userservice.NewServer(l.User, opts...)
	case "video":
		return videoservice.NewServer(l.Video, opts...)
	case "favorite":
		return favoriteservice.NewServer(l.Favorite, opts...)
	case "comment":
		return commentservice.NewServer(l.Comment, opts...)
	case "comment-admin":
		return commentadminservice.NewServer(l.CommentAdmin, opts...)
	case "relation":
		return relationservice.NewServer(l.Relation, opts...)
	case "message":
		return messageservice.NewServer(l.Message, opts...)
	}
	panic("app: no Kitex server for role " + role) // Validate admits only known roles
}
