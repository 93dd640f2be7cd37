// Package testenv tells tests where the outside services are, and makes the
// media they upload.
//
// `go test ./...` needs none of them: a test that wants MariaDB, Redis or NATS asks
// here, and without an address it is skipped with a note saying which variable to
// set. Under CI (CI=true) a missing address fails the test instead, so a run that
// was meant to exercise the real services cannot pass without them.
package testenv

import (
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Variables naming the outside services the tests may use.
const (
	MySQLVar = "MDOUYIN_TEST_MYSQL_DSN"  // e.g. root@tcp(127.0.0.1:3306)/
	RedisVar = "MDOUYIN_TEST_REDIS_ADDR" // e.g. 127.0.0.1:6379
	NATSVar  = "MDOUYIN_TEST_NATS_URL"   // e.g. nats://127.0.0.1:4222
)

// MySQLDSN returns the DSN of a MariaDB/MySQL server (without a database name).
func MySQLDSN(t testing.TB) string { return lookup(t, MySQLVar) }

// RedisAddr returns the address of a Redis server.
func RedisAddr(t testing.TB) string { return lookup(t, RedisVar) }

// NATSURL returns the URL of a NATS server with JetStream enabled.
func NATSURL(t testing.TB) string { return lookup(t, NATSVar) }

func lookup(t testing.TB, name string) string {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		return v
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set; under CI every outside service must be exercised", name)
	}
	t.Skipf("%s is not set; set it to run this test against the real service", name)
	return ""
}

// Clip returns a one-second 160x120 H.264/AAC MP4 made with ffmpeg, the smallest
// upload the video role accepts. Without ffmpeg the test is skipped, or fails
// under CI, like a missing service.
func Clip(t testing.TB) []byte {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ffmpeg is not installed; under CI every upload path must be exercised")
		}
		t.Skip("ffmpeg is not installed; install it to run this test")
	}
	path := filepath.Join(t.TempDir(), "clip.mp4")
	out, err := exec.Command("ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc=duration=1:size=160x120:rate=15",
		"-f", "lavfi", "-i", "sine=duration=1", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Program returns the path of a program the test needs (why says what for),
// found on the PATH. Without it the test is skipped, or fails under CI, like a
// missing service.
func Program(t testing.TB, name, why string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed; %s", name, why)
		}
		t.Skipf("%s is not installed; %s", name, why)
	}
	return p
}

// FreeAddr returns a loopback address whose port was free a moment ago, for a
// server the test starts (and may kill and start again on the same address).
//
// The port is drawn at random from below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range), never from it: the kernel hands ephemeral
// ports to outgoing connections, and with a dozen processes connecting to each
// other one of them regularly took a port between the moment it was found free
// and its server's bind, or while a killed server was down ("address already in
// use" on restart). Below that range only another test's server can take it,
// which the random draw makes rare; within this process no port is handed out
// twice.
func FreeAddr(t testing.TB) string {
	t.Helper()
	lo, hi := quietPorts()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		port := lo + rand.IntN(hi-lo)
		if portsGiven[port] {
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		portsGiven[port] = true
		return addr
	}
	t.Fatalf("testenv: no free port in [%d, %d) after 1000 tries", lo, hi)
	return ""
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// quietPorts is the range FreeAddr draws from: from 10000 up to the start of
// the ephemeral range, or 20000–30000 when that range cannot be read or leaves
// too little room below it.
func quietPorts() (lo, hi int) {
	lo, hi = 10000, 30000
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 20000, hi
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 20000, hi
	}
	first, err := strconv.Atoi(f[0])
	if err != nil || first < lo+2000 {
		return 20000, hi
	}
	return lo, first
}

// Environ is this process's environment without MDOUYIN_* variables, plus extra:
// for a server the test starts, whose settings must not come from whoever runs
// the test.
func Environ(extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MDOUYIN_") {
			env = append(env, kv)
		}
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}
