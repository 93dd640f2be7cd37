package obs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/cloudwego/hertz/pkg/common/hlog"
	"github.com/cloudwego/kitex/pkg/klog"
)

// InstallFrameworkLoggers makes Hertz (hlog, both its default and its system logger)
// and Kitex (klog) write through l, so a process has one log stream with one format
// and one level instead of three. Both frameworks keep their logger in a package
// variable that is not safe to replace concurrently, so call this once, early in main,
// before any server or client is built.
//
// The frameworks' seven levels fold onto slog's four: Trace and Debug become Debug,
// Warn stays Warn, Error and Fatal become Error. Info and Notice become Info for Hertz;
// for Kitex, Info becomes Debug and Notice Info, because Kitex logs routine transport
// events (streams reset, connections closed, the listen address) at Info and would
// otherwise drown the service's own messages.
//
// Fatal does not end the process. Neither interface asks it to: the exit lives in the
// frameworks' default loggers, not in hlog.FullLogger or klog.FullLogger. The
// frameworks' own Fatal calls are for conditions they carry on from (an unknown
// protocol factory type, a failed CPU-time read), and a library must not be able to
// skip our graceful shutdown, so the record is logged at Error with fatal=true and
// control returns to the caller.
func InstallFrameworkLoggers(l *slog.Logger) {
	hlog.SetLogger(newHertzLogger(l))
	klog.SetLogger(newKitexLogger(l))
}

// fwLevel is a framework log level. hlog.Level and klog.Level are distinct types with
// the same numbering, Trace = 0 through Fatal = 6, which the bridge shares.
type fwLevel int

const (
	fwTrace fwLevel = iota
	fwDebug
	fwInfo
	fwNotice
	fwWarn
	fwError
	fwFatal
)

