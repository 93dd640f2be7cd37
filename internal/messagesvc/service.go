// Package messagesvc is the message role: chat between two users.
//
// A conversation is every message between two users, in both directions, ordered
// by create_time: the millisecond the message was accepted, moved on where needed
// so that it strictly increases within the conversation in the order the messages
// were stored (see Store.Insert). Chat reads it in one of two forms (api.md A.3):
//
//   - History (pre_msg_time 0): the newest page of the conversation, returned
//     oldest first. Its next_cursor continues towards OLDER messages, so a client
//     that wants more history asks again with it and gets the page before, again
//     oldest first. The default page is 1,000 messages.
//   - Incoming (pre_msg_time > 0): only the messages the peer sent after
//     pre_msg_time, oldest first; its next_cursor continues towards NEWER ones.
//     The app polls this form about once a second with the create_time of the last
//     message it shows, and appends what it sends itself; leaving the caller's own
//     messages out is what keeps the app from showing them twice.
//
// Cursors are opaque to clients; each names the form it belongs to, and one from
// the other form, or anything else that is not a cursor this package wrote, is an
// InvalidArgument error.
//
// Sends are not idempotent: a message is a new fact each time, so callers must not
// retry them (Kitex clients in mdouyin never retry).
package messagesvc

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/text"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/message"
	"github.com/mdouyin/mdouyin/kitex_gen/relation"
	"github.com/mdouyin/mdouyin/kitex_gen/user"
)

// Limits of the message role.
const (
	// MaxContentLen is the longest message, in Unicode code points (api.md A.3).
	MaxContentLen = 1000
	// DefaultChatPage is the page size of Chat when the request names none
	// (api.md A.1: 1,000 messages).
	DefaultChatPage = 1000
	// MaxChatPage bounds one Chat page; larger counts are clamped to it.
	MaxChatPage = 1000
	// MaxLatestPeers bounds one Latest call: a friend-list page is at most 1,000
	// users.
	MaxLatestPeers = 1000
)

// Options are the settings of the message role.
type Options struct {
	// RequireFriends allows messages only between users who follow each other
	// (setting message.require_friends).
	RequireFriends bool
}

// Service implements the message role.
type Service struct {
	store     Store
	ids       *idgen.Generator
	users     user.UserService
	relations relation.RelationService
	opts      Options
	now       func() time.Time
}

var _ message.MessageService = (*Service)(nil)

// New returns the message service. users confirms that the people in a chat
// exist; relations is asked about follows only when opts.RequireFriends is set.
func New(store Store, ids *idgen.Generator, users user.UserService, relations relation.RelationService, opts Options) *Service {
	return &Service{store: store, ids: ids, users: users, relations: relations, opts: opts, now: time.Now}
}

var (
	errNotFriends    = errs.New(base.ErrCode_MessageNotFriends, "you can only send messages to friends (users you follow who follow you back)")
	errPeerNotFound  = errs.New(base.ErrCode_UserNotFound, "the user you are chatting with does not exist")
	errSelf          = errs.InvalidArgument("you cannot chat with yourself")
	errBadPeer       = errs.InvalidArgument("to_user_id is not a valid user id")
	errBadCursor     = errs.InvalidArgument("cursor is not valid for this chat")
	errBadPreMsgTime = errs.InvalidArgument("pre_msg_time must not be negative")
)

// Send stores a message from req.FromUserId to req.ToUserId and returns it with
// its id and create_time. Both users must exist and differ; with RequireFriends
// they must follow each other. Nothing is written unless every check passes.
func (s *Service) Send(ctx context.Context, req *message.SendRequest) (*message.SendResponse, error) {
	from, to, content := req.GetFromUserId(), req.GetToUserId(), req.GetContent()
	if err := checkPair(from, to); err != nil {
		return nil, err
	}
	if err := checkContent(content); err != nil {
		return nil, err
	}
	profiles, err := s.users.GetProfiles(ctx, &user.GetProfilesRequest{UserIds: []int64{from, to}})
	if err != nil {
		return nil, err
	}
	if _, ok := profiles.GetProfiles()[from]; !ok {
		// A signed token for an account that is gone (a reset database, say).
		return nil, errs.ErrUnauthenticated
	}
	if _, ok := profiles.GetProfiles()[to]; !ok {
		return nil, errPeerNotFound
	}
	if s.opts.RequireFriends {
		friends, err := s.friends(ctx, from, to)
		if err != nil {
			return nil, err
		}
		if !friends {
			return nil, errNotFriends
		}
	}
	id, err := s.ids.Next()
	if err != nil {
		return nil, fmt.Errorf("messagesvc: new id: %w", err)
	}
	m := &Message{ID: id, FromUserID: from, ToUserID: to, Content: content, CreateTime: s.now().UnixMilli()}
	if err := s.store.Insert(ctx, m); err != nil {
		return nil, err
	}
	return &message.SendResponse{Message: toThrift(m)}, nil
}

