// video.thrift: publishing, video metadata, publish lists and the feed.
include "base.thrift"
namespace go video

struct Video {
    1: i64 id,
    2: i64 author_id,
    3: string title,
    4: string play_key,    // blob key of the playable file
    5: string cover_key,   // blob key of the cover image
    6: i64 create_time,    // epoch milliseconds
}

// PublishRequest asks the video service to take an uploaded file, already staged in
// blob storage under upload_key by the gateway, and turn it into a video.
struct PublishRequest {
    1: i64 user_id,
    2: string title,
    3: string upload_key,
}

struct PublishResponse {
    1: Video video,
}

struct FeedRequest {
    1: i64 viewer_id,        // 0: anonymous
    2: i64 latest_time,      // epoch ms, exclusive; 0 = now
    3: string type,          // "", "following" or "global"
    4: string cursor,        // tie-breaker within one millisecond
    5: i32 count,
}

struct FeedResponse {
    1: list<Video> videos,
    2: i64 next_time,
    3: string next_cursor,
}

struct ListByAuthorRequest {
    1: i64 author_id,
    2: base.Page page,
}

struct VideoListResponse {
    1: list<Video> videos,
    2: base.PageInfo page,
}

struct GetVideosRequest {
    1: list<i64> video_ids,
}

struct GetVideosResponse {
    1: map<i64, Video> videos,
}

// WorkCountsRequest asks how many videos each user has published.
struct WorkCountsRequest {
    1: list<i64> user_ids,
}

struct WorkCountsResponse {
    1: map<i64, i64> counts,
}

service VideoService {
    PublishResponse Publish(1: PublishRequest req),
    FeedResponse Feed(1: FeedRequest req),
    VideoListResponse ListByAuthor(1: ListByAuthorRequest req),
    GetVideosResponse GetVideos(1: GetVideosRequest req),
    WorkCountsResponse WorkCounts(1: WorkCountsRequest req),
}
