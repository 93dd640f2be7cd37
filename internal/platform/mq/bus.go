// Package mq carries mdouyin's events over NATS JetStream.
//
// Producers record a fact and then Publish an event about it; consumers apply
// events idempotently, because JetStream delivers at least once. The same Bus
// type runs over a server embedded in this process (StartEmbedded, the
// single-process placement and the tests) or an external server or cluster
// (Connect).
//
// The bus uses only features of nats-server 2.9 (one filter subject per
// consumer, no subject transforms, no per-message TTL), because that is the
// server Debian ships; partitioned streams compute the partition in the
// publisher instead of relying on server-side mapping.
//
// A Bus may be given a namespace (WithNamespace) so that deployments sharing
// one server never meet: it prefixes every stream name and subject on the
// wire, and strips the prefix again from what handlers see.
//
// Publishing and handling are traced with OpenTelemetry: the publisher's span
// context travels in the message headers, so a consumer's span continues the
// trace of the request that published.
package mq

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Bus publishes events and runs durable consumers on one NATS connection.
// It is safe for concurrent use.
type Bus struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	log *slog.Logger
	ns  namespace
	tr  tracing
	// replicas is how many copies of each stream a clustered server keeps,
	// unless a stream's spec says otherwise.
	replicas int

	mu     sync.Mutex
	subs   map[*subscription]struct{}
	closed bool
}

// Option adjusts how a Bus connects.
type Option func(*connectConfig)

type connectConfig struct {
	name       string
	log        *slog.Logger
	nats       []nats.Option
	namespace  string
	replicas   int
	provider   trace.TracerProvider
	propagator propagation.TextMapPropagator
}

// WithName sets the connection name the server shows in its monitoring, so an
// operator can tell which role holds which connection. The default is
// "mdouyin".
func WithName(name string) Option { return func(c *connectConfig) { c.name = name } }

// WithLogger sets where connection events (disconnects, reconnects, async
// errors) and consumer failures are logged. The default is slog.Default().
func WithLogger(l *slog.Logger) Option { return func(c *connectConfig) { c.log = l } }

// WithNamespace keeps this bus apart from other deployments on the same
// server: stream NAME becomes ns_NAME and subject a.b becomes ns.a.b on the
// wire, while callers and handlers keep using the plain names. Durable
// consumer names are per stream and stay as they are. The namespace is at
// most 32 letters, digits, '-' or '_'; empty (the default) uses the plain
// names, so data written before namespaces existed stays readable.
func WithNamespace(ns string) Option { return func(c *connectConfig) { c.namespace = ns } }

// WithReplicas sets how many copies of every stream a NATS cluster keeps (a
// stream's own StreamSpec.Replicas wins). 3 survives the loss of one server; a
// single server only accepts 1, the default.
func WithReplicas(n int) Option { return func(c *connectConfig) { c.replicas = n } }

// WithTracerProvider sets where publish and handling spans go. The default
// is OpenTelemetry's global provider, a no-op unless tracing was started.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *connectConfig) { c.provider = tp }
}

// WithPropagator sets how trace context is written into and read from message
// headers. The default is OpenTelemetry's global propagator, which carries
// nothing unless tracing was started.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *connectConfig) { c.propagator = p }
}

func withNATSOptions(o ...nats.Option) Option {
	return func(c *connectConfig) { c.nats = append(c.nats, o...) }
}

// defaultConnectTimeout bounds the first connection when ctx has no deadline.
const defaultConnectTimeout = 5 * time.Second

// Connect connects to the NATS server (or cluster: comma-separated URLs) at
// url. The first connection must succeed, so a wrong address fails start-up
// with a clear error; after that the connection is re-established forever,
// with backoff, because a bus that gives up would silently stop every
// consumer in the process.
func Connect(ctx context.Context, url string, opts ...Option) (*Bus, error) {
	if url == "" {
		return nil, errors.New("mq: empty NATS URL")
	}
	return connect(ctx, url, opts...)
}

func connect(ctx context.Context, url string, opts ...Option) (*Bus, error) {
	cfg := connectConfig{name: "mdouyin", log: slog.Default()}
	for _, o := range opts {
		o(&cfg)
	}
	timeout := defaultConnectTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mq: connect to %s: %w", redact(url), err)
	}
	if !validNamespace(cfg.namespace) {
		return nil, fmt.Errorf("mq: namespace %q must be at most %d letters, digits, '-' or '_'", cfg.namespace, maxNamespaceLen)
	}
	log := cfg.log
	nopts := append([]nats.Option{
		nats.Name(cfg.name),
		nats.Timeout(timeout),
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(reconnectDelay),
		// No buffer while reconnecting: a publish then fails at once instead of
		// waiting in the client, timing out, and being sent anyway once the
		// server is back — a write its caller was told had failed.
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Error("nats async error", "subject", subject, "err", err)
		}),
	}, cfg.nats...)

	nc, err := nats.Connect(url, nopts...)
	if err != nil {
		return nil, fmt.Errorf("mq: connect to %s: %w", redact(url), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("mq: jetstream: %w", err)
	}
	return &Bus{nc: nc, js: js, log: log, ns: namespace(cfg.namespace), replicas: max(cfg.replicas, 1),
		tr: newTracing(cfg.provider, cfg.propagator), subs: make(map[*subscription]struct{})}, nil
}

