//go:build failover

package failover

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/mdouyin/mdouyin/internal/platform/blob/s3test"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/discovery/etcdtest"
	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

// serviceRoles are the roles behind the gateway, each run as two replicas.
var serviceRoles = []string{"user", "video", "favorite", "comment", "comment-admin", "relation", "message"}

const (
	replicas = 2
	// readyTimeout bounds how long a started process may take to answer
	// /readyz (or, for Redis and NATS, their own checks). Sixteen processes
	// start at once on a small machine, all migrating one database.
	readyTimeout = 90 * time.Second
	// stopTimeout is how long a process may drain after SIGTERM at the end.
	stopTimeout = 15 * time.Second
	// adminPassword opens the operations API, which the load searches.
	adminPassword = "failover-admin-password"
	jwtSecret     = "failover-jwt-secret-failover-jwt-secret"
)

// proc is one process of the cluster (or Redis, or NATS) that the test can
// kill and start again with the same command line, ports and data.
type proc struct {
	name     string
	argv     []string
	env      []string
	logPath  string
	httpAddr string // mdouyin processes: /healthz, /readyz (and the API on gateways)

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// start launches the process, its output appended to its log.
func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited != nil {
		select {
		case <-p.exited:
		default:
			return fmt.Errorf("%s is already running", p.name)
		}
	}
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close() // the child has its own descriptor
	fmt.Fprintf(f, "=== failover test: start %s at %s\n", p.name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = f, f
	// A group of its own, so a kill also takes the ffmpeg it may be running;
	// and a kill if this test process dies, so nothing outlives a crashed run.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
	return nil
}

// kill sends SIGKILL (kill -9) and waits until the process is gone.
func (p *proc) kill() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-exited
}

// stop asks the process to shut down gracefully and kills it if it takes longer
// than stopTimeout.
func (p *proc) stop() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(stopTimeout):
		p.kill()
	}
}

// exitedEarly reports whether the process has exited (it should be running).
func (p *proc) exitedEarly() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited == nil {
		return true
	}
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// tail returns the last n lines of the process's log.
func (p *proc) tail(n int, keep func(string) bool) string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if keep == nil || keep(sc.Text()) {
			lines = append(lines, sc.Text())
			if len(lines) > n {
				lines = lines[1:]
			}
		}
	}
	return strings.Join(lines, "\n")
}

// cluster is everything the test runs: the stores and every role's replicas.
type cluster struct {
	t       *testing.T
	root    string // the module's root directory
	binDir  string
	logDir  string
	dataDir string

	redis     *proc
	redisAddr string
	nats      *proc
	natsURL   string
	etcd      *etcdtest.Server

	// procs lists each role's replicas; "gateway" is among the roles.
	procs map[string][]*proc
	// gatewayURLs are the base URLs of the gateways, in replica order.
	gatewayURLs []string
}

