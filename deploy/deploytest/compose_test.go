package deploytest

import (
	"context"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/go-sql-driver/mysql"

	"github.com/mdouyin/mdouyin/internal/config"
)

// composeSecret is the MDOUYIN_JWT_SECRET the tests give compose: the file
// refuses to load without one.
var composeSecret = strings.Repeat("s", 32)

// loadCompose loads deploy/compose.yaml as `docker compose` would, with env as
// the whole environment (never the test process's own) and no .env file.
func loadCompose(t *testing.T, env ...string) (*types.Project, error) {
	t.Helper()
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, "deploy/compose.yaml")},
		cli.WithWorkingDirectory(filepath.Join(root, "deploy")),
		cli.WithEnv(env),
	)
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

func TestComposeRequiresTheJWTSecret(t *testing.T) {
	_, err := loadCompose(t)
	if err == nil || !strings.Contains(err.Error(), "MDOUYIN_JWT_SECRET") {
		t.Fatalf("loading without MDOUYIN_JWT_SECRET: %v, want an error naming it", err)
	}
	if _, err := loadCompose(t, "MDOUYIN_JWT_SECRET="+composeSecret); err != nil {
		t.Fatalf("loading with MDOUYIN_JWT_SECRET: %v", err)
	}
}

// serviceEnv returns a service's environment as the process sees it. An
// entrypoint that sets MDOUYIN_RPC_ADVERTISE (to the container's address)
// contributes it too.
func serviceEnv(s types.ServiceConfig) map[string]string {
	env := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	if strings.Contains(strings.Join(s.Entrypoint, " "), "export MDOUYIN_RPC_ADVERTISE=") {
		env["MDOUYIN_RPC_ADVERTISE"] = "172.18.0.9"
	}
	return env
}

func TestComposeRunsEveryRole(t *testing.T) {
	p, err := loadCompose(t, "MDOUYIN_JWT_SECRET="+composeSecret)
	if err != nil {
		t.Fatal(err)
	}
	known := settingNames(t)
	var image string
	for _, role := range config.Roles {
		s, ok := p.Services[role]
		if !ok {
			t.Errorf("no service %s", role)
			continue
		}
		if !slices.Equal(s.Command, []string{"serve", "--role=" + role}) {
			t.Errorf("%s: command %v, want [serve --role=%s]", role, s.Command, role)
		}
		if image == "" {
			image = s.Image
		}
		if s.Image != image || s.Build == nil {
			t.Errorf("%s: image %q (build %v), want %q built from the repository like the other roles", role, s.Image, s.Build, image)
		}
		if s.Build != nil && filepath.Clean(s.Build.Context) != mustAbs(t, root) {
			t.Errorf("%s: build context %s, want the repository root", role, s.Build.Context)
		}
		if s.GetScale() < 2 {
			t.Errorf("%s: %d replicas, want at least 2", role, s.GetScale())
		}

		env := serviceEnv(s)
		for k := range env {
			if strings.HasPrefix(k, config.EnvPrefix) && !known[k] {
				t.Errorf("%s: %s is not an mdouyin setting", role, k)
			}
		}
		cfg, err := config.Load("", func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("%s: %v", role, err)
		}
		if err := cfg.Validate(role); err != nil {
			t.Errorf("%s: %v", role, err)
		}
		// Docker kills a container this long after SIGTERM; the process drains
		// for up to shutdown_timeout first.
		if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) < cfg.HTTP.ShutdownTimeout+5*time.Second {
			t.Errorf("%s: stop_grace_period %v, want at least http.shutdown_timeout %v + 5s", role, ptrValue(s.StopGracePeriod), cfg.HTTP.ShutdownTimeout)
		}
		if role != "gateway" {
			// Two replicas must not advertise one name: they would share one
			// etcd key.
			if cfg.RPC.Advertise == "" || cfg.RPC.Advertise == role {
				t.Errorf("%s: MDOUYIN_RPC_ADVERTISE %q, want each container's own address", role, cfg.RPC.Advertise)
			}
			if len(cfg.RPC.Etcd) == 0 {
				t.Errorf("%s: no MDOUYIN_ETCD_ENDPOINTS", role)
			}
		}

		// The role starts after the infrastructure it uses.
		for dep, cond := range map[string]string{
			"mariadb": types.ServiceConditionHealthy, "redis": types.ServiceConditionHealthy,
			"nats": types.ServiceConditionHealthy, "etcd": types.ServiceConditionHealthy,
			"s3-init": types.ServiceConditionCompletedSuccessfully,
		} {
			if got := s.DependsOn[dep]; got.Condition != cond {
				t.Errorf("%s: depends on %s with condition %q, want %q", role, dep, got.Condition, cond)
			}
		}
	}

	gw := p.Services["gateway"]
	httpPort, err := strconv.Atoi(port(t, serviceEnv(gw)["MDOUYIN_HTTP_ADDR"]))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(gw.Ports, func(pc types.ServicePortConfig) bool { return int(pc.Target) == httpPort && pc.Published != "" }) {
		t.Errorf("gateway ports %+v: want port %d (MDOUYIN_HTTP_ADDR) published", gw.Ports, httpPort)
	}
	for _, role := range config.Roles {
		if role != "gateway" && gw.DependsOn[role].Condition != types.ServiceConditionHealthy {
			t.Errorf("gateway does not wait for %s to be healthy", role)
		}
	}
}

