package ratelimit

import (
	"fmt"
	"slices"
	"time"
)

// Registry holds one Limiter per route class. The gateway asks it about a class and a
// key (a client address or an account) for each request; the classes themselves come
// from configuration (ParseClasses).
type Registry struct {
	classes map[string]*Limiter
}

// NewRegistry builds a limiter for each class in rules, each remembering at most
// maxKeys keys. With no rules, as ParseClasses gives for "off", it is the same as
// Disabled. Like NewLimiter it panics on an invalid rule or maxKeys, which rules from
// ParseClasses never contain.
func NewRegistry(rules map[string]Rule, maxKeys int, opts ...Option) *Registry {
	r := &Registry{classes: make(map[string]*Limiter, len(rules))}
	for name, rule := range rules {
		if err := rule.Validate(); err != nil {
			panic(fmt.Sprintf("ratelimit.NewRegistry: class %q: %v", name, err))
		}
		r.classes[name] = NewLimiter(rule, maxKeys, opts...)
	}
	return r
}

// Disabled returns a Registry that allows every request, for MDOUYIN_RATE_LIMITS=off.
func Disabled() *Registry { return &Registry{} }

// Enabled reports whether any class is limited, so a server can say at start-up that
// rate limits are off.
func (r *Registry) Enabled() bool { return len(r.classes) > 0 }

// Limits reports whether class has a rule: Allow answers true for every key of a
// class without one, so a caller may skip working out the key.
func (r *Registry) Limits(class string) bool {
	_, ok := r.classes[class]
	return ok
}

// Allow takes a token for key in class and reports whether the request may proceed,
// and if not, how long until it could. A class with no configured rule is not limited:
// a route class that configuration leaves out is a decision to leave it unlimited, and
// failing closed there would turn a configuration gap into an outage.
func (r *Registry) Allow(class, key string) (bool, time.Duration) {
	l, ok := r.classes[class]
	if !ok {
		return true, 0
	}
	return l.Allow(key)
}

// Classes returns the configured class names and rules, sorted by name, for start-up
// logs.
func (r *Registry) Classes() []string {
	names := make([]string, 0, len(r.classes))
	for name, l := range r.classes {
		names = append(names, name+"="+l.Rule().String())
	}
	slices.Sort(names)
	return names
}

// Close stops the limiters' background clean-ups.
func (r *Registry) Close() {
	for _, l := range r.classes {
		l.Close()
	}
}
