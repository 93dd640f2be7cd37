// base.thrift holds what every mdouyin service shares: the error codes that travel
// as Kitex business status errors and end up as the HTTP `status_code`, and the
// structs more than one service speaks.
//
// ErrCode is append-only. Each service owns a block of 1,000 codes; a code, once
// released, keeps its number and meaning forever because clients see it.
namespace go base

enum ErrCode {
    // 0-999: common to every service.
    OK = 0,
    Internal = 1,            // an unexpected failure; details are logged, never sent
    InvalidArgument = 2,     // a parameter is missing, malformed or out of range
    Unauthenticated = 3,     // no token, or a token that is invalid or expired
    PermissionDenied = 4,    // the caller may not do this
    NotFound = 5,
    RateLimited = 6,
    NotImplemented = 7,      // the route or method is not available yet
    Unavailable = 8,         // a dependency is down or the server is shutting down
    Conflict = 9,            // the state does not allow this transition
    TooLarge = 10,           // a body or file exceeds its limit

    // 10000-10999: user.
    UserNameTaken = 10000,
    UserBadCredentials = 10001,
    UserNotFound = 10002,
    UserNameInvalid = 10003,
    UserPasswordInvalid = 10004,

    // 11000-11999: video.
    VideoNotFound = 11000,
    VideoFileInvalid = 11001,
    VideoTitleInvalid = 11002,

    // 12000-12999: favorite.
    FavoriteVideoNotFound = 12000,

    // 13000-13999: comment.
    CommentNotFound = 13000,
    CommentTextInvalid = 13001,
    CommentDuplicate = 13002,
    CommentParentInvalid = 13003,
    CommentNotTopLevel = 13004,
    CommentCursorInvalid = 13005,
    CommentVideoNotFound = 13006,

    // 14000-14999: relation.
    RelationSelfFollow = 14000,
    RelationUserNotFound = 14001,

    // 15000-15999: message.
    MessageContentInvalid = 15000,
    MessageNotFriends = 15001,
}

// Page asks for one page of a list: at most `count` items after `cursor`, an opaque
// string from the previous page's `next_cursor` ("" for the first page).
struct Page {
    1: i32 count,
    2: string cursor,
}

// PageInfo tells whether more items follow and how to ask for them.
struct PageInfo {
    1: bool has_more,
    2: string next_cursor,
}

// Profile is what the user service knows of an account. The gateway joins it with
// counts from the other services into the app's eleven-key User.
struct Profile {
    1: i64 id,
    2: string name,
    3: string avatar,            // a blob key or an absolute URL
    4: string background_image,  // a blob key or an absolute URL
    5: string signature,
}
