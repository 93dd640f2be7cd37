package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// objectCacheControl is stored with every object: media keys are content
// addressed, so an object never changes under its key, and clients fetching it
// straight from the bucket may keep it as long as the gateway's /media/ lets
// them.
const objectCacheControl = "public, max-age=31536000, immutable"

// URLer is a Store whose objects clients fetch from the store itself rather
// than through our gateway. S3 implements it; Local does not, because the
// gateway serves local files under /media/.
type URLer interface {
	// URL returns the address a client fetches key from. It may expire (a
	// presigned URL), so callers ask for it per response and never store it.
	URL(ctx context.Context, key string) (string, error)
}

// S3Options configures an S3 store.
type S3Options struct {
	// Endpoint is host[:port] without a scheme, e.g. "s3.amazonaws.com" or
	// "127.0.0.1:7070".
	Endpoint  string
	AccessKey string
	SecretKey string
	Bucket    string
	// Region is the bucket's region; empty asks the server once (one extra
	// request) and is what a bucket created here is created in.
	Region string
	// UseSSL selects https.
	UseSSL bool
	// Prefix, if set, is prepended (with a slash) to every key, so several
	// deployments can share a bucket.
	Prefix string
	// PublicBaseURL, if set, says the bucket is readable without signatures
	// at this address (the bucket's root: a public bucket URL or a CDN in
	// front of it); URL then returns PublicBaseURL/Prefix/key. Empty means
	// the bucket is private and URL presigns.
	PublicBaseURL string
	// Presign is how long a presigned URL stays valid: default 24h, at most
	// 7 days (the SigV4 limit).
	Presign time.Duration
}

// S3 is a Store on S3-compatible object storage, for the cluster placement:
// every replica sees the same objects, and clients fetch media from the store
// (URL) instead of through the gateway.
//
// Writes are atomic by S3 semantics: a single PUT or a completed multipart
// upload replaces the object at once. Put never holds more than one part
// (s3PartSize, 8 MiB, pooled) of an upload in memory, whatever the object's
// size; an upload that fails or is cancelled midway is aborted, so it leaves
// no object (a bucket lifecycle rule that aborts incomplete multipart uploads
// after a day cleans up after a process killed mid-upload).
//
// ETags: where the content's SHA-256 is known before the upload starts (Put
// of an object smaller than one part, which covers images; every PutFile,
// which hashes the file first) it is stored in the object's user metadata,
// and the ETag is its first 128 bits in hex, the same as Local's for the
// same bytes. A Put that streams more than one part cannot attach metadata
// computed at the end, so its ETag is the server's multipart ETag as-is
// ("<hex>-<parts>": an MD5 over the parts' MD5s), which still changes with
// the content and never looks like a SHA-256 one. Objects written by other
// tools also get the server's ETag. Either way equal ETags for one key mean
// equal bytes; the same bytes may carry different ETags when uploaded
// differently, which costs a client a re-download, nothing more.
type S3 struct {
	client  *minio.Client
	core    minio.Core
	bucket  string
	prefix  string // "" or ending in "/"
	public  string // PublicBaseURL without its trailing slash
	presign time.Duration
	signed  *otter.Cache[string, string] // presigned URLs by object name; nil: none kept
}

var (
	_ Store = (*S3)(nil)
	_ URLer = (*S3)(nil)
)

// Presigned URLs kept (see S3.URL): at most presignKept of them, each for half
// of the presign duration, when that is at least presignMinReuse.
const (
	presignKept     = 50_000
	presignMinReuse = time.Minute
)

const (
	// s3PartSize is both the threshold above which Put switches to a
	// multipart upload and the size of each part: the memory one upload
	// holds. 8 MiB × 10,000 parts allows objects up to 78 GiB.
	s3PartSize = 8 << 20
	// s3MaxParts is S3's limit on the parts of one upload.
	s3MaxParts = 10000
	// sha256Meta names the user metadata holding the content's SHA-256 (hex).
	sha256Meta = "Mdouyin-Sha256"

	defaultPresign = 24 * time.Hour
	maxPresign     = 7 * 24 * time.Hour
	// abortTimeout bounds cleaning up after a failed upload, which runs even
	// when the caller's context has ended.
	abortTimeout = time.Minute
)

// s3Buffers recycles part buffers between uploads, so a steady stream of
// uploads does not allocate 8 MiB each.
var s3Buffers = sync.Pool{New: func() any { b := make([]byte, s3PartSize); return &b }}

