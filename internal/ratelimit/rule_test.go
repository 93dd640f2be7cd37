package ratelimit

import (
	"math"
	"strings"
	"testing"
)

func TestParseRule(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Rule
	}{
		{"10/s", Rule{Rate: 10, Burst: 10}},
		{"30/m", Rule{Rate: 0.5, Burst: 30}},
		{"1000/h", Rule{Rate: 1000.0 / 3600, Burst: 1000}},
		{"5/s:20", Rule{Rate: 5, Burst: 20}},
		{" 0.5/s ", Rule{Rate: 0.5, Burst: 1}},
		{"2.5/s", Rule{Rate: 2.5, Burst: 3}},
		{"1 / m : 4", Rule{Rate: 1.0 / 60, Burst: 4}},
	} {
		got, err := ParseRule(tc.in)
		if err != nil {
			t.Errorf("ParseRule(%q): %v", tc.in, err)
			continue
		}
		if math.Abs(got.Rate-tc.want.Rate) > 1e-12 || got.Burst != tc.want.Burst {
			t.Errorf("ParseRule(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestParseRuleErrors(t *testing.T) {
	for _, tc := range []struct{ in, mention string }{
		{"", "COUNT/UNIT"},
		{"10", "COUNT/UNIT"},
		{"10/x", "unit"},
		{"10/sec", "unit"},
		{"0/s", "count"},
		{"-1/s", "count"},
		{"abc/s", "count"},
		{"NaN/s", "count"},
		{"Inf/s", "count"},
		{"1e400/s", "count"},
		{"5/s:0", "burst"},
		{"5/s:-3", "burst"},
		{"5/s:x", "burst"},
		{"5/s:2.5", "burst"},
		{"5/s:20:3", "burst"},
		{"1e10/s", "too large"},
	} {
		_, err := ParseRule(tc.in)
		if err == nil {
			t.Errorf("ParseRule(%q) succeeded, want an error", tc.in)
			continue
		}
		if !strings.Contains(err.Error(), tc.mention) || !strings.Contains(err.Error(), tc.in) {
			t.Errorf("ParseRule(%q) error %q should quote the input and mention %q", tc.in, err, tc.mention)
		}
	}
}

func TestRuleStringRoundTrip(t *testing.T) {
	for _, in := range []string{"10/s", "30/m:7", "1000/h", "0.25/s:2"} {
		r, err := ParseRule(in)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseRule(r.String())
		if err != nil || back != r {
			t.Errorf("%q -> %q -> %+v, %v; want %+v", in, r.String(), back, err, r)
		}
	}
}

func TestRuleValidate(t *testing.T) {
	for _, bad := range []Rule{{0, 1}, {-1, 1}, {math.NaN(), 1}, {math.Inf(1), 1}, {1, 0}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v validated", bad)
		}
	}
	if err := (Rule{Rate: 0.001, Burst: 1}).Validate(); err != nil {
		t.Errorf("slow rule refused: %v", err)
	}
}

func TestParseClasses(t *testing.T) {
	got, err := ParseClasses("login=5/s:10, register=1/s:5,write=20/s:40,read=100/s:200")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Rule{
		"login":    {5, 10},
		"register": {1, 5},
		"write":    {20, 40},
		"read":     {100, 200},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d classes, want %d: %v", len(got), len(want), got)
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("class %s = %+v, want %+v", name, got[name], w)
		}
	}

	for _, off := range []string{"off", " OFF "} {
		rules, err := ParseClasses(off)
		if err != nil || rules == nil || len(rules) != 0 {
			t.Errorf("ParseClasses(%q) = %v, %v; want no classes", off, rules, err)
		}
	}
}

func TestParseClassesErrors(t *testing.T) {
	for _, tc := range []struct{ in, mention string }{
		{"", "off"},
		{"   ", "off"},
		{"login=5/s,,read=1/s", `item 2 ""`},
		{"login", `item 1 "login"`},
		{"=5/s", `item 1 "=5/s"`},
		{"log in=5/s", `item 1 "log in=5/s"`},
		{"login=5/s,write=20/x", `item 2 (class "write")`},
		{"login=5/s,login=6/s", `class "login" given twice`},
		{"read=0/s", `class "read"`},
	} {
		_, err := ParseClasses(tc.in)
		if err == nil {
			t.Errorf("ParseClasses(%q) succeeded, want an error", tc.in)
			continue
		}
		if !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("ParseClasses(%q) error %q should mention %q", tc.in, err, tc.mention)
		}
	}
}
