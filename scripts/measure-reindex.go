//go:build ignore

// measure-reindex is the filling half of scripts/measure-reindex.sh: it writes
// -n comments straight into the comment role's SQLite database of a data
// directory (index rows and text, spread over -videos videos, in transactions of
// 5,000), so that `mdouyin reindex` has a large table to read. The comments are
// not counted in their subjects; reindex does not read counts.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"strings"
	"time"

	_ "modernc.org/sqlite"
)

var words = []string{"好看", "UP主", "新年快乐", "的", "视频", "真不错", "hello", "world", "哈哈哈", "彩虹", "天气", "加油", "第一", "来了"}

func main() {
	path := flag.String("db", "", "the comment role's SQLite file (data/db/comment.db)")
	n := flag.Int("n", 200000, "comments to write")
	videos := flag.Int("videos", 2000, "videos to spread them over")
	flag.Parse()
	db, err := sql.Open("sqlite", "file:"+*path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	base := int64(1 << 40)
	now := time.Now().UnixMilli()
	for done := 0; done < *n; {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			log.Fatal(err)
		}
		for i := 0; i < 5000 && done < *n; i, done = i+1, done+1 {
			id := base + int64(done)
			var b strings.Builder
			for range 2 + r.IntN(6) {
				b.WriteString(words[r.IntN(len(words))])
				b.WriteByte(' ')
			}
			at := now - int64(r.IntN(90*24*3600))*1000
			if _, err := tx.ExecContext(ctx, `INSERT INTO comment_index (id, video_id, user_id, root_id, parent_id, floor, state,
				like_count, reply_count, reply_floor, hot, version, created_at, updated_at) VALUES (?, ?, ?, 0, 0, ?, 1, 0, 0, 0, 0, 1, ?, ?)`,
				id, 1+r.IntN(*videos), 1+r.IntN(100000), done+1, at, at); err != nil {
				log.Fatal(err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO comment_content (comment_id, content, created_at) VALUES (?, ?, ?)`,
				id, b.String(), at); err != nil {
				log.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Printf("wrote %d comments in %v\n", *n, time.Since(start).Round(time.Millisecond))
}