// NewS3 connects to the bucket described by o, creating it when it does not
// exist, which also proves the credentials work.
func NewS3(ctx context.Context, o S3Options) (*S3, error) {
	if o.Endpoint == "" || o.Bucket == "" {
		return nil, errors.New("blob: S3 needs an endpoint and a bucket")
	}
	if strings.Contains(o.Endpoint, "://") {
		return nil, fmt.Errorf("blob: S3 endpoint %q: give host:port without a scheme (UseSSL selects https)", o.Endpoint)
	}
	s := &S3{bucket: o.Bucket, presign: o.Presign}
	if p := strings.Trim(o.Prefix, "/"); p != "" {
		if err := validateKey(p); err != nil {
			return nil, fmt.Errorf("blob: S3 prefix: %w", err)
		}
		s.prefix = p + "/"
	}
	if o.PublicBaseURL != "" {
		u, err := url.Parse(o.PublicBaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("blob: S3 public base URL %q: want http(s)://host[/path]", o.PublicBaseURL)
		}
		s.public = strings.TrimRight(o.PublicBaseURL, "/")
	}
	switch {
	case s.presign == 0:
		s.presign = defaultPresign
	case s.presign < time.Second || s.presign > maxPresign:
		return nil, fmt.Errorf("blob: S3 presign duration %v: want 1s to %v", s.presign, maxPresign)
	}
	if reuse := s.presign / 2; s.public == "" && reuse >= presignMinReuse {
		s.signed = otter.Must(&otter.Options[string, string]{
			MaximumSize:      presignKept,
			ExpiryCalculator: otter.ExpiryWriting[string, string](reuse),
		})
	}

	client, err := minio.New(o.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure: o.UseSSL,
		Region: o.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: S3 client: %w", err)
	}
	s.client, s.core = client, minio.Core{Client: client}

	exists, err := client.BucketExists(ctx, o.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blob: S3 bucket %q: %w", o.Bucket, err)
	}
	if !exists {
		err := client.MakeBucket(ctx, o.Bucket, minio.MakeBucketOptions{Region: o.Region})
		// Another replica starting at the same time may have won the race.
		if err != nil && minio.ToErrorResponse(err).Code != minio.BucketAlreadyOwnedByYou {
			return nil, fmt.Errorf("blob: creating S3 bucket %q: %w", o.Bucket, err)
		}
	}
	return s, nil
}

// object maps a key to its object name in the bucket.
func (s *S3) object(key string) (string, error) {
	if err := validateKey(key); err != nil {
		return "", err
	}
	name := s.prefix + key
	if len(name) > maxKeyLen {
		return "", fmt.Errorf("%w %q: longer than %d bytes with the prefix", ErrInvalidKey, key, maxKeyLen)
	}
	return name, nil
}

// Put stores r under key. Up to one part it uploads with a single PUT that
// carries the content's SHA-256; beyond that it streams a multipart upload,
// one part in memory at a time.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, contentType string) (Info, error) {
	name, err := s.object(key)
	if err != nil {
		return Info{}, err
	}
	contentType, err = resolveContentType(key, contentType)
	if err != nil {
		return Info{}, err
	}
	bp := s3Buffers.Get().(*[]byte)
	defer s3Buffers.Put(bp)
	buf := *bp

	r = ctxReader{ctx, r}
	n, err := io.ReadFull(r, buf)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		sum := sha256.Sum256(buf[:n])
		return s.putKnown(ctx, key, name, bytes.NewReader(buf[:n]), int64(n), contentType, sum[:])
	case err != nil:
		return Info{}, s.fail(ctx, "put", key, err)
	}
	return s.putMultipart(ctx, key, name, r, buf, contentType)
}

// putKnown uploads size bytes from r, whose SHA-256 is sum: in one request
// up to a part, else as a multipart upload that minio-go runs itself (r is
// then a ReaderAt, so it reads the parts in place without buffering them).
func (s *S3) putKnown(ctx context.Context, key, name string, r io.Reader, size int64, contentType string, sum []byte) (Info, error) {
	hexSum := hex.EncodeToString(sum)
	up, err := s.client.PutObject(ctx, s.bucket, name, r, size, minio.PutObjectOptions{
		ContentType:  contentType,
		CacheControl: objectCacheControl,
		UserMetadata: map[string]string{sha256Meta: hexSum},
		PartSize:     s3PartSize,
	})
	if err != nil {
		return Info{}, s.fail(ctx, "put", key, err)
	}
	return Info{Key: key, Size: up.Size, ModTime: modTime(up.LastModified), ContentType: contentType, ETag: hexSum[:32]}, nil
}

