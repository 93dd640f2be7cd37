// Package ratelimit holds the gateway's rate limits (api.md A.1): token buckets per
// client address and per account, grouped in named route classes such as login,
// register, write and read, each with its own rate and burst.
//
// A bucket exists only while its key is active: buckets live in a size-bounded cache
// and vanish after a spell of idleness, so a flood of distinct addresses costs at most
// the configured number of entries per class.
package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Rule is one token bucket's shape: Rate tokens are added per second, up to Burst.
// A request takes one token, so Burst is how many requests an idle client may make at
// once and Rate how fast it may go on after that.
type Rule struct {
	Rate  float64 // tokens per second
	Burst int
}

// Validate reports whether r can drive a bucket: a positive, finite rate and a burst
// of at least one (a bucket that can hold no token would refuse everything).
func (r Rule) Validate() error {
	if !(r.Rate > 0) || math.IsInf(r.Rate, 0) {
		return fmt.Errorf("rate %v: must be a positive number", r.Rate)
	}
	if r.Burst < 1 {
		return fmt.Errorf("burst %d: must be at least 1", r.Burst)
	}
	return nil
}

// String formats r in the syntax ParseRule reads, in tokens per second.
func (r Rule) String() string {
	return strconv.FormatFloat(r.Rate, 'g', -1, 64) + "/s:" + strconv.Itoa(r.Burst)
}

// ParseRule reads a rule written as COUNT/UNIT or COUNT/UNIT:BURST, where UNIT is s, m
// or h: "10/s", "30/m", "1000/h", "5/s:20". COUNT may be fractional ("0.5/s"). Without
// an explicit burst, the burst is COUNT rounded up, so "30/m" lets an idle client
// spend its minute's allowance at once, as a person reading "30 per minute" expects,
// and then refills one token every two seconds.
func ParseRule(s string) (Rule, error) {
	spec := strings.TrimSpace(s)
	countStr, unitAndBurst, ok := strings.Cut(spec, "/")
	if !ok {
		return Rule{}, fmt.Errorf("rate limit %q: want COUNT/UNIT[:BURST], as in 10/s or 5/s:20", s)
	}
	unitStr, burstStr, hasBurst := strings.Cut(unitAndBurst, ":")

	count, err := strconv.ParseFloat(strings.TrimSpace(countStr), 64)
	if err != nil || !(count > 0) || math.IsInf(count, 0) {
		return Rule{}, fmt.Errorf("rate limit %q: count %q must be a positive number", s, countStr)
	}
	var per float64
	switch strings.TrimSpace(unitStr) {
	case "s":
		per = 1
	case "m":
		per = 60
	case "h":
		per = 3600
	default:
		return Rule{}, fmt.Errorf("rate limit %q: unit %q must be s, m or h", s, unitStr)
	}

	r := Rule{Rate: count / per}
	if hasBurst {
		b, err := strconv.Atoi(strings.TrimSpace(burstStr))
		if err != nil || b < 1 {
			return Rule{}, fmt.Errorf("rate limit %q: burst %q must be a whole number of at least 1", s, burstStr)
		}
		r.Burst = b
	} else {
		if count > math.MaxInt32 {
			return Rule{}, fmt.Errorf("rate limit %q: count too large to serve as the burst; give one after a colon", s)
		}
		r.Burst = max(1, int(math.Ceil(count)))
	}
	if err := r.Validate(); err != nil {
		return Rule{}, fmt.Errorf("rate limit %q: %w", s, err)
	}
	return r, nil
}

// Off is the configuration value that turns rate limiting off, for load tests and
// test harnesses (MDOUYIN_RATE_LIMITS=off).
const Off = "off"

// ParseClasses reads the per-class configuration, a comma-separated list of
// CLASS=RULE items such as "login=5/s:10,register=1/s:5,write=20/s:40,read=100/s:200".
// Errors name the offending item. "off" (in any case) yields no classes, which a
// Registry treats as no limits; an empty string is an error rather than the same, so
// that a configuration value lost on the way cannot switch the limits off unnoticed.
func ParseClasses(s string) (map[string]Rule, error) {
	spec := strings.TrimSpace(s)
	if strings.EqualFold(spec, Off) {
		return map[string]Rule{}, nil
	}
	if spec == "" {
		return nil, errors.New(`rate limits: empty; list CLASS=RULE items, or say "off"`)
	}
	rules := map[string]Rule{}
	for i, item := range strings.Split(spec, ",") {
		name, ruleStr, ok := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		if !ok || !validClassName(name) {
			return nil, fmt.Errorf("rate limits: item %d %q: want CLASS=RULE with a class name of letters, digits, _ or -", i+1, strings.TrimSpace(item))
		}
		if _, dup := rules[name]; dup {
			return nil, fmt.Errorf("rate limits: item %d %q: class %q given twice", i+1, strings.TrimSpace(item), name)
		}
		r, err := ParseRule(ruleStr)
		if err != nil {
			return nil, fmt.Errorf("rate limits: item %d (class %q): %w", i+1, name, err)
		}
		rules[name] = r
	}
	return rules, nil
}

func validClassName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
