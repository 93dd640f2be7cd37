// Package deploytest checks the deployment artefacts (Dockerfile, deploy/compose.yaml,
// deploy/k8s) offline, against the code they deploy: nothing here starts a
// container or talks to a cluster. What only running them would show (images
// that pull, a stack that comes up) is not covered.
//
// The Kubernetes and Compose checks (k8s_test.go, compose_test.go) decode the
// files with k8s.io/api and compose-go, as the real tools would.
package deploytest

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mdouyin/mdouyin/internal/config"
)

// root is the repository root, relative to this package's directory (where go
// test runs).
const root = "../.."

// settingNames returns every environment variable mdouyin reads: the env tags
// of config.Config with their prefix, and MDOUYIN_CONFIG (read by the command
// line, not by the config struct).
func settingNames(t testing.TB) map[string]bool {
	t.Helper()
	names := map[string]bool{config.EnvPrefix + "CONFIG": true}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			if f.Type.Kind() == reflect.Struct && f.Type.PkgPath() == typ.PkgPath() {
				walk(f.Type)
				continue
			}
			if name := f.Tag.Get("env"); name != "" {
				names[config.EnvPrefix+name] = true
			}
		}
	}
	walk(reflect.TypeFor[config.Config]())
	if len(names) < 40 {
		t.Fatalf("found only %d settings in config.Config: has the env tag changed?", len(names))
	}
	return names
}

// mdouyinVar matches anything spelled like a setting: comments, compose
// interpolation and shell snippets included, so a renamed setting cannot hide
// anywhere in the deployment files.
var mdouyinVar = regexp.MustCompile(`\b` + config.EnvPrefix + `[A-Z0-9_]+`)

// unknownSettings returns the MDOUYIN_* words of text that are not settings.
func unknownSettings(text string, known map[string]bool) []string {
	var bad []string
	for _, name := range mdouyinVar.FindAllString(text, -1) {
		if !known[name] && !slices.Contains(bad, name) {
			bad = append(bad, name)
		}
	}
	return bad
}

// deployFiles lists every file this package vouches for.
func deployFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"Dockerfile", ".dockerignore", "deploy/compose.yaml"}
	k8s, err := filepath.Glob(filepath.Join(root, "deploy/k8s/*.yaml"))
	if err != nil || len(k8s) == 0 {
		t.Fatalf("no manifests in deploy/k8s: %v", err)
	}
	for _, f := range k8s {
		rel, _ := filepath.Rel(root, f)
		files = append(files, rel)
	}
	return files
}

func read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEveryMdouyinVariableIsASetting(t *testing.T) {
	known := settingNames(t)
	// The check itself must catch a misspelling.
	if bad := unknownSettings("MDOUYIN_HTTP_ADDR=:80 MDOUYIN_JWT_SECRETS=x", known); !slices.Equal(bad, []string{"MDOUYIN_JWT_SECRETS"}) {
		t.Fatalf("unknownSettings found %v, want [MDOUYIN_JWT_SECRETS]", bad)
	}
	for _, f := range deployFiles(t) {
		if bad := unknownSettings(read(t, f), known); len(bad) > 0 {
			t.Errorf("%s names variables that are not mdouyin settings: %s", f, strings.Join(bad, ", "))
		}
	}
}

// dockerfile is the Dockerfile split into instructions (continuation lines
// joined, comments dropped): enough to check what it does without a parser.
type dockerfile struct{ lines []string }

