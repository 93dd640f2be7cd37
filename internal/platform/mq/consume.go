package mq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ConsumerSpec describes a durable pull consumer and how its handler runs.
type ConsumerSpec struct {
	Stream string
	// Durable names the consumer; its position in the stream survives
	// restarts of this process and of the server. Replicas of a role share
	// the name and so share the work.
	Durable string
	// FilterSubject limits the consumer to one subject (wildcards allowed);
	// empty means every subject of the stream.
	FilterSubject string
	// MaxAckPending caps delivered but unacknowledged messages; 0 means the
	// server default (1000). Set it to 1 when order must hold across
	// redeliveries: otherwise a failed message is retried after later ones.
	MaxAckPending int
	// AckWait is how long the server waits for an ack before redelivering;
	// 0 means the server default (30s). A handler may run longer: the
	// subscription tells the server it is still working every AckWait/4.
	AckWait time.Duration
	// MaxDeliver caps deliveries of one message; 0 means unlimited. A message
	// that fails MaxDeliver times stays in the stream but is not delivered
	// again; the last failure is logged at error level.
	MaxDeliver int
	// InactiveThreshold removes the consumer from the server once no one has
	// fetched from it for this long; 0 keeps it forever. Consumers shared by
	// a role's replicas need none; one per replica (a replica's own index)
	// should have one, or every replica that is gone for good leaves its
	// consumer behind.
	InactiveThreshold time.Duration
	// FromNow makes a consumer created now start with the messages published
	// after it, not with everything the stream still keeps; a consumer that
	// exists keeps its position. It suits a consumer added to a running
	// deployment whose stream already holds days of messages it has no use for.
	// Leave it the same for the life of the consumer: the server refuses to
	// change where an existing consumer starts.
	FromNow bool

	// Concurrency is how many handlers run at once; 0 or 1 means one at a
	// time, in stream order.
	Concurrency int
	// RetryDelay is how long a failed message waits before its first
	// redelivery; it doubles with each further failure up to MaxRetryDelay.
	// Defaults: 1s and 1m.
	RetryDelay    time.Duration
	MaxRetryDelay time.Duration
}

// Msg is one delivery of a stored message.
type Msg struct {
	Subject string
	Data    []byte
	// ID is the publisher's Nats-Msg-Id, or "" if it set none.
	ID string
	// Delivery counts deliveries of this message to this consumer, from 1.
	Delivery uint64
	// StreamSeq is the message's position in its stream; it never changes
	// between redeliveries, so it can serve as an idempotency key.
	StreamSeq uint64
}

// Handler processes one message. Returning nil acknowledges it; returning an
// error has it redelivered after a backoff, so handlers must be idempotent.
type Handler func(ctx context.Context, m Msg) error

// Subscription is a running consumer.
type Subscription interface {
	// Stop stops fetching and waits for running handlers to return. A
	// message that arrives while it stops is handed back to the server for
	// redelivery elsewhere. It must not be called from a handler, which
	// would wait for itself. It is safe to call more than once.
	Stop()
}

const (
	defaultRetryDelay    = time.Second
	defaultMaxRetryDelay = time.Minute
	ackTimeout           = 5 * time.Second

	// pullExpiry is how long one fetch waits at the server for messages. A
	// fetch cut short by Stop stays on the server until then (there is no
	// way to withdraw one), so it is kept short; an idle consumer sends one
	// fetch per pullExpiry.
	pullExpiry = 5 * time.Second

	// stopFetchGrace is how long Stop lets an outstanding fetch run on.
	stopFetchGrace = 250 * time.Millisecond

	// fetchRetryDelay spaces out fetches that fail (server unreachable,
	// consumer deleted) so a broken subscription does not spin.
	fetchRetryDelay = time.Second
)

