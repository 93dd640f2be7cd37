package ratelimit

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestRegistry(t *testing.T) {
	rules, err := ParseClasses("login=1/m:2,read=100/s:200")
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	r := NewRegistry(rules, 100, WithClock(clock.Now))
	t.Cleanup(r.Close)

	if !r.Enabled() {
		t.Error("registry with rules reports itself disabled")
	}
	for i := range 2 {
		if ok, _ := r.Allow("login", "ip:192.0.2.1"); !ok {
			t.Fatalf("login %d refused within the burst", i+1)
		}
	}
	ok, retry := r.Allow("login", "ip:192.0.2.1")
	if ok || retry <= 0 {
		t.Errorf("third login: ok=%v retryAfter=%v; want refused with a wait", ok, retry)
	}
	// Classes keep separate buckets for the same key.
	if ok, _ := r.Allow("read", "ip:192.0.2.1"); !ok {
		t.Error("read refused because of the login class")
	}
	// A class without a rule is not limited, and says so.
	if !r.Limits("login") || !r.Limits("read") || r.Limits("unconfigured") {
		t.Errorf("Limits: login %v, read %v, unconfigured %v; want true, true, false",
			r.Limits("login"), r.Limits("read"), r.Limits("unconfigured"))
	}
	for range 1000 {
		if ok, _ := r.Allow("unconfigured", "ip:192.0.2.1"); !ok {
			t.Fatal("unconfigured class limited")
		}
	}
	if got, want := r.Classes(), []string{"login=0.016666666666666666/s:2", "read=100/s:200"}; !slices.Equal(got, want) {
		t.Errorf("Classes() = %q, want %q", got, want)
	}
}

func TestRegistryDisabled(t *testing.T) {
	offRules, err := ParseClasses("off")
	if err != nil {
		t.Fatal(err)
	}
	fromOff := NewRegistry(offRules, 10)
	for name, r := range map[string]*Registry{"Disabled()": Disabled(), `"off"`: fromOff} {
		if r.Enabled() || r.Limits("login") {
			t.Errorf("%s reports itself enabled", name)
		}
		for i := range 10_000 {
			if ok, retry := r.Allow("login", "ip:192.0.2.1"); !ok || retry != 0 {
				t.Fatalf("%s refused request %d", name, i)
			}
		}
		r.Close()
	}
}

func TestNewRegistryPanicNamesClass(t *testing.T) {
	defer func() {
		msg := fmt.Sprint(recover())
		if want := `class "bad"`; !strings.Contains(msg, want) {
			t.Errorf("panic %q does not name the class (%s)", msg, want)
		}
	}()
	NewRegistry(map[string]Rule{"ok": {1, 1}, "bad": {1, 0}}, 10)
}