// startCluster builds the binaries, starts the stores and every process, and
// waits until all of them are ready. Everything stops when the test ends.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	dsn := testenv.MySQLDSN(t)
	if !strings.HasSuffix(dsn, "/") {
		t.Fatalf("%s=%q must name no database (end in /): the test makes its own", testenv.MySQLVar, dsn)
	}
	redisBin := testenv.Program(t, "redis-server", "the failover test runs its own Redis (apt-get install redis-server)")
	goBin := testenv.Program(t, "go", "the failover test builds mdouyin and nats-server")

	c := &cluster{t: t, procs: map[string][]*proc{}}
	var err error
	if c.root, err = filepath.Abs(filepath.Join("..", "..")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(c.root, "go.mod")); err != nil {
		t.Fatalf("module root not found from the test directory: %v", err)
	}
	tmp := t.TempDir()
	c.binDir, c.dataDir = filepath.Join(tmp, "bin"), filepath.Join(tmp, "data")
	c.logDir = filepath.Join(tmp, "logs")
	if d := os.Getenv("MDOUYIN_FAILOVER_LOG_DIR"); d != "" {
		c.logDir = d
	}
	for _, d := range []string{c.binDir, c.dataDir, c.logDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	// The binaries: mdouyin as CI would run it (no -race: eighteen raced
	// processes would starve two cores), nats-server at go.mod's version.
	began := time.Now()
	var eg sync.WaitGroup
	var buildErrs [2]error
	for i, args := range [][]string{
		{"build", "-o", filepath.Join(c.binDir, "mdouyin"), "./cmd/mdouyin"},
		{"build", "-o", filepath.Join(c.binDir, "nats-server"), "github.com/nats-io/nats-server/v2"},
	} {
		eg.Add(1)
		go func() {
			defer eg.Done()
			cmd := exec.Command(goBin, args...)
			cmd.Dir = c.root
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErrs[i] = fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
			}
		}()
	}
	eg.Wait()
	if err := errors.Join(buildErrs[:]...); err != nil {
		t.Fatal(err)
	}
	t.Logf("built mdouyin and nats-server in %v", time.Since(began).Round(100*time.Millisecond))

	c.etcd = etcdtest.Start(t)
	s3Endpoint, s3Access, s3Secret := s3test.Start(t)

	// The database: new for this run, dropped at the end (after every process
	// has stopped: cleanups run last-registered first).
	dbName := fmt.Sprintf("mdouyin_failover_%d", time.Now().UnixNano())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		d, err := db.Open(ctx, db.Options{Driver: db.MySQL, DSN: dsn + dbName})
		if err != nil {
			t.Errorf("drop database %s: %v", dbName, err)
			return
		}
		defer d.Close()
		if _, err := d.ExecContext(ctx, "DROP DATABASE "+dbName); err != nil {
			t.Errorf("drop database %s: %v", dbName, err)
		}
	})

	// Redis, without persistence: a restart comes back empty, as a cache may.
	c.redisAddr = testenv.FreeAddr(t)
	_, redisPort, _ := net.SplitHostPort(c.redisAddr)
	redisDir := filepath.Join(c.dataDir, "redis")
	if err := os.MkdirAll(redisDir, 0o755); err != nil {
		t.Fatal(err)
	}
	c.redis = &proc{name: "redis", logPath: filepath.Join(c.logDir, "redis.log"), env: os.Environ(),
		argv: []string{redisBin, "--bind", "127.0.0.1", "--port", redisPort, "--save", "", "--appendonly", "no",
			"--dir", redisDir, "--protected-mode", "no"}}
	// NATS JetStream, its streams on disk, so a restart on the same store keeps them.
	natsAddr := testenv.FreeAddr(t)
	_, natsPort, _ := net.SplitHostPort(natsAddr)
	c.natsURL = "nats://" + natsAddr
	c.nats = &proc{name: "nats", logPath: filepath.Join(c.logDir, "nats.log"), env: os.Environ(),
		argv: []string{filepath.Join(c.binDir, "nats-server"), "-a", "127.0.0.1", "-p", natsPort, "-js",
			"-sd", filepath.Join(c.dataDir, "nats")}}
	for _, p := range []*proc{c.redis, c.nats} {
		t.Cleanup(p.kill)
	}
	c.startRedis()
	c.startNATS()

	env := map[string]string{
		"MDOUYIN_JWT_SECRET":          jwtSecret,
		"MDOUYIN_ADMIN_PASSWORD":      adminPassword,
		"MDOUYIN_RATE_LIMITS":         "off",
		"MDOUYIN_PASSWORD_MEMORY_KIB": "8192",
		"MDOUYIN_FFMPEG_WORKERS":      "1",
		"MDOUYIN_LOG_LEVEL":           "info",
		"MDOUYIN_DB_DRIVER":           "mysql",
		"MDOUYIN_DB_DSN":              dsn + dbName,
		"MDOUYIN_CACHE_DRIVER":        "redis",
		"MDOUYIN_REDIS_ADDR":          c.redisAddr,
		"MDOUYIN_EVENTS_DRIVER":       "nats",
		"MDOUYIN_NATS_URL":            c.natsURL,
		"MDOUYIN_ETCD_ENDPOINTS":      strings.Join(c.etcd.Endpoints(), ","),
		"MDOUYIN_BLOB_DRIVER":         "s3",
		"MDOUYIN_S3_ENDPOINT":         s3Endpoint,
		"MDOUYIN_S3_BUCKET":           "media",
		"MDOUYIN_S3_REGION":           "us-east-1",
		"MDOUYIN_S3_ACCESS_KEY":       s3Access,
		"MDOUYIN_S3_SECRET_KEY":       s3Secret,
	}
	for _, role := range append(append([]string{}, serviceRoles...), "gateway") {
		for i := range replicas {
			p := c.mdouyinProc(role, i, env)
			c.procs[role] = append(c.procs[role], p)
			if role == "gateway" {
				c.gatewayURLs = append(c.gatewayURLs, "http://"+p.httpAddr)
			}
		}
	}
	// Stop every process at the end, gracefully, all at once; on failure show
	// what they logged last.
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for _, p := range c.all() {
			wg.Add(1)
			go func() { defer wg.Done(); p.stop() }()
		}
		wg.Wait()
		if t.Failed() {
			c.logTails()
		}
	})

	// The first replica of every role, then the second: two replicas of one
	// role migrating a fresh database at the same moment can fail (goose's
	// "missing zero version migration", about one start in twenty), which is
	// not what this test is about.
	began = time.Now()
	for i := range replicas {
		var wave []*proc
		for _, ps := range c.procs {
			wave = append(wave, ps[i])
		}
		if err := c.startAndWait(wave...); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("started %d mdouyin processes (%d roles x %d replicas, %d gateways) in %v; logs in %s",
		len(c.all()), len(serviceRoles), replicas, replicas, time.Since(began).Round(100*time.Millisecond), c.logDir)
	return c
}