// friends reports whether a and b follow each other, asking the relation role from
// each side at once.
func (s *Service) friends(ctx context.Context, a, b int64) (bool, error) {
	var aFollows, bFollows bool
	eg, ectx := errgroup.WithContext(ctx)
	// follows asks whether viewer follows target. The generated getters are not
	// nil-safe, hence the explicit checks.
	follows := func(viewer, target int64, out *bool) func() error {
		return func() error {
			r, err := s.relations.UserStats(ectx, &relation.UserStatsRequest{ViewerId: viewer, UserIds: []int64{target}})
			if err != nil {
				return err
			}
			if r != nil && r.Stats[target] != nil {
				*out = r.Stats[target].IsFollow
			}
			return nil
		}
	}
	eg.Go(follows(a, b, &aFollows))
	eg.Go(follows(b, a, &bFollows))
	if err := eg.Wait(); err != nil {
		return false, err
	}
	return aFollows && bFollows, nil
}

// Chat reads one page of the conversation between req.UserId and req.PeerId, in
// the history or incoming form described in the package comment, oldest first.
func (s *Service) Chat(ctx context.Context, req *message.ChatRequest) (*message.ChatResponse, error) {
	me, peer, since := req.GetUserId(), req.GetPeerId(), req.GetPreMsgTime()
	if err := checkPair(me, peer); err != nil {
		return nil, err
	}
	if since < 0 {
		return nil, errBadPreMsgTime
	}
	page := req.GetPage()
	if page == nil {
		page = &base.Page{}
	}
	limit, err := pageSize(page)
	if err != nil {
		return nil, err
	}
	cursor := page.Cursor
	form := formHistory
	if since > 0 {
		form = formIncoming
	}
	var from *Position
	if cursor != "" {
		p, err := decodeCursor(form, cursor)
		if err != nil {
			return nil, err
		}
		from = &p
	}
	profiles, err := s.users.GetProfiles(ctx, &user.GetProfilesRequest{UserIds: []int64{peer}})
	if err != nil {
		return nil, err
	}
	if _, ok := profiles.GetProfiles()[peer]; !ok {
		return nil, errPeerNotFound
	}

	// One more than a page tells whether another page follows.
	var msgs []*Message
	if form == formHistory {
		before := Newest
		if from != nil {
			before = *from
		}
		if msgs, err = s.store.History(ctx, me, peer, before, limit+1); err != nil {
			return nil, err
		}
	} else {
		// Strictly after pre_msg_time: no id is this large, so only later
		// milliseconds qualify.
		after := Position{CreateTime: since, ID: math.MaxInt64}
		if from != nil && after.Less(*from) {
			after = *from
		}
		if msgs, err = s.store.Incoming(ctx, me, peer, after, limit+1); err != nil {
			return nil, err
		}
	}
	info := &base.PageInfo{}
	if len(msgs) > limit {
		msgs = msgs[:limit]
		info.HasMore = true
		// The page ends at its last message read: the oldest for history, the
		// newest for incoming.
		info.NextCursor = encodeCursor(form, positionOf(msgs[limit-1]))
	}
	if form == formHistory {
		slices.Reverse(msgs)
	}
	out := make([]*message.Message, len(msgs))
	for i, m := range msgs {
		out[i] = toThrift(m)
	}
	return &message.ChatResponse{Messages: out, Page: info}, nil
}

