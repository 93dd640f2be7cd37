package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cloudwego/hertz/pkg/app"

	"github.com/mdouyin/mdouyin/internal/config"
	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/token"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

// uploadLimit is the upload limit under fuzzing: small, so that bodies over it
// are common.
const uploadLimit = 2048

// FuzzReadUpload feeds the publish route's multipart reader arbitrary bodies
// under a fuzzed boundary, whole or streamed in small reads as Hertz hands them
// over. It must answer with a client error (never an internal one) or with the
// form exactly as a plain multipart reader sees it; it must never keep more
// than the limit, and a well-formed form within every bound must be accepted.
func FuzzReadUpload(f *testing.F) {
	tokens, err := token.NewManager(token.AudienceApp, token.KeyFromSecret([]byte(strings.Repeat("k", 32))), nil, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = f.TempDir()
	g := &Gateway{cfg: cfg, tokens: tokens}
	f.Fuzz(func(t *testing.T, boundary string, body []byte, chunk uint8, contentType string) {
		if contentType == "" {
			contentType = "multipart/form-data; boundary=" + boundary
		}
		c := app.NewContext(0)
		c.Request.Header.SetMethod("POST")
		c.Request.Header.SetContentTypeBytes([]byte(contentType))
		if chunk == 0 {
			c.Request.SetBody(body)
		} else {
			c.Request.SetBodyStream(&smallReads{r: bytes.NewReader(body), n: int(chunk)}, -1)
		}

		var viewer int64
		up, err := g.readUpload(context.Background(), c, uploadLimit, &viewer)
		if up == nil {
			t.Fatal("readUpload returned no upload")
		}
		var kept []byte
		if up.file != "" {
			kept, _ = os.ReadFile(up.file)
			os.Remove(up.file)
			if int64(len(kept)) != up.size || up.size > uploadLimit {
				t.Fatalf("kept %d bytes, counted %d, limit %d", len(kept), up.size, uploadLimit)
			}
		}
		for k, v := range up.fields {
			if len(v) > maxFormField {
				t.Fatalf("field %s kept %d bytes", k, len(v))
			}
		}
		if err != nil {
			switch errs.CodeOf(err) {
			case base.ErrCode_InvalidArgument, base.ErrCode_TooLarge, base.ErrCode_Unauthenticated:
			default:
				t.Fatalf("readUpload answered %v: not a client error", err)
			}
		}

		ref := readForm(contentType, body)
		switch {
		case err == nil && ref.err != nil:
			t.Fatalf("readUpload accepted a body a multipart reader refuses: %v", ref.err)
		case err == nil && (!bytes.Equal(kept, ref.data) || up.fields["title"] != ref.fields["title"] || up.fields["token"] != ref.fields["token"]):
			t.Fatalf("readUpload read data %q title %q token %q; the multipart reader %q %q %q",
				kept, up.fields["title"], up.fields["token"], ref.data, ref.fields["title"], ref.fields["token"])
		case err != nil && ref.acceptable() && len(body) <= uploadLimit:
			t.Fatalf("readUpload refused a well-formed form within every bound: %v", err)
		}
	})
}

// form is what the standard multipart reader finds in a body.
type form struct {
	err         error
	data        []byte
	files       int
	parts       int
	fields      map[string]string
	tokenBefore bool // a non-empty token field came before the file
	tooLong     bool // a title or token over maxFormField
}

// acceptable reports whether readUpload must accept the form: it parses, and
// keeps within the bounds on parts, files and fields. A token before the file
// is checked at once, and a fuzzed one is not valid.
func (f form) acceptable() bool {
	return f.err == nil && f.parts <= maxFormParts && f.files <= 1 && !f.tooLong && !f.tokenBefore
}

func readForm(contentType string, body []byte) form {
	out := form{fields: map[string]string{}}
	r, err := multipartReader(contentType, body)
	if err != nil {
		out.err = err
		return out
	}
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			out.err = err
			return out
		}
		out.parts++
		b, err := io.ReadAll(p)
		if err != nil {
			out.err = err
			return out
		}
		switch p.FormName() {
		case "data":
			out.files++
			out.data = b
			if out.fields["token"] != "" {
				out.tokenBefore = true
			}
		case "title", "token":
			if len(b) > maxFormField {
				out.tooLong = true
			}
			out.fields[p.FormName()] = string(b)
		}
	}
}

func multipartReader(contentType string, body []byte) (*multipart.Reader, error) {
	// The same media-type reading as readUpload; what is compared is the
	// reading of the parts.
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, errNotMultipart
	}
	return multipart.NewReader(bytes.NewReader(body), params["boundary"]), nil
}

// smallReads hands out at most n bytes per Read, as a network connection may.
type smallReads struct {
	r io.Reader
	n int
}

func (s *smallReads) Read(p []byte) (int, error) {
	return s.r.Read(p[:min(len(p), s.n)])
}
