package commentsvc

import "math"

// HotEpochUnix is the instant from which HotScore counts recency,
// 2024-01-01T00:00:00Z in Unix seconds. It is a constant rather than the
// current time so that a score computed when a comment is liked can be stored
// and compared with scores computed on other days by other processes: every
// score carries the same offset. Changing it would shift only the scores
// computed afterwards, so it must never change without rescoring every row.
const HotEpochUnix int64 = 1704067200

// HotDecaySeconds is how much age ten times the engagement is worth: 45000 s,
// 12.5 hours. A comment needs ten times the likes of one 12.5 hours younger to
// rank beside it, a hundred times for one 25 hours younger. Among the comments
// of one afternoon engagement decides; across days recency does, which keeps a
// video's hot list from freezing around its first popular comment. A shorter
// decay would make the list little more than "newest first", a longer one
// would let old comments hold the top for weeks.
const HotDecaySeconds = 45000

// HotScoreScale sets the precision of HotScore: scores are whole multiples of
// 1/HotScoreScale, 1e-7, the same weight as 4.5 ms of age.
//
// The score lives in a SQL DOUBLE column and in Redis sorted sets and is
// compared across them, so equal inputs must give equal values however they
// travel. A raw float64 fails that in two ways. Its last bit of log10 may
// differ between machines (Go fuses multiply-adds on arm64 but not on amd64),
// and it needs 17 significant digits to be printed faithfully, while some
// hops print fewer: Redis Lua's tostring uses %.14g and was measured turning
// 1412.3456789012345 into 1412.3456789012. A rounded score is the float64
// nearest a decimal with seven places, about eleven significant digits for
// the next centuries (scores grow by about 700 a year), so it comes back
// unchanged from any hop that prints 14 digits or more, and arithmetic noise
// in the last bit is rounded away except on the rare exact half-way case.
//
// The price is resolution in engagement: once a comment has some millions of
// likes, one more may no longer change its score. The order is still never
// inverted, because rounding keeps the score monotonic.
const HotScoreScale = 1e7

// HotScore ranks comments for the "hot" order: higher is hotter. It is
// log10(likes + 2*replies + 1) plus the comment's age from HotEpochUnix in
// units of HotDecaySeconds, rounded to HotScoreScale.
//
// A reply counts as two likes because it costs more than a tap and brings
// readers into the thread. Because the score does not depend on the current
// time it need not be recomputed as time passes, only when likes or replies
// change; old comments fall behind new ones because the new ones start
// higher. Negative counts, which a drifting counter could produce, count as
// zero. Comments from before the epoch get negative scores, which still
// compare correctly.
func HotScore(likes, replies int64, createdAtMs int64) float64 {
	// In float64, so that no count, however absurd, can overflow the sum.
	engagement := float64(max(likes, 0)) + 2*float64(max(replies, 0)) + 1
	// createdAtMs and the epoch are integers well below 2^53, so their
	// difference is exact and the division is the only rounding.
	age := (float64(createdAtMs) - float64(HotEpochUnix*1000)) / (1000 * HotDecaySeconds)
	// Divide by the scale rather than multiply by its inverse: 1e7 is exact
	// and 1e-7 is not, so this gives the float64 nearest the decimal.
	return math.Round((math.Log10(engagement)+age)*HotScoreScale) / HotScoreScale
}
