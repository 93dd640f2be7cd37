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
	// subscription tells the server it is still working every AckWait/2.
	AckWait time.Duration
	// MaxDeliver caps deliveries of one message; 0 means unlimited. A message
	// that fails MaxDeliver times stays in the stream but is not delivered
	// again; the last failure is logged at error level.
	MaxDeliver int

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
	// Stop stops fetching, hands unprocessed buffered messages back to the
	// server for immediate redelivery and waits for in-flight handlers to
	// return. It must not be called from a handler, which would wait for
	// itself. It is safe to call more than once.
	Stop()
}

const (
	defaultRetryDelay    = time.Second
	defaultMaxRetryDelay = time.Minute
	ackTimeout           = 5 * time.Second

	// pullExpiry is how long one pull request waits at the server. A stopped
	// subscription's request outlives it by up to this long (there is no way
	// to withdraw one), so it is kept short; idle, it costs one request per
	// pullExpiry and a heartbeat per half of it.
	pullExpiry = 5 * time.Second

	// drainGrace is how long Stop waits for buffered messages to come out of
	// the iterator (beyond in-flight handlers, which it always waits for).
	drainGrace = 2 * time.Second
)

// Consume creates or updates the durable consumer described by spec and runs
// handler for each message until Stop, Bus.Close or the end of ctx. The
// handler's context is ctx, so cancelling ctx also tells running handlers to
// give up (their messages are then redelivered), while Stop lets them finish.
//
// Acknowledgements wait for the server's confirmation, so once a handler has
// returned nil and the next message has started, the message is not delivered
// again to this durable consumer.
func (b *Bus) Consume(ctx context.Context, spec ConsumerSpec, handler Handler) (Subscription, error) {
	if spec.Stream == "" || spec.Durable == "" || handler == nil {
		return nil, errors.New("mq: a consumer needs a stream, a durable name and a handler")
	}
	cons, err := b.js.CreateOrUpdateConsumer(ctx, spec.Stream, jetstream.ConsumerConfig{
		Durable:       spec.Durable,
		FilterSubject: spec.FilterSubject,
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxAckPending: spec.MaxAckPending,
		AckWait:       spec.AckWait,
		MaxDeliver:    spec.MaxDeliver,
	})
	if err != nil {
		return nil, fmt.Errorf("mq: consumer %s on %s: %w", spec.Durable, spec.Stream, err)
	}

	workers := max(spec.Concurrency, 1)
	// A small client-side buffer keeps Stop quick (buffered messages are
	// handed back) while still batching pulls.
	batch := max(16, 2*workers)
	if spec.MaxAckPending > 0 {
		batch = min(batch, spec.MaxAckPending)
	}
	it, err := cons.Messages(
		jetstream.PullMaxMessages(batch),
		jetstream.PullExpiry(pullExpiry),
		jetstream.WithMessagesErrOnMissingHeartbeat(false),
	)
	if err != nil {
		return nil, fmt.Errorf("mq: consumer %s on %s: %w", spec.Durable, spec.Stream, err)
	}

	ackWait := cons.CachedInfo().Config.AckWait
	nextCtx, cancelNext := context.WithCancel(context.Background())
	s := &subscription{
		bus:        b,
		it:         it,
		handler:    handler,
		spec:       spec,
		ackWait:    ackWait,
		log:        b.log.With("stream", spec.Stream, "consumer", spec.Durable),
		stopping:   make(chan struct{}),
		nextCtx:    nextCtx,
		cancelNext: cancelNext,
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
		it.Stop()
		cancelNext()
		return nil, errors.New("mq: bus is closed")
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()

	s.workers.Add(workers)
	for range workers {
		go s.work(ctx)
	}
	go func() {
		select {
		case <-ctx.Done():
			s.Stop()
		case <-s.stopping:
		}
	}()
	return s, nil
}

// subscription runs workers that each take the next message from one shared
// iterator, so with one worker messages are handled strictly one at a time.
type subscription struct {
	bus     *Bus
	it      jetstream.MessagesContext
	handler Handler
	spec    ConsumerSpec
	ackWait time.Duration
	log     *slog.Logger

	stopOnce sync.Once
	stopped  atomic.Bool
	stopping chan struct{}
	workers  sync.WaitGroup
	// nextCtx bounds the wait for buffered messages after Stop: draining
	// needs a round trip to the server, which never comes while the
	// connection is down.
	nextCtx    context.Context
	cancelNext context.CancelFunc

	handBackMu sync.Mutex
	handBack   []jetstream.Msg
}

func (s *subscription) Stop() {
	s.stopOnce.Do(func() {
		s.stopped.Store(true)
		close(s.stopping)
		// Drain, not Stop: buffered messages still come out of Next, and
		// work hands them back with a Nak instead of leaving them to time
		// out after AckWait.
		s.it.Drain()
		if !s.bus.nc.IsConnected() {
			// Nothing more will arrive and nothing could be handed back.
			s.cancelNext()
		}
		done := make(chan struct{})
		go func() { s.workers.Wait(); close(done) }()
		grace := time.NewTimer(drainGrace)
		select {
		case <-done:
		case <-grace.C:
			s.cancelNext()
			<-done
		}
		grace.Stop()
		s.cancelNext()
		s.handBackBuffered()
		s.bus.mu.Lock()
		delete(s.bus.subs, s)
		s.bus.mu.Unlock()
	})
}

// handBackBuffered returns the messages that were buffered but not handled
// when Stop began, so another subscription gets them without waiting for
// AckWait. It runs after the iterator has unsubscribed; a Nak sent while our
// own pull request was still served would only bring the message back to us.
//
// Older servers (Debian's 2.9 among them) mishandle a redelivery that meets
// a pull request whose subscriber is gone, and our own request stays on the
// server for up to pullExpiry after Stop: the message is then held until
// AckWait and a later message is delivered twice, the second time with a
// delivery count of 1. nats-server fixed this in the 2.10 series (PRs #5305
// and #5338); servers before 2.11 are treated as affected, and the hand-back
// is delayed until our request has expired.
func (s *subscription) handBackBuffered() {
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
			s.log.Warn("could not hand back a buffered message; it will be redelivered after AckWait", "err", err)
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

func (s *subscription) work(ctx context.Context) {
	defer s.workers.Done()
	for {
		jm, err := s.it.Next(jetstream.NextContext(s.nextCtx))
		if err != nil {
			if !errors.Is(err, jetstream.ErrMsgIteratorClosed) && !s.stopped.Load() {
				// The consumer was deleted or the request was refused; the
				// iterator is finished either way.
				s.log.Error("consumer stopped receiving", "err", err)
			}
			return
		}
		if s.stopped.Load() {
			s.handBackMu.Lock()
			s.handBack = append(s.handBack, jm)
			s.handBackMu.Unlock()
			continue
		}
		s.handle(ctx, jm)
	}
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
		Subject:   jm.Subject(),
		Data:      jm.Data(),
		ID:        jm.Headers().Get(jetstream.MsgIDHeader),
		Delivery:  md.NumDelivered,
		StreamSeq: md.Sequence.Stream,
	}

	done := make(chan struct{})
	if s.ackWait > 0 {
		go s.keepAlive(jm, done)
	}
	err = s.handler(ctx, m)
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
// while it is still running.
func (s *subscription) keepAlive(jm jetstream.Msg, done <-chan struct{}) {
	t := time.NewTicker(s.ackWait / 2)
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
