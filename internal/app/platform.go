package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/mdouyin/mdouyin/internal/config"
	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/blob"
	"github.com/mdouyin/mdouyin/internal/platform/cache"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/discovery"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/platform/mq"
	"github.com/mdouyin/mdouyin/internal/platform/nodeid"
	"github.com/mdouyin/mdouyin/internal/platform/obs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// platform is what the roles of one process share: storage, caches, events, media,
// ids and metrics, picked by configuration. It knows nothing of business rules.
type platform struct {
	cfg     config.Config
	log     *slog.Logger
	metrics *prometheus.Registry
	ids     *idgen.Generator
	cache   cache.Cache
	sets    cache.SortedSets
	blobs   blob.Store
	bus     *mq.Bus
	nats    *mq.Embedded

	// everyRole is set when this process runs every role (the one-process
	// placement): every write of a role then passes through this process, so
	// a role may keep what it read in memory and drop it on its own writes.
	everyRole bool

	// With etcd (rpc.etcd): where roles register and find each other, and the
	// lease of this process's id-generator node number.
	etcd     *clientv3.Client
	resolver *discovery.Resolver
	lease    *nodeid.Lease

	mu  sync.Mutex
	dbs map[string]*db.DB // by file (SQLite) or "shared" (MySQL)

	closers []func()

	// workers run in the background for the life of the process: outbox relays,
	// event consumers. Run starts them once every role is built.
	workers []func(ctx context.Context) error
}

// Background registers a worker that runs until the process stops; an error it
// returns stops the process.
func (p *platform) Background(w func(ctx context.Context) error) {
	p.workers = append(p.workers, w)
}

// openPlatform opens what a process running every role needs.
func openPlatform(ctx context.Context, cfg config.Config, log *slog.Logger) (*platform, error) {
	return openRolePlatform(ctx, cfg, "", log)
}

