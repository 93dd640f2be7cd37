package mq

import (
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
)

// Broadcast sends data to every process subscribed to subject right now, without
// storing it: for signals whose loss costs only a little freshness, such as "drop
// your local copy of this page" or "the write you are waiting for has committed".
// Anything that must not be lost goes through Publish and a stream instead.
//
// A subject captured by a stream must not be used here, or the signal would be
// stored as well. Broadcasts are not traced: they are short signals (drop a
// page, a write has committed) whose spans would add noise, not insight.
func (b *Bus) Broadcast(subject string, data []byte) error {
	if err := b.nc.Publish(b.ns.subject(subject), data); err != nil {
		return fmt.Errorf("mq: broadcast %s: %w", subject, err)
	}
	return nil
}

// Subscribe calls fn for every broadcast on subject (wildcards allowed) until the
// returned stop function is called or the bus closes. fn runs on one goroutine per
// subscription, in arrival order, so it must not block for long.
func (b *Bus) Subscribe(subject string, fn func(subject string, data []byte)) (stop func(), err error) {
	if fn == nil {
		return nil, errors.New("mq: subscribe needs a handler")
	}
	sub, err := b.nc.Subscribe(b.ns.subject(subject), func(m *nats.Msg) { fn(b.ns.local(m.Subject), m.Data) })
	if err != nil {
		return nil, fmt.Errorf("mq: subscribe %s: %w", subject, err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}
