// Package limits attacks a whole mdouyin server with what a hostile client can
// send cheaply, and checks that each attack is refused with a clear answer (or a
// closed connection, never a 5xx) while other users are still served:
//
//   - slowloris: many connections sending a request a byte at a time, and a
//     client that never reads its answers;
//   - a 10 GB upload claim, an upload that never ends, oversized bodies;
//   - decompression-bomb-like videos: a frame wider than the probe allows,
//     frames ten hours apart that make ffmpeg write frames for hours, and a
//     frame that decodes to more memory than an ffmpeg run may use;
//   - a login flood from one client, and one spread over many addresses behind
//     a trusted proxy;
//   - oversized headers, forged X-Forwarded-For, and a per-account login limit.
//
// TestMain builds cmd/mdouyin (without -race: memory is measured) and starts it
// as its own process, on a fresh data directory, with small limits so the
// attacks end quickly. Memory figures come from the server's /proc/PID/status.
// Every client runs from a loopback address of its own (127.0.0.x), so each is
// its own client to the per-client rate limits; 127.0.0.2 is configured as a
// trusted proxy. The suite needs Linux, Go and ffmpeg: without them it fails
// under CI=true and is skipped otherwise.
//
// "Served" means a request answered correctly within a generous deadline
// (otherDeadline); latencies are logged for the record, never asserted.
package limits

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The server's limits for this suite. They are small so that every attack
// meets its limit within seconds.
const (
	readTimeout    = 2 * time.Second
	uploadTimeout  = 8 * time.Second // an upload's body: longer than readTimeout
	writeTimeout   = 2 * time.Second
	idleTimeout    = 5 * time.Second
	maxUploadBytes = 8 << 20
	// ffmpegTimeout is far above what an ordinary clip takes (a fraction of a
	// second) even on a loaded machine, and far below what ten hours of frames do.
	ffmpegTimeout = 8 * time.Second
	// ffmpegMemoryMiB sits between what ffmpeg needs for an ordinary small clip
	// with one thread (about 270 MiB of address space, most of it shared
	// libraries) and what decoding one 8192×8192 frame needs (about 430 MiB).
	ffmpegMemoryMiB = 352
	// argon2MiB × argon2InFlight is the Argon2id memory the password pool may
	// hold at once.
	argon2MiB      = 16
	argon2InFlight = 2
	loginRule      = "login=5/s:20"
	accountRule    = "account=1/s:5"
	trustedProxy   = "127.0.0.2"
)

// otherDeadline is how long another user's request may take while an attack
// goes on: generous, for a loaded two-core machine.
const otherDeadline = 10 * time.Second

var srv *server

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	ci := os.Getenv("CI") == "true"
	if runtime.GOOS != "linux" { // /proc, loopback addresses beyond 127.0.0.1, RLIMIT_AS
		fmt.Fprintln(os.Stderr, "limits: skipped: the suite runs on Linux only")
		if ci {
			return 1
		}
		return 0
	}
	for _, tool := range []string{"go", "ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			if ci {
				fmt.Fprintf(os.Stderr, "limits: %s is required in CI (the server is built with go and processes videos with ffmpeg)\n", tool)
				return 1
			}
			fmt.Fprintf(os.Stderr, "limits: skipped: %s not installed\n", tool)
			return 0
		}
	}
	// Neither the directory nor the binary is called mdouyin: the server
	// must not be caught by whatever cleans up other runs' servers by name.
	dir, err := os.MkdirTemp("", "limits-suite-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	srv, err = startServer(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "limits:", err)
		if srv != nil {
			srv.dumpLog()
			srv.kill()
		}
		return 1
	}
	code := m.Run()
	if err := srv.stop(); err != nil {
		fmt.Fprintln(os.Stderr, "limits:", err)
		code = 1
	}
	if code != 0 {
		srv.dumpLog()
	}
	return code
}

// server is the mdouyin process under attack.
type server struct {
	base    string // http://127.0.0.1:PORT
	addr    string // 127.0.0.1:PORT
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	waitErr error
	idleRSS int64 // resident memory once ready, before any test
}

