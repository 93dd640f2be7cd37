// favorite.thrift: video likes and the counts derived from them.
include "base.thrift"
namespace go favorite

struct LikeRequest {
    1: i64 user_id,
    2: i64 video_id,
    3: bool like,          // true: like; false: take the like back
}

struct LikeResponse {}

struct ListLikedRequest {
    1: i64 user_id,
    2: base.Page page,
}

// ListLikedResponse lists liked videos, most recently liked first.
struct ListLikedResponse {
    1: list<i64> video_ids,
    2: base.PageInfo page,
}

// VideoStatsRequest asks for like counts of videos and whether viewer_id (0:
// anonymous) liked each.
struct VideoStatsRequest {
    1: i64 viewer_id,
    2: list<i64> video_ids,
}

struct VideoStats {
    1: i64 favorite_count,
    2: bool is_favorite,
}

struct VideoStatsResponse {
    1: map<i64, VideoStats> stats,
}

struct UserStatsRequest {
    1: list<i64> user_ids,
}

struct UserStats {
    1: i64 favorite_count,   // likes given
    2: i64 total_favorited,  // likes received on the user's videos
}

struct UserStatsResponse {
    1: map<i64, UserStats> stats,
}

service FavoriteService {
    LikeResponse Like(1: LikeRequest req),
    ListLikedResponse ListLiked(1: ListLikedRequest req),
    VideoStatsResponse VideoStats(1: VideoStatsRequest req),
    UserStatsResponse UserStats(1: UserStatsRequest req),
}
