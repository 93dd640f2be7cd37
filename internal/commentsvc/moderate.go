package commentsvc

import (
	"context"
	"slices"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// The moderators' side of the role: the comment-admin role reads comments in any
// state and moves them between states through these methods, so that the counts,
// caches and events of a review follow exactly as for a user's delete.

// MaxScan bounds one Scan page.
const MaxScan = 1000

func validState(s comment.CommentState) bool {
	return s >= comment.CommentState_Visible && s <= comment.CommentState_Deleted
}

// Moderate moves a comment to req.To if its current state is one of req.From,
// re-reading it from the database under lock (a search index may lag); any other
// current state is a Conflict. A comment already in req.To is left unchanged.
func (s *Service) Moderate(ctx context.Context, req *comment.ModerateRequest) (*comment.ModerateResponse, error) {
	id, to, from := req.GetCommentId(), req.GetTo(), req.GetFrom()
	if !idgen.Valid(id) {
		return nil, errs.InvalidArgument("invalid comment id %d", id)
	}
	if !validState(to) {
		return nil, errs.InvalidArgument("invalid target state %d", to)
	}
	for _, f := range from {
		if !validState(f) {
			return nil, errs.InvalidArgument("invalid source state %d", f)
		}
	}
	before, err := s.SetState(ctx, id, to, func(cur comment.CommentState) bool { return slices.Contains(from, cur) })
	if err != nil {
		return nil, err
	}
	rows, err := s.store.Rows(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	after := rows[id]
	return &comment.ModerateResponse{FromState: before.State, ToState: after.State, Comment: toComment(after, nil)}, nil
}

// Get returns comments in any state; unknown ids are left out.
func (s *Service) Get(ctx context.Context, req *comment.GetRequest) (*comment.GetResponse, error) {
	ids := req.GetCommentIds()
	if len(ids) > MaxBatch {
		return nil, errs.InvalidArgument("at most %d comments per request", MaxBatch)
	}
	for _, id := range ids {
		if !idgen.Valid(id) {
			return nil, errs.InvalidArgument("invalid comment id %d", id)
		}
	}
	rows, err := s.store.Rows(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*comment.Comment, len(rows))
	for id, r := range rows {
		out[id] = toComment(r, nil)
	}
	return &comment.GetResponse{Comments: out}, nil
}

// Scan pages through every comment in id order, for rebuilding a search index.
func (s *Service) Scan(ctx context.Context, req *comment.ScanRequest) (*comment.ScanResponse, error) {
	after, limit := req.GetAfterId(), int(req.GetLimit())
	if after < 0 {
		return nil, errs.InvalidArgument("after_id must not be negative")
	}
	if limit <= 0 || limit > MaxScan {
		limit = MaxScan
	}
	rows, err := s.store.Scan(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*comment.Comment, len(rows))
	for i, r := range rows {
		out[i] = toComment(r, nil)
	}
	resp := &comment.ScanResponse{Comments: out}
	if after == 0 {
		if resp.Total, err = s.store.Total(ctx); err != nil {
			return nil, err
		}
	}
	return resp, nil
}
