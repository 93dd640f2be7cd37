// Package rpc holds the Kitex settings every role shares, so that servers and
// clients agree on transport and business errors cross process boundaries intact.
package rpc

import (
	"fmt"
	"net"
	"time"

	"github.com/cloudwego/kitex/client"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/pkg/transmeta"
	"github.com/cloudwego/kitex/server"
	"github.com/cloudwego/kitex/transport"
)

// ServerOptions are the options of a role's Kitex server listening on addr. TTHeader
// carries business status errors (errs.Error) to the caller.
func ServerOptions(role, addr string) ([]server.Option, error) {
	tcp, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("rpc: %s listen address %q: %w", role, addr, err)
	}
	return []server.Option{
		server.WithServiceAddr(tcp),
		server.WithMetaHandler(transmeta.ServerTTHeaderHandler),
		server.WithServerBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: role}),
		server.WithExitWaitTime(5 * time.Second),
	}, nil
}

// ClientOptions are the options of a Kitex client that reaches role at the given
// static addresses. Kitex does not retry failed calls unless asked, and we never
// ask for non-idempotent ones.
func ClientOptions(role string, addrs []string, timeout time.Duration) []client.Option {
	return []client.Option{
		client.WithHostPorts(addrs...),
		client.WithTransportProtocol(transport.TTHeaderFramed),
		client.WithMetaHandler(transmeta.ClientTTHeaderHandler),
		client.WithRPCTimeout(timeout),
		client.WithConnectTimeout(timeout),
		client.WithClientBasicInfo(&rpcinfo.EndpointBasicInfo{ServiceName: "mdouyin"}),
	}
}