// Consume creates or updates the durable consumer described by spec and runs
// handler for each message until Stop, Bus.Close or the end of ctx. The
// handler's context is ctx, so cancelling ctx also tells running handlers to
// give up (their messages are then redelivered), while Stop lets them finish.
// Each handling is a consumer span, continuing the publisher's trace when the
// message carries one.
//
// Messages are fetched only for idle handlers, never read ahead into a
// client-side buffer: a buffered message's AckWait runs while it waits, so a
// slow handler would get the messages behind it redelivered. The cost is a
// round trip per fetch, which is small beside a handler that writes to a
// database.
//
// Acknowledgements wait for the server's confirmation, so once a handler has
// returned nil and the next message has started, the message is not delivered
// again to this durable consumer.
func (b *Bus) Consume(ctx context.Context, spec ConsumerSpec, handler Handler) (Subscription, error) {
	if spec.Stream == "" || spec.Durable == "" || handler == nil {
		return nil, errors.New("mq: a consumer needs a stream, a durable name and a handler")
	}
	filter := spec.FilterSubject
	if filter != "" {
		filter = b.ns.subject(filter)
	}
	deliver := jetstream.DeliverAllPolicy
	if spec.FromNow {
		deliver = jetstream.DeliverNewPolicy
	}
	cons, err := b.js.CreateOrUpdateConsumer(ctx, b.ns.stream(spec.Stream), jetstream.ConsumerConfig{
		Durable:       spec.Durable,
		FilterSubject: filter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: deliver,
		MaxAckPending: spec.MaxAckPending,
		AckWait:       spec.AckWait,
		MaxDeliver:    spec.MaxDeliver,

		InactiveThreshold: spec.InactiveThreshold,
	})
	if err != nil {
		return nil, fmt.Errorf("mq: consumer %s on %s: %w", spec.Durable, spec.Stream, err)
	}

	fetchCtx, cancelFetch := context.WithCancel(context.Background())
	s := &subscription{
		bus:         b,
		cons:        cons,
		handler:     handler,
		spec:        spec,
		workers:     max(spec.Concurrency, 1),
		ackWait:     cons.CachedInfo().Config.AckWait,
		log:         b.log.With("stream", spec.Stream, "consumer", spec.Durable),
		stopping:    make(chan struct{}),
		done:        make(chan struct{}),
		fetchCtx:    fetchCtx,
		cancelFetch: cancelFetch,
	}
	if s.spec.RetryDelay <= 0 {
		s.spec.RetryDelay = defaultRetryDelay
	}
	if s.spec.MaxRetryDelay <= 0 {
		s.spec.MaxRetryDelay = defaultMaxRetryDelay
	}

	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		cancelFetch()
		return nil, errors.New("mq: bus is closed")
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()

	go s.run(ctx)
	go func() {
		select {
		case <-ctx.Done():
			s.Stop()
		case <-s.stopping:
		}
	}()
	return s, nil
}

// subscription fetches as many messages as it has idle handlers and runs
// each in its own goroutine; with one handler, messages are handled strictly
// one after another in the order the server delivers them.
type subscription struct {
	bus     *Bus
	cons    jetstream.Consumer
	handler Handler
	spec    ConsumerSpec
	workers int
	ackWait time.Duration
	log     *slog.Logger

	stopOnce sync.Once
	stopped  atomic.Bool
	stopping chan struct{} // closed when Stop begins
	done     chan struct{} // closed when run has returned and handlers finished
	// fetchCtx ends the outstanding fetch shortly after Stop begins,
	// rather than waiting for it to expire.
	fetchCtx    context.Context
	cancelFetch context.CancelFunc

	handBackMu sync.Mutex
	handBack   []jetstream.Msg
}

func (s *subscription) Stop() {
	s.stopOnce.Do(func() {
		s.stopped.Store(true)
		close(s.stopping)
		// Let a fetch that is receiving messages finish, so none is dropped
		// in transit (it would wait for AckWait); cut an idle one short.
		grace := time.AfterFunc(stopFetchGrace, s.cancelFetch)
		<-s.done
		grace.Stop()
		s.cancelFetch()
		s.handBackUnhandled()
		s.bus.mu.Lock()
		delete(s.bus.subs, s)
		s.bus.mu.Unlock()
	})
}

func (s *subscription) run(ctx context.Context) {
	var handlers sync.WaitGroup
	defer close(s.done)
	defer handlers.Wait()

	busy := make(chan struct{}, s.workers) // one token per running handler
	for !s.stopped.Load() {
		// Wait for an idle handler, then claim every other idle one.
		select {
		case busy <- struct{}{}:
		case <-s.stopping:
			return
		}
		n := 1
	claim:
		for n < s.workers {
			select {
			case busy <- struct{}{}:
				n++
			default:
				break claim
			}
		}

		started, err := s.fetch(ctx, n, func(jm jetstream.Msg) {
			handlers.Go(func() {
				defer func() { <-busy }()
				s.handle(ctx, jm)
			})
		})
		for range n - started {
			<-busy
		}
		if err != nil && !s.stopped.Load() {
			s.log.Error("fetching messages failed", "err", err)
			select {
			case <-time.After(fetchRetryDelay):
			case <-s.stopping:
				return
			}
		}
	}
}

// fetch asks the server for up to n messages, waiting at most pullExpiry,
// and passes each to start as it arrives. Messages arriving after Stop began
// are kept for handBackUnhandled instead. It reports how many it started.
func (s *subscription) fetch(ctx context.Context, n int, start func(jetstream.Msg)) (int, error) {
	fctx, cancel := context.WithTimeout(s.fetchCtx, pullExpiry)
	defer cancel()
	batch, err := s.cons.Fetch(n, jetstream.FetchContext(fctx))
	if err != nil {
		return 0, err
	}
	started := 0
	for jm := range batch.Messages() {
		if s.stopped.Load() {
			s.handBackMu.Lock()
			s.handBack = append(s.handBack, jm)
			s.handBackMu.Unlock()
			continue
		}
		start(jm)
		started++
	}
	err = batch.Error()
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		err = nil // Stop, or an idle fetch that expired.
	}
	return started, err
}

