package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsAreValidForOneProcess(t *testing.T) {
	c, err := Load("", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(""); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	if c.HTTPAddr != ":8080" || c.DataDir != "./data" || c.Database.Driver != "sqlite" || c.Events.Driver != "embedded" {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestEnvironmentOverridesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mdouyin.yaml")
	yaml := "http_addr: \":9000\"\njwt:\n  ttl: 2h\ncomment:\n  sensitive_words: [a, b]\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, env(map[string]string{
		"MDOUYIN_HTTP_ADDR":       "127.0.0.1:7000",
		"MDOUYIN_SENSITIVE_WORDS": " 敏感 , word ,,",
		"MDOUYIN_NODE":            "7",
		"MDOUYIN_RATE_LIMITS":     "off",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:7000" {
		t.Errorf("env did not override the file: %q", c.HTTPAddr)
	}
	if c.JWT.TTL != 2*time.Hour {
		t.Errorf("file setting lost: ttl %v", c.JWT.TTL)
	}
	if strings.Join(c.Comment.SensitiveWords, "|") != "敏感|word" {
		t.Errorf("list parsed as %q", c.Comment.SensitiveWords)
	}
	if c.Node != 7 || c.RateLimit.Rules != "off" {
		t.Errorf("node %d, rules %q", c.Node, c.RateLimit.Rules)
	}
}

func TestUnknownFileKeyIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(path, []byte("http_adr: \":1\"\n"), 0o600)
	if _, err := Load(path, env(nil)); err == nil || !strings.Contains(err.Error(), "http_adr") {
		t.Fatalf("want an error naming the unknown key, got %v", err)
	}
}

func TestEmptyFileIsFine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.yaml")
	os.WriteFile(path, nil, 0o600)
	if _, err := Load(path, env(nil)); err != nil {
		t.Fatal(err)
	}
}

