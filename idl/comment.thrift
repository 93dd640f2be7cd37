// comment.thrift: the comment platform of seed 004 (comment-service and comment-job)
// and its operations back office (comment-admin).
include "base.thrift"
namespace go comment

// CommentState is the moderation state of a comment. Only visible comments are
// counted and shown to everyone; a pending comment is shown to its author alone.
enum CommentState {
    Visible = 1,
    Pending = 2,
    Rejected = 3,
    Deleted = 4,
}

struct Comment {
    1: i64 id,
    2: i64 video_id,
    3: i64 user_id,
    4: string content,
    5: i64 create_time,        // epoch milliseconds
    6: i64 root_id,
    7: i64 parent_id,
    8: i64 floor,
    9: i64 like_count,
    10: bool is_liked,
    11: i64 reply_count,
    12: list<Comment> replies,
    13: bool is_pinned,
    14: CommentState state,
    15: string user_name,        // filled by comment-admin search only
    16: i64 version,             // grows with every change of the comment (moderation reads)
}

struct PublishRequest {
    1: i64 user_id,
    2: i64 video_id,
    3: string content,
    4: i64 parent_id,          // 0: a top-level comment
}

struct PublishResponse {
    1: Comment comment,
}

struct DeleteRequest {
    1: i64 user_id,
    2: i64 comment_id,
}

struct DeleteResponse {}

struct ListRequest {
    1: i64 viewer_id,          // 0: anonymous
    2: i64 video_id,
    3: i64 root_id,            // > 0: list that thread's replies
    4: string sort,            // "time" or "hot"
    5: base.Page page,
}

struct ListResponse {
    1: list<Comment> comments,
    2: base.PageInfo page,
}

struct LikeRequest {
    1: i64 user_id,
    2: i64 comment_id,
    3: bool like,
}

struct LikeResponse {}

struct PinRequest {
    1: i64 user_id,
    2: i64 video_id,
    3: i64 comment_id,
    4: bool pin,
}

struct PinResponse {}

struct VideoCountsRequest {
    1: list<i64> video_ids,
}

// VideoCountsResponse maps each video to its visible comments, replies included.
struct VideoCountsResponse {
    1: map<i64, i64> counts,
}

// ModerateRequest moves a comment to state `to` if it is in one of `from`; a
// comment already in `to` is left as it is. The comment-admin role's review
// actions come here, so that every count, cache and event follows as for a
// user's delete.
struct ModerateRequest {
    1: i64 comment_id,
    2: CommentState to,
    3: list<CommentState> from,
}

struct ModerateResponse {
    1: CommentState from_state,
    2: CommentState to_state,
    3: Comment comment,        // after the change
}

// GetRequest reads comments in any state, for moderators; unknown ids are left out.
struct GetRequest {
    1: list<i64> comment_ids,
}

struct GetResponse {
    1: map<i64, Comment> comments,
}

// ScanRequest pages through every comment in id order, for rebuilding the search
// index.
struct ScanRequest {
    1: i64 after_id,
    2: i32 limit,
}

struct ScanResponse {
    1: list<Comment> comments,
    2: i64 total,              // with after_id 0: how many comments there are
}

service CommentService {
    PublishResponse Publish(1: PublishRequest req),
    DeleteResponse Delete(1: DeleteRequest req),
    ListResponse List(1: ListRequest req),
    LikeResponse Like(1: LikeRequest req),
    PinResponse Pin(1: PinRequest req),
    VideoCountsResponse VideoCounts(1: VideoCountsRequest req),
    ModerateResponse Moderate(1: ModerateRequest req),
    GetResponse Get(1: GetRequest req),
    ScanResponse Scan(1: ScanRequest req),
}

// SearchRequest filters comments for moderators; zero values leave a filter out.
struct SearchRequest {
    1: string q,
    2: i64 video_id,
    3: i64 user_id,
    4: CommentState state,     // 0: every state
    5: i64 from_time,          // epoch ms, inclusive
    6: i64 to_time,            // epoch ms, exclusive
    7: i32 offset,
    8: i32 limit,
    9: i64 root_id,            // 0: any thread
}

struct SearchResponse {
    1: i64 total,
    2: list<Comment> items,
}

// ReviewAction moves a comment between moderation states.
enum ReviewAction {
    Approve = 1,
    Reject = 2,
    Delete = 3,
    Restore = 4,
}

struct ReviewRequest {
    1: string admin,
    2: i64 comment_id,
    3: ReviewAction action,
}

struct ReviewResponse {
    1: CommentState from_state,
    2: CommentState to_state,
}

// DetailRequest asks for a comment with its whole thread, every state included.
struct DetailRequest {
    1: i64 comment_id,
}

struct DetailResponse {
    1: Comment comment,
    2: list<Comment> thread,   // the top-level comment and its replies, floor order
}

struct AuditEntry {
    1: i64 at,                 // epoch ms
    2: string admin,
    3: ReviewAction action,
    4: i64 comment_id,
    5: CommentState from_state,
    6: CommentState to_state,
}

struct AuditRequest {
    1: i32 limit,
}

struct AuditResponse {
    1: list<AuditEntry> items,  // newest first
}

service CommentAdminService {
    SearchResponse Search(1: SearchRequest req),
    ReviewResponse Review(1: ReviewRequest req),
    DetailResponse Detail(1: DetailRequest req),
    AuditResponse Audit(1: AuditRequest req),
}
