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

service CommentService {
    PublishResponse Publish(1: PublishRequest req),
    DeleteResponse Delete(1: DeleteRequest req),
    ListResponse List(1: ListRequest req),
    LikeResponse Like(1: LikeRequest req),
    PinResponse Pin(1: PinRequest req),
    VideoCountsResponse VideoCounts(1: VideoCountsRequest req),
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
    1: CommentState old_state,
    2: CommentState new_state,
}

service CommentAdminService {
    SearchResponse Search(1: SearchRequest req),
    ReviewResponse Review(1: ReviewRequest req),
}
