// Package messagesvc is the message role: chat between two users.
//
// Until its issue lands, the methods answer errs.ErrNotImplemented, except the
// statistics that other routes join into their answers: nothing can have been
// recorded yet, so those are truthfully zero.
package messagesvc

import (
	"context"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/message"
)

// Service implements the message role.
type Service struct{}

var _ message.MessageService = (*Service)(nil)

// New returns the message service.
func New() *Service { return &Service{} }

func (s *Service) Send(ctx context.Context, req *message.SendRequest) (*message.SendResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (s *Service) Chat(ctx context.Context, req *message.ChatRequest) (*message.ChatResponse, error) {
	return nil, errs.ErrNotImplemented
}

func (s *Service) Latest(ctx context.Context, req *message.LatestRequest) (*message.LatestResponse, error) {
	return nil, errs.ErrNotImplemented
}
