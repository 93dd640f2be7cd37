// Package blob stores media objects (videos, covers) under slash-separated
// keys. Local keeps them on this machine's disk; S3 keeps them in any
// S3-compatible object store, for clusters, and hands clients its own URLs.
package blob

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Store keeps immutable objects (videos, covers) under slash-separated keys.
type Store interface {
	// Put stores r under key atomically: readers see the whole object or none.
	Put(ctx context.Context, key string, r io.Reader, contentType string) (Info, error)
	// PutFile moves (renames when possible, else copies) a local file into the store; the file is gone afterwards.
	PutFile(ctx context.Context, key, path, contentType string) (Info, error)
	// Open returns the object for reading; the caller closes it.
	Open(ctx context.Context, key string) (Object, error)
	// Stat describes the object without reading it.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes the object; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// Object is an open stored object. Seeking lets HTTP handlers serve Range
// requests.
type Object interface {
	io.ReadSeekCloser
	Info() Info
}

// Info describes a stored object.
type Info struct {
	Key         string
	Size        int64
	ModTime     time.Time
	ContentType string
	// ETag is a strong validator derived from the content: equal ETags mean
	// equal bytes. It is unquoted; HTTP handlers add the quotes.
	ETag string
}

var (
	// ErrNotFound is returned (wrapped) when no object has the key.
	ErrNotFound = errors.New("blob: not found")
	// ErrInvalidKey is returned (wrapped, with the reason) for a key that
	// could escape the store or that not every backend can hold.
	ErrInvalidKey = errors.New("blob: invalid key")
)

// Key limits: S3 allows 1024 bytes per key, common filesystems 255 per name.
const (
	maxKeyLen     = 1024
	maxSegmentLen = 255
)

// validateKey reports whether key is acceptable to every Store: non-empty,
// at most 1024 bytes of UTF-8, relative, slash-separated segments that are
// non-empty, at most 255 bytes, do not start with a dot (which also rules out
// "." and ".." and keeps names free for a store's own use), and no
// backslashes or control characters. The rules are strict because keys may
// come from user input and become file paths.
func validateKey(key string) error {
	bad := func(reason string) error { return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, reason) }
	switch {
	case key == "":
		return bad("empty")
	case len(key) > maxKeyLen:
		return bad(fmt.Sprintf("longer than %d bytes", maxKeyLen))
	case !utf8.ValidString(key):
		return bad("not UTF-8")
	case strings.HasPrefix(key, "/"):
		return bad("absolute")
	case strings.Contains(key, `\`):
		return bad("contains a backslash")
	}
	for _, c := range key {
		if c < 0x20 || c == 0x7f {
			return bad("contains a control character")
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return bad("empty path segment")
		case seg[0] == '.':
			return bad("path segment starts with a dot")
		case len(seg) > maxSegmentLen:
			return bad(fmt.Sprintf("path segment longer than %d bytes", maxSegmentLen))
		}
	}
	return nil
}

// ContentAddressedKey names an object by its SHA-256 sum, e.g.
// ContentAddressedKey("videos", sum, ".mp4") = "videos/ab/cd/abcd….mp4". Two
// uploads of the same bytes get the same key, which is how duplicates are
// found; the two directory levels keep any one directory small. ext may be
// given with or without its dot, or empty.
func ContentAddressedKey(prefix string, sum []byte, ext string) string {
	h := hex.EncodeToString(sum)
	if ext != "" && !strings.HasPrefix(ext, ".") {
		ext = "." + ext
	}
	var b strings.Builder
	if p := strings.Trim(prefix, "/"); p != "" {
		b.WriteString(p)
		b.WriteByte('/')
	}
	if len(h) >= 4 {
		b.WriteString(h[:2])
		b.WriteByte('/')
		b.WriteString(h[2:4])
		b.WriteByte('/')
	}
	b.WriteString(h)
	b.WriteString(ext)
	return b.String()
}

// maxContentTypeLen bounds a stored content type; it ends up in HTTP headers.
const maxContentTypeLen = 255

// validateContentType rejects content types that could not be sent as an
// HTTP header value as-is (control characters would allow header injection).
func validateContentType(ct string) error {
	if len(ct) > maxContentTypeLen {
		return fmt.Errorf("blob: content type longer than %d bytes", maxContentTypeLen)
	}
	for i := 0; i < len(ct); i++ {
		if c := ct[i]; c < 0x20 || c == 0x7f {
			return fmt.Errorf("blob: content type %q contains a control character", ct)
		}
	}
	return nil
}
