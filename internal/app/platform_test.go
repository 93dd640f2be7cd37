package app

import (
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/mdouyin/mdouyin/internal/config"
	"github.com/mdouyin/mdouyin/internal/platform/discovery/etcdtest"
)

func TestJWTSecretGeneratedOnceAndKept(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	const n = 8
	secrets := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := jwtSecret(cfg, quiet)
			if err != nil {
				t.Error(err)
			}
			secrets[i] = s
		}()
	}
	wg.Wait()
	for _, s := range secrets {
		if len(s) < 32 || s != secrets[0] {
			t.Fatalf("concurrent starts disagree on the secret: %q", secrets)
		}
	}
	info, err := os.Stat(filepath.Join(cfg.DataDir, "jwt.secret"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v, mode %v", err, info.Mode())
	}
	again, err := jwtSecret(cfg, quiet)
	if err != nil || again != secrets[0] {
		t.Fatalf("restart read %q, %v; want the kept secret", again, err)
	}
	cfg.JWT.Secret = "configured-secret-configured-secret"
	if s, _ := jwtSecret(cfg, quiet); s != cfg.JWT.Secret {
		t.Fatal("a configured secret must win over the kept one")
	}
	entries, _ := os.ReadDir(cfg.DataDir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

// TestNamespaceKeepsEtcdKeysApart opens three processes' etcd side on one etcd:
// two in one namespace, one in another. Node numbers are leased per namespace,
// so the second namespace starts again at 0 while the first hands out 0 and 1.
func TestNamespaceKeepsEtcdKeysApart(t *testing.T) {
	endpoints := etcdtest.Endpoints(t)
	open := func(ns string) *platform {
		cfg := config.Default()
		cfg.RPC.Etcd, cfg.Namespace = endpoints, ns
		p := &platform{cfg: cfg, log: quiet}
		if err := p.openEtcd(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return p
	}
	a1, a2, b := open("blue"), open("blue"), open("green")
	if got := []int{a1.lease.Node(), a2.lease.Node(), b.lease.Node()}; !slices.Equal(got, []int{0, 1, 0}) {
		t.Fatalf("node numbers %v, want [0 1 0]", got)
	}
	if a1.etcdPrefix("x") == b.etcdPrefix("x") || open("").etcdPrefix("x") != "x" {
		t.Fatal("etcd prefixes do not follow the namespace")
	}
}