// putMultipart streams r after the full first part already in buf, one part
// at a time, and aborts the upload if anything fails.
func (s *S3) putMultipart(ctx context.Context, key, name string, r io.Reader, buf []byte, contentType string) (info Info, err error) {
	opts := minio.PutObjectOptions{ContentType: contentType, CacheControl: objectCacheControl}
	id, err := s.core.NewMultipartUpload(ctx, s.bucket, name, opts)
	if err != nil {
		return Info{}, s.fail(ctx, "put", key, err)
	}
	defer func() {
		if err != nil {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
			defer cancel()
			_ = s.core.AbortMultipartUpload(actx, s.bucket, name, id) // best effort; see the type's comment
		}
	}()

	var parts []minio.CompletePart
	var size int64
	n, last := len(buf), false // the first, full part is already in buf
	for {
		if len(parts) == s3MaxParts {
			return Info{}, fmt.Errorf("blob: put %q: larger than %d parts of %d bytes", key, s3MaxParts, s3PartSize)
		}
		p, err := s.core.PutObjectPart(ctx, s.bucket, name, id, len(parts)+1, bytes.NewReader(buf[:n]), int64(n), minio.PutObjectPartOptions{})
		if err != nil {
			return Info{}, s.fail(ctx, "put", key, err)
		}
		parts = append(parts, minio.CompletePart{PartNumber: p.PartNumber, ETag: p.ETag})
		size += int64(n)
		if last {
			break
		}
		var rerr error
		switch n, rerr = io.ReadFull(r, buf); rerr {
		case nil:
		case io.ErrUnexpectedEOF:
			last = true // a short final part
		case io.EOF:
			n = 0 // the content ended at a part boundary
		default:
			return Info{}, s.fail(ctx, "put", key, rerr)
		}
		if n == 0 {
			break
		}
	}
	up, err := s.core.CompleteMultipartUpload(ctx, s.bucket, name, id, parts, opts)
	if err != nil {
		return Info{}, s.fail(ctx, "put", key, err)
	}
	return Info{Key: key, Size: size, ModTime: modTime(up.LastModified), ContentType: contentType, ETag: up.ETag}, nil
}

// PutFile uploads the regular file at path under key and removes the file.
// It reads the file twice, once to hash it so the SHA-256 travels with the
// upload, and leaves the file in place if the upload fails.
func (s *S3) PutFile(ctx context.Context, key, path, contentType string) (Info, error) {
	name, err := s.object(key)
	if err != nil {
		return Info{}, err
	}
	contentType, err = resolveContentType(key, contentType)
	if err != nil {
		return Info{}, err
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return Info{}, fmt.Errorf("blob: put %q from file: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		return Info{}, fmt.Errorf("blob: put %q from file: %s is not a regular file", key, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return Info{}, fmt.Errorf("blob: put %q from file: %w", key, err)
	}
	defer f.Close()
	// Hash and upload what this descriptor sees, so both describe one file.
	h := sha256.New()
	size, err := io.CopyBuffer(h, ctxReader{ctx, f}, make([]byte, 256<<10))
	if err != nil {
		return Info{}, s.fail(ctx, "put", key, err)
	}
	info, err := s.putKnown(ctx, key, name, io.NewSectionReader(f, 0, size), size, contentType, h.Sum(nil))
	if err != nil {
		return Info{}, err
	}
	if err := os.Remove(path); err != nil {
		return Info{}, fmt.Errorf("blob: stored %q but could not remove %s: %w", key, path, err)
	}
	return info, nil
}

// Open starts reading the object under key. Its Info comes from the same
// response as its first bytes, so the two always describe one version.
func (s *S3) Open(ctx context.Context, key string) (Object, error) {
	name, err := s.object(key)
	if err != nil {
		return nil, err
	}
	body, oi, _, err := s.core.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.fail(ctx, "open", key, err)
	}
	return &s3Object{ctx: ctx, s: s, name: name, info: s.info(key, oi), s3ETag: oi.ETag, body: body}, nil
}

// Stat describes the object under key.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	name, err := s.object(key)
	if err != nil {
		return Info{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s.fail(ctx, "stat", key, err)
	}
	return s.info(key, oi), nil
}

// Delete removes the object under key; S3 answers success for a missing one.
func (s *S3) Delete(ctx context.Context, key string) error {
	name, err := s.object(key)
	if err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{}); err != nil {
		return s.fail(ctx, "delete", key, err)
	}
	return nil
}

