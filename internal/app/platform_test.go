package app

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mdouyin/mdouyin/internal/config"
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
