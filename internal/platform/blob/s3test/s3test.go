// Package s3test starts a real S3 server for tests: versitygw with its posix
// backend, in a temporary directory, on a free loopback port.
//
// versitygw is not a dependency of the module: the first test that needs it
// builds it once (`go install` of a pinned version into the user cache
// directory, about two minutes on a cold module cache) and later runs reuse
// the binary. When it cannot be built the test is skipped, except under
// CI=true, where that is a failure: CI must not pass by testing nothing.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

// Version is the versitygw release the tests run against.
const Version = "v1.8.0"

const pkg = "github.com/versity/versitygw/cmd/versitygw"

// startTimeout bounds how long a started server may take to answer.
const startTimeout = 30 * time.Second

// Start runs a fresh versitygw serving an empty posix root under t.TempDir()
// and returns its endpoint (host:port, plain HTTP) and root credentials. The
// server stops when the test ends.
func Start(t testing.TB) (endpoint, accessKey, secretKey string) {
	t.Helper()
	argv, err := command()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("s3test: no versitygw %s: %v", Version, err)
		}
		t.Skipf("s3test: no versitygw %s, skipping the S3 tests (under CI=true this fails): %v", Version, err)
	}
	accessKey, secretKey = "test"+randomHex(8), randomHex(20)
	// A free port can be taken by someone else between our probe and the
	// server's bind; a server that exits at once is retried on a new port.
	for attempt := 1; ; attempt++ {
		endpoint, err = start(t, argv, accessKey, secretKey)
		if err == nil || attempt == 3 {
			break
		}
		t.Logf("s3test: attempt %d: %v", attempt, err)
	}
	if err != nil {
		t.Fatalf("s3test: %v", err)
	}
	return endpoint, accessKey, secretKey
}

// start launches one server and waits until it answers HTTP.
func start(t testing.TB, argv []string, accessKey, secretKey string) (string, error) {
	addr := testenv.FreeAddr(t)
	root := t.TempDir()
	logPath := filepath.Join(t.TempDir(), "versitygw.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	defer logFile.Close() // the child holds its own descriptor

	args := append(argv[1:len(argv):len(argv)],
		"--access", accessKey, "--secret", secretKey,
		"--port", addr, "--quiet",
		"posix", root)
	cmd := exec.Command(argv[0], args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group, so that stopping a `go run` also stops the
	// server it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("starting versitygw: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	failed := func(err error) (string, error) {
		stop()
		out, _ := os.ReadFile(logPath)
		return "", fmt.Errorf("%w; versitygw output:\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		// Any HTTP answer (an S3 error for an anonymous request) means the
		// server is up.
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-exited:
			exited <- err // for stop
			return failed(fmt.Errorf("versitygw exited before answering: %v", err))
		case <-ctx.Done():
			return failed(fmt.Errorf("versitygw did not answer on %s within %v", addr, startTimeout))
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			if out, _ := os.ReadFile(logPath); len(out) > 0 {
				t.Logf("versitygw output:\n%s", out)
			}
		}
	})
	return addr, nil
}

var (
	once    sync.Once
	argv    []string
	argvErr error
)

// command returns the command line that runs versitygw, building the binary
// on first use in this process.
func command() ([]string, error) {
	once.Do(func() { argv, argvErr = locate() })
	return argv, argvErr
}

// locate finds the cached binary or builds it with `go install`. When the
// build fails it falls back to `go run` (which may work where installing
// into the cache directory does not, e.g. a read-only cache).
func locate() ([]string, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("no go command to build versitygw with: %w", err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "mdouyin", "versitygw-"+Version)
	bin := filepath.Join(dir, "versitygw")
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return []string{bin}, nil
	}
	installErr := install(gobin, dir, bin)
	if installErr == nil {
		return []string{bin}, nil
	}
	// go run builds into its own cache; the first attempt pays the build.
	probe := exec.Command(gobin, "run", pkg+"@"+Version, "--version")
	probe.Dir, probe.Env = os.TempDir(), goEnv()
	if out, err := probe.CombinedOutput(); err != nil {
		return nil, errors.Join(installErr, fmt.Errorf("go run %s@%s: %w\n%s", pkg, Version, err, out))
	}
	return []string{gobin, "run", pkg + "@" + Version}, nil
}

// install builds versitygw into a private directory and renames it into
// place, so concurrent test processes never run a half-written binary.
func install(gobin, dir, bin string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(gobin, "install", pkg+"@"+Version)
	cmd.Dir = tmp // outside any module, so go.mod and GOFLAGS=-mod play no part
	cmd.Env = append(goEnv(), "GOBIN="+tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go install %s@%s: %w\n%s", pkg, Version, err, out)
	}
	return os.Rename(filepath.Join(tmp, "versitygw"), bin)
}

// goEnv is the environment for building a tool outside our module.
func goEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOFLAGS=") && !strings.HasPrefix(kv, "GOWORK=") && !strings.HasPrefix(kv, "GOBIN=") {
			env = append(env, kv)
		}
	}
	return append(env, "GOFLAGS=", "GOWORK=off")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms.
	return hex.EncodeToString(b)
}