func startServer(dir string) (*server, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return nil, fmt.Errorf("module root not found from the test directory: %w", err)
	}
	bin := filepath.Join(dir, "limits-target")
	began := time.Now()
	build := exec.Command("go", "build", "-o", bin, "./cmd/mdouyin")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %w\n%s", err, out)
	}
	fmt.Fprintf(os.Stderr, "limits: built mdouyin in %v\n", time.Since(began).Round(100*time.Millisecond))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()

	s := &server{base: "http://" + addr, addr: addr, logPath: filepath.Join(dir, "server.log"), exited: make(chan struct{})}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	env := map[string]string{
		"MDOUYIN_HTTP_ADDR":              addr,
		"MDOUYIN_DATA_DIR":               filepath.Join(dir, "data"),
		"MDOUYIN_JWT_SECRET":             strings.Repeat("limits-secret-", 3),
		"MDOUYIN_LOG_LEVEL":              "warn",
		"MDOUYIN_HTTP_READ_TIMEOUT":      readTimeout.String(),
		"MDOUYIN_HTTP_UPLOAD_TIMEOUT":    uploadTimeout.String(),
		"MDOUYIN_HTTP_WRITE_TIMEOUT":     writeTimeout.String(),
		"MDOUYIN_HTTP_IDLE_TIMEOUT":      idleTimeout.String(),
		"MDOUYIN_MAX_UPLOAD_BYTES":       strconv.Itoa(maxUploadBytes),
		"MDOUYIN_TRUSTED_PROXIES":        trustedProxy,
		"MDOUYIN_PASSWORD_MAX_IN_FLIGHT": strconv.Itoa(argon2InFlight),
		"MDOUYIN_PASSWORD_MEMORY_KIB":    strconv.Itoa(argon2MiB * 1024),
		"MDOUYIN_RATE_LIMITS":            loginRule + ",register=5/s:20," + accountRule + ",write=50/s:100,read=200/s:400,comment=1/s:20,admin=1/s:10",
		"MDOUYIN_FFMPEG_WORKERS":         "1",
		"MDOUYIN_FFMPEG_TIMEOUT":         ffmpegTimeout.String(),
		"MDOUYIN_FFMPEG_MEMORY_MIB":      strconv.Itoa(ffmpegMemoryMiB),
		// One P: ffmpeg then runs with one thread (the server gives each of its
		// ffmpeg workers GOMAXPROCS/workers threads), whose memory needs are
		// the ones ffmpegMemoryMiB was measured against.
		"GOMAXPROCS": "1",
	}
	s.cmd = exec.Command(bin)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MDOUYIN_") && !strings.HasPrefix(kv, "GOMAXPROCS=") && !strings.HasPrefix(kv, "GOMEMLIMIT=") {
			s.cmd.Env = append(s.cmd.Env, kv)
		}
	}
	for k, v := range env {
		s.cmd.Env = append(s.cmd.Env, k+"="+v)
	}
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	deadline := time.Now().Add(60 * time.Second)
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-s.exited:
			return s, fmt.Errorf("the server exited while starting: %v", s.waitErr)
		default:
		}
		if resp, err := c.Get(s.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.idleRSS, err = s.readMemory("VmRSS")
				fmt.Fprintf(os.Stderr, "limits: server ready, resident memory %s\n", mib(s.idleRSS))
				return s, err
			}
		}
		if time.Now().After(deadline) {
			return s, errors.New("the server never became ready")
		}
		time.Sleep(100 * time.Millisecond) // polling a process we just started
	}
}

// stop ends the server with SIGTERM and reports whether it shut down cleanly:
// the attacks must not have left it unable to.
func (s *server) stop() error {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		if s.waitErr != nil {
			return fmt.Errorf("the server did not shut down cleanly: %v", s.waitErr)
		}
		return nil
	case <-time.After(60 * time.Second):
		s.kill()
		return errors.New("the server did not stop within 60s of SIGTERM")
	}
}

func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.exited
}

func (s *server) dumpLog() {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 16<<10 {
		b = b[len(b)-16<<10:]
	}
	fmt.Fprintf(os.Stderr, "--- server log (tail) ---\n%s\n---\n", b)
}

// alive fails the test if the server process has gone.
func (s *server) alive(t *testing.T) {
	t.Helper()
	select {
	case <-s.exited:
		t.Fatalf("the server exited: %v", s.waitErr)
	default:
	}
}

// memory reads the server's resident set now and its peak (VmHWM) since the
// last resetPeak, in bytes.
func (s *server) memory(t *testing.T) (rss, peak int64) {
	t.Helper()
	rss, err := s.readMemory("VmRSS")
	if err == nil {
		peak, err = s.readMemory("VmHWM")
	}
	if err != nil {
		t.Fatalf("reading the server's memory: %v", err)
	}
	return rss, peak
}

// readMemory reads one field of the server's /proc/PID/status, in bytes.
func (s *server) readMemory(name string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s in /proc/PID/status: %q", name, line)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no %s in /proc/PID/status", name)
}

// resetPeak starts the server's peak resident set (VmHWM) again from its
// current size, so a test measures the peak of its own attack.
func (s *server) resetPeak(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.cmd.Process.Pid), []byte("5"), 0); err != nil {
		t.Fatalf("resetting the server's peak memory: %v", err)
	}
}

// children lists the server's child processes (ffmpeg runs).
func (s *server) children() []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so parse after ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(s.cmd.Process.Pid) {
			out = append(out, pid)
		}
	}
	return out
}

// mib formats bytes as MiB for the log.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// clientAt returns an HTTP client whose connections come from the loopback
// address ip, without keep-alive: every request is a new connection, which is
// what an attack that ties connections up makes hardest to serve.
func clientAt(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{
		Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true},
		Timeout:   60 * time.Second,
	}
}

// dialFrom opens a raw TCP connection to the server from the loopback address ip.
func dialFrom(ip string) (net.Conn, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return d.Dial("tcp", srv.addr)
}

// reply is a decoded answer.
type reply struct {
	HTTP int
	Body map[string]any
	Raw  string
}