// openRolePlatform opens what a process running role ("" for every role) needs.
// The role names the process in its traces.
func openRolePlatform(ctx context.Context, cfg config.Config, role string, log *slog.Logger) (p *platform, err error) {
	p = &platform{cfg: cfg, log: log, metrics: obs.NewRegistry(), dbs: map[string]*db.DB{}, everyRole: role == ""}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	// Tracing starts first and stops last: everything opened after it (the
	// bus, the role's servers and clients) picks up its provider, and spans
	// ended while the rest shuts down are still flushed.
	if err := p.startTracing(ctx, role); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if len(cfg.RPC.Etcd) > 0 {
		if err := p.openEtcd(ctx); err != nil {
			return nil, err
		}
	} else if p.ids, err = idgen.New(cfg.Node); err != nil {
		return nil, err
	}

	switch cfg.Cache.Driver {
	case "redis":
		client, err := cache.DialRedis(ctx, cfg.Cache.RedisAddr, cfg.Cache.RedisPassword, cfg.Cache.RedisDB)
		if err != nil {
			return nil, err
		}
		p.closers = append(p.closers, func() { client.Close() })
		prefix := "mdouyin:"
		if ns := cfg.Namespace; ns != "" {
			prefix += ns + ":"
		}
		p.cache = cache.NewRedis(client, prefix)
		p.sets = cache.NewRedisSortedSets(client, prefix)
	default:
		p.cache = cache.NewLocal(cfg.Cache.LocalEntries)
		p.sets = cache.NewLocalSortedSets(max(cfg.Cache.LocalEntries/100, 1000))
	}

	busOpts := []mq.Option{mq.WithName("mdouyin"), mq.WithLogger(log), mq.WithNamespace(cfg.Namespace),
		mq.WithReplicas(cfg.Events.Replicas)}
	switch cfg.Events.Driver {
	case "nats":
		if p.bus, err = mq.Connect(ctx, cfg.Events.NATSURL, busOpts...); err != nil {
			return nil, err
		}
	default:
		if p.nats, err = mq.StartEmbedded(ctx, mq.EmbeddedOptions{StoreDir: filepath.Join(cfg.DataDir, "nats"), Logger: log}); err != nil {
			return nil, err
		}
		p.closers = append(p.closers, p.nats.Shutdown)
		if p.bus, err = p.nats.Connect(ctx, busOpts...); err != nil {
			return nil, err
		}
	}
	p.closers = append(p.closers, p.bus.Close)

	switch cfg.Blob.Driver {
	case "s3":
		o := cfg.Blob.S3
		p.blobs, err = blob.NewS3(ctx, blob.S3Options{Endpoint: o.Endpoint, AccessKey: o.AccessKey, SecretKey: o.SecretKey,
			Bucket: o.Bucket, Region: o.Region, UseSSL: o.UseSSL, Prefix: o.Prefix, PublicBaseURL: o.PublicURL, Presign: o.Presign})
	default:
		p.blobs, err = blob.NewLocal(cfg.BlobDir())
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// traceFlushTimeout bounds how long shutdown waits for the last spans to reach
// the collector; a collector that is down must not hold the process.
const traceFlushTimeout = 5 * time.Second

// startTracing exports this process's spans when tracing.otlp_endpoint is set,
// as service mdouyin (every role) or mdouyin-<role>.
func (p *platform) startTracing(ctx context.Context, role string) error {
	t := p.cfg.Tracing
	if t.OTLPEndpoint == "" {
		return nil
	}
	service := "mdouyin"
	if role != "" {
		service += "-" + role
	}
	stop, err := obs.StartTracing(ctx, obs.TracingOptions{Endpoint: t.OTLPEndpoint, Insecure: t.Insecure,
		SampleRatio: t.SampleRatio, Service: service, Log: p.log})
	if err != nil {
		return err
	}
	p.closers = append(p.closers, func() {
		sctx, cancel := context.WithTimeout(context.Background(), traceFlushTimeout)
		defer cancel()
		if err := stop(sctx); err != nil {
			p.log.Warn("could not flush the last spans to the collector", "err", err)
		}
	})
	p.log.Info("tracing", "collector", t.OTLPEndpoint, "service", service, "sample_ratio", t.SampleRatio)
	return nil
}

// errNodeChanged stops id issuance when the lease was lost and a different
// number taken: the generator cannot change its node under its callers.
var errNodeChanged = errs.New(base.ErrCode_Unavailable, "this process's id node number changed after an etcd outage; restart it")

// openEtcd connects to etcd, leases a node number for the id generator (which
// stops issuing ids while the lease could have lapsed) and builds the resolver
// the role's clients share.
func (p *platform) openEtcd(ctx context.Context) error {
	cli, err := discovery.Dial(p.cfg.RPC.Etcd)
	if err != nil {
		return err
	}
	p.etcd = cli
	p.closers = append(p.closers, func() { cli.Close() })
	lease, err := nodeid.Acquire(ctx, cli, p.etcdPrefix("mdouyin/nodeid"), idgen.MaxNode, 5*time.Second, p.log)
	if err != nil {
		return err
	}
	p.lease = lease
	p.closers = append(p.closers, func() {
		rctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := lease.Release(rctx); err != nil {
			p.log.Warn("could not release the node number lease; it lapses by itself", "err", err)
		}
	})
	node := lease.Node()
	if p.ids, err = idgen.New(node, idgen.WithGuard(func() error {
		if err := lease.Valid(); err != nil {
			return err
		}
		if lease.Node() != node {
			return errNodeChanged
		}
		return nil
	})); err != nil {
		return err
	}
	p.resolver, err = discovery.NewResolver(cli, p.etcdPrefix(discovery.DefaultPrefix))
	p.log.Info("node number leased from etcd", "node", node)
	return err
}

// etcdPrefix puts an etcd key prefix under this deployment's namespace, so
// deployments sharing one etcd neither find each other's replicas nor take
// each other's node numbers.
func (p *platform) etcdPrefix(prefix string) string {
	if p.cfg.Namespace == "" {
		return prefix
	}
	return "mdouyin-ns/" + p.cfg.Namespace + "/" + prefix
}

// DB returns the database of a service, opening it on first use: with SQLite a
// file of its own under the data directory (no role reads another's tables, and
// separate files do not contend for one write lock), with MySQL the shared database.
func (p *platform) DB(ctx context.Context, service string) (*db.DB, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key, o := "shared", db.Options{Driver: db.MySQL, DSN: p.cfg.Database.DSN, MaxOpenConns: p.cfg.Database.MaxOpenConns}
	if p.cfg.Database.Driver == "sqlite" {
		key = service
		o = db.Options{Driver: db.SQLite, DSN: filepath.Join(p.cfg.DataDir, "db", service+".db")}
	}
	if d, ok := p.dbs[key]; ok {
		return d, nil
	}
	d, err := db.Open(ctx, o)
	if err != nil {
		return nil, err
	}
	p.dbs[key] = d
	return d, nil
}

// Ready reports whether every dependency this process opened answers.
func (p *platform) Ready(ctx context.Context) error {
	p.mu.Lock()
	dbs := make([]*db.DB, 0, len(p.dbs))
	for _, d := range p.dbs {
		dbs = append(dbs, d)
	}
	p.mu.Unlock()
	for _, d := range dbs {
		if err := d.PingContext(ctx); err != nil {
			return fmt.Errorf("database: %w", err)
		}
	}
	if p.bus != nil {
		if err := p.bus.Ready(ctx); err != nil {
			return fmt.Errorf("events: %w", err)
		}
	}
	return nil
}

// Close releases everything in the reverse order of opening.
func (p *platform) Close() {
	p.mu.Lock()
	for _, d := range p.dbs {
		d.Close()
	}
	p.dbs = map[string]*db.DB{}
	p.mu.Unlock()
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
	p.closers = nil
}

// jwtSecret returns the configured token secret or, in one process, the one kept in
// the data directory, generating it on first start so nobody has to invent one.
func jwtSecret(cfg config.Config, log *slog.Logger) (string, error) {
	if cfg.JWT.Secret != "" {
		return cfg.JWT.Secret, nil
	}
	path := filepath.Join(cfg.DataDir, "jwt.secret")
	raw, err := os.ReadFile(path)
	if err == nil {
		if s := strings.TrimSpace(string(raw)); len(s) >= 32 {
			return s, nil
		}
		return "", fmt.Errorf("%s holds a secret shorter than 32 bytes; remove it to generate a new one", path)
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return "", err
	}
	// Write a complete file aside, then link it into place: the link fails if the
	// name exists, so two processes starting together agree on one secret, and
	// nobody ever reads a half-written one.
	tmp, err := os.CreateTemp(cfg.DataDir, ".jwt.secret-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(hex.EncodeToString(b) + "\n"); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return jwtSecret(cfg, log)
		}
		return "", err
	}
	log.Info("generated a token secret", "path", path)
	return hex.EncodeToString(b), nil
}