// Latest returns the newest message between req.UserId and each of req.PeerIds
// that has exchanged any, keyed by peer; peers without messages are absent. The
// message may go either way: the friend list's msg_type is 1 when its
// from_user_id is req.UserId. It costs one query whatever the number of peers (at
// most MaxLatestPeers).
func (s *Service) Latest(ctx context.Context, req *message.LatestRequest) (*message.LatestResponse, error) {
	me, peers := req.GetUserId(), req.GetPeerIds()
	if !idgen.Valid(me) {
		return nil, errs.InvalidArgument("invalid user id %d", me)
	}
	if len(peers) > MaxLatestPeers {
		return nil, errs.InvalidArgument("at most %d peers per request", MaxLatestPeers)
	}
	for _, p := range peers {
		if !idgen.Valid(p) {
			return nil, errs.InvalidArgument("invalid user id %d", p)
		}
	}
	found, err := s.store.Latest(ctx, me, dedupe(peers))
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*message.Message, len(found))
	for peer, m := range found {
		out[peer] = toThrift(m)
	}
	return &message.LatestResponse{Messages: out}, nil
}

func toThrift(m *Message) *message.Message {
	return &message.Message{Id: m.ID, FromUserId: m.FromUserID, ToUserId: m.ToUserID, Content: m.Content, CreateTime: m.CreateTime}
}

// checkPair validates the two users of a conversation: the caller (from a
// verified token) and the peer the client named.
func checkPair(me, peer int64) error {
	if !idgen.Valid(me) {
		return errs.InvalidArgument("invalid user id %d", me)
	}
	if !idgen.Valid(peer) {
		return errBadPeer
	}
	if me == peer {
		return errSelf
	}
	return nil
}

// checkContent accepts 1 to MaxContentLen code points of valid UTF-8 that are not
// all blank (text.Blank: a message of only white space or invisible characters
// would show as empty). The content is otherwise stored as sent, byte for byte.
func checkContent(content string) error {
	if !utf8.ValidString(content) {
		return errs.New(base.ErrCode_MessageContentInvalid, "the message must be valid UTF-8 text")
	}
	if n := utf8.RuneCountInString(content); n < 1 || n > MaxContentLen {
		return errs.Newf(base.ErrCode_MessageContentInvalid, "the message must be 1-%d characters", MaxContentLen)
	}
	if text.Blank(content) {
		return errs.New(base.ErrCode_MessageContentInvalid, "the message must not be blank")
	}
	return nil
}

// pageSize is the number of messages a Chat page holds: DefaultChatPage when the
// request names none, at most MaxChatPage.
func pageSize(p *base.Page) (int, error) {
	n := p.Count
	switch {
	case n < 0:
		return 0, errs.InvalidArgument("count must be a positive integer")
	case n == 0:
		return DefaultChatPage, nil
	default:
		return int(min(n, MaxChatPage)), nil
	}
}

// form is the reading direction a cursor belongs to.
type form byte

const (
	formHistory  form = 'h' // towards older messages
	formIncoming form = 'i' // towards newer messages from the peer
)

// encodeCursor writes the position a page ended at, tagged with its form, as an
// opaque URL-safe string.
func encodeCursor(f form, p Position) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%c%d.%d", f, p.CreateTime, p.ID))
}

// decodeCursor accepts exactly the strings encodeCursor writes for form f.
// Re-encoding and comparing refuses every other spelling (padding, leading zeros,
// signs), so a cursor is either ours or an error.
func decodeCursor(f form, s string) (Position, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) < 4 || form(raw[0]) != f {
		return Position{}, errBadCursor
	}
	t, id, ok := strings.Cut(string(raw[1:]), ".")
	if !ok {
		return Position{}, errBadCursor
	}
	var p Position
	if p.CreateTime, err = strconv.ParseInt(t, 10, 64); err != nil || p.CreateTime < 0 {
		return Position{}, errBadCursor
	}
	if p.ID, err = strconv.ParseInt(id, 10, 64); err != nil || !idgen.Valid(p.ID) {
		return Position{}, errBadCursor
	}
	if encodeCursor(f, p) != s {
		return Position{}, errBadCursor
	}
	return p, nil
}

func dedupe(ids []int64) []int64 {
	seen := make(map[int64]struct{}, len(ids))
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}
