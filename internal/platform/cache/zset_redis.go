package cache

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisSortedSets is a SortedSets of Redis sorted sets shared by every replica.
//
// Members are ids written as 16-digit zero-padded decimals, so that Redis, which orders
// equal scores by comparing member bytes, orders them by id. Every set also holds the
// sentinel member "~" (score 0), which no id can be: Redis deletes a sorted set when its
// last member goes, and the sentinel keeps an empty set existing, so "cached as empty"
// stays distinct from a miss, also after Remove takes the last id. "~" sorts after every
// digit, so among equal scores it is the largest member; Range reads one member more than
// it returns and drops the sentinel if it comes up. Because the sentinel lives in the set
// itself, every operation sees the set and its existence in one key and one atomic step,
// with no second key whose TTL or slot could drift from the set's.
type RedisSortedSets struct {
	client redis.UniversalClient
	prefix string
	keys   *Redis // the same keys seen as a byte cache, whose Delete drops keys of any type
}

var _ SortedSets = (*RedisSortedSets)(nil)

// zsetSentinel is the member that marks a set as existing; see RedisSortedSets.
const zsetSentinel = "~"

// maxRangeN caps the N sent to Redis so rank arithmetic in Lua stays an exact integer that
// Lua prints without an exponent. No sorted set is that large, so results do not change.
const maxRangeN = 1 << 30

// NewRedisSortedSets returns a SortedSets that stores key under prefix+key. The client
// stays the caller's to close.
func NewRedisSortedSets(client redis.UniversalClient, prefix string) *RedisSortedSets {
	return &RedisSortedSets{client: client, prefix: prefix, keys: NewRedis(client, prefix)}
}

// Replace deletes the set, writes the sentinel and members and sets the TTL in one
// MULTI/EXEC, so readers see the old set or the new one, never a half-written set or one
// without a TTL. MULTI rather than Lua because ZADD then takes every member in one
// command, with no Lua stack limit on the number of arguments.
func (r *RedisSortedSets) Replace(ctx context.Context, key string, members []Member, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	if err := checkMembers(members); err != nil {
		return err
	}
	k := r.prefix + key
	args := make([]any, 0, 4+2*len(members))
	args = append(args, "zadd", k, "0", zsetSentinel)
	args = appendMemberArgs(args, members)
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, k)
		p.Do(ctx, args...)
		p.PExpire(ctx, k, ttl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("cache: redis replace sorted set %q (%d members): %w", key, len(members), err)
	}
	return nil
}

