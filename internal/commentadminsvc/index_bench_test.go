package commentadminsvc

import (
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdouyin/mdouyin/kitex_gen/comment"
)

// Benchmarks of the search index. Build and Search use an index of
// MDOUYIN_BENCH_INDEX_DOCS generated comments (default 100,000), kept in
// MDOUYIN_BENCH_INDEX_DIR when that is set, so that a large index is built once
// and searched many times:
//
//	export MDOUYIN_BENCH_INDEX_DOCS=1000000 MDOUYIN_BENCH_INDEX_DIR=/tmp/idx1m
//	go test -run '^$' -bench 'IndexBuild' -benchtime 1x -timeout 1h ./internal/commentadminsvc/
//	go test -run '^$' -bench 'Search' -benchtime 200x ./internal/commentadminsvc/

// commentWords is the vocabulary of generated comments: common words of video
// comments, fillers, Latin words and emoji, so that term frequencies resemble
// real ones (a few very common characters, a long tail of words).
var commentWords = strings.Fields(`
哈哈哈 哈哈 好看 太好笑了 这个视频 UP主 up主 加油 支持 前排 打卡 第一 沙发 真的 可爱 喜欢 厉害
绝了 笑死 我也是 同款 求链接 在哪里 买的 多少钱 今天 天气 不错 下雨 周末 一起 朋友 学校 老师 作业
考试 工作 老板 下班 上班 吃饭 火锅 奶茶 咖啡 猫 狗 宝宝 妈妈 爸爸 音乐 这首歌 歌词 旋律 舞蹈 跳得
游戏 手机 电脑 相机 拍摄 剪辑 滤镜 评论区 点赞 关注 转发 收藏 弹幕 热门 推荐 算法 北京 上海 广州
深圳 成都 旅游 风景 海边 山 日落 日出 晚安 早安 新年快乐 生日快乐 主持人 節目 回放 直播 主播 小姐姐
小哥哥 帅 美 好听 难过 感动 泪目 破防了 期待 更新 催更 下一期 学到了 干货 收藏了 谢谢 分享 教程
的 了 是 我 你 他 也 很 太 吗 啊 吧 呢 都 就 还 又 在 有 没有 不 这 那 什么 怎么 为什么 因为 所以
hello nice cool wow good lol omg yyds awesome video music love haha ok 666 233 2024 vlog bgm
😂 👍 ❤️ 🔥 🤣 😭 🙏`)

var commentSeps = []string{"", "", "", " ", "，", "。", "！", "？", "~", "…"}

// benchDocs generates comments first..first+n-1 of a fixed, seeded stream:
// the same arguments always give the same comments.
func benchDocs(first, n int) []Doc {
	const (
		videos = 20_000
		users  = 200_000
		start  = 1_704_067_200_000 // 2024-01-01, epoch ms
		span   = 365 * 24 * 3600 * 1000
		total  = 1_000_000 // time spreads over this many comments
	)
	states := []comment.CommentState{visible, pending, rejected, deleted}
	docs := make([]Doc, n)
	for i := range docs {
		k := first + i
		rng := rand.New(rand.NewPCG(uint64(k), 0x6d646f7579696e))
		var b strings.Builder
		for w := 2 + rng.IntN(10); w > 0; w-- {
			b.WriteString(commentWords[int(math.Pow(rng.Float64(), 1.7)*float64(len(commentWords)))])
			b.WriteString(commentSeps[rng.IntN(len(commentSeps))])
		}
		state := states[0]
		switch p := rng.IntN(100); {
		case p < 6:
			state = states[1]
		case p < 10:
			state = states[2]
		case p < 12:
			state = states[3]
		}
		d := Doc{
			ID:         benchID(k),
			VideoID:    1 + int64(math.Pow(rng.Float64(), 3)*videos), // a few popular videos
			UserID:     1 + rng.Int64N(users),
			UserName:   "用户" + strconv.Itoa(rng.IntN(users)),
			Content:    b.String(),
			State:      state,
			Floor:      int64(k + 1),
			LikeCount:  int64(math.Pow(rng.Float64(), 8) * 10_000),
			CreateTime: start + int64(k)*span/total + rng.Int64N(1000),
			Version:    1 + rng.Int64N(3),
		}
		if k > 0 && rng.IntN(100) < 35 { // a reply
			d.RootID = benchID(rng.IntN(k))
			d.ParentID = d.RootID
		}
		docs[i] = d
	}
	return docs
}

// benchID spreads ids like idgen's: large, below 2^53.
func benchID(k int) int64 { return 1<<50 + int64(k)*7 }

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// BenchmarkIndexUpsert measures indexing throughput: batches of 1000 new
// comments, the same batch delivered again (every doc a no-op), and single
// comments (one event at a time, as the event consumer applies them).
func BenchmarkIndexUpsert(b *testing.B) {
	for _, bc := range []struct {
		name  string
		batch int
		again bool
	}{{"batch1000", 1000, false}, {"redeliver1000", 1000, true}, {"single", 1, false}} {
		b.Run(bc.name, func(b *testing.B) {
			x := openTestIndex(b)
			next := 0
			if bc.again {
				upsert(b, x, benchDocs(0, bc.batch)...)
			}
			var docs int
			var took time.Duration
			for b.Loop() {
				batch := benchDocs(next, bc.batch)
				if !bc.again {
					next += bc.batch
				}
				t0 := time.Now()
				upsert(b, x, batch...)
				took += time.Since(t0)
				docs += len(batch)
			}
			b.ReportMetric(float64(docs)/took.Seconds(), "docs/s")
		})
	}
}

