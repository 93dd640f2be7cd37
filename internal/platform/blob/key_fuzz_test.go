package blob

import (
	"errors"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzValidateKey feeds the key check what the media route takes from a
// request path (GET /media/<key>). A key it accepts must name a file inside
// the store's root whatever the key holds, be its own clean relative path,
// and keep to the limits every backend has; any other key is refused with
// ErrInvalidKey.
func FuzzValidateKey(f *testing.F) {
	for _, k := range []string{
		"videos/ab/cd/abcd.mp4", "covers/x.jpg", "uploads/0123abcd",
		"../etc/passwd", "a/../../b", "a/./b", "a//b", "/abs", "a/", ".hidden", "a/.b",
		`a\..\b`, "a\x00b", "a\nb", "\xff\xfe", "%2e%2e/x", "视频/封面.jpg", strings.Repeat("a", 256),
		"C:/windows", "a/..", "..", ".", "",
	} {
		f.Add(k)
	}
	root := filepath.Join(f.TempDir(), "root")
	f.Fuzz(func(t *testing.T, key string) {
		err := validateKey(key)
		if err != nil {
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("validateKey(%q) = %v, not ErrInvalidKey", key, err)
			}
			return
		}
		if len(key) == 0 || len(key) > maxKeyLen || !utf8.ValidString(key) {
			t.Fatalf("validateKey accepted %q (%d bytes)", key, len(key))
		}
		if path.IsAbs(key) || path.Clean(key) != key || strings.ContainsAny(key, "\\\x7f") {
			t.Fatalf("validateKey accepted %q, which is not a clean relative path", key)
		}
		for _, r := range key {
			if r < 0x20 {
				t.Fatalf("validateKey accepted %q, which holds a control character", key)
			}
		}
		for seg := range strings.SplitSeq(key, "/") {
			if seg == "" || seg == "." || seg == ".." || len(seg) > maxSegmentLen {
				t.Fatalf("validateKey accepted %q with the segment %q", key, seg)
			}
		}
		l := &Local{root: root}
		rel, err := filepath.Rel(root, l.path(key))
		if err != nil || rel != filepath.FromSlash(key) || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			t.Fatalf("key %q maps to %q, outside the root (%q, %v)", key, l.path(key), rel, err)
		}
	})
}
