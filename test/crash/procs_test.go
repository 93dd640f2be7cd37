//go:build crash

package crash

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

const (
	// readyTimeout bounds how long a started process may take to answer /readyz.
	readyTimeout = 90 * time.Second
	// stopTimeout is how long a process may drain after SIGTERM at the end.
	stopTimeout = 20 * time.Second
)

// placement is a running mdouyin whose processes the test kills and restarts.
type placement interface {
	// urls are the gateways' base URLs.
	urls() []string
	// victims names the processes that may be killed.
	victims() []string
	// kill sends SIGKILL to the named process (and its children, ffmpeg) and
	// returns once it is gone.
	kill(name string) error
	// restart starts the named process again, with the same settings and
	// data, and returns once it answers /readyz.
	restart(name string) error
	// check runs `mdouyin check` over the placement's databases and returns
	// its summary; an error when it fails or reports a difference.
	check() (string, error)
	// logTails returns the last warnings and errors of every process.
	logTails() string
	// orphans reports whether a write may outlive the process that was
	// killed while sending it: in a cluster, the role a killed gateway had
	// called finishes the write on its own; in one process everything dies.
	orphans() bool
}

// proc is a process this test started and may kill and start again.
type proc struct {
	name     string
	argv     []string
	env      []string
	logPath  string
	httpAddr string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close() // the child has its own descriptor
	fmt.Fprintf(f, "=== crash test: start %s at %s\n", p.name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = f, f
	// A group of its own, so a kill takes the ffmpeg it may be running too;
	// killed with this test, so nothing outlives a crashed run.
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

func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL to the process group and waits until the process is gone.
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

// stop asks the process to shut down and kills it after stopTimeout.
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

// waitReady polls /readyz until it answers 200.
func waitReady(name, httpAddr string, alive func() bool, logPath string) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	for {
		resp, err := hc.Get("http://" + httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if !alive() {
			return fmt.Errorf("%s exited while starting:\n%s", name, tail(logPath, 30, nil))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within %v (last: %v):\n%s", name, readyTimeout, err, tail(logPath, 30, nil))
		}
		time.Sleep(50 * time.Millisecond) // polling a process we started
	}
}

// tail returns the last n lines of a log that keep accepts (all when nil).
func tail(path string, n int, keep func(string) bool) string {
	f, err := os.Open(path)
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

// important keeps the log lines worth showing after a failure.
func important(l string) bool {
	return strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") || strings.Contains(l, "panic") ||
		strings.HasPrefix(l, "===") || strings.Contains(l, "mdouyin:")
}

// runCheck runs `mdouyin check` and returns its summary line.
func runCheck(cmd *exec.Cmd) (string, error) {
	out, err := cmd.CombinedOutput()
	var summary string
	var diffs []string
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(l, "checked "):
			summary = l
		case strings.Contains(l, " key=") && strings.Contains(l, " stored="):
			diffs = append(diffs, l)
		}
	}
	if err != nil || summary == "" || len(diffs) > 0 {
		return summary, fmt.Errorf("mdouyin check: %v; %d differences:\n%s", err, len(diffs), out)
	}
	return summary, nil
}

// moduleRoot is the repository's root, two levels above this package.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found from the test directory: %v", err)
	}
	return root
}

// buildBinary builds cmd/mdouyin (without -race, as it ships) into dir.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	goBin := testenv.Program(t, "go", "the crash test builds mdouyin")
	bin := filepath.Join(dir, "mdouyin")
	began := time.Now()
	cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/mdouyin")
	cmd.Dir = moduleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/mdouyin: %v\n%s", err, out)
	}
	t.Logf("built mdouyin in %v", time.Since(began).Round(100*time.Millisecond))
	return bin
}

// makeClips makes n distinct one-second clips with ffmpeg (the smallest uploads
// the video role accepts), so that the load's publishes store more than one file.
func makeClips(t *testing.T, dir string) [][]byte {
	t.Helper()
	testenv.Program(t, "ffmpeg", "every publish and the media checks need it")
	var clips [][]byte
	for i, src := range []string{"testsrc", "testsrc2", "smptebars"} {
		path := filepath.Join(dir, fmt.Sprintf("clip%d.mp4", i))
		out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", src+"=duration=1:size=160x120:rate=15",
			"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:duration=1", 440+220*i), "-c:v", "libx264", "-pix_fmt", "yuv420p",
			"-c:a", "aac", "-shortest", path).CombinedOutput()
		if err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, out)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		clips = append(clips, b)
	}
	return clips
}

