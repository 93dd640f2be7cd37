// Package testenv tells tests where the outside services are, and makes the
// media they upload.
//
// `go test ./...` needs none of them: a test that wants MariaDB, Redis or NATS asks
// here, and without an address it is skipped with a note saying which variable to
// set. Under CI (CI=true) a missing address fails the test instead, so a run that
// was meant to exercise the real services cannot pass without them.
package testenv

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// FreeAddr returns a loopback address whose port was free a moment ago. Another
// program could take it before the test's server listens; on a test machine that
// is rare enough, and shows as a server that does not start.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
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
