package messagesvc

import (
	"context"
	"math"
)

// Message is one stored chat message from FromUserID to ToUserID. CreateTime is
// epoch ms; Content is kept byte for byte as it was sent.
type Message struct {
	ID         int64
	FromUserID int64
	ToUserID   int64
	Content    string
	CreateTime int64
}

// Position is a place in a conversation. Conversations are ordered by
// (CreateTime, ID): the time the reader sees, then the unique id. Insert never
// gives two messages of one conversation the same time, but the id still breaks
// ties in rows written any other way, so paging can never repeat or skip one.
type Position struct {
	CreateTime int64
	ID         int64
}

// Less reports whether p comes before q in a conversation.
func (p Position) Less(q Position) bool {
	return p.CreateTime < q.CreateTime || p.CreateTime == q.CreateTime && p.ID < q.ID
}

// Newest is a position after every message: History from it starts at the most
// recent message.
var Newest = Position{CreateTime: math.MaxInt64, ID: math.MaxInt64}

// positionOf returns the place of m in its conversation.
func positionOf(m *Message) Position { return Position{CreateTime: m.CreateTime, ID: m.ID} }

// Store keeps messages. It is defined here, where it is used; store_sql.go
// implements it.
//
// Messages are grouped by conversation, the unordered pair of their two users, so
// that both directions of a chat are one indexed range; each conversation also
// remembers its newest message, written in the same transaction as the message, so
// that the newest message of many conversations at once is a key lookup per
// conversation.
type Store interface {
	// Insert stores m, which has a new id, as its conversation's newest message.
	// m.CreateTime is the time proposed (the sender's clock); Insert stores, and
	// sets m.CreateTime to, the later of it and one millisecond after the
	// conversation's newest message. So within a conversation create_time strictly
	// increases in commit order, whatever the clocks of the nodes that accepted the
	// messages: a reader that has seen a message at time t and asks for those after
	// t never misses one committed later.
	Insert(ctx context.Context, m *Message) error
	// History returns up to limit messages between users a and b (either
	// direction) strictly before `before`, newest first.
	History(ctx context.Context, a, b int64, before Position, limit int) ([]*Message, error)
	// Incoming returns up to limit messages sent by from to to strictly after
	// `after`, oldest first.
	Incoming(ctx context.Context, to, from int64, after Position, limit int) ([]*Message, error)
	// Latest returns, for each peer that has a conversation with user, the newest
	// message between them (in either direction), keyed by peer.
	Latest(ctx context.Context, user int64, peers []int64) (map[int64]*Message, error)
}

// conversation returns the key of the conversation between users a and b: the
// smaller id first, so both directions share it.
func conversation(a, b int64) (lo, hi int64) {
	if a < b {
		return a, b
	}
	return b, a
}