// The one-process placement: every role in one process on SQLite, an embedded
// NATS server and local disk, all under one data directory.

type oneProcess struct {
	bin     string
	dataDir string
	env     map[string]string
	srv     *proc
}

func startOneProcess(t *testing.T, bin, dir string) *oneProcess {
	t.Helper()
	o := &oneProcess{bin: bin, dataDir: filepath.Join(dir, "data")}
	o.env = map[string]string{
		"MDOUYIN_DATA_DIR":            o.dataDir,
		"MDOUYIN_RATE_LIMITS":         "off",
		"MDOUYIN_PASSWORD_MEMORY_KIB": "8192",
	}
	addr := testenv.FreeAddr(t)
	env := testenv.Environ(o.env)
	env = append(env, "MDOUYIN_HTTP_ADDR="+addr)
	logDir := dir
	if d := os.Getenv("CRASH_LOG_DIR"); d != "" {
		logDir = d
	}
	o.srv = &proc{name: "mdouyin", argv: []string{bin}, env: env, logPath: filepath.Join(logDir, "mdouyin.log"), httpAddr: addr}
	t.Cleanup(func() {
		o.srv.stop()
		if t.Failed() {
			t.Logf("--- server log (%s), last warnings and errors:\n%s", o.srv.logPath, o.logTails())
		}
	})
	if err := o.restart("mdouyin"); err != nil {
		t.Fatal(err)
	}
	return o
}

func (o *oneProcess) urls() []string    { return []string{"http://" + o.srv.httpAddr} }
func (o *oneProcess) victims() []string { return []string{"mdouyin"} }

func (o *oneProcess) kill(string) error {
	o.srv.kill()
	return nil
}

func (o *oneProcess) restart(string) error {
	if err := o.srv.start(); err != nil {
		return err
	}
	return waitReady(o.srv.name, o.srv.httpAddr, o.srv.running, o.srv.logPath)
}

func (o *oneProcess) check() (string, error) {
	cmd := exec.Command(o.bin, "check")
	cmd.Env = testenv.Environ(o.env)
	return runCheck(cmd)
}

func (o *oneProcess) logTails() string { return tail(o.srv.logPath, 30, important) }

func (o *oneProcess) orphans() bool { return false }

// The cluster placement: deploy/cluster.sh starts every role twice (gateways
// included), each its own process, over MariaDB and its own Redis, NATS, etcd
// and S3. The test kills a role process by the pid the script recorded, and
// starts it again itself, with the script's settings (roles.env) and the
// process's own ports and data directory.

type clusterPlacement struct {
	t      *testing.T
	root   string
	run    string // the script's run directory
	ports  map[string]string
	roles  []string // names of the role processes, e.g. favorite-2
	gwURLs []string
	// mine are processes this test started again after killing them.
	mu   sync.Mutex
	mine map[string]*proc
}

// clusterRoles are the roles deploy/cluster.sh runs, as config.Roles.
var clusterRoles = []string{"user", "video", "favorite", "comment", "comment-admin", "relation", "message", "gateway"}

const clusterReplicas = 2