func TestMalformedEnvironmentListsEveryProblem(t *testing.T) {
	_, err := Load("", env(map[string]string{
		"MDOUYIN_NODE":                "seven",
		"MDOUYIN_JWT_TTL":             "forever",
		"MDOUYIN_PASSWORD_MEMORY_KIB": "-1",
	}))
	if err == nil {
		t.Fatal("malformed variables accepted")
	}
	for _, want := range []string{"MDOUYIN_NODE", "MDOUYIN_JWT_TTL", "MDOUYIN_PASSWORD_MEMORY_KIB"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	c := Default()
	c.HTTPAddr = "nonsense"
	c.PublicURL = "ftp://x"
	c.TimeZone = "Mars/Olympus"
	c.Node = 300
	c.Database.Driver = "oracle"
	c.Cache.Driver = "redis"
	c.Events.Driver = "nats"
	c.JWT.Secret = "short"
	c.RPC.Peers = []string{"nobody=1.2.3.4:5"}
	err := c.Validate("")
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, want := range []string{"MDOUYIN_HTTP_ADDR", "MDOUYIN_PUBLIC_URL", "MDOUYIN_TIME_ZONE", "MDOUYIN_NODE",
		"MDOUYIN_DB_DRIVER", "MDOUYIN_REDIS_ADDR", "MDOUYIN_NATS_URL", "MDOUYIN_JWT_SECRET", "MDOUYIN_PEERS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
}

func TestClusterRolesNeedSharedInfrastructure(t *testing.T) {
	c := Default()
	err := c.Validate("user")
	if err == nil || !strings.Contains(err.Error(), "MDOUYIN_JWT_SECRET") || !strings.Contains(err.Error(), "MDOUYIN_EVENTS_DRIVER") {
		t.Fatalf("a role process on one-process defaults must be refused, got %v", err)
	}
	if err := c.Validate("janitor"); err == nil || !strings.Contains(err.Error(), "janitor") {
		t.Fatalf("unknown role accepted: %v", err)
	}
	c.JWT.Secret = strings.Repeat("k", 32)
	c.Events = Events{Driver: "nats", NATSURL: "nats://127.0.0.1:4222"}
	if err := c.Validate("user"); err != nil {
		t.Fatalf("valid role configuration refused: %v", err)
	}
}

func TestPeerAddrs(t *testing.T) {
	c := Default()
	c.RPC.Peers = []string{"user=127.0.0.1:9101", "comment-admin=[::1]:9105"}
	m, err := c.PeerAddrs()
	if err != nil || m["user"] != "127.0.0.1:9101" || m["comment-admin"] != "[::1]:9105" {
		t.Fatalf("peers %v, %v", m, err)
	}
	for _, bad := range []string{"user", "gateway=1.2.3.4:1", "user=nohostport"} {
		c.RPC.Peers = []string{bad}
		if _, err := c.PeerAddrs(); err == nil {
			t.Errorf("peer %q accepted", bad)
		}
	}
}

func TestEventsNamespaceAndTracingSettings(t *testing.T) {
	env := map[string]string{
		"MDOUYIN_NAMESPACE":          "staging_2",
		"MDOUYIN_OTLP_ENDPOINT":      "127.0.0.1:4318",
		"MDOUYIN_TRACE_SAMPLE_RATIO": "0.25",
	}
	c, err := Load("", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Namespace != "staging_2" || c.Tracing.OTLPEndpoint != "127.0.0.1:4318" || c.Tracing.SampleRatio != 0.25 {
		t.Fatalf("loaded %q %+v", c.Namespace, c.Tracing)
	}
	if err := c.Validate(""); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []map[string]string{
		{"MDOUYIN_NAMESPACE": "a.b"},
		{"MDOUYIN_NAMESPACE": "has space"},
		{"MDOUYIN_TRACE_SAMPLE_RATIO": "1.5"},
		{"MDOUYIN_OTLP_ENDPOINT": "http://collector"},
	} {
		c, err := Load("", func(k string) string { return bad[k] })
		if err == nil {
			err = c.Validate("")
		}
		if err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}

func TestEventsReplicas(t *testing.T) {
	for _, tc := range []struct {
		env map[string]string
		ok  bool
	}{
		{map[string]string{"MDOUYIN_EVENTS_DRIVER": "nats", "MDOUYIN_NATS_URL": "nats://a:4222", "MDOUYIN_EVENTS_REPLICAS": "3"}, true},
		{map[string]string{"MDOUYIN_EVENTS_REPLICAS": "3"}, false}, // the embedded server is one server
		{map[string]string{"MDOUYIN_EVENTS_DRIVER": "nats", "MDOUYIN_NATS_URL": "nats://a:4222", "MDOUYIN_EVENTS_REPLICAS": "6"}, false},
		{map[string]string{"MDOUYIN_EVENTS_DRIVER": "nats", "MDOUYIN_NATS_URL": "nats://a:4222", "MDOUYIN_EVENTS_REPLICAS": "-1"}, false},
	} {
		c, err := Load("", func(k string) string { return tc.env[k] })
		if err == nil {
			err = c.Validate("")
		}
		if (err == nil) != tc.ok {
			t.Errorf("%v: %v", tc.env, err)
		}
	}
}

func TestDatabaseMaxOpenConns(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  int
		ok    bool
	}{
		{"", 0, true}, {"8", 8, true}, {"-1", 0, false}, {"100000", 0, false}, {"many", 0, false},
	} {
		env := map[string]string{"MDOUYIN_DB_MAX_OPEN_CONNS": tc.value}
		c, err := Load("", func(k string) string { return env[k] })
		if err == nil {
			err = c.Validate("")
		}
		if (err == nil) != tc.ok {
			t.Errorf("%q: %v", tc.value, err)
		}
		if err == nil && c.Database.MaxOpenConns != tc.want {
			t.Errorf("%q: read as %d", tc.value, c.Database.MaxOpenConns)
		}
	}
}

func TestPprofAddr(t *testing.T) {
	for _, tc := range []struct {
		env map[string]string
		ok  bool
	}{
		{map[string]string{}, true},
		{map[string]string{"MDOUYIN_PPROF_ADDR": "127.0.0.1:6060"}, true},
		{map[string]string{"MDOUYIN_PPROF_ADDR": "localhost:6060"}, true},
		{map[string]string{"MDOUYIN_PPROF_ADDR": "[::1]:6060"}, true},
		{map[string]string{"MDOUYIN_PPROF_ADDR": ":6060"}, false}, // every interface
		{map[string]string{"MDOUYIN_PPROF_ADDR": "10.0.0.5:6060"}, false},
		{map[string]string{"MDOUYIN_PPROF_ADDR": "10.0.0.5:6060", "MDOUYIN_PPROF_PUBLIC": "true"}, true},
		{map[string]string{"MDOUYIN_PPROF_ADDR": "6060"}, false},
	} {
		c, err := Load("", func(k string) string { return tc.env[k] })
		if err == nil {
			err = c.Validate("")
		}
		if (err == nil) != tc.ok {
			t.Errorf("%v: %v", tc.env, err)
		}
	}
}
