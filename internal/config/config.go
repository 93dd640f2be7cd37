// Package config is mdouyin's one configuration: defaults, then an optional YAML
// file, then MDOUYIN_* environment variables, then one Validate that reports every
// problem at once.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// namespaceRE admits the event namespaces that are valid in NATS stream names
// and subjects alike.
var namespaceRE = regexp.MustCompile(`^[A-Za-z0-9_-]{0,32}$`)

// EnvPrefix starts every environment variable mdouyin reads.
const EnvPrefix = "MDOUYIN_"

// Roles lists every role a process can run, in start-up order.
var Roles = []string{"user", "video", "favorite", "comment", "comment-admin", "relation", "message", "gateway"}

// Config is the whole configuration. The `env` tag names the variable (after
// EnvPrefix) that overrides a field; lists are comma-separated there.
type Config struct {
	HTTPAddr  string `yaml:"http_addr" env:"HTTP_ADDR"`
	DataDir   string `yaml:"data_dir" env:"DATA_DIR"`
	PublicURL string `yaml:"public_url" env:"PUBLIC_URL"` // base of media URLs; empty: each request's Host
	TimeZone  string `yaml:"time_zone" env:"TIME_ZONE"`   // for create_date
	Node      int    `yaml:"node" env:"NODE"`             // id generator node, 0-255
	// Namespace keeps deployments that share infrastructure apart: it
	// prefixes NATS stream names and subjects, etcd keys (discovery, node
	// numbers) and Redis keys.
	Namespace string `yaml:"namespace" env:"NAMESPACE"`
	// PprofAddr, when set, serves Go's profiles (/debug/pprof/) on a listener of
	// its own: a loopback host:port, or any address with PprofPublic.
	PprofAddr   string `yaml:"pprof_addr" env:"PPROF_ADDR"`
	PprofPublic bool   `yaml:"pprof_public" env:"PPROF_PUBLIC"`

	Log       Log       `yaml:"log"`
	HTTP      HTTP      `yaml:"http"`
	RPC       RPC       `yaml:"rpc"`
	JWT       JWT       `yaml:"jwt"`
	Admin     Admin     `yaml:"admin"`
	Password  Password  `yaml:"password"`
	Comment   Comment   `yaml:"comment"`
	Message   Message   `yaml:"message"`
	Video     Video     `yaml:"video"`
	Feed      Feed      `yaml:"feed"`
	RateLimit RateLimit `yaml:"rate_limit"`
	Database  Database  `yaml:"database"`
	Cache     Cache     `yaml:"cache"`
	Events    Events    `yaml:"events"`
	Blob      Blob      `yaml:"blob"`
	Tracing   Tracing   `yaml:"tracing"`
}

// Log chooses the log level and format of log/slog output.
type Log struct {
	Level  string `yaml:"level" env:"LOG_LEVEL"`   // debug, info, warn, error
	Format string `yaml:"format" env:"LOG_FORMAT"` // text or json
}

// HTTP bounds what the gateway accepts from clients.
type HTTP struct {
	MaxBodyBytes   int64         `yaml:"max_body_bytes" env:"HTTP_MAX_BODY_BYTES"` // every route but uploads
	MaxUploadBytes int64         `yaml:"max_upload_bytes" env:"MAX_UPLOAD_BYTES"`  // video uploads
	ReadTimeout    time.Duration `yaml:"read_timeout" env:"HTTP_READ_TIMEOUT"`
	// UploadTimeout replaces ReadTimeout for a video upload's body, from the
	// moment its headers are in: large files on slow links take minutes.
	UploadTimeout   time.Duration `yaml:"upload_timeout" env:"HTTP_UPLOAD_TIMEOUT"`
	WriteTimeout    time.Duration `yaml:"write_timeout" env:"HTTP_WRITE_TIMEOUT"`
	IdleTimeout     time.Duration `yaml:"idle_timeout" env:"HTTP_IDLE_TIMEOUT"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" env:"HTTP_SHUTDOWN_TIMEOUT"`
	TrustedProxies  []string      `yaml:"trusted_proxies" env:"TRUSTED_PROXIES"` // CIDRs whose X-Forwarded-For is believed
}