// URL returns where a client fetches key: under PublicBaseURL for a public
// bucket, else a GET URL presigned for the configured duration. It does not
// check that the object exists. Presigning is computed locally (once Region is
// known), but it costs five HMACs and some path escaping: a feed page of 30
// videos presigned 60 URLs, which was most of the gateway's CPU. So a
// presigned URL is kept and handed out again for half its lifetime (when that
// is at least presignMinReuse): every URL given has at least half of it left,
// and a client
// sees the same URL for an object for a while, which its HTTP cache likes.
func (s *S3) URL(ctx context.Context, key string) (string, error) {
	name, err := s.object(key)
	if err != nil {
		return "", err
	}
	if s.public != "" {
		segs := strings.Split(name, "/")
		for i, seg := range segs {
			segs[i] = url.PathEscape(seg)
		}
		return s.public + "/" + strings.Join(segs, "/"), nil
	}
	if s.signed != nil {
		if u, ok := s.signed.GetIfPresent(name); ok {
			return u, nil
		}
	}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, name, s.presign, nil)
	if err != nil {
		return "", s.fail(ctx, "presign", key, err)
	}
	if s.signed != nil {
		s.signed.Set(name, u.String())
	}
	return u.String(), nil
}

// info converts what the server says about an object.
func (s *S3) info(key string, oi minio.ObjectInfo) Info {
	etag := oi.ETag
	if sum := oi.UserMetadata[sha256Meta]; len(sum) == 2*sha256.Size && isHex(sum) {
		etag = strings.ToLower(sum[:32])
	}
	return Info{Key: key, Size: oi.Size, ModTime: modTime(oi.LastModified), ContentType: oi.ContentType, ETag: etag}
}

// fail wraps an S3 error: a missing object becomes ErrNotFound, and an error
// caused by the end of ctx says so (errors.Is works for both).
func (s *S3) fail(ctx context.Context, op, key string, err error) error {
	if resp := minio.ToErrorResponse(err); resp.Code == minio.NoSuchKey ||
		(resp.StatusCode == http.StatusNotFound && resp.Code != minio.NoSuchBucket) {
		return fmt.Errorf("%w: %q", ErrNotFound, key)
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("blob: %s %q: %w (%w)", op, key, cerr, err)
	}
	return fmt.Errorf("blob: %s %q: %w", op, key, err)
}

// modTime normalises a server time (second precision over HTTP) to UTC, so
// two Infos of one object compare equal; a response without one gets now.
func modTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now().UTC().Truncate(time.Second)
	}
	return t.UTC()
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// s3Object reads an object over HTTP. It keeps one response body open and
// reads sequentially; a Seek elsewhere closes it and the next Read asks for
// the rest of the object from the new offset, on condition that it is still
// the version first opened (If-Match), so a reader never mixes two versions.
type s3Object struct {
	ctx    context.Context
	s      *S3
	name   string
	info   Info
	s3ETag string

	body    io.ReadCloser // nil after a Seek or Close
	bodyPos int64         // offset of body's next byte
	pos     int64
	closed  bool
}

func (o *s3Object) Info() Info { return o.info }

func (o *s3Object) Read(p []byte) (int, error) {
	if o.closed {
		return 0, os.ErrClosed
	}
	if o.pos >= o.info.Size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if o.body == nil || o.bodyPos != o.pos {
		if err := o.reopen(); err != nil {
			return 0, err
		}
	}
	n, err := o.body.Read(p)
	o.pos += int64(n)
	o.bodyPos = o.pos
	if err == io.EOF && o.pos < o.info.Size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// reopen replaces the body with one starting at pos.
func (o *s3Object) reopen() error {
	if o.body != nil {
		o.body.Close()
		o.body = nil
	}
	var opts minio.GetObjectOptions
	if o.pos > 0 {
		if err := opts.SetRange(o.pos, 0); err != nil {
			return err
		}
	}
	if o.s3ETag != "" {
		if err := opts.SetMatchETag(o.s3ETag); err != nil {
			return err
		}
	}
	body, _, _, err := o.s.core.GetObject(o.ctx, o.s.bucket, o.name, opts)
	if err != nil {
		return o.s.fail(o.ctx, "read", o.info.Key, err)
	}
	o.body, o.bodyPos = body, o.pos
	return nil
}

// Seek moves the read offset; it costs nothing until the next Read. As with
// a file, seeking past the end is allowed and reads there return io.EOF.
func (o *s3Object) Seek(offset int64, whence int) (int64, error) {
	if o.closed {
		return 0, os.ErrClosed
	}
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = o.pos + offset
	case io.SeekEnd:
		abs = o.info.Size + offset
	default:
		return 0, fmt.Errorf("blob: seek: invalid whence %d", whence)
	}
	if abs < 0 {
		return 0, errors.New("blob: seek: negative position")
	}
	o.pos = abs
	return abs, nil
}

func (o *s3Object) Close() error {
	if o.closed {
		return nil
	}
	o.closed = true
	if o.body != nil {
		err := o.body.Close()
		o.body = nil
		return err
	}
	return nil
}
