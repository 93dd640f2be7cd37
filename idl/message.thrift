// message.thrift: chat between two users.
include "base.thrift"
namespace go message

struct Message {
    1: i64 id,
    2: i64 from_user_id,
    3: i64 to_user_id,
    4: string content,
    5: i64 create_time,    // epoch milliseconds
}

struct SendRequest {
    1: i64 from_user_id,
    2: i64 to_user_id,
    3: string content,
}

struct SendResponse {
    1: Message message,
}

// ChatRequest reads the conversation between user_id and peer_id, oldest first.
// With pre_msg_time > 0 only messages from peer_id newer than it are returned.
struct ChatRequest {
    1: i64 user_id,
    2: i64 peer_id,
    3: i64 pre_msg_time,   // epoch ms
    4: base.Page page,
}

struct ChatResponse {
    1: list<Message> messages,
    2: base.PageInfo page,
}

// LatestRequest asks for the newest message between user_id and each peer.
struct LatestRequest {
    1: i64 user_id,
    2: list<i64> peer_ids,
}

struct LatestResponse {
    1: map<i64, Message> messages,
}

service MessageService {
    SendResponse Send(1: SendRequest req),
    ChatResponse Chat(1: ChatRequest req),
    LatestResponse Latest(1: LatestRequest req),
}
