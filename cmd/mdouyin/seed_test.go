package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
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
	env := map[string]string{"MDOUYIN_DATA_DIR": t.TempDir(), "MDOUYIN_PASSWORD_MEMORY_KIB": "1024"}
	getenv := func(k string) string { return env[k] }
	args := []string{"seed", "--users", "40", "--follows", "300", "--videos", "20", "--likes", "100",
		"--messages", "30", "--big-authors", "1", "--big-followers", "30", "--author-followers", "12,5", "--months", "1", "--seed", "7"}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, getenv, &out, &errOut); err != nil {
		t.Fatalf("seed: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"seeded 40 users, 300 follows", "20 videos, 100 likes, 30 messages", `"seed-password"`,
		"inbox entries of", "pull threshold 10000, inbox size 1000", ") has 12 followers\n", ") has 5 followers\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errOut.String(), "follows   300/300 (100%)") {
		t.Errorf("no progress on stderr:\n%s", errOut.String())
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
	if !strings.Contains(out.String(), "--big-followers") || !strings.Contains(out.String(), "same password") {
		t.Errorf("help:\n%s", out.String())
	}
}
