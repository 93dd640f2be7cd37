package admin

import (
	"io/fs"
	"mime"
	"path"
	"regexp"
	"strings"
	"testing"
)

// References from the page to its own files: src= and href= in HTML, import
// specifiers in the modules.
var (
	htmlRef   = regexp.MustCompile(`(?:src|href)="([^"]*)"`)
	importRef = regexp.MustCompile(`(?m)^\s*import\s[^'"]*['"]([^'"]+)['"]`)
)

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(Files, name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReferencesResolve checks that everything the page loads is embedded and
// nothing comes from another host: the console must work with no network but
// the server's.
func TestReferencesResolve(t *testing.T) {
	refs := map[string][]string{"index.html": nil}
	for _, m := range htmlRef.FindAllStringSubmatch(read(t, "index.html"), -1) {
		refs["index.html"] = append(refs["index.html"], m[1])
	}
	scripts, err := fs.Glob(Files, "*.js")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no modules embedded (%v)", err)
	}
	for _, name := range scripts {
		for _, m := range importRef.FindAllStringSubmatch(read(t, name), -1) {
			refs[name] = append(refs[name], m[1])
		}
	}
	loaded := map[string]bool{"index.html": true}
	for from, list := range refs {
		for _, ref := range list {
			switch {
			case strings.HasPrefix(ref, "#"), strings.HasPrefix(ref, "data:"):
				continue
			case strings.Contains(ref, "//"), strings.HasPrefix(ref, "/"):
				t.Errorf("%s loads %q: only files beside it may be used", from, ref)
				continue
			}
			name := path.Clean(ref)
			if _, err := fs.Stat(Files, name); err != nil {
				t.Errorf("%s loads %q, which is not embedded", from, ref)
			}
			loaded[name] = true
		}
	}
	entries, err := fs.ReadDir(Files, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !loaded[e.Name()] {
			t.Errorf("%s is embedded but nothing loads it", e.Name())
		}
		if ext := path.Ext(e.Name()); mime.TypeByExtension(ext) == "" {
			t.Errorf("%s: no content type for %s", e.Name(), ext)
		}
	}
}

// TestNoHTMLFromData guards the rule that keeps hostile comments inert: the
// modules build the page with DOM nodes and text, never by parsing strings as HTML.
func TestNoHTMLFromData(t *testing.T) {
	sinks := regexp.MustCompile(`\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|createContextualFragment|\beval\(|new Function\(`)
	scripts, _ := fs.Glob(Files, "*.js")
	for _, name := range scripts {
		for i, line := range strings.Split(read(t, name), "\n") {
			if sinks.MatchString(line) {
				t.Errorf("%s:%d parses HTML or code from a string: %s", name, i+1, strings.TrimSpace(line))
			}
		}
	}
}
