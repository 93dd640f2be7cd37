// relation.thrift: the follow graph, its counts, and friends (mutual follows).
include "base.thrift"
namespace go relation

struct FollowRequest {
    1: i64 user_id,
    2: i64 to_user_id,
    3: bool follow,        // true: follow; false: unfollow
}

struct FollowResponse {}

// ListRequest pages through whom user_id follows, who follows user_id, or user_id's
// friends, depending on the method.
struct ListRequest {
    1: i64 user_id,
    2: base.Page page,
}

struct ListResponse {
    1: list<i64> user_ids,
    2: base.PageInfo page,
}

// UserStatsRequest asks for follow counts of users and whether viewer_id (0:
// anonymous) follows each.
struct UserStatsRequest {
    1: i64 viewer_id,
    2: list<i64> user_ids,
}

struct UserStats {
    1: i64 follow_count,
    2: i64 follower_count,
    3: bool is_follow,
}

struct UserStatsResponse {
    1: map<i64, UserStats> stats,
}

// PopularRequest asks for the users followed by more than min_followers users,
// most followed first, at most count of them.
struct PopularRequest {
    1: i64 min_followers,
    2: i32 count,
}

struct PopularResponse {
    1: list<i64> user_ids,
    2: bool complete,      // true: these are all such users (fewer than count exist)
}

service RelationService {
    FollowResponse Follow(1: FollowRequest req),
    ListResponse ListFollowing(1: ListRequest req),
    ListResponse ListFollowers(1: ListRequest req),
    ListResponse ListFriends(1: ListRequest req),
    UserStatsResponse UserStats(1: UserStatsRequest req),
    PopularResponse ListPopular(1: PopularRequest req),
}