// reconnectDelay backs off from 100ms to 5s with jitter, so a restarted
// server is not hit by every client in the same instant.
func reconnectDelay(attempts int) time.Duration {
	d := 100 * time.Millisecond << min(attempts, 6)
	d = min(d, 5*time.Second)
	return d/2 + rand.N(d/2+1)
}

// redact drops credentials from a URL before it goes into an error message.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	p.User = url.User("redacted")
	return p.String()
}

// StreamSpec describes a stream: which subjects it captures and how long it
// keeps messages.
type StreamSpec struct {
	Name     string
	Subjects []string
	// MaxAge drops messages older than this; 0 keeps them until other limits.
	MaxAge time.Duration
	// Duplicates is the window in which a repeated Nats-Msg-Id is stored only
	// once; 0 means the server default (two minutes, capped at MaxAge).
	Duplicates time.Duration
	// Replicas is the number of copies in a cluster; 0 means the bus's
	// (WithReplicas, default 1).
	Replicas int
}

// EnsureStream creates the stream, or updates it to match spec, with file
// storage. Each role calls it at start-up for the streams it publishes to or
// consumes from, so deployment order does not matter.
func (b *Bus) EnsureStream(ctx context.Context, spec StreamSpec) error {
	if spec.Name == "" || len(spec.Subjects) == 0 {
		return errors.New("mq: a stream needs a name and at least one subject")
	}
	subjects := make([]string, len(spec.Subjects))
	for i, sub := range spec.Subjects {
		subjects[i] = b.ns.subject(sub)
	}
	want := jetstream.StreamConfig{
		Name:       b.ns.stream(spec.Name),
		Subjects:   subjects,
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		MaxAge:     spec.MaxAge,
		Duplicates: spec.Duplicates,
		Replicas:   cmp.Or(spec.Replicas, b.replicas),
	}
	// A stream that already has this configuration is left alone: several
	// workers of a process ensure the same stream at start-up, and an update
	// racing a consumer's creation trips a data race inside nats-server 2.15.
	if st, err := b.js.Stream(ctx, want.Name); err == nil && sameStream(st.CachedInfo().Config, want) {
		return nil
	}
	_, err := b.js.CreateOrUpdateStream(ctx, want)
	if err != nil {
		return fmt.Errorf("mq: ensure stream %s: %w", spec.Name, err)
	}
	return nil
}

// sameStream reports whether a stream's configuration has what EnsureStream asks
// for. Zero durations in want mean the server's defaults, which it fills in.
func sameStream(have, want jetstream.StreamConfig) bool {
	return slices.Equal(have.Subjects, want.Subjects) && have.Storage == want.Storage &&
		have.Retention == want.Retention && have.MaxAge == want.MaxAge && have.Replicas == want.Replicas &&
		(want.Duplicates == 0 || have.Duplicates == want.Duplicates)
}

// DeleteStream removes a stream and everything in it. Deleting a missing
// stream is not an error, so cleanup can run unconditionally.
func (b *Bus) DeleteStream(ctx context.Context, name string) error {
	if err := b.js.DeleteStream(ctx, b.ns.stream(name)); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("mq: delete stream %s: %w", name, err)
	}
	return nil
}

// Publish stores data on subject and returns once JetStream has acknowledged
// it, which is the point from which the message survives a crash of either
// side. A non-empty msgID is sent as Nats-Msg-Id: publishing the same ID again
// within the stream's duplicate window is accepted but stored only once, which
// makes retrying a publish (for example from an outbox) safe.
//
// The publish is a producer span of the trace in ctx, and the span's context
// goes along in the message headers for the consumer to continue.
func (b *Bus) Publish(ctx context.Context, subject, msgID string, data []byte) (err error) {
	m := &nats.Msg{Subject: b.ns.subject(subject), Data: data}
	ctx, span := b.tr.startPublish(ctx, m, msgID)
	defer func() { endSpan(span, err) }()
	var opts []jetstream.PublishOpt
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(msgID))
	}
	if _, err := b.js.PublishMsg(ctx, m, opts...); err != nil {
		if errors.Is(err, jetstream.ErrNoStreamResponse) {
			return fmt.Errorf("mq: publish %s: no stream captures this subject (or JetStream is unavailable): %w", subject, err)
		}
		return fmt.Errorf("mq: publish %s: %w", subject, err)
	}
	return nil
}

// Ready reports whether the connection is up and JetStream answers, for
// readiness probes: a role that cannot publish should not take traffic. It
// waits for JetStream until ctx's deadline, or 5 seconds without one.
func (b *Bus) Ready(ctx context.Context) error {
	if s := b.nc.Status(); s != nats.CONNECTED {
		return fmt.Errorf("mq: not connected (%s)", s)
	}
	if _, err := b.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("mq: jetstream not answering: %w", err)
	}
	return nil
}

// Close stops every subscription (waiting for in-flight handlers), flushes
// outstanding acknowledgements and closes the connection. It is safe to call
// more than once.
func (b *Bus) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	subs := make([]*subscription, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()

	for _, s := range subs {
		s.Stop()
	}
	// Naks handed back by Stop may still be buffered; losing them only
	// delays redelivery until AckWait, but there is no reason to.
	if b.nc.IsConnected() {
		_ = b.nc.FlushTimeout(time.Second)
	}
	b.nc.Close()
}