// handBackUnhandled returns the messages that arrived after Stop began, so
// another subscription gets them without waiting for AckWait. It runs after
// the fetch has ended; a Nak sent while our own pull request was still served
// would only bring the message back to us.
//
// Older servers (Debian's 2.9 among them) mishandle a redelivery that meets
// a pull request whose subscriber is gone, and our own request stays on the
// server for up to pullExpiry after Stop: the message is then held until
// AckWait and a later message is delivered twice, the second time with a
// delivery count of 1. nats-server fixed this in the 2.10 series (PRs #5305
// and #5338); servers before 2.11 are treated as affected, and the hand-back
// is delayed until our request has expired.
func (s *subscription) handBackUnhandled() {
	s.handBackMu.Lock()
	msgs := s.handBack
	s.handBack = nil
	s.handBackMu.Unlock()
	if len(msgs) == 0 {
		return
	}
	var delay time.Duration
	if !serverAtLeast(s.bus.nc.ConnectedServerVersion(), 2, 11) {
		delay = pullExpiry + time.Second
	}
	for _, jm := range msgs {
		if err := jm.NakWithDelay(delay); err != nil {
			s.log.Warn("could not hand back a message; it will be redelivered after AckWait", "err", err)
		}
	}
}

// serverAtLeast reports whether a NATS server version string is at least
// major.minor. An empty or unparsable version (not connected) is treated as
// old, which only costs a slower hand-back.
func serverAtLeast(version string, major, minor int) bool {
	var ma, mi int
	if _, err := fmt.Sscanf(strings.TrimPrefix(version, "v"), "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}

func (s *subscription) handle(ctx context.Context, jm jetstream.Msg) {
	md, err := jm.Metadata()
	if err != nil {
		// Not a JetStream delivery; nothing to redeliver.
		s.log.Error("dropping message without JetStream metadata", "subject", jm.Subject(), "err", err)
		_ = jm.Term()
		return
	}
	m := Msg{
		Subject:   s.bus.ns.local(jm.Subject()),
		Data:      jm.Data(),
		ID:        jm.Headers().Get(jetstream.MsgIDHeader),
		Delivery:  md.NumDelivered,
		StreamSeq: md.Sequence.Stream,
	}

	done := make(chan struct{})
	if s.ackWait > 0 {
		go s.keepAlive(jm, done)
	}
	hctx, span := s.bus.tr.startProcess(ctx, jm, s.spec.Durable, md)
	err = s.handler(hctx, m)
	endSpan(span, err)
	close(done)

	if err == nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
		defer cancel()
		if err := jm.DoubleAck(actx); err != nil {
			s.log.Warn("ack failed; the message will be redelivered", "subject", m.Subject, "seq", m.StreamSeq, "err", err)
		}
		return
	}
	delay := s.retryDelay(m.Delivery)
	if s.spec.MaxDeliver > 0 && m.Delivery >= uint64(s.spec.MaxDeliver) {
		s.log.Error("handler failed for the last allowed delivery; giving up on the message",
			"subject", m.Subject, "seq", m.StreamSeq, "delivery", m.Delivery, "err", err)
	} else {
		s.log.Warn("handler failed; retrying later",
			"subject", m.Subject, "seq", m.StreamSeq, "delivery", m.Delivery, "retry_in", delay, "err", err)
	}
	if err := jm.NakWithDelay(delay); err != nil {
		s.log.Warn("nak failed; the message will be redelivered after AckWait", "seq", m.StreamSeq, "err", err)
	}
}

// keepAlive tells the server the message is still being worked on, so a slow
// handler does not get its message redelivered (possibly to another replica)
// while it is still running. Four times per AckWait: a busy machine may delay
// a tick, or the signal, by a good part of one interval.
func (s *subscription) keepAlive(jm jetstream.Msg, done <-chan struct{}) {
	t := time.NewTicker(s.ackWait / 4)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			_ = jm.InProgress()
		case <-done:
			return
		}
	}
}

// retryDelay doubles RetryDelay for each delivery after the first, capped.
func (s *subscription) retryDelay(delivery uint64) time.Duration {
	d := s.spec.RetryDelay
	for i := uint64(1); i < delivery && d < s.spec.MaxRetryDelay; i++ {
		d *= 2
	}
	return min(d, s.spec.MaxRetryDelay)
}
