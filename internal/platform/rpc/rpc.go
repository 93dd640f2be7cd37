// Package rpc holds the Kitex settings every role shares, so that servers and
// clients agree on transport, business errors cross process boundaries intact,
// and traces continue from caller to callee.
package rpc

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/connpool"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/pkg/transmeta"
	"github.com/cloudwego/kitex/server"
	"github.com/cloudwego/kitex/transport"

	"github.com/mdouyin/mdouyin/internal/platform/obs"
)

// ServerOptions are the options of a role's Kitex server on ln. TTHeader carries
// business status errors (errs.Error) to the caller, and the caller's trace
// context in, so each call is a server span of the caller's trace (see
// obs.StartTracing; a no-op while tracing is off). The server stops, draining
// calls in flight, when ctx ends; signals are the caller's business, not Kitex's.
func ServerOptions(ctx context.Context, role string, ln net.Listener) []server.Option {
	return []server.Option{
		server.WithListener(ln),
		server.WithExitSignal(func() <-chan error {
			ch := make(chan error, 1)
			go func() { <-ctx.Done(); ch <- nil }()
			return ch
		}),
		server.WithMetaHandler(transmeta.ServerTTHeaderHandler),
		server.WithServerBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: role}),
		server.WithExitWaitTime(5 * time.Second),
		server.WithMiddleware(obs.KitexServerTracing()),
	}
}

// Listen opens the TCP listener of a role's Kitex server.
func Listen(role, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("rpc: %s cannot listen on %q: %w", role, addr, err)
	}
	return ln, nil
}

// ClientOptions are the options of a Kitex client that reaches role at the given
// static addresses. Kitex does not retry failed calls unless asked, and we never
// ask for non-idempotent ones.
func ClientOptions(role string, addrs []string, timeout time.Duration) []client.Option {
	return append(BaseClientOptions(),
		client.WithHostPorts(addrs...),
		client.WithRPCTimeout(timeout),
		client.WithConnectTimeout(timeout),
	)
}

// Pool is the long-connection pool every client keeps per server address.
// Kitex's default keeps at most 10 idle connections per address and 100 in
// all: a gateway with more calls than that in flight to one role (64
// concurrent app requests each make several) closes every connection past
// the tenth as its call returns and dials a new one for the next call, so
// under load most calls paid for a TCP connection. The pool keeps as many as
// the load has needed, up to MaxIdlePerAddress, for a minute of idleness.
var Pool = connpool.IdleConfig{
	MinIdlePerAddress: 2,
	MaxIdlePerAddress: 256,
	MaxIdleGlobal:     4096,
	MaxIdleTimeout:    time.Minute,
}

// BaseClientOptions are what every client needs whatever finds its servers
// (static addresses, or discovery): the transport that carries business errors,
// the connection pool, and a client span per attempt whose context travels to
// the server, so a call retried on another replica shows each try.
func BaseClientOptions() []client.Option {
	return []client.Option{
		client.WithLongConnection(Pool),
		client.WithTransportProtocol(transport.TTHeaderFramed),
		client.WithMetaHandler(transmeta.ClientTTHeaderHandler),
		client.WithClientBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: "mdouyin"}),
		client.WithMiddleware(obs.KitexClientTracing()),
	}
}