// RPC places a role process: where it listens, and where its peers are until
// discovery over etcd arrives.
type RPC struct {
	Addr    string        `yaml:"addr" env:"RPC_ADDR"`
	Peers   []string      `yaml:"peers" env:"PEERS"` // role=host:port, e.g. user=127.0.0.1:9101
	Timeout time.Duration `yaml:"timeout" env:"RPC_TIMEOUT"`
	// Etcd lists etcd endpoints: roles then register there, find their peers
	// there (Peers is not needed), and lease their id-generator node numbers
	// there (Node is ignored).
	Etcd []string `yaml:"etcd" env:"ETCD_ENDPOINTS"`
	// Advertise is the host other processes reach this one's RPC address at,
	// when Addr listens on every interface.
	Advertise string `yaml:"advertise" env:"RPC_ADVERTISE"`
}

// JWT configures app tokens. PreviousSecrets still verify, so a secret can be
// rotated without logging everyone out.
type JWT struct {
	Secret          string        `yaml:"secret" env:"JWT_SECRET"`
	PreviousSecrets []string      `yaml:"previous_secrets" env:"JWT_PREVIOUS_SECRETS"`
	TTL             time.Duration `yaml:"ttl" env:"JWT_TTL"`
}

// Admin configures the operations console's one account.
type Admin struct {
	Password string `yaml:"password" env:"ADMIN_PASSWORD"`
	// TokenTTL is how long an admin token lasts.
	TokenTTL time.Duration `yaml:"token_ttl" env:"ADMIN_TOKEN_TTL"`
}

// Password bounds Argon2id work: each hash in flight holds Memory KiB.
type Password struct {
	MaxInFlight int    `yaml:"max_in_flight" env:"PASSWORD_MAX_IN_FLIGHT"`
	MemoryKiB   uint32 `yaml:"memory_kib" env:"PASSWORD_MEMORY_KIB"`
}

// Comment holds comment-platform settings.
type Comment struct {
	SensitiveWords []string `yaml:"sensitive_words" env:"SENSITIVE_WORDS"`
	// Partitions is the number of write partitions (serial writers) of the
	// comment stream; every comment process must use the same number.
	Partitions int `yaml:"partitions" env:"COMMENT_PARTITIONS"`
	// PublishWait bounds how long a publish waits for its floor.
	PublishWait time.Duration `yaml:"publish_wait" env:"COMMENT_PUBLISH_WAIT"`
	// HotPages keeps the first pages of each process's hottest videos in a
	// short-lived local cache; off only to measure what it saves.
	HotPages bool `yaml:"hot_pages" env:"COMMENT_HOT_PAGES"`
}

// Message holds chat settings.
type Message struct {
	RequireFriends bool `yaml:"require_friends" env:"MESSAGE_REQUIRE_FRIENDS"` // only mutual followers may chat
}

// Video bounds the media pipeline.
type Video struct {
	FFmpegWorkers int           `yaml:"ffmpeg_workers" env:"FFMPEG_WORKERS"` // concurrent ffmpeg jobs; more uploads queue
	FFmpegTimeout time.Duration `yaml:"ffmpeg_timeout" env:"FFMPEG_TIMEOUT"` // per ffmpeg run
	FFmpegPath    string        `yaml:"ffmpeg_path" env:"FFMPEG_PATH"`
	FFprobePath   string        `yaml:"ffprobe_path" env:"FFPROBE_PATH"`

	// FFmpegMemoryMiB bounds each ffmpeg run's address space (Linux); 0 sizes
	// it from the run's threads (1 GiB + 256 MiB per thread).
	FFmpegMemoryMiB int `yaml:"ffmpeg_memory_mib" env:"FFMPEG_MEMORY_MIB"`
}

