// user.thrift: accounts, password checks, and the tokens the gateway verifies.
include "base.thrift"
namespace go user

struct RegisterRequest {
    1: string username,
    2: string password,
}

struct LoginRequest {
    1: string username,
    2: string password,
}

// AuthResponse carries a fresh token for the account that registered or logged in.
struct AuthResponse {
    1: i64 user_id,
    2: string token,
}

struct VerifyTokenRequest {
    1: string token,
}

struct VerifyTokenResponse {
    1: i64 user_id,
}

// GetProfilesRequest looks up accounts by id; unknown ids are left out of the answer.
struct GetProfilesRequest {
    1: list<i64> user_ids,
}

struct GetProfilesResponse {
    1: map<i64, base.Profile> profiles,
}

service UserService {
    AuthResponse Register(1: RegisterRequest req),
    AuthResponse Login(1: LoginRequest req),
    VerifyTokenResponse VerifyToken(1: VerifyTokenRequest req),
    GetProfilesResponse GetProfiles(1: GetProfilesRequest req),
}
