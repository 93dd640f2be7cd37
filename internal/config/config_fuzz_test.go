package config

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzLoad loads arbitrary YAML files under arbitrary MDOUYIN_* variables
// (lines NAME=value), then validates the result for every role. Nothing may
// panic; a load that succeeds must hold every variable's value in its field,
// since the environment overrides the file; and a configuration Validate
// accepts must be inside the bounds the servers rely on.
func FuzzLoad(f *testing.F) {
	path := filepath.Join(f.TempDir(), "mdouyin.yaml")
	f.Fuzz(func(t *testing.T, file, env string) {
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		vars := map[string]string{}
		for _, line := range strings.Split(env, "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				vars[k] = v
			}
		}
		c, err := Load(path, func(k string) string { return vars[k] })
		if err != nil {
			if err.Error() == "" {
				t.Fatal("Load failed with an empty message")
			}
			return
		}
		checkEnvApplied(t, reflect.ValueOf(c), vars)
		for _, role := range append([]string{"", "no-such-role"}, Roles...) {
			if c.Validate(role) == nil {
				checkValid(t, c, role)
			}
		}
	})
}

// checkEnvApplied checks that each field with an env tag holds the value of
// its variable when that is set, read the way the README documents: lists
// comma-separated with blanks dropped, durations as Go durations.
func checkEnvApplied(t *testing.T, v reflect.Value, vars map[string]string) {
	t.Helper()
	for i := 0; i < v.NumField(); i++ {
		f, fv := v.Type().Field(i), v.Field(i)
		if f.Type.Kind() == reflect.Struct {
			checkEnvApplied(t, fv, vars)
			continue
		}
		name := f.Tag.Get("env")
		raw := vars[EnvPrefix+name]
		if name == "" || raw == "" {
			continue
		}
		var want any
		switch fv.Interface().(type) {
		case string:
			want = raw
		case []string:
			var items []string
			for _, s := range strings.Split(raw, ",") {
				if s = strings.TrimSpace(s); s != "" {
					items = append(items, s)
				}
			}
			want = items
		case time.Duration:
			want, _ = time.ParseDuration(raw)
		case int:
			n, _ := strconv.ParseInt(raw, 10, 64)
			want = int(n)
		case int64:
			want, _ = strconv.ParseInt(raw, 10, 64)
		case uint32:
			n, _ := strconv.ParseUint(raw, 10, 32)
			want = uint32(n)
		case float64:
			x, _ := strconv.ParseFloat(raw, 64)
			if got := fv.Float(); got == x || math.IsNaN(got) && math.IsNaN(x) {
				continue
			}
			want = x
		case bool:
			want, _ = strconv.ParseBool(raw)
		default:
			t.Fatalf("%s: field type %s has no rule here", name, fv.Type())
		}
		if got := fv.Interface(); !reflect.DeepEqual(got, want) {
			if l, ok := got.([]string); ok && len(l) == 0 && want == nil {
				continue
			}
			t.Fatalf("%s%s=%q loaded as %#v, want %#v", EnvPrefix, name, raw, got, want)
		}
	}
}

// checkValid checks the bounds that code outside this package assumes of a
// configuration Validate accepted.
func checkValid(t *testing.T, c Config, role string) {
	t.Helper()
	switch {
	case c.Node < 0 || c.Node > 255:
		t.Fatalf("role %q: node %d accepted", role, c.Node)
	case c.HTTP.MaxBodyBytes < 1024 || c.HTTP.MaxUploadBytes < 1024 || c.HTTP.MaxUploadBytes > math.MaxInt32:
		t.Fatalf("role %q: body limits %d/%d accepted", role, c.HTTP.MaxBodyBytes, c.HTTP.MaxUploadBytes)
	case c.HTTP.ReadTimeout <= 0 || c.HTTP.WriteTimeout <= 0 || c.HTTP.IdleTimeout <= 0 || c.HTTP.ShutdownTimeout <= 0 || c.RPC.Timeout <= 0:
		t.Fatalf("role %q: a non-positive timeout accepted", role)
	case c.Password.MaxInFlight < 1 || c.Password.MemoryKiB < 8192:
		t.Fatalf("role %q: password bounds %d/%d accepted", role, c.Password.MaxInFlight, c.Password.MemoryKiB)
	case c.JWT.Secret != "" && len(c.JWT.Secret) < 32, c.JWT.TTL < time.Minute:
		t.Fatalf("role %q: a weak JWT setting accepted", role)
	case c.Comment.Partitions < 1 || c.Comment.Partitions > 256 || c.Comment.PublishWait <= 0:
		t.Fatalf("role %q: comment settings %d/%v accepted", role, c.Comment.Partitions, c.Comment.PublishWait)
	case c.Feed.InboxSize < 30 || c.Feed.BackfillCount < 0 || c.Feed.BackfillCount > c.Feed.InboxSize || c.Feed.PullThreshold < 1:
		t.Fatalf("role %q: feed settings %+v accepted", role, c.Feed)
	case c.Video.FFmpegWorkers < 1 || c.Video.FFmpegTimeout < time.Second:
		t.Fatalf("role %q: video settings %+v accepted", role, c.Video)
	case !(c.Tracing.SampleRatio >= 0 && c.Tracing.SampleRatio <= 1):
		t.Fatalf("role %q: sample ratio %v accepted", role, c.Tracing.SampleRatio)
	case role != "" && !slices.Contains(Roles, role):
		t.Fatalf("unknown role %q accepted", role)
	}
	if _, err := c.PeerAddrs(); err != nil {
		t.Fatalf("role %q: peers %q accepted but do not parse: %v", role, c.RPC.Peers, err)
	}
}