// mdouyinProc describes replica i of role with its own ports and data directory.
func (c *cluster) mdouyinProc(role string, i int, common map[string]string) *proc {
	name := fmt.Sprintf("%s-%d", role, i+1)
	p := &proc{name: name, logPath: filepath.Join(c.logDir, name+".log"), httpAddr: testenv.FreeAddr(c.t),
		argv: []string{filepath.Join(c.binDir, "mdouyin"), "serve", "--role=" + role}}
	env := map[string]string{}
	for k, v := range common {
		env[k] = v
	}
	env["MDOUYIN_DATA_DIR"] = filepath.Join(c.dataDir, name)
	env["MDOUYIN_HTTP_ADDR"] = p.httpAddr
	env["MDOUYIN_RPC_ADDR"] = testenv.FreeAddr(c.t)
	p.env = testenv.Environ(env)
	return p
}

// all lists every mdouyin process.
func (c *cluster) all() []*proc {
	var ps []*proc
	for _, role := range append(append([]string{}, serviceRoles...), "gateway") {
		ps = append(ps, c.procs[role]...)
	}
	return ps
}

// startAndWait starts the processes and waits until each answers /readyz.
func (c *cluster) startAndWait(ps ...*proc) error {
	for _, p := range ps {
		if err := p.start(); err != nil {
			return err
		}
	}
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = waitReady(p) }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// waitReady polls the process's /readyz until it answers 200.
func waitReady(p *proc) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	for {
		resp, err := hc.Get("http://" + p.httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if p.exitedEarly() {
			return fmt.Errorf("%s exited while starting:\n%s", p.name, p.tail(30, nil))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %v (last: %v):\n%s", p.name, readyTimeout, err, p.tail(30, nil))
		}
		time.Sleep(100 * time.Millisecond) // polling a process we started
	}
}

// startRedis starts Redis and waits until it answers PING.
func (c *cluster) startRedis() {
	c.t.Helper()
	if err := c.redis.start(); err != nil {
		c.t.Fatal(err)
	}
	rc := c.redisClient()
	defer rc.Close()
	c.poll("redis answers PING", 30*time.Second, func() (bool, string) {
		err := rc.Ping(context.Background()).Err()
		return err == nil, fmt.Sprint(err)
	})
}

// redisClient is a client of the test's Redis with short timeouts.
func (c *cluster) redisClient() *redis.Client {
	return redis.NewClient(&redis.Options{Addr: c.redisAddr, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
}

// redisKeys counts the keys in the test's Redis.
func (c *cluster) redisKeys() (int64, error) {
	rc := c.redisClient()
	defer rc.Close()
	return rc.DBSize(context.Background()).Result()
}

// startNATS starts NATS and waits until JetStream answers.
func (c *cluster) startNATS() {
	c.t.Helper()
	if err := c.nats.start(); err != nil {
		c.t.Fatal(err)
	}
	c.poll("JetStream answers", 30*time.Second, func() (bool, string) {
		nc, err := nats.Connect(c.natsURL, nats.Timeout(time.Second), nats.NoReconnect())
		if err != nil {
			return false, err.Error()
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return false, err.Error()
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err = js.AccountInfo(ctx)
		return err == nil, fmt.Sprint(err)
	})
}

// poll calls check until it reports true, failing the test after timeout with
// check's last note.
func (c *cluster) poll(what string, timeout time.Duration, check func() (bool, string)) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, note := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: not within %v: %s", what, timeout, note)
		}
		time.Sleep(50 * time.Millisecond) // polling
	}
}

// logTails logs the last warnings and errors of every process.
func (c *cluster) logTails() {
	important := func(l string) bool {
		return strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") ||
			strings.Contains(l, "panic") || strings.HasPrefix(l, "===") || strings.Contains(l, "mdouyin:")
	}
	for _, p := range append(c.all(), c.redis, c.nats) {
		if s := p.tail(15, important); s != "" {
			c.t.Logf("--- %s (%s), last warnings and errors:\n%s", p.name, p.logPath, s)
		}
	}
}
