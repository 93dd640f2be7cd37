package mq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// EmbeddedOptions configures a NATS server running inside this process.
type EmbeddedOptions struct {
	// StoreDir holds the JetStream file store. Streams and consumer positions
	// survive a restart that reuses the same directory. Required.
	StoreDir string

	// Listen is the host:port of a TCP listener for other processes (for
	// example "127.0.0.1:4222", or "127.0.0.1:0" for a free port). Empty means
	// no listener at all: only this process connects, in memory. The listener
	// has no authentication, so bind it to loopback or a trusted network.
	Listen string

	// SyncAlways makes the server fsync every write before acknowledging it,
	// so acknowledged messages also survive a power cut or kernel crash, at a
	// large cost in publish latency. Without it, acknowledged messages are
	// already written to the operating system before the ack (a kill -9 of
	// this process loses nothing) and fsynced every second (see
	// embeddedSyncInterval), which bounds what a machine crash can lose.
	SyncAlways bool

	// Logger receives the server's warnings and errors; its notices go out at
	// debug level. Nil means slog.Default().
	Logger *slog.Logger
}

// embeddedSyncInterval is how often the embedded server fsyncs its store when
// SyncAlways is off. The server's own default is two minutes, a long window
// to lose on a power cut; one second costs little with our write rates.
const embeddedSyncInterval = time.Second

// Embedded is a NATS server with JetStream running in this process. It lets
// the single-process placement use the same event bus as a cluster without
// anything else to install or start.
type Embedded struct {
	srv    *server.Server
	listen bool
	log    *slog.Logger
}

// StartEmbedded starts a NATS server with JetStream file storage under
// o.StoreDir and returns once it accepts connections, recovered streams
// included. It fails if ctx ends first or the server cannot start (for
// example when the listen address is taken).
func StartEmbedded(ctx context.Context, o EmbeddedOptions) (*Embedded, error) {
	if o.StoreDir == "" {
		return nil, errors.New("mq: embedded server needs a StoreDir")
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	opts := &server.Options{
		ServerName: "mdouyin-embedded",
		JetStream:  true,
		StoreDir:   o.StoreDir,
		// Flush-in-place (the server's default for a single replica) writes
		// each message to the file before the ack; SyncAlways adds an fsync.
		SyncAlways:   o.SyncAlways,
		SyncInterval: embeddedSyncInterval,
		// The host process owns signals; the server must not exit on SIGTERM
		// behind the application's graceful shutdown.
		NoSigs: true,
	}
	if o.Listen == "" {
		opts.DontListen = true
	} else {
		host, portStr, err := net.SplitHostPort(o.Listen)
		if err != nil {
			return nil, fmt.Errorf("mq: embedded listen address %q: %w", o.Listen, err)
		}
		port, err := strconv.Atoi(portStr)
		if err != nil || port < 0 || port > 65535 {
			return nil, fmt.Errorf("mq: embedded listen address %q: bad port", o.Listen)
		}
		if port == 0 {
			// Port 0 means "the default 4222" to nats-server; we mean "any".
			port = server.RANDOM_PORT
		}
		opts.Host, opts.Port = host, port
	}

	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("mq: embedded server: %w", err)
	}
	sl := &serverLogger{log: log.With("component", "nats-server"), fatal: make(chan string, 1)}
	srv.SetLogger(sl, log.Enabled(ctx, slog.LevelDebug), false)
	srv.Start()

	e := &Embedded{srv: srv, listen: !opts.DontListen, log: log}
	if err := e.waitReady(ctx, sl.fatal); err != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, err
	}
	return e, nil
}

// waitReady polls until the server accepts connections with JetStream up.
// Start reports failures only through the logger's Fatalf, so a fatal log
// line ends the wait with that message instead of a timeout.
func (e *Embedded) waitReady(ctx context.Context, fatal <-chan string) error {
	const step = 50 * time.Millisecond
	for {
		if e.srv.ReadyForConnections(step) && e.srv.JetStreamEnabled() {
			return nil
		}
		select {
		case msg := <-fatal:
			return fmt.Errorf("mq: embedded server failed to start: %s", msg)
		case <-ctx.Done():
			return fmt.Errorf("mq: embedded server not ready: %w", ctx.Err())
		default:
		}
	}
}

// ClientURL returns the URL other processes connect to, or "" when the
// server was started without a listener.
func (e *Embedded) ClientURL() string {
	if !e.listen {
		return ""
	}
	return e.srv.ClientURL()
}

// Connect returns a Bus connected to this server through memory, not TCP, so
// it works with or without a listener and costs no socket.
func (e *Embedded) Connect(ctx context.Context, opts ...Option) (*Bus, error) {
	return connect(ctx, "", append([]Option{withNATSOptions(nats.InProcessServer(e.srv))}, opts...)...)
}

// Shutdown stops the server and waits until it has stopped, store closed.
// Buses connected to it should be closed first; otherwise they keep trying to
// reconnect.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

// serverLogger bridges nats-server's printf-style logger to slog. Notices are
// routine start-up chatter, so they go to debug; warnings and errors keep
// their level. Fatalf must not exit the process (the server's own logger
// does): it is logged and handed to StartEmbedded as the start error.
type serverLogger struct {
	log   *slog.Logger
	fatal chan string
}

func (l *serverLogger) Noticef(format string, v ...any) { l.logf(slog.LevelDebug, format, v) }
func (l *serverLogger) Warnf(format string, v ...any)   { l.logf(slog.LevelWarn, format, v) }
func (l *serverLogger) Errorf(format string, v ...any)  { l.logf(slog.LevelError, format, v) }
func (l *serverLogger) Debugf(format string, v ...any)  { l.logf(slog.LevelDebug, format, v) }
func (l *serverLogger) Tracef(format string, v ...any)  { l.logf(slog.LevelDebug, format, v) }

func (l *serverLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.log.Error(msg)
	select {
	case l.fatal <- msg:
	default: // Only the first fatal error is reported.
	}
}

func (l *serverLogger) logf(level slog.Level, format string, v []any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.log.Log(context.Background(), level, fmt.Sprintf(format, v...))
}
