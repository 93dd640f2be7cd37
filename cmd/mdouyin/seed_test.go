package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func TestSeedCommand(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ffmpeg is required in CI")
		}
		t.Skip("ffmpeg not installed")
	}
	env := map[string]string{"MDOUYIN_DATA_DIR": t.TempDir(), "MDOUYIN_PASSWORD_MEMORY_KIB": "8192"}
	getenv := func(k string) string { return env[k] }
	args := []string{"seed", "--users", "40", "--follows", "300", "--videos", "20", "--likes", "100",
		"--messages", "30", "--comments", "200", "--comment-likes", "300",
		"--big-authors", "1", "--big-followers", "30", "--author-followers", "12,5", "--months", "1", "--seed", "7"}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, getenv, &out, &errOut); err != nil {
		t.Fatalf("seed: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"seeded 40 users, 300 follows", "20 videos, 100 likes, 30 messages, 200 comments, 300 comment likes",
		"wrote 200 comments (", "and 300 comment likes in", `"seed-password"`,
		"inbox entries of", "pull threshold 10000, inbox size 1000", ") has 12 followers\n", ") has 5 followers\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, want := range []string{"follows   300/300 (100%)", "comments  500/500 (100%)"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("no progress %q on stderr:\n%s", want, errOut.String())
		}
	}
	// Every stored count agrees with its facts, the comments' included.
	var checkOut bytes.Buffer
	if err := run(context.Background(), []string{"check"}, getenv, &checkOut, &errOut); err != nil ||
		!strings.Contains(checkOut.String(), ": 0 differences") {
		t.Fatalf("check after seeding: %v\n%s", err, checkOut.String())
	}
	if n := regexp.MustCompile(`over (\d+) keys`).FindStringSubmatch(checkOut.String()); n == nil || n[1] == "0" {
		t.Errorf("check compared no keys:\n%s", checkOut.String())
	}
	// A second run refuses the filled database.
	err := run(context.Background(), args, getenv, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("second seed: %v", err)
	}
}

func TestSeedCommandRefusesBadFlags(t *testing.T) {
	getenv := func(k string) string { return map[string]string{"MDOUYIN_DATA_DIR": t.TempDir()}[k] }
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"seed", "--users", "-1"}, "negative"},
		{[]string{"seed", "extra"}, "unexpected arguments"},
		{[]string{"seed", "--end", "yesterday"}, "--end"},
		{[]string{"seed", "--users", "10", "--follows", "5"}, "--big-followers"},
		{[]string{"seed", "--author-followers", "10,x"}, "author-followers"},
		{[]string{"seed", "--comments", "-3"}, "negative"},
		{[]string{"seed", "--comments", "0", "--comment-likes", "5"}, "comment likes need comments"},
		{[]string{"seed", "--users", "10", "--big-authors", "0", "--follows", "20", "--comments", "2", "--comment-likes", "11"}, "--comment-likes"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), c.args, getenv, &out, &out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error about %q", c.args, err, c.want)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"seed", "--help"}, getenv, &out, &out); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
	if !strings.Contains(out.String(), "--big-followers") || !strings.Contains(out.String(), "same password") ||
		!strings.Contains(out.String(), "--comments 10000000") || !strings.Contains(out.String(), "reindex") {
		t.Errorf("help:\n%s", out.String())
	}
}
