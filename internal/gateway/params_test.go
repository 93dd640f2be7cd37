package gateway

import (
	"testing"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

func TestParseID(t *testing.T) {
	cases := []struct {
		in   string
		want int64 // 0: refused
	}{
		{"1", 1},
		{"  42 ", 42},
		{"9007199254740991", 9007199254740991},
		{"1.234567e+06", 1234567},
		{"1234567.0", 1234567},
		{"1E3", 1000},
		{"", 0},
		{"0", 0},
		{"-1", 0},
		{"9007199254740992", 0},
		{"9.007199254740992e15", 0},
		{"99999999999999999999", 0},
		{"1.5", 0},
		{"1e-3", 0},
		{"NaN", 0},
		{"Inf", 0},
		{"-Inf", 0},
		{"0x10", 0},
		{"1_000", 0},
		{"abc", 0},
		{"12345678901234567890123456789012345", 0},
	}
	for _, c := range cases {
		got, err := parseID("video_id", c.in)
		if c.want == 0 {
			if errs.CodeOf(err) != base.ErrCode_InvalidArgument {
				t.Errorf("parseID(%q) = %d, %v; want InvalidArgument", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("parseID(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
}

func TestParseOptionalID(t *testing.T) {
	for _, in := range []string{"", "0", " 0 "} {
		if got, err := parseOptionalID("user_id", in); got != 0 || err != nil {
			t.Errorf("parseOptionalID(%q) = %d, %v; want 0, nil", in, got, err)
		}
	}
	if _, err := parseOptionalID("user_id", "-3"); err == nil {
		t.Error("parseOptionalID accepted -3")
	}
}

func TestValidHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost:8080":     true,
		"192.168.1.5:8080":   true,
		"[::1]:8080":         true,
		"example.com":        true,
		"evil.com/path":      false,
		"a b":                false,
		"x\"onerror=":        false,
		"host\r\nSet-Cookie": false,
	} {
		if got := validHost(host); got != want {
			t.Errorf("validHost(%q) = %v, want %v", host, got, want)
		}
	}
}