func startCluster(t *testing.T) *clusterPlacement {
	t.Helper()
	dsn := testenv.MySQLDSN(t)
	if !strings.HasSuffix(dsn, "/") {
		t.Fatalf("%s=%q must name no database (end in /): the test makes its own", testenv.MySQLVar, dsn)
	}
	testenv.Program(t, "redis-server", "the cluster runs its own Redis (apt-get install redis-server)")
	goBin := testenv.Program(t, "go", "deploy/cluster.sh builds mdouyin, etcd and nats-server")
	// CRASH_LOG_DIR keeps the run directory (logs) and the database after
	// the run, passed or failed.
	keep := os.Getenv("CRASH_LOG_DIR")
	run, err := os.MkdirTemp(keep, "mdouyin-crash-cluster-")
	if err != nil {
		t.Fatal(err)
	}
	c := &clusterPlacement{t: t, root: moduleRoot(t), run: run, mine: map[string]*proc{}}
	dbName := fmt.Sprintf("mdouyin_crash_%d", time.Now().UnixNano())
	env := testenv.Environ(map[string]string{
		"GO":                          goBin,
		"MDOUYIN_CLUSTER_DIR":         run,
		"MDOUYIN_CLUSTER_REPLICAS":    strconv.Itoa(clusterReplicas),
		"MDOUYIN_CLUSTER_MYSQL_DSN":   dsn,
		"MDOUYIN_CLUSTER_DB_NAME":     dbName,
		"MDOUYIN_CLUSTER_NATS_URL":    "own",
		"MDOUYIN_CLUSTER_REDIS_ADDR":  "own",
		"MDOUYIN_NAMESPACE":           "crash",
		"MDOUYIN_RATE_LIMITS":         "off",
		"MDOUYIN_PASSWORD_MEMORY_KIB": "8192",
		"MDOUYIN_FFMPEG_WORKERS":      "1",
		// Fourteen role processes with a database pool each, beside
		// whatever else uses the shared MariaDB (151 connections).
		"MDOUYIN_DB_MAX_OPEN_CONNS": "4",
	})
	script := func(args ...string) ([]byte, error) {
		cmd := exec.Command(filepath.Join(c.root, "deploy", "cluster.sh"), args...)
		cmd.Dir, cmd.Env = c.root, env
		return cmd.CombinedOutput()
	}
	t.Cleanup(func() {
		var wg sync.WaitGroup
		for _, p := range c.mine {
			wg.Add(1)
			go func() { defer wg.Done(); p.stop() }()
		}
		wg.Wait()
		if t.Failed() || keep != "" {
			if t.Failed() {
				t.Logf("%s", c.logTails())
			}
			out, err := script("down")
			if err != nil {
				t.Errorf("deploy/cluster.sh down: %v\n%s", err, out)
			}
			if keep == "" {
				dropDatabase(t, dsn, dbName)
			} else {
				t.Logf("database %s kept (drop it by hand)", dbName)
			}
			t.Logf("the cluster's logs are kept in %s/logs", run)
			return
		}
		if out, err := script("down", "--purge"); err != nil {
			t.Errorf("deploy/cluster.sh down --purge: %v\n%s", err, out)
		}
	})
	began := time.Now()
	out, err := script("up")
	if err != nil {
		t.Fatalf("deploy/cluster.sh up: %v\n%s", err, out)
	}
	t.Logf("deploy/cluster.sh up in %v (run directory %s; after a crashed test, stop it with MDOUYIN_CLUSTER_DIR=%s deploy/cluster.sh down --purge)",
		time.Since(began).Round(100*time.Millisecond), run, run)
	if c.ports, err = readPorts(filepath.Join(run, "ports")); err != nil {
		t.Fatal(err)
	}
	for _, role := range clusterRoles {
		for i := 1; i <= clusterReplicas; i++ {
			name := fmt.Sprintf("%s-%d", role, i)
			if c.ports[name] == "" {
				t.Fatalf("no port recorded for %s in %s/ports", name, run)
			}
			c.roles = append(c.roles, name)
			if role == "gateway" {
				c.gwURLs = append(c.gwURLs, "http://127.0.0.1:"+c.ports[name])
			}
		}
	}
	return c
}

func readPorts(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ports := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			ports[k] = v
		}
	}
	return ports, nil
}

func dropDatabase(t *testing.T, dsn, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := db.Open(ctx, db.Options{Driver: db.MySQL, DSN: dsn + name})
	if err != nil {
		t.Errorf("drop database %s: %v", name, err)
		return
	}
	defer d.Close()
	if _, err := d.ExecContext(ctx, "DROP DATABASE "+name); err != nil {
		t.Errorf("drop database %s: %v", name, err)
	}
}

