package obs

import (
	"context"
	"log/slog"
	"testing"

	"github.com/cloudwego/hertz/pkg/common/hlog"
	"github.com/cloudwego/kitex/pkg/klog"
)

// The bridge shares one numbering for both frameworks; this fails if either renumbers.
func TestFrameworkLevelNumbering(t *testing.T) {
	want := []fwLevel{fwTrace, fwDebug, fwInfo, fwNotice, fwWarn, fwError, fwFatal}
	hertz := []hlog.Level{hlog.LevelTrace, hlog.LevelDebug, hlog.LevelInfo, hlog.LevelNotice, hlog.LevelWarn, hlog.LevelError, hlog.LevelFatal}
	kitex := []klog.Level{klog.LevelTrace, klog.LevelDebug, klog.LevelInfo, klog.LevelNotice, klog.LevelWarn, klog.LevelError, klog.LevelFatal}
	for i, w := range want {
		if fwLevel(hertz[i]) != w || fwLevel(kitex[i]) != w {
			t.Errorf("level %d: hlog %d, klog %d, bridge %d", i, hertz[i], kitex[i], w)
		}
	}
}

// frameworkLogger is what hlog.FullLogger and klog.FullLogger have in common, less
// SetLevel, so one table can drive both bridges.
type frameworkLogger interface {
	hlog.Logger
	hlog.FormatLogger
	hlog.CtxLogger
}

func TestBridgeLevels(t *testing.T) {
	type call struct {
		name string
		log  func(frameworkLogger)
	}
	calls := []call{
		{"Trace", func(l frameworkLogger) { l.Trace("m") }},
		{"Debugf", func(l frameworkLogger) { l.Debugf("%s", "m") }},
		{"Info", func(l frameworkLogger) { l.Info("m") }},
		{"Noticef", func(l frameworkLogger) { l.Noticef("%s", "m") }},
		{"CtxWarnf", func(l frameworkLogger) { l.CtxWarnf(context.Background(), "%s", "m") }},
		{"Errorf", func(l frameworkLogger) { l.Errorf("%s", "m") }},
		{"Fatal", func(l frameworkLogger) { l.Fatal("m") }},
	}
	hertzWant := []string{"DEBUG", "DEBUG", "INFO", "INFO", "WARN", "ERROR", "ERROR"}
	kitexWant := []string{"DEBUG", "DEBUG", "DEBUG", "INFO", "WARN", "ERROR", "ERROR"}

	for _, fw := range []struct {
		component string
		make      func(*slog.Logger) frameworkLogger
		want      []string
	}{
		{"hertz", func(l *slog.Logger) frameworkLogger { return newHertzLogger(l) }, hertzWant},
		{"kitex", func(l *slog.Logger) frameworkLogger { return newKitexLogger(l) }, kitexWant},
	} {
		for i, c := range calls {
			sink, l := newSink(slog.LevelDebug)
			c.log(fw.make(l))
			rec := sink.only(t)
			if rec["level"] != fw.want[i] || rec["msg"] != "m" || rec["component"] != fw.component {
				t.Errorf("%s %s: record %v, want level %s, msg m, component %s", fw.component, c.name, rec, fw.want[i], fw.component)
			}
			if _, fatal := rec["fatal"]; fatal != (c.name == "Fatal") {
				t.Errorf("%s %s: fatal attribute present = %v", fw.component, c.name, fatal)
			}
		}
	}
}

func TestBridgeRespectsLevels(t *testing.T) {
	// The slog handler's level filters bridged records like any other.
	sink, l := newSink(slog.LevelInfo)
	k := newKitexLogger(l)
	k.Infof("KITEX: server listen at addr=%s", "[::]:8888") // Debug after mapping
	k.Warn("kept")
	if rec := sink.only(t); rec["msg"] != "kept" {
		t.Errorf("record %v, want only the warning", rec)
	}

	// SetLevel through the framework's API raises a floor of its own.
	sink, l = newSink(slog.LevelDebug)
	h := newHertzLogger(l)
	h.SetLevel(hlog.LevelError)
	h.Warnf("dropped")
	h.Error("kept", " too")
	if rec := sink.only(t); rec["msg"] != "kept too" {
		t.Errorf("record %v, want only the error", rec)
	}
}

// TestInstallFrameworkLoggers goes through the frameworks' package-level functions, as
// their own code does. It swaps process-wide loggers, so it must not run in parallel.
func TestInstallFrameworkLoggers(t *testing.T) {
	prevH, prevK := hlog.DefaultLogger(), klog.DefaultLogger()
	t.Cleanup(func() {
		hlog.SetLogger(prevH)
		klog.SetLogger(prevK)
	})
	sink, l := newSink(slog.LevelDebug)
	InstallFrameworkLoggers(l)

	hlog.Infof("hello %d", 1)
	hlog.SystemLogger().Warnf("engine %s", "note")
	klog.Warnf("retry %s", "later")
	klog.CtxInfof(context.Background(), "stream reset")
	hlog.Fatalf("not %s", "fatal") // Returning here at all shows the bridge does not exit.

	want := []struct{ level, msg, component string }{
		{"INFO", "hello 1", "hertz"},
		{"WARN", "HERTZ: engine note", "hertz"},
		{"WARN", "retry later", "kitex"},
		{"DEBUG", "stream reset", "kitex"},
		{"ERROR", "not fatal", "hertz"},
	}
	recs := sink.records(t)
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d: %v", len(recs), len(want), recs)
	}
	for i, w := range want {
		r := recs[i]
		if r["level"] != w.level || r["msg"] != w.msg || r["component"] != w.component {
			t.Errorf("record %d = %v, want %+v", i, r, w)
		}
	}
}