// Feed shapes the following timeline: push into inboxes for ordinary authors,
// pull at read time for authors with more followers than PullThreshold.
type Feed struct {
	PullThreshold int `yaml:"pull_threshold" env:"FEED_PULL_THRESHOLD"`
	InboxSize     int `yaml:"inbox_size" env:"FEED_INBOX_SIZE"`         // newest entries kept per user
	BackfillCount int `yaml:"backfill_count" env:"FEED_BACKFILL_COUNT"` // recent videos copied in on follow
}

// RateLimit holds per route class rules such as "login=5/s:10", or "off".
type RateLimit struct {
	Rules string `yaml:"rules" env:"RATE_LIMITS"`
}

// Database chooses SQL storage. With sqlite every service keeps its own file under
// DataDir/db; with mysql DSN names the server and database they share.
type Database struct {
	Driver string `yaml:"driver" env:"DB_DRIVER"` // sqlite or mysql
	DSN    string `yaml:"dsn" env:"DB_DSN"`
	// MaxOpenConns bounds each process's MySQL connections (0: 32). A cluster
	// opens up to this many per role process: keep the sum under the server's
	// max_connections (151 on a stock MariaDB).
	MaxOpenConns int `yaml:"max_open_conns" env:"DB_MAX_OPEN_CONNS"`
}

// Cache chooses shared caches: in-process, or Redis for many processes.
type Cache struct {
	Driver        string `yaml:"driver" env:"CACHE_DRIVER"` // local or redis
	RedisAddr     string `yaml:"redis_addr" env:"REDIS_ADDR"`
	RedisPassword string `yaml:"redis_password" env:"REDIS_PASSWORD"`
	RedisDB       int    `yaml:"redis_db" env:"REDIS_DB"`
	LocalEntries  int    `yaml:"local_entries" env:"CACHE_LOCAL_ENTRIES"`
}

// Events chooses the event stream: a NATS JetStream server embedded in this
// process, or an external one.
type Events struct {
	Driver  string `yaml:"driver" env:"EVENTS_DRIVER"` // embedded or nats
	NATSURL string `yaml:"nats_url" env:"NATS_URL"`
	// Replicas is how many copies of each stream a NATS cluster keeps (0: 1).
	Replicas int `yaml:"replicas" env:"EVENTS_REPLICAS"`
}

// Tracing exports OpenTelemetry spans (HTTP requests, Kitex calls, NATS
// messages) over OTLP/HTTP. Off while OTLPEndpoint is empty.
type Tracing struct {
	OTLPEndpoint string  `yaml:"otlp_endpoint" env:"OTLP_ENDPOINT"` // host:port of an OTLP/HTTP collector
	Insecure     bool    `yaml:"insecure" env:"OTLP_INSECURE"`      // plain HTTP to the collector
	SampleRatio  float64 `yaml:"sample_ratio" env:"TRACE_SAMPLE_RATIO"`
}

// Blob chooses media storage.
type Blob struct {
	Driver string `yaml:"driver" env:"BLOB_DRIVER"` // local or s3
	Dir    string `yaml:"dir" env:"BLOB_DIR"`       // local: default DataDir/blobs
	S3     S3     `yaml:"s3"`
}

// S3 locates an S3-compatible bucket for media. Clients fetch media from it
// directly: from PublicURL when the bucket is public, otherwise through
// presigned URLs valid for Presign.
type S3 struct {
	Endpoint  string        `yaml:"endpoint" env:"S3_ENDPOINT"` // host:port, no scheme
	AccessKey string        `yaml:"access_key" env:"S3_ACCESS_KEY"`
	SecretKey string        `yaml:"secret_key" env:"S3_SECRET_KEY"`
	Bucket    string        `yaml:"bucket" env:"S3_BUCKET"`
	Region    string        `yaml:"region" env:"S3_REGION"`
	UseSSL    bool          `yaml:"use_ssl" env:"S3_USE_SSL"`
	Prefix    string        `yaml:"prefix" env:"S3_PREFIX"`
	PublicURL string        `yaml:"public_url" env:"S3_PUBLIC_URL"`
	Presign   time.Duration `yaml:"presign" env:"S3_PRESIGN"`
}