func (c *clusterPlacement) urls() []string    { return c.gwURLs }
func (c *clusterPlacement) orphans() bool     { return true }
func (c *clusterPlacement) victims() []string { return c.roles }

func (c *clusterPlacement) kill(name string) error {
	c.mu.Lock()
	p := c.mine[name]
	c.mu.Unlock()
	if p != nil {
		p.kill()
		return nil
	}
	return killRecorded(filepath.Join(c.run, "pids", name+".pid"))
}

// killRecorded kills a process deploy/cluster.sh started, after checking that
// the pid is still that process (its start time and command line), and waits
// until it is gone.
func killRecorded(pidFile string) error {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return err
	}
	first, cmdline, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(first)
	if len(fields) != 2 {
		return fmt.Errorf("%s: unexpected contents %q", pidFile, b)
	}
	pid, err := strconv.Atoi(fields[0])
	if err != nil {
		return fmt.Errorf("%s: %w", pidFile, err)
	}
	now, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return fmt.Errorf("%s: process %d is gone: %w", pidFile, pid, err)
	}
	if strings.ReplaceAll(string(now), "\x00", " ") != strings.TrimSuffix(cmdline, "\n") || procStart(pid) != fields[1] {
		return fmt.Errorf("%s: pid %d is no longer the process the script started", pidFile, pid)
	}
	// The script started it in a session of its own: the group is its own.
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill %d: %w", pid, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for procState(pid) != "" && procState(pid) != "Z" {
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d still there 30 s after SIGKILL", pid)
		}
		time.Sleep(10 * time.Millisecond) // polling the kernel
	}
	return nil
}

// procStat returns the fields of /proc/PID/stat after the command name.
func procStat(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	if i := strings.LastIndex(s, ") "); i >= 0 {
		s = s[i+2:]
	}
	return strings.Fields(s)
}

// procState is the process's state letter ("" when gone).
func procState(pid int) string {
	if f := procStat(pid); len(f) > 0 {
		return f[0]
	}
	return ""
}

// procStart is the process's start time in clock ticks (field 22 of proc(5)).
func procStart(pid int) string {
	if f := procStat(pid); len(f) > 19 {
		return f[19]
	}
	return ""
}

func (c *clusterPlacement) restart(name string) error {
	c.mu.Lock()
	p := c.mine[name]
	if p == nil {
		role := name[:strings.LastIndex(name, "-")]
		vars := map[string]string{
			"MDOUYIN_HTTP_ADDR": "127.0.0.1:" + c.ports[name],
			"MDOUYIN_DATA_DIR":  filepath.Join(c.run, "data", name),
		}
		if role != "gateway" {
			vars["MDOUYIN_RPC_ADDR"] = "127.0.0.1:" + c.ports[name+"-rpc"]
		}
		// bash reads the settings the script wrote (in its own quoting),
		// then becomes the role process.
		p = &proc{name: name, env: testenv.Environ(vars), logPath: filepath.Join(c.run, "logs", name+".log"), httpAddr: vars["MDOUYIN_HTTP_ADDR"],
			argv: []string{"bash", "-c", `set -a && . "$0" && set +a && exec "$@"`, filepath.Join(c.run, "roles.env"),
				filepath.Join(c.run, "bin", "mdouyin"), "serve", "--role=" + role}}
		c.mine[name] = p
	}
	c.mu.Unlock()
	if err := p.start(); err != nil {
		return err
	}
	return waitReady(name, p.httpAddr, p.running, p.logPath)
}

func (c *clusterPlacement) check() (string, error) {
	cmd := exec.Command("bash", "-c", `set -a && . "$0" && set +a && exec "$@"`, filepath.Join(c.run, "roles.env"),
		filepath.Join(c.run, "bin", "mdouyin"), "check")
	cmd.Env = testenv.Environ(nil)
	return runCheck(cmd)
}

func (c *clusterPlacement) logTails() string {
	var b strings.Builder
	for _, name := range c.roles {
		path := filepath.Join(c.run, "logs", name+".log")
		if s := tail(path, 15, important); s != "" {
			fmt.Fprintf(&b, "--- %s (%s), last warnings and errors:\n%s\n", name, path, s)
		}
	}
	return b.String()
}
