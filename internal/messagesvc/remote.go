package messagesvc

import (
	"context"

	"github.com/mdouyin/mdouyin/kitex_gen/message"
	"github.com/mdouyin/mdouyin/kitex_gen/message/messageservice"
)

// Remote is the message service behind a Kitex client: the same interface as
// *Service, for processes that do not run the message role themselves.
type Remote struct {
	c messageservice.Client
}

var _ message.MessageService = (*Remote)(nil)

// NewRemote wraps a Kitex client of the message role.
func NewRemote(c messageservice.Client) *Remote { return &Remote{c: c} }

func (r *Remote) Send(ctx context.Context, req *message.SendRequest) (*message.SendResponse, error) {
	return r.c.Send(ctx, req)
}

func (r *Remote) Chat(ctx context.Context, req *message.ChatRequest) (*message.ChatResponse, error) {
	return r.c.Chat(ctx, req)
}

func (r *Remote) Latest(ctx context.Context, req *message.LatestRequest) (*message.LatestResponse, error) {
	return r.c.Latest(ctx, req)
}