// addIfExistsScript adds ARGV's score/member pairs to KEYS[1] only if it exists, so an
// append never creates a set holding only the newest ids. ZADD leaves the TTL alone. The
// pairs go in chunks because unpack is bounded by Lua's C stack (about 8,000 values).
var addIfExistsScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
for i = 1, #ARGV, 1000 do
  redis.call('ZADD', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
return 1
`)

// AddIfExists adds members to the set at key, or rescores those already there, if the set
// exists, checking and adding in one Lua script.
func (r *RedisSortedSets) AddIfExists(ctx context.Context, key string, members ...Member) (bool, error) {
	if err := checkMembers(members); err != nil {
		return false, err
	}
	args := appendMemberArgs(make([]any, 0, 2*len(members)), members)
	existed, err := addIfExistsScript.Run(ctx, r.client, []string{r.prefix + key}, args...).Int()
	if err != nil {
		return false, fmt.Errorf("cache: redis add to sorted set %q: %w", key, err)
	}
	return existed == 1, nil
}

// Remove removes ids with one ZREM. ZREM never creates a key, and never removes the
// sentinel, so a set emptied by it stays cached as empty.
func (r *RedisSortedSets) Remove(ctx context.Context, key string, ids ...int64) error {
	if err := checkIDs(ids); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	members := make([]any, len(ids))
	for i, id := range ids {
		members[i] = encodeMemberID(id)
	}
	if err := r.client.ZRem(ctx, r.prefix+key, members...).Err(); err != nil {
		return fmt.Errorf("cache: redis remove %d ids from sorted set %q: %w", len(ids), key, err)
	}
	return nil
}

// rangeScript returns up to ARGV[2] score-ordered members of KEYS[1] as a flat
// member/score array, or nil when the key does not exist. ARGV[1] is "1" for descending
// order; ARGV[3] and ARGV[4], when present, are the score and member of the position to
// start strictly after.
//
// The start is a rank. When the position's member is still in the set at the same score,
// it is that member's rank plus one. Otherwise (the member was removed or rescored) the
// members strictly before the position are those with a score before it, counted with
// ZCOUNT, plus those at its score with an id before it: the ranks of that tie group are
// known from two ZCOUNTs, and within it ids run monotonically, so a binary search over the
// group's ranks finds the first one strictly after the position in O(log² n), however many
// members share the score. Ids are compared as Lua numbers (exact below 2^53), never as
// strings, whose order in Lua depends on the server's locale. The sentinel, whose
// tonumber is nil, is the largest member of its tie group.
var rangeScript = redis.NewScript(`
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then
  return false
end
local desc = ARGV[1] == '1'
local byRank = desc and 'ZREVRANGE' or 'ZRANGE'
local n = tonumber(ARGV[2])
local start = 0
if #ARGV >= 4 then
  local score, member = ARGV[3], ARGV[4]
  local cur = redis.call('ZSCORE', key, member)
  if cur and tonumber(cur) == tonumber(score) then
    if desc then
      start = redis.call('ZREVRANK', key, member) + 1
    else
      start = redis.call('ZRANK', key, member) + 1
    end
  else
    local id = tonumber(member)
    local before
    if desc then
      before = redis.call('ZCOUNT', key, '(' .. score, '+inf')
    else
      before = redis.call('ZCOUNT', key, '-inf', '(' .. score)
    end
    local lo, hi = 0, redis.call('ZCOUNT', key, score, score)
    while lo < hi do
      local mid = math.floor((lo + hi) / 2)
      local midID = tonumber(redis.call(byRank, key, before + mid, before + mid)[1])
      local isAfter
      if desc then
        isAfter = midID ~= nil and midID < id
      else
        isAfter = midID == nil or midID > id
      end
      if isAfter then
        hi = mid
      else
        lo = mid + 1
      end
    end
    start = before + lo
  end
end
local res = redis.call(byRank, key, start, start + n, 'WITHSCORES')
local out = {}
for i = 1, #res, 2 do
  if res[i] ~= '~' and #out < 2 * n then
    out[#out + 1] = res[i]
    out[#out + 1] = res[i + 1]
  end
end
return out
`)

// Range returns up to q.N members strictly after q.After in one round trip, see
// rangeScript.
func (r *RedisSortedSets) Range(ctx context.Context, key string, q RangeQuery) ([]Member, bool, error) {
	if err := checkRangeQuery(q); err != nil {
		return nil, false, err
	}
	desc := "0"
	if q.Desc {
		desc = "1"
	}
	args := []any{desc, strconv.Itoa(min(q.N, maxRangeN))}
	if q.After != nil {
		args = append(args, formatScore(q.After.Score), encodeMemberID(q.After.ID))
	}
	res, err := rangeScript.Run(ctx, r.client, []string{r.prefix + key}, args...).StringSlice()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cache: redis range sorted set %q: %w", key, err)
	}
	members := make([]Member, 0, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		id, err := strconv.ParseInt(res[i], 10, 64)
		if err != nil {
			return nil, false, fmt.Errorf("cache: sorted set %q holds member %q, which is not an id", key, res[i])
		}
		score, err := strconv.ParseFloat(res[i+1], 64)
		if err != nil {
			return nil, false, fmt.Errorf("cache: sorted set %q holds score %q: %w", key, res[i+1], err)
		}
		members = append(members, Member{ID: id, Score: score})
	}
	return members, true, nil
}

// Delete drops the sets at keys; absent keys are ignored.
func (r *RedisSortedSets) Delete(ctx context.Context, keys ...string) error {
	return r.keys.Delete(ctx, keys...)
}

// encodeMemberID writes id as 16 zero-padded decimal digits, enough for any id below 2^53
// (9007199254740992 has 16 digits), so that byte order is numeric order.
func encodeMemberID(id int64) string {
	var b [16]byte
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + id%10)
		id /= 10
	}
	return string(b[:])
}

// formatScore writes a score as Redis parses it: the shortest decimal that reads back as
// the same double, and "+inf"/"-inf" for the infinities.
func formatScore(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func appendMemberArgs(args []any, members []Member) []any {
	for _, m := range members {
		args = append(args, formatScore(m.Score), encodeMemberID(m.ID))
	}
	return args
}

// Score returns the score of id with ZSCORE; the set's marker is never an id.
func (r *RedisSortedSets) Score(ctx context.Context, key string, id int64) (float64, bool, error) {
	if err := checkID(id); err != nil {
		return 0, false, err
	}
	score, err := r.client.ZScore(ctx, r.prefix+key, encodeMemberID(id)).Result()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("cache: redis zscore %q: %w", key, err)
	}
	return score, true, nil
}