func parseDockerfile(text string) dockerfile {
	var d dockerfile
	var cur strings.Builder
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasPrefix(trimmed, "#") { // a comment inside a continued instruction
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur.WriteString(strings.TrimSuffix(trimmed, `\`) + " ")
			continue
		}
		cur.WriteString(trimmed)
		d.lines = append(d.lines, cur.String())
		cur.Reset()
	}
	return d
}

// all returns the arguments of every instruction named op.
func (d dockerfile) all(op string) []string {
	var out []string
	for _, l := range d.lines {
		name, args, _ := strings.Cut(l, " ")
		if strings.EqualFold(name, op) {
			out = append(out, strings.TrimSpace(args))
		}
	}
	return out
}

// envDefault returns the value the Dockerfile's ENV gives name.
func (d dockerfile) envDefault(name string) string {
	for _, args := range d.all("ENV") {
		for _, f := range strings.Fields(args) {
			if k, v, ok := strings.Cut(f, "="); ok && k == name {
				return v
			}
		}
	}
	return ""
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return p
}

func TestDockerfile(t *testing.T) {
	d := parseDockerfile(read(t, "Dockerfile"))

	froms := d.all("FROM")
	if len(froms) < 2 {
		t.Fatalf("FROM %v: want a build stage and a runtime stage", froms)
	}
	// The build stage's Go is the one go.mod asks for.
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(read(t, "go.mod"))
	args := strings.Join(d.all("ARG"), " ")
	if goVersion == nil || !strings.Contains(args, "GO_VERSION="+goVersion[1]) || !strings.HasPrefix(froms[0], "golang:${GO_VERSION}-bookworm AS build") {
		t.Errorf("build stage %q with ARG %q: want golang:${GO_VERSION}-bookworm with GO_VERSION=%v (go.mod)", froms[0], args, goVersion)
	}
	if last := froms[len(froms)-1]; last != "debian:bookworm-slim" {
		t.Errorf("runtime stage FROM %q, want debian:bookworm-slim", last)
	}

	build := strings.Join(d.all("RUN"), "\n")
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "go build", "./cmd/mdouyin"} {
		if !strings.Contains(build, want) {
			t.Errorf("no RUN contains %q", want)
		}
	}
	var apt string
	for _, r := range d.all("RUN") {
		if strings.Contains(r, "apt-get") && strings.Contains(r, " install ") {
			apt = r
		}
	}
	for _, want := range []string{"--no-install-recommends", " ffmpeg", " ca-certificates", " tzdata", "rm -rf /var/lib/apt/lists"} {
		if !strings.Contains(apt, want) {
			t.Errorf("apt-get install %q lacks %q", apt, want)
		}
	}

	users := d.all("USER")
	if len(users) == 0 {
		t.Fatal("no USER: the image would run as root")
	}
	uid, _, _ := strings.Cut(users[len(users)-1], ":")
	if !regexp.MustCompile(`^[1-9][0-9]*$`).MatchString(uid) {
		t.Errorf("USER %q: want a numeric non-zero uid (Kubernetes' runAsNonRoot can only verify a number)", users[len(users)-1])
	}

	// The ports the binary listens on by the image's ENV are the exposed ones,
	// and the health check asks the HTTP one.
	httpAddr, rpcAddr := d.envDefault("MDOUYIN_HTTP_ADDR"), d.envDefault("MDOUYIN_RPC_ADDR")
	if httpAddr == "" || rpcAddr == "" {
		t.Fatalf("ENV sets MDOUYIN_HTTP_ADDR %q and MDOUYIN_RPC_ADDR %q: want both", httpAddr, rpcAddr)
	}
	def := config.Default()
	if httpAddr != def.HTTPAddr || rpcAddr != def.RPC.Addr {
		t.Errorf("ENV addresses %s, %s differ from the defaults %s, %s that the README documents", httpAddr, rpcAddr, def.HTTPAddr, def.RPC.Addr)
	}
	exposed := strings.Fields(strings.Join(d.all("EXPOSE"), " "))
	for _, addr := range []string{httpAddr, rpcAddr} {
		if !slices.Contains(exposed, port(t, addr)) {
			t.Errorf("EXPOSE %v lacks port %s", exposed, port(t, addr))
		}
	}
	health := strings.Join(d.all("HEALTHCHECK"), " ")
	if !strings.Contains(health, "/healthz") || !strings.Contains(health, "MDOUYIN_HTTP_ADDR") {
		t.Errorf("HEALTHCHECK %q: want a GET /healthz on the port of MDOUYIN_HTTP_ADDR", health)
	}
	if d.envDefault("MDOUYIN_DATA_DIR") != "/data" || !slices.Contains(d.all("VOLUME"), "/data") {
		t.Errorf("want MDOUYIN_DATA_DIR=/data and VOLUME /data")
	}

	entry := d.all("ENTRYPOINT")
	if len(entry) != 1 || entry[0] != `["/usr/local/bin/mdouyin"]` {
		t.Errorf("ENTRYPOINT %v, want [\"/usr/local/bin/mdouyin\"]", entry)
	}
	if !slices.ContainsFunc(d.all("COPY"), func(c string) bool {
		return strings.HasPrefix(c, "--from=build ") && strings.HasSuffix(c, " /usr/local/bin/mdouyin")
	}) {
		t.Error("no COPY --from=build puts the binary at /usr/local/bin/mdouyin")
	}
}

// TestDockerignoreKeepsTheBuildInputs lists the directories of every package
// the binary is built from and checks that .dockerignore leaves them in the
// build context.
func TestDockerignoreKeepsTheBuildInputs(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("the go command is needed to list the binary's packages: %v", err)
	}
	cmd := exec.Command("go", "list", "-e", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", "./cmd/mdouyin")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	needed := []string{"go.mod", "go.sum"}
	for _, dir := range strings.Fields(string(out)) {
		if rel, err := filepath.Rel(abs, dir); err == nil && !strings.HasPrefix(rel, "..") {
			needed = append(needed, filepath.ToSlash(rel)) // inside the module, not the module cache
		}
	}
	if !slices.Contains(needed, "cmd/mdouyin") || !slices.Contains(needed, "internal/config") {
		t.Fatalf("go list found %v: want the command and its internal packages", needed)
	}
	var patterns []string
	for _, line := range strings.Split(read(t, ".dockerignore"), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			if strings.HasPrefix(line, "!") {
				t.Fatalf(".dockerignore exception %q: this check does not handle exceptions", line)
			}
			patterns = append(patterns, strings.TrimSuffix(line, "/"))
		}
	}
	for _, path := range needed {
		for _, p := range patterns {
			// A pattern excludes a path it matches, and everything under a
			// directory it matches.
			for prefix := path; prefix != "."; prefix = filepath.ToSlash(filepath.Dir(prefix)) {
				if ok, _ := filepath.Match(p, prefix); ok || p == prefix {
					t.Errorf(".dockerignore pattern %q leaves %s, which the build needs, out of the context", p, path)
				}
			}
		}
	}
}