func (r reply) code() int64 { f, _ := r.Body["status_code"].(float64); return int64(f) }

func (r reply) msg() string { s, _ := r.Body["status_msg"].(string); return s }

// do sends req and decodes the answer. An HTTP status of 500 or more, or an
// app route answering anything but JSON, is an error: limits must refuse
// clearly.
func do(c *http.Client, req *http.Request) (reply, error) {
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return reply{}, err
	}
	r := reply{HTTP: resp.StatusCode, Raw: string(raw)}
	if resp.StatusCode >= 500 {
		return r, fmt.Errorf("%s %s: HTTP %d %s", req.Method, req.URL.Path, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, &r.Body); err != nil {
		return r, fmt.Errorf("%s %s: HTTP %d, not JSON: %q", req.Method, req.URL.Path, resp.StatusCode, raw)
	}
	return r, nil
}

// call sends the parameters in the query string, as the app does.
func call(ctx context.Context, c *http.Client, method, path string, params url.Values) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, method, srv.base+path+"?"+params.Encode(), nil)
	if err != nil {
		return reply{}, err
	}
	return do(c, req)
}

var nameSeq atomic.Int64

func uniqueName(prefix string) string {
	return fmt.Sprintf("%s%d_%d", prefix, time.Now().UnixNano()%1e8, nameSeq.Add(1))
}

const password = "limits-password"

// user is a registered account with a client of its own.
type user struct {
	ID    int64
	Token string
	Name  string
	c     *http.Client
	ip    string

	mu  sync.Mutex
	lat []time.Duration // of the requests served while an attack went on
}

// newUser registers an account from the loopback address ip.
func newUser(t *testing.T, ip string) *user {
	t.Helper()
	u := &user{Name: uniqueName("u"), c: clientAt(ip), ip: ip}
	ctx, cancel := context.WithTimeout(context.Background(), otherDeadline)
	defer cancel()
	r, err := call(ctx, u.c, http.MethodPost, "/douyin/user/register/", url.Values{"username": {u.Name}, "password": {password}})
	if err != nil || r.code() != 0 {
		t.Fatalf("register from %s: %v %s", ip, err, r.Raw)
	}
	id, _ := r.Body["user_id"].(float64)
	u.ID, u.Token = int64(id), r.Body["token"].(string)
	return u
}

// served reads the feed and the user's own profile, each of which must be
// answered correctly within otherDeadline, and records how long each took.
func (u *user) served(t *testing.T) {
	t.Helper()
	for _, step := range []struct {
		path   string
		params url.Values
		key    string
	}{
		{"/douyin/feed/", url.Values{"token": {u.Token}}, "video_list"},
		{"/douyin/user/", url.Values{"token": {u.Token}, "user_id": {strconv.FormatInt(u.ID, 10)}}, "user"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), otherDeadline)
		began := time.Now()
		r, err := call(ctx, u.c, http.MethodGet, step.path, step.params)
		took := time.Since(began)
		cancel()
		if err != nil {
			t.Errorf("another user's %s during the attack: %v", step.path, err)
			continue
		}
		if r.HTTP != http.StatusOK || r.code() != 0 || r.Body[step.key] == nil {
			t.Errorf("another user's %s during the attack: HTTP %d %s", step.path, r.HTTP, r.Raw)
			continue
		}
		u.mu.Lock()
		u.lat = append(u.lat, took)
		u.mu.Unlock()
	}
}

// login logs the user in again; it must succeed within otherDeadline.
func (u *user) login(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), otherDeadline)
	defer cancel()
	began := time.Now()
	r, err := call(ctx, u.c, http.MethodPost, "/douyin/user/login/", url.Values{"username": {u.Name}, "password": {password}})
	took := time.Since(began)
	if err != nil || r.code() != 0 || r.Body["token"] == "" {
		t.Errorf("another user's login during the attack: %v %s", err, r.Raw)
		return
	}
	u.mu.Lock()
	u.lat = append(u.lat, took)
	u.mu.Unlock()
}

// latencies summarises what the user's requests took.
func (u *user) latencies() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return summary(u.lat)
}

func summary(d []time.Duration) string {
	if len(d) == 0 {
		return "no requests"
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return fmt.Sprintf("%d requests, median %v, max %v", len(s), s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}

// userPace is how often another user asks for a page while an attack goes
// on: a person's pace, well within the per-client limits.
const userPace = 250 * time.Millisecond

// whileServed runs attack and, until it returns, has other read pages at
// userPace; at least one round of them runs while the attack is on.
func whileServed(t *testing.T, other *user, attack func()) {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(userPace)
		defer tick.Stop()
		for {
			other.served(t)
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	// Also when attack ends the test with t.Fatal: the other user stops first.
	defer wg.Wait()
	defer close(done)
	attack()
}

// upload publishes file as a video from u; it answers the server's reply.
func upload(t *testing.T, u *user, name string, file []byte) reply {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("token", u.Token)
	w.WriteField("title", "limits "+name)
	fw, err := w.CreateFormFile("data", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(file)
	w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.base+"/douyin/publish/action/", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	r, err := do(u.c, req)
	if err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
	return r
}