// hertzLevel maps Hertz's levels to slog's.
func hertzLevel(fl fwLevel) slog.Level {
	switch fl {
	case fwTrace, fwDebug:
		return slog.LevelDebug
	case fwInfo, fwNotice:
		return slog.LevelInfo
	case fwWarn:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

// kitexLevel maps Kitex's levels to slog's; Info is demoted, see InstallFrameworkLoggers.
func kitexLevel(fl fwLevel) slog.Level {
	switch fl {
	case fwTrace, fwDebug, fwInfo:
		return slog.LevelDebug
	case fwNotice:
		return slog.LevelInfo
	case fwWarn:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

// bridge forwards a framework's leveled, printf-style logging to a slog.Logger. The
// Hertz and Kitex interfaces differ only in the Level type of SetLevel, so hertzLogger
// and kitexLogger embed one bridge and add that method.
type bridge struct {
	l      *slog.Logger
	levels func(fwLevel) slog.Level
	// floor is the framework level below which records are dropped, set through the
	// frameworks' SetLevel. It starts at Trace so that the slog handler's level alone
	// decides, as configured.
	floor atomic.Int32
}

func newBridge(l *slog.Logger, component string, levels func(fwLevel) slog.Level) *bridge {
	return &bridge{l: l.With("component", component), levels: levels}
}

// level reports the slog level for fl, and whether a record at fl would be written at
// all, so that disabled records are never formatted.
func (b *bridge) level(ctx context.Context, fl fwLevel) (slog.Level, bool) {
	if int32(fl) < b.floor.Load() {
		return 0, false
	}
	lvl := b.levels(fl)
	return lvl, b.l.Enabled(ctx, lvl)
}

func (b *bridge) emit(ctx context.Context, fl fwLevel, lvl slog.Level, msg string) {
	msg = strings.TrimRight(msg, "\n")
	if fl == fwFatal {
		b.l.Log(ctx, lvl, msg, "fatal", true)
		return
	}
	b.l.Log(ctx, lvl, msg)
}

func (b *bridge) print(ctx context.Context, fl fwLevel, v []any) {
	if lvl, ok := b.level(ctx, fl); ok {
		b.emit(ctx, fl, lvl, fmt.Sprint(v...))
	}
}

func (b *bridge) printf(ctx context.Context, fl fwLevel, format string, v []any) {
	if lvl, ok := b.level(ctx, fl); ok {
		b.emit(ctx, fl, lvl, fmt.Sprintf(format, v...))
	}
}

func (b *bridge) setFloor(fl fwLevel) { b.floor.Store(int32(fl)) }

// SetOutput is ignored: where records go is the slog handler's business, and a
// framework or library calling hlog.SetOutput or klog.SetOutput must not divert the
// process's logs.
func (b *bridge) SetOutput(io.Writer) {}

func (b *bridge) Trace(v ...any)  { b.print(context.Background(), fwTrace, v) }
func (b *bridge) Debug(v ...any)  { b.print(context.Background(), fwDebug, v) }
func (b *bridge) Info(v ...any)   { b.print(context.Background(), fwInfo, v) }
func (b *bridge) Notice(v ...any) { b.print(context.Background(), fwNotice, v) }
func (b *bridge) Warn(v ...any)   { b.print(context.Background(), fwWarn, v) }
func (b *bridge) Error(v ...any)  { b.print(context.Background(), fwError, v) }
func (b *bridge) Fatal(v ...any)  { b.print(context.Background(), fwFatal, v) }

func (b *bridge) Tracef(format string, v ...any) {
	b.printf(context.Background(), fwTrace, format, v)
}
func (b *bridge) Debugf(format string, v ...any) {
	b.printf(context.Background(), fwDebug, format, v)
}
func (b *bridge) Infof(format string, v ...any) {
	b.printf(context.Background(), fwInfo, format, v)
}
func (b *bridge) Noticef(format string, v ...any) {
	b.printf(context.Background(), fwNotice, format, v)
}
func (b *bridge) Warnf(format string, v ...any) {
	b.printf(context.Background(), fwWarn, format, v)
}
func (b *bridge) Errorf(format string, v ...any) {
	b.printf(context.Background(), fwError, format, v)
}
func (b *bridge) Fatalf(format string, v ...any) {
	b.printf(context.Background(), fwFatal, format, v)
}

func (b *bridge) CtxTracef(ctx context.Context, format string, v ...any) {
	b.printf(ctx, fwTrace, format, v)
}
func (b *bridge) CtxDebugf(ctx context.Context, format string, v ...any) {
	b.printf(ctx, fwDebug, format, v)
}
func (b *bridge) CtxInfof(ctx context.Context, format string, v ...any) {
	b.printf(ctx, fwInfo, format, v)
}
func (b *bridge) CtxNoticef(ctx context.Context, format string, v ...any) {
	b.printf(ctx, fwNotice, format, v)
}
func (b *bridge) CtxWarnf(ctx context.Context, format string, v ...any) {
	b.printf(ctx, fwWarn, format, v)
}
func (b *bridge) CtxErrorf(ctx context.Context, format string, v ...any) {
	b.printf(ctx, fwError, format, v)
}
func (b *bridge) CtxFatalf(ctx context.Context, format string, v ...any) {
	b.printf(ctx, fwFatal, format, v)
}

// hertzLogger is the hlog.FullLogger that InstallFrameworkLoggers installs.
type hertzLogger struct{ *bridge }

var _ hlog.FullLogger = hertzLogger{}

func newHertzLogger(l *slog.Logger) hertzLogger {
	return hertzLogger{newBridge(l, "hertz", hertzLevel)}
}

// SetLevel raises or lowers the framework-side floor, for code that calls hlog.SetLevel.
func (h hertzLogger) SetLevel(lv hlog.Level) { h.setFloor(fwLevel(lv)) }

// kitexLogger is the klog.FullLogger that InstallFrameworkLoggers installs.
type kitexLogger struct{ *bridge }

var _ klog.FullLogger = kitexLogger{}

func newKitexLogger(l *slog.Logger) kitexLogger {
	return kitexLogger{newBridge(l, "kitex", kitexLevel)}
}

// SetLevel raises or lowers the framework-side floor, for code that calls klog.SetLevel.
func (k kitexLogger) SetLevel(lv klog.Level) { k.setFloor(fwLevel(lv)) }