// Default returns the configuration of `mdouyin` run with nothing set: every role
// in one process on embedded defaults.
func Default() Config {
	return Config{
		HTTPAddr: ":8080",
		DataDir:  "./data",
		TimeZone: "Asia/Shanghai",
		Log:      Log{Level: "info", Format: "text"},
		HTTP: HTTP{
			MaxBodyBytes:    1 << 20,
			MaxUploadBytes:  200 << 20,
			ReadTimeout:     30 * time.Second,
			UploadTimeout:   10 * time.Minute,
			WriteTimeout:    60 * time.Second,
			IdleTimeout:     120 * time.Second,
			ShutdownTimeout: 20 * time.Second,
		},
		RPC:       RPC{Addr: ":9100", Timeout: 3 * time.Second},
		JWT:       JWT{TTL: 30 * 24 * time.Hour},
		Password:  Password{MaxInFlight: 4, MemoryKiB: 19456},
		RateLimit: RateLimit{Rules: DefaultRateLimits},
		Video:     Video{FFmpegWorkers: 2, FFmpegTimeout: 5 * time.Minute, FFmpegPath: "ffmpeg", FFprobePath: "ffprobe"},
		Feed:      Feed{PullThreshold: 10_000, InboxSize: 1000, BackfillCount: 30},
		Comment:   Comment{Partitions: 8, PublishWait: 3 * time.Second, HotPages: true},
		Admin:     Admin{TokenTTL: 12 * time.Hour},
		Database:  Database{Driver: "sqlite"},
		Cache:     Cache{Driver: "local", LocalEntries: 100_000},
		Events:    Events{Driver: "embedded", Replicas: 1},
		Blob:      Blob{Driver: "local", S3: S3{Presign: 24 * time.Hour}},
		Tracing:   Tracing{SampleRatio: 1},
	}
}

// DefaultRateLimits are the per route class rules used when none are configured:
// generous for people, tight where a request costs an Argon2 hash.
const DefaultRateLimits = "login=5/s:20,register=2/s:10,account=1/s:5,write=50/s:100,read=200/s:400,comment=1/s:20,admin=1/s:10"

// Load builds the configuration from defaults, the YAML file at path (if path is
// not empty) and the environment read through getenv.
func Load(path string, getenv func(string) string) (Config, error) {
	c := Default()
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) { // an empty file sets nothing
			return c, fmt.Errorf("config: %s: %w", path, err)
		}
	}
	if err := applyEnv(reflect.ValueOf(&c).Elem(), getenv); err != nil {
		return c, err
	}
	return c, nil
}

// applyEnv overrides every field that has an env tag and a non-empty variable. It
// reports every malformed variable at once.
func applyEnv(v reflect.Value, getenv func(string) string) error {
	var problems []string
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f, fv := t.Field(i), v.Field(i)
			if f.Type.Kind() == reflect.Struct {
				walk(fv)
				continue
			}
			name := f.Tag.Get("env")
			if name == "" {
				continue
			}
			raw := getenv(EnvPrefix + name)
			if raw == "" {
				continue
			}
			if err := setField(fv, raw); err != nil {
				problems = append(problems, fmt.Sprintf("%s%s=%q: %v", EnvPrefix, name, raw, err))
			}
		}
	}
	walk(v)
	if len(problems) > 0 {
		return fmt.Errorf("config: invalid environment:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

func setField(fv reflect.Value, raw string) error {
	switch fv.Interface().(type) {
	case string:
		fv.SetString(raw)
	case []string:
		var items []string
		for _, s := range strings.Split(raw, ",") {
			if s = strings.TrimSpace(s); s != "" {
				items = append(items, s)
			}
		}
		fv.Set(reflect.ValueOf(items))
	case time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return errors.New("not a duration like 30s or 5m")
		}
		fv.SetInt(int64(d))
	case int, int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return errors.New("not an integer")
		}
		fv.SetInt(n)
	case uint32:
		n, err := strconv.ParseUint(raw, 10, 32)
		if err != nil {
			return errors.New("not a non-negative integer")
		}
		fv.SetUint(n)
	case float64:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return errors.New("not a number")
		}
		fv.SetFloat(f)
	case bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return errors.New("not true or false")
		}
		fv.SetBool(b)
	default:
		return fmt.Errorf("unsupported setting type %s", fv.Type())
	}
	return nil
}

