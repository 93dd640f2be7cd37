package app

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mdouyin/mdouyin/internal/platform/blob/s3test"
	"github.com/mdouyin/mdouyin/internal/platform/testenv"
)

// TestMediaInObjectStore runs the one process with its media in a real S3 server:
// an upload lands in the bucket, and the feed hands out the bucket's presigned
// URLs, which serve the video with Range support without the gateway.
func TestMediaInObjectStore(t *testing.T) {
	clip := testenv.Clip(t)
	endpoint, access, secret := s3test.Start(t)
	cfg := testConfig(t)
	cfg.Blob.Driver = "s3"
	cfg.Blob.S3.Endpoint, cfg.Blob.S3.AccessKey, cfg.Blob.S3.SecretKey = endpoint, access, secret
	cfg.Blob.S3.Bucket, cfg.Blob.S3.Region = "media", "us-east-1"
	p := start(t, cfg, "", nil)

	reg := post(t, p.http, "/douyin/user/register/", url.Values{"username": {"s3user"}, "password": {"secret-1"}})
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("token", reg["token"].(string))
	w.WriteField("title", "in the bucket")
	f, _ := w.CreateFormFile("data", "clip.mp4")
	f.Write(clip)
	w.Close()
	resp, err := http.Post(p.http+"/douyin/publish/action/", w.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	var pub map[string]any
	json.NewDecoder(resp.Body).Decode(&pub)
	resp.Body.Close()
	if pub["status_code"].(float64) != 0 {
		t.Fatalf("publish: %v", pub)
	}
	resp, err = http.Get(p.http + "/douyin/feed/")
	if err != nil {
		t.Fatal(err)
	}
	var feed map[string]any
	json.NewDecoder(resp.Body).Decode(&feed)
	resp.Body.Close()
	videos, _ := feed["video_list"].([]any)
	if len(videos) != 1 {
		t.Fatalf("feed: %v", feed)
	}
	v := videos[0].(map[string]any)
	for _, k := range []string{"play_url", "cover_url"} {
		link := v[k].(string)
		if !strings.HasPrefix(link, "http://"+endpoint+"/media/") || !strings.Contains(link, "X-Amz-Signature=") {
			t.Fatalf("%s = %q, want a presigned URL of the bucket", k, link)
		}
		req, _ := http.NewRequest(http.MethodGet, link, nil)
		req.Header.Set("Range", "bytes=0-9")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPartialContent || len(got) != 10 {
			t.Fatalf("%s with Range: HTTP %d, %d bytes", k, resp.StatusCode, len(got))
		}
	}
}