func mustAbs(t *testing.T, path string) string {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestComposeAddressesNameItsServices checks that every address the roles are
// given is a service of the file that listens there, and that the S3
// credentials are the S3 server's.
func TestComposeAddressesNameItsServices(t *testing.T) {
	p, err := loadCompose(t, "MDOUYIN_JWT_SECRET="+composeSecret)
	if err != nil {
		t.Fatal(err)
	}
	env := serviceEnv(p.Services["user"])
	cfg, err := config.Load("", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	dsn, err := mysql.ParseDSN(cfg.Database.DSN)
	if err != nil {
		t.Fatalf("MDOUYIN_DB_DSN: %v", err)
	}
	nats, err := url.Parse(cfg.Events.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	addrs := map[string]string{"mariadb": dsn.Addr, "redis": cfg.Cache.RedisAddr, "nats": nats.Host, "s3": cfg.Blob.S3.Endpoint}
	for _, e := range cfg.RPC.Etcd {
		u, err := url.Parse(e)
		if err != nil {
			t.Fatal(err)
		}
		addrs["etcd"] = u.Host
	}
	for svc, addr := range addrs {
		host, _, err := net.SplitHostPort(addr)
		if err != nil || host != svc {
			t.Errorf("%s address %q: want host %s", svc, addr, svc)
		}
		s, ok := p.Services[svc]
		if !ok {
			t.Errorf("no service %s", svc)
			continue
		}
		if s.HealthCheck == nil || len(s.HealthCheck.Test) == 0 || s.HealthCheck.Disable {
			t.Errorf("%s: no health check, so service_healthy could never hold", svc)
		}
	}

	db := serviceEnv(p.Services["mariadb"])
	if dsn.User != db["MARIADB_USER"] || dsn.Passwd != db["MARIADB_PASSWORD"] || dsn.DBName != db["MARIADB_DATABASE"] {
		t.Errorf("DSN user %s, database %s do not match MariaDB's MARIADB_USER/PASSWORD/DATABASE", dsn.User, dsn.DBName)
	}
	// MariaDB creates MARIADB_DATABASE with the server's default collation, and
	// mdouyin refuses a database that is not binary.
	if !slices.Contains(p.Services["mariadb"].Command, "--collation-server=utf8mb4_bin") {
		t.Errorf("mariadb command %v: want --collation-server=utf8mb4_bin", p.Services["mariadb"].Command)
	}
	s3 := serviceEnv(p.Services["s3"])
	if cfg.Blob.S3.AccessKey != s3["ROOT_ACCESS_KEY"] || cfg.Blob.S3.SecretKey != s3["ROOT_SECRET_KEY"] {
		t.Error("MDOUYIN_S3_ACCESS_KEY/SECRET_KEY differ from the S3 server's root credentials")
	}
	s3init := p.Services["s3-init"]
	script := strings.Join(s3init.Command, " ")
	if !strings.Contains(script, "/"+cfg.Blob.S3.Bucket) || !strings.Contains(script, "?policy=") {
		t.Errorf("s3-init does not create bucket %s and set its policy", cfg.Blob.S3.Bucket)
	}
	if !strings.HasSuffix(cfg.Blob.S3.PublicURL, "/"+cfg.Blob.S3.Bucket) {
		t.Errorf("MDOUYIN_S3_PUBLIC_URL %q is not the bucket %s's address", cfg.Blob.S3.PublicURL, cfg.Blob.S3.Bucket)
	}
	// The media URL's port is the S3 server's published one.
	u, err := url.Parse(cfg.Blob.S3.PublicURL)
	if err != nil {
		t.Fatal(err)
	}
	_, s3Port, _ := net.SplitHostPort(cfg.Blob.S3.Endpoint)
	if !slices.ContainsFunc(p.Services["s3"].Ports, func(pc types.ServicePortConfig) bool {
		return strconv.Itoa(int(pc.Target)) == s3Port && pc.Published == u.Port()
	}) {
		t.Errorf("s3 ports %+v: want %s published as %s (MDOUYIN_S3_PUBLIC_URL)", p.Services["s3"].Ports, s3Port, u.Port())
	}
}

// TestComposeCommentAdminRebuildsItsIndex: a replica on a fresh volume must
// rebuild the search index before serving, once.
func TestComposeCommentAdminRebuildsItsIndex(t *testing.T) {
	p, err := loadCompose(t, "MDOUYIN_JWT_SECRET="+composeSecret)
	if err != nil {
		t.Fatal(err)
	}
	s := p.Services["comment-admin"]
	script := strings.Join(s.Entrypoint, " ")
	reindex, serve := strings.Index(script, "mdouyin reindex --role=comment-admin"), strings.Index(script, `exec mdouyin "$@"`)
	if reindex < 0 || serve < reindex {
		t.Errorf("comment-admin entrypoint %q: want reindex --role=comment-admin before exec mdouyin", script)
	}
	for _, dep := range []string{"comment", "user"} {
		if s.DependsOn[dep].Condition != types.ServiceConditionHealthy {
			t.Errorf("comment-admin reindexes from the %s role but does not wait for it", dep)
		}
	}
}