// benchSize is MDOUYIN_BENCH_INDEX_DOCS, or 100,000.
func benchSize(b *testing.B) int {
	s := os.Getenv("MDOUYIN_BENCH_INDEX_DOCS")
	if s == "" {
		return 100_000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1000 {
		b.Fatalf("MDOUYIN_BENCH_INDEX_DOCS=%q: want a number of at least 1000", s)
	}
	return n
}

// buildIndex builds an index of n generated comments in dir, in batches of
// 1000 through Upsert (as a reindex does), and returns the time Upsert took.
func buildIndex(b *testing.B, dir string, n int) time.Duration {
	if err := os.RemoveAll(dir); err != nil {
		b.Fatal(err)
	}
	x, err := OpenIndex(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer x.Close()
	var took time.Duration
	for i := 0; i < n; i += 1000 {
		docs := benchDocs(i, min(1000, n-i))
		t0 := time.Now()
		upsert(b, x, docs...)
		took += time.Since(t0)
	}
	return took
}

// BenchmarkIndexBuild builds an index of benchSize comments per iteration and
// reports the indexing rate and the size on disk (after a reopen, which lets
// bleve delete the files its merges replaced).
func BenchmarkIndexBuild(b *testing.B) {
	n := benchSize(b)
	dir := os.Getenv("MDOUYIN_BENCH_INDEX_DIR")
	if dir == "" {
		dir = filepath.Join(b.TempDir(), "index")
	}
	var took time.Duration
	for b.Loop() {
		took = buildIndex(b, dir, n)
	}
	x, err := OpenIndex(dir)
	if err != nil {
		b.Fatal(err)
	}
	x.Close()
	b.ReportMetric(float64(n)/took.Seconds(), "docs/s")
	b.ReportMetric(float64(dirSize(dir))/1e6, "MB")
	b.ReportMetric(float64(dirSize(dir))/float64(n), "B/doc")
}

// benchIndex returns an index of n generated comments, reusing
// MDOUYIN_BENCH_INDEX_DIR if it already holds them.
func benchIndex(b *testing.B, n int) *Index {
	dir := os.Getenv("MDOUYIN_BENCH_INDEX_DIR")
	if dir == "" {
		dir = filepath.Join(b.TempDir(), "index")
	}
	if x, err := OpenIndex(dir); err == nil {
		if c, err := x.Count(); err == nil && c == uint64(n) {
			b.Cleanup(func() { x.Close() })
			return x
		}
		x.Close()
	}
	buildIndex(b, dir, n)
	x, err := OpenIndex(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { x.Close() })
	return x
}

// BenchmarkSearch runs typical moderator searches over an index of benchSize
// comments and reports p50 and p99 latency and the number of matches.
func BenchmarkSearch(b *testing.B) {
	n := benchSize(b)
	x := benchIndex(b, n)
	const popular = 1 // the most commented video
	mid := benchDocs(n/2, 1)[0].CreateTime
	week := int64(7 * 24 * 3600 * 1000)

	for _, bc := range []struct {
		name string
		q    Query
	}{
		{"word2_common", Query{Q: "好看"}},
		{"word2_rare", Query{Q: "火锅"}},
		{"word4", Query{Q: "新年快乐"}},
		{"char_common", Query{Q: "的"}},
		{"char_rare", Query{Q: "猫"}},
		{"mixed_UP主", Query{Q: "UP主"}},
		{"latin", Query{Q: "hello"}},
		{"two_words", Query{Q: "天气 不错"}},
		{"all_newest", Query{}},
		{"video", Query{VideoID: popular}},
		{"review_queue", Query{State: pending}},
		{"user", Query{UserID: benchDocs(7, 1)[0].UserID}},
		{"thread", Query{RootID: benchID(3)}},
		{"combined", Query{Q: "好看", VideoID: popular, State: visible, From: mid - 30*week, To: mid}},
		{"week_pending", Query{State: pending, From: mid, To: mid + week}},
		{"deep_page", Query{Q: "好看", Offset: MaxWindow - MaxLimit, Limit: MaxLimit}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, 1024)
			var hits int64
			for b.Loop() {
				t0 := time.Now()
				res, err := x.Search(bc.q)
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				hits = res.Total
			}
			slices.Sort(lat)
			at := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
			}
			b.ReportMetric(at(0.50), "p50-ms")
			b.ReportMetric(at(0.99), "p99-ms")
			b.ReportMetric(float64(hits), "hits")
		})
	}
}