// Validate checks the configuration for running role (empty: every role in one
// process) and returns one error listing every problem.
func (c *Config) Validate(role string) error {
	var p []string
	bad := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	cluster := role != ""

	if role != "" && !isRole(role) {
		bad("role %q is not one of %s", role, strings.Join(Roles, ", "))
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		bad("http_addr (MDOUYIN_HTTP_ADDR) %q is not host:port", c.HTTPAddr)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("data_dir (MDOUYIN_DATA_DIR) is empty")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("public_url (MDOUYIN_PUBLIC_URL) %q is not an absolute http(s) URL", c.PublicURL)
		}
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		bad("time_zone (MDOUYIN_TIME_ZONE) %q is not a known time zone", c.TimeZone)
	}
	if c.Node < 0 || c.Node > 255 {
		bad("node (MDOUYIN_NODE) %d is outside 0-255", c.Node)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level (MDOUYIN_LOG_LEVEL) %q is not debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format (MDOUYIN_LOG_FORMAT) %q is not text or json", c.Log.Format)
	}
	if c.HTTP.MaxBodyBytes < 1024 || c.HTTP.MaxBodyBytes > 1<<30 {
		bad("http.max_body_bytes (MDOUYIN_HTTP_MAX_BODY_BYTES) must be 1024 to 1073741824")
	}
	if c.HTTP.MaxUploadBytes < 1024 || c.HTTP.MaxUploadBytes > 1<<31-1 {
		bad("http.max_upload_bytes (MDOUYIN_MAX_UPLOAD_BYTES) must be 1024 to 2147483647")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"http.read_timeout", c.HTTP.ReadTimeout}, {"http.upload_timeout", c.HTTP.UploadTimeout}, {"http.write_timeout", c.HTTP.WriteTimeout}, {"http.idle_timeout", c.HTTP.IdleTimeout}, {"http.shutdown_timeout", c.HTTP.ShutdownTimeout}, {"rpc.timeout", c.RPC.Timeout}} {
		if d.v <= 0 {
			bad("%s must be positive", d.name)
		}
	}
	for _, s := range c.HTTP.TrustedProxies {
		if _, err := netip.ParsePrefix(s); err != nil {
			if _, err := netip.ParseAddr(s); err != nil {
				bad("http.trusted_proxies (MDOUYIN_TRUSTED_PROXIES) %q is not an address or CIDR", s)
			}
		}
	}
	if _, err := c.PeerAddrs(); err != nil {
		bad("%v", err)
	}
	if cluster {
		if _, _, err := net.SplitHostPort(c.RPC.Addr); err != nil && role != "gateway" {
			bad("rpc.addr (MDOUYIN_RPC_ADDR) %q is not host:port", c.RPC.Addr)
		}
		if c.JWT.Secret == "" && (role == "gateway" || role == "user") {
			bad("jwt.secret (MDOUYIN_JWT_SECRET) is required when roles run as separate processes")
		}
		if c.Events.Driver == "embedded" {
			bad("events.driver (MDOUYIN_EVENTS_DRIVER) embedded cannot be shared between processes; use nats with MDOUYIN_NATS_URL")
		}
	}
	if c.JWT.Secret != "" && len(c.JWT.Secret) < 32 {
		bad("jwt.secret (MDOUYIN_JWT_SECRET) must be at least 32 bytes")
	}
	for i, s := range c.JWT.PreviousSecrets {
		if len(s) < 32 {
			bad("jwt.previous_secrets[%d] must be at least 32 bytes", i)
		}
	}
	if c.JWT.TTL < time.Minute {
		bad("jwt.ttl (MDOUYIN_JWT_TTL) must be at least 1m")
	}
	if c.Password.MaxInFlight < 1 || c.Password.MaxInFlight > 1024 {
		bad("password.max_in_flight (MDOUYIN_PASSWORD_MAX_IN_FLIGHT) must be 1-1024")
	}
	if c.Password.MemoryKiB < 8*1024 || c.Password.MemoryKiB > 1<<20 {
		bad("password.memory_kib (MDOUYIN_PASSWORD_MEMORY_KIB) must be 8192-1048576")
	}
	if c.Video.FFmpegWorkers < 1 || c.Video.FFmpegWorkers > 64 {
		bad("video.ffmpeg_workers (MDOUYIN_FFMPEG_WORKERS) must be 1-64")
	}
	if c.Video.FFmpegTimeout < time.Second {
		bad("video.ffmpeg_timeout (MDOUYIN_FFMPEG_TIMEOUT) must be at least 1s")
	}
	if m := c.Video.FFmpegMemoryMiB; m != 0 && (m < 256 || m > 1<<20) {
		bad("video.ffmpeg_memory_mib (MDOUYIN_FFMPEG_MEMORY_MIB) must be 0 (sized from threads) or 256-1048576")
	}
	if c.Admin.TokenTTL < time.Minute || c.Admin.TokenTTL > 30*24*time.Hour {
		bad("admin.token_ttl (MDOUYIN_ADMIN_TOKEN_TTL) must be 1m to 720h")
	}
	if c.Comment.Partitions < 1 || c.Comment.Partitions > 256 {
		bad("comment.partitions (MDOUYIN_COMMENT_PARTITIONS) must be 1-256")
	}
	if c.Comment.PublishWait < 10*time.Millisecond || c.Comment.PublishWait > time.Minute {
		bad("comment.publish_wait (MDOUYIN_COMMENT_PUBLISH_WAIT) must be 10ms to 1m")
	}
	if c.Feed.PullThreshold < 1 {
		bad("feed.pull_threshold (MDOUYIN_FEED_PULL_THRESHOLD) must be positive")
	}
	if c.Feed.InboxSize < 30 || c.Feed.InboxSize > 100_000 {
		bad("feed.inbox_size (MDOUYIN_FEED_INBOX_SIZE) must be 30-100000")
	}
	if c.Feed.BackfillCount < 0 || c.Feed.BackfillCount > c.Feed.InboxSize {
		bad("feed.backfill_count (MDOUYIN_FEED_BACKFILL_COUNT) must be 0 to feed.inbox_size")
	}
	switch c.Database.Driver {
	case "sqlite":
	case "mysql":
		if c.Database.DSN == "" {
			bad("database.dsn (MDOUYIN_DB_DSN) is required with the mysql driver")
		}
	default:
		bad("database.driver (MDOUYIN_DB_DRIVER) %q is not sqlite or mysql", c.Database.Driver)
	}
	switch c.Cache.Driver {
	case "local":
		if c.Cache.LocalEntries < 1 {
			bad("cache.local_entries (MDOUYIN_CACHE_LOCAL_ENTRIES) must be positive")
		}
	case "redis":
		if c.Cache.RedisAddr == "" {
			bad("cache.redis_addr (MDOUYIN_REDIS_ADDR) is required with the redis driver")
		}
	default:
		bad("cache.driver (MDOUYIN_CACHE_DRIVER) %q is not local or redis", c.Cache.Driver)
	}
	switch c.Events.Driver {
	case "embedded":
	case "nats":
		if c.Events.NATSURL == "" {
			bad("events.nats_url (MDOUYIN_NATS_URL) is required with the nats driver")
		}
	default:
		bad("events.driver (MDOUYIN_EVENTS_DRIVER) %q is not embedded or nats", c.Events.Driver)
	}
	if !namespaceRE.MatchString(c.Namespace) {
		bad("namespace (MDOUYIN_NAMESPACE) %q must be at most 32 letters, digits, '-' or '_'", c.Namespace)
	}
	if a := c.PprofAddr; a != "" {
		host, _, err := net.SplitHostPort(a)
		ip, _ := netip.ParseAddr(host)
		switch {
		case err != nil:
			bad("pprof_addr (MDOUYIN_PPROF_ADDR) %q is not host:port", a)
		case !c.PprofPublic && host != "localhost" && !ip.IsLoopback():
			bad("pprof_addr (MDOUYIN_PPROF_ADDR) %q is not a loopback address: profiles are for operators; set pprof_public (MDOUYIN_PPROF_PUBLIC) to serve them on a private network", a)
		}
	}
	if c.Database.MaxOpenConns < 0 || c.Database.MaxOpenConns > 10_000 {
		bad("database.max_open_conns (MDOUYIN_DB_MAX_OPEN_CONNS) must be 0-10000 (0: 32)")
	}
	if c.Events.Replicas < 0 || c.Events.Replicas > 5 || (c.Events.Driver == "embedded" && c.Events.Replicas > 1) {
		bad("events.replicas (MDOUYIN_EVENTS_REPLICAS) must be 1-5, and 1 with the embedded server")
	}
	if !(c.Tracing.SampleRatio >= 0 && c.Tracing.SampleRatio <= 1) { // NaN too: it parses as a float
		bad("tracing.sample_ratio (MDOUYIN_TRACE_SAMPLE_RATIO) must be 0-1")
	}
	if ep := c.Tracing.OTLPEndpoint; ep != "" {
		if _, _, err := net.SplitHostPort(ep); err != nil || strings.Contains(ep, "/") {
			bad("tracing.otlp_endpoint (MDOUYIN_OTLP_ENDPOINT) %q is not host:port", ep)
		}
	}
	switch c.Blob.Driver {
	case "local":
	case "s3":
		if c.Blob.S3.Endpoint == "" || c.Blob.S3.Bucket == "" {
			bad("blob.s3.endpoint and blob.s3.bucket (MDOUYIN_S3_ENDPOINT, MDOUYIN_S3_BUCKET) are required with the s3 driver")
		}
		if c.Blob.S3.Presign < time.Second || c.Blob.S3.Presign > 7*24*time.Hour {
			bad("blob.s3.presign (MDOUYIN_S3_PRESIGN) must be 1s to 168h")
		}
	default:
		bad("blob.driver (MDOUYIN_BLOB_DRIVER) %q is not local or s3", c.Blob.Driver)
	}
	if len(p) > 0 {
		return fmt.Errorf("invalid configuration:\n  %s", strings.Join(p, "\n  "))
	}
	return nil
}

// PeerAddrs parses rpc.peers into role → address.
func (c *Config) PeerAddrs() (map[string]string, error) {
	m := make(map[string]string, len(c.RPC.Peers))
	for _, item := range c.RPC.Peers {
		role, addr, ok := strings.Cut(item, "=")
		if !ok || !isRole(role) || role == "gateway" {
			return nil, fmt.Errorf("rpc.peers (MDOUYIN_PEERS) item %q is not ROLE=host:port with a service role", item)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("rpc.peers (MDOUYIN_PEERS) item %q: address is not host:port", item)
		}
		m[role] = addr
	}
	return m, nil
}

// BlobDir is where local media lives.
func (c *Config) BlobDir() string {
	if c.Blob.Dir != "" {
		return c.Blob.Dir
	}
	return c.DataDir + "/blobs"
}

func isRole(s string) bool {
	for _, r := range Roles {
		if r == s {
			return true
		}
	}
	return false
}
