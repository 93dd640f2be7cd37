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
	"golang.org/x/sync/errgroup"

	"github.com/mdouyin/mdouyin/internal/commentadminsvc"
	"github.com/mdouyin/mdouyin/internal/commentsvc"
	"github.com/mdouyin/mdouyin/internal/config"
	"github.com/mdouyin/mdouyin/internal/favoritesvc"
	"github.com/mdouyin/mdouyin/internal/gateway"
	"github.com/mdouyin/mdouyin/internal/messagesvc"
	"github.com/mdouyin/mdouyin/internal/platform/discovery"
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
	p, err := openRolePlatform(ctx, cfg, o.Role, log)
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
	var adminTokens *token.Manager
	if cfg.Admin.Password != "" {
		if adminTokens, err = token.NewManager(token.AudienceAdmin, token.KeyFromSecret([]byte(secret)), nil, cfg.Admin.TokenTTL); err != nil {
			return err
		}
	} else if o.Role == "" || o.Role == "gateway" {
		log.Warn("the admin console is closed: set admin.password (MDOUYIN_ADMIN_PASSWORD) to open it")
	}

	svcs, _, err := services(ctx, p, tokens, o.Role)
	if err != nil {
		return err
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	eg, egCtx := errgroup.WithContext(runCtx)

	// Every process serves HTTP: the whole API in the gateway, and the operator
	// endpoints (health, readiness, metrics) everywhere.
	gw, err := gateway.New(gateway.Deps{
		Config:      cfg,
		Services:    svcs,
		Tokens:      tokens,
		AdminTokens: adminTokens,
		Console:     console(),
		Limits:      limits,
		Log:         log,
		Metrics:     p.metrics,
		Media:       p.blobs,
		Ready:       p.Ready,
		Listener:    o.HTTPListener,
		OpsOnly:     o.Role != "" && o.Role != "gateway",
	})
	if err != nil {
		return err
	}
	for _, w := range p.workers {
		eg.Go(func() error { return w(egCtx) })
	}
	if cfg.PprofAddr != "" {
		ln, err := net.Listen("tcp", cfg.PprofAddr)
		if err != nil {
			return fmt.Errorf("pprof_addr: %w", err)
		}
		eg.Go(func() error { return servePprof(egCtx, ln, log) })
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
		var reg *discovery.Registry
		if p.etcd != nil {
			if reg, err = discovery.NewRegistry(p.etcd, discovery.RegistryOptions{Advertise: cfg.RPC.Advertise, Log: log,
				Prefix: p.etcdPrefix(discovery.DefaultPrefix)}); err != nil {
				return err
			}
		}
		svr := kitexServer(egCtx, o.Role, ln, svcs, reg)
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

// dependencies lists the roles each role calls, in an order where every role comes
// after the roles it calls (there are no cycles: effects that flow the other way
// travel as events).
var dependencies = []struct {
	role  string
	calls []string
}{
	{"user", nil},
	{"relation", []string{"user"}},
	{"video", []string{"user", "relation"}},
	{"favorite", []string{"video"}},
	{"message", []string{"user", "relation"}},
	{"comment", []string{"user", "video"}},
	{"comment-admin", []string{"user", "comment"}},
}

// services builds what this process needs: the roles it runs, as Go
// implementations, and the roles those call (all of them, for a gateway), as Kitex
// clients of the addresses in rpc.peers. local lists the roles built here.
func services(ctx context.Context, p *platform, tokens *token.Manager, role string) (s gateway.Services, local []string, err error) {
	runs := func(r string) bool { return role == "" || role == r }
	needed := map[string]bool{}
	for _, d := range dependencies {
		if runs(d.role) {
			for _, c := range d.calls {
				needed[c] = true
			}
		}
		if role == "gateway" {
			needed[d.role] = true
		}
	}
	if err := remotes(p.cfg, p.resolver, &s, func(r string) bool { return needed[r] && !runs(r) }); err != nil {
		return s, nil, err
	}
	for _, d := range dependencies {
		if !runs(d.role) {
			continue
		}
		if err := builders[d.role](ctx, p, tokens, &s); err != nil {
			return s, nil, fmt.Errorf("%s role: %w", d.role, err)
		}
		local = append(local, d.role)
	}
	return s, local, nil
}

// builders construct each role's Go implementation into s, using the peers already
// in s. Each lives in build_<role>.go.
var builders = map[string]func(ctx context.Context, p *platform, tokens *token.Manager, s *gateway.Services) error{
	"user":          buildUser,
	"relation":      buildRelation,
	"video":         buildVideo,
	"favorite":      buildFavorite,
	"message":       buildMessage,
	"comment":       buildComment,
	"comment-admin": buildCommentAdmin,
}

// idempotent names, per role, the methods a client may retry on another replica
// when a call fails without an answer: reads, and writes that are idempotent by
// key (likes, follows, pins). Everything else is sent once.
var idempotent = map[string][]string{
	"user":          {"VerifyToken", "GetProfiles"},
	"video":         {"Feed", "ListByAuthor", "GetVideos", "WorkCounts"},
	"favorite":      {"Like", "ListLiked", "VideoStats", "UserStats"},
	"relation":      {"Follow", "ListFollowing", "ListFollowers", "ListFriends", "UserStats", "ListPopular"},
	"message":       {"Chat", "Latest"},
	"comment":       {"List", "Like", "Pin", "VideoCounts", "Get", "Scan"},
	"comment-admin": {"Search", "Detail", "Audit"},
}

// discoveredConnectTimeout bounds dialling one replica found through etcd: a
// replica that died without deregistering costs a caller this much until it
// drops out of the resolver.
const discoveredConnectTimeout = 300 * time.Millisecond

// remotes fills s with Kitex clients for the roles want selects: found through
// etcd when res is set, otherwise at the static addresses of rpc.peers, reporting
// every missing address at once.
func remotes(cfg config.Config, res *discovery.Resolver, s *gateway.Services, want func(role string) bool) error {
	peers, err := cfg.PeerAddrs()
	if err != nil {
		return err
	}
	var errs []error
	// Every client gets circuit breakers of its own (rpc.NewBreaker): per method
	// and per replica, so a role or a replica that is down fails calls at once
	// instead of after a timeout each, and callers can degrade.
	dial := func(role string, breaker client.Option, set func([]client.Option) error) {
		if !want(role) {
			return
		}
		if res != nil {
			opts := append(rpc.BaseClientOptions(), discovery.ClientOptions(res, discovery.ClientConfig{
				Timeout: cfg.RPC.Timeout, ConnectTimeout: discoveredConnectTimeout, Idempotent: idempotent[role]})...)
			if err := set(append(opts, breaker)); err != nil {
				errs = append(errs, err)
			}
			return
		}
		addr, ok := peers[role]
		if !ok {
			errs = append(errs, fmt.Errorf("no address for the %s role: set rpc.peers (MDOUYIN_PEERS) to include %s=host:port, or rpc.etcd (MDOUYIN_ETCD_ENDPOINTS)", role, role))
			return
		}
		if err := set(append(rpc.ClientOptions(role, []string{addr}, cfg.RPC.Timeout), breaker)); err != nil {
			errs = append(errs, err)
		}
	}
	dial("user", rpc.BreakerOption("user", userservice.NewServiceInfo()), func(o []client.Option) error {
		c, err := userservice.NewClient("user", o...)
		s.User = usersvc.NewRemote(c)
		return err
	})
	dial("video", rpc.BreakerOption("video", videoservice.NewServiceInfo()), func(o []client.Option) error {
		c, err := videoservice.NewClient("video", o...)
		s.Video = videosvc.NewRemote(c)
		return err
	})
	dial("favorite", rpc.BreakerOption("favorite", favoriteservice.NewServiceInfo()), func(o []client.Option) error {
		c, err := favoriteservice.NewClient("favorite", o...)
		s.Favorite = favoritesvc.NewRemote(c)
		return err
	})
	dial("comment", rpc.BreakerOption("comment", commentservice.NewServiceInfo()), func(o []client.Option) error {
		c, err := commentservice.NewClient("comment", o...)
		s.Comment = commentsvc.NewRemote(c)
		return err
	})
	dial("comment-admin", rpc.BreakerOption("comment-admin", commentadminservice.NewServiceInfo()), func(o []client.Option) error {
		c, err := commentadminservice.NewClient("comment-admin", o...)
		s.CommentAdmin = commentadminsvc.NewRemote(c)
		return err
	})
	dial("relation", rpc.BreakerOption("relation", relationservice.NewServiceInfo()), func(o []client.Option) error {
		c, err := relationservice.NewClient("relation", o...)
		s.Relation = relationsvc.NewRemote(c)
		return err
	})
	dial("message", rpc.BreakerOption("message", messageservice.NewServiceInfo()), func(o []client.Option) error {
		c, err := messageservice.NewClient("message", o...)
		s.Message = messagesvc.NewRemote(c)
		return err
	})
	return errors.Join(errs...)
}

// kitexServer serves role's local implementation over Kitex on ln, registered in
// etcd when reg is set.
func kitexServer(ctx context.Context, role string, ln net.Listener, l gateway.Services, reg *discovery.Registry) server.Server {
	opts := rpc.ServerOptions(ctx, role, ln)
	if reg != nil {
		opts = append(opts, discovery.ServerOptions(reg)...)
	}
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
