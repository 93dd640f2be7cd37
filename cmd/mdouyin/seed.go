package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mdouyin/mdouyin/internal/commentsvc"
	"github.com/mdouyin/mdouyin/internal/config"
	"github.com/mdouyin/mdouyin/internal/favoritesvc"
	"github.com/mdouyin/mdouyin/internal/messagesvc"
	"github.com/mdouyin/mdouyin/internal/password"
	"github.com/mdouyin/mdouyin/internal/platform/blob"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/platform/progress"
	"github.com/mdouyin/mdouyin/internal/relationsvc"
	"github.com/mdouyin/mdouyin/internal/seed"
	"github.com/mdouyin/mdouyin/internal/usersvc"
	"github.com/mdouyin/mdouyin/internal/videosvc"
)

const seedUsage = `Usage: mdouyin seed [flags]

Writes a dataset for measuring straight into the databases that serve uses (the
same configuration: SQLite files under the data directory, or MySQL with
MDOUYIN_DB_DRIVER=mysql and MDOUYIN_DB_DSN), and one shared video and cover
rendered with ffmpeg into the blob directory. It refuses a database that holds
data: seed a new data directory or database, before starting serve.

Every seeded user (seed_000001, seed_000002, ...) has the same password. Ids and
times are historical (the last --months months); the same flags give the same
dataset. Feed inboxes are filled as the live fan-out keeps them: each user's
holds the newest videos of the push-mode authors they follow. They follow the
configuration's feed.pull_threshold and feed.inbox_size (MDOUYIN_FEED_*), so
seed with the settings the server will run with.

Comments go to videos by the same popularity as the likes, in two-level threads
(about 30% are replies, some answering replies), with likes skewed toward the
early comments; about 2% are deleted and 1% held for review or rejected. Floors
and every count are written exact (mdouyin check finds no difference). The
comment search index is not filled: run mdouyin reindex for the console's search.

The reference size:
  mdouyin seed --users 1000000 --follows 10000000 --videos 1000000 --likes 10000000 \
    --messages 1000000 --comments 10000000 --comment-likes 10000000 \
    --big-authors 5 --big-followers 1000000 --readers 64 --reader-follows 200

Flags:
`

// runSeed is the seed subcommand: it parses its flags, opens every store the way
// serve does (migrating them) and runs the seeder with a progress bar on stderr.
func runSeed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	def := seed.DefaultOptions()
	fs := flag.NewFlagSet("mdouyin seed", flag.ContinueOnError)
	fs.SetOutput(stdout)
	cfgPath := fs.String("config", getenv("MDOUYIN_CONFIG"), "YAML configuration file (env MDOUYIN_CONFIG); MDOUYIN_* variables override it")
	o := def
	fs.IntVar(&o.Users, "users", def.Users, "accounts to create")
	fs.IntVar(&o.Follows, "follows", def.Follows, "follow edges in all, the big authors' included")
	fs.IntVar(&o.Videos, "videos", def.Videos, "videos to publish")
	fs.IntVar(&o.Likes, "likes", def.Likes, "likes, skewed toward popular videos")
	fs.IntVar(&o.Messages, "messages", def.Messages, "chat messages between friends")
	fs.IntVar(&o.Comments, "comments", def.Comments, "comments, skewed toward popular videos, about 30% of them replies")
	fs.IntVar(&o.CommentLikes, "comment-likes", def.CommentLikes, "likes of comments, skewed toward early comments")
	fs.IntVar(&o.BigAuthors, "big-authors", def.BigAuthors, "authors followed by --big-followers users each")
	fs.IntVar(&o.BigFollowers, "big-followers", def.BigFollowers, "followers of each big author (at most every other user)")
	fs.IntVar(&o.Readers, "readers", def.Readers, "the first this many users each follow --reader-follows users, every big author among them (the logged-in feed of issue 7)")
	fs.IntVar(&o.ReaderFollows, "reader-follows", def.ReaderFollows, "users each of --readers follows")
	fs.Func("author-followers", "comma-separated follower counts: one more author with exactly each, e.g. 1000000,10000,10 (printed with their names)", func(v string) error {
		o.AuthorFollowers = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return err
			}
			o.AuthorFollowers = append(o.AuthorFollowers, n)
		}
		return nil
	})
	fs.IntVar(&o.Months, "months", def.Months, "how many 30-day months of history")
	fs.Uint64Var(&o.Seed, "seed", def.Seed, "random seed: the same seed and sizes give the same dataset")
	fs.IntVar(&o.Batch, "batch", def.Batch, "rows per transaction")
	fs.StringVar(&o.Password, "password", def.Password, "every seeded user's password")
	node := fs.Int("node", idgen.MaxNode, "id generator node for the seeded ids; keep it different from every server's MDOUYIN_NODE")
	end := fs.String("end", "", "RFC 3339 time all seeded rows are before (default: now); fix it to reproduce ids exactly")
	fs.Usage = func() {
		fmt.Fprint(stdout, seedUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("seed: unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *end != "" {
		t, err := time.Parse(time.RFC3339, *end)
		if err != nil {
			return fmt.Errorf("seed: --end: %w", err)
		}
		o.End = t
	}
	if err := o.Validate(); err != nil {
		return err
	}

	cfg, err := config.Load(*cfgPath, getenv)
	if err != nil {
		return err
	}
	o.PullThreshold, o.InboxSize = cfg.Feed.PullThreshold, cfg.Feed.InboxSize
	if err := o.Validate(); err != nil {
		return err
	}
	// The generator must exist before End: NextAt issues only seconds before it.
	ids, err := idgen.New(*node)
	if err != nil {
		return err
	}
	stores, closeStores, err := openSeedStores(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStores()
	params := password.DefaultParams()
	params.Memory = cfg.Password.MemoryKiB
	hasher, err := password.NewHasher(params, 1)
	if err != nil {
		return err
	}
	tmp := filepath.Join(cfg.DataDir, "tmp", "seed")
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		return err
	}
	bar := progress.New(stderr, isTerminal(stderr))
	res, err := seed.New(stores, seed.Deps{Hasher: hasher, IDs: ids, FFmpeg: cfg.Video.FFmpegPath, TempDir: tmp, Progress: bar}).Run(ctx, o)
	if err != nil {
		if errors.Is(err, seed.ErrNotEmpty) {
			return fmt.Errorf("%w (driver %s, data directory %s)", err, cfg.Database.Driver, cfg.DataDir)
		}
		return err
	}
	fmt.Fprintf(stdout, "seeded %d users, %d follows (%d friend pairs), %d videos, %d likes, %d messages, %d comments, %d comment likes in %s (%.0f rows/s)\n",
		res.Users, res.Follows, res.Friendships, res.Videos, res.Likes, res.Messages, res.Comments, res.CommentLikes,
		res.Elapsed.Round(time.Millisecond), float64(res.Rows())/res.Elapsed.Seconds())
	if res.Comments > 0 {
		fmt.Fprintf(stdout, "wrote %d comments (%d replies) and %d comment likes in %s (%.0f rows/s); most commented video %d (%d comments)\n",
			res.Comments, res.Replies, res.CommentLikes, res.CommentsElapsed.Round(time.Millisecond),
			float64(res.Comments+res.CommentLikes)/max(res.CommentsElapsed.Seconds(), 1e-9),
			res.MostCommented.VideoID, res.MostCommented.Comments)
	}
	fmt.Fprintf(stdout, "filled %d inbox entries of %d users in %s (%.0f entries/s; pull threshold %d, inbox size %d)\n",
		res.InboxEntries, res.InboxUsers, res.InboxElapsed.Round(time.Millisecond),
		float64(res.InboxEntries)/max(res.InboxElapsed.Seconds(), 1e-9), o.PullThreshold, o.InboxSize)
	fmt.Fprintf(stdout, "activity from %s to %s; big authors: %v\n",
		res.Start.UTC().Format(time.RFC3339), res.End.UTC().Format(time.RFC3339), res.BigAuthors)
	for _, a := range res.Authors {
		fmt.Fprintf(stdout, "author %s (id %d) has %d followers\n", a.Name, a.ID, a.Followers)
	}
	fmt.Fprintf(stdout, "every user (seed_000001 ... seed_%06d) logs in with the password %q\n", res.Users, res.Password)
	return nil
}

// openSeedStores opens each service's database as serve does (a SQLite file per
// service under the data directory, or the one MySQL database) and its store,
// which migrates it. The stores record no events: the seeder writes history.
func openSeedStores(ctx context.Context, cfg config.Config) (st seed.Stores, closeAll func(), err error) {
	var opened []*db.DB
	closeAll = func() {
		for _, d := range opened {
			d.Close()
		}
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()
	var shared *db.DB
	open := func(service string) (*db.DB, error) {
		if cfg.Database.Driver == "mysql" {
			if shared == nil {
				d, err := db.Open(ctx, db.Options{Driver: db.MySQL, DSN: cfg.Database.DSN})
				if err != nil {
					return nil, err
				}
				opened, shared = append(opened, d), d
			}
			return shared, nil
		}
		// One connection, tuned for the load: the seeder is the only writer.
		d, err := db.Open(ctx, db.Options{Driver: db.SQLite, DSN: filepath.Join(cfg.DataDir, "db", service+".db"), MaxOpenConns: 1})
		if err != nil {
			return nil, err
		}
		opened = append(opened, d)
		return d, seed.TuneSQLite(ctx, d)
	}
	switch cfg.Database.Driver {
	case "sqlite", "mysql":
	default:
		return st, nil, fmt.Errorf("seed: database driver (MDOUYIN_DB_DRIVER) %q is not sqlite or mysql", cfg.Database.Driver)
	}
	var d *db.DB
	if d, err = open("user"); err != nil {
		return st, nil, err
	}
	if st.Users, err = usersvc.NewSQLStore(ctx, d); err != nil {
		return st, nil, err
	}
	if d, err = open("relation"); err != nil {
		return st, nil, err
	}
	if st.Relations, err = relationsvc.NewSQLStore(ctx, d, nil); err != nil {
		return st, nil, err
	}
	if d, err = open("video"); err != nil {
		return st, nil, err
	}
	if st.Videos, err = videosvc.NewSQLStore(ctx, d, nil); err != nil {
		return st, nil, err
	}
	if d, err = open("favorite"); err != nil {
		return st, nil, err
	}
	if st.Favorites, err = favoritesvc.NewSQLStore(ctx, d); err != nil {
		return st, nil, err
	}
	if d, err = open("message"); err != nil {
		return st, nil, err
	}
	if st.Messages, err = messagesvc.NewSQLStore(ctx, d); err != nil {
		return st, nil, err
	}
	if d, err = open("comment"); err != nil {
		return st, nil, err
	}
	if st.Comments, err = commentsvc.NewSQLStore(ctx, d, nil); err != nil {
		return st, nil, err
	}
	if st.Blobs, err = blob.NewLocal(cfg.BlobDir()); err != nil {
		return st, nil, err
	}
	return st, closeAll, nil
}

// isTerminal reports whether w is a terminal, where the progress bar redraws one
// line; elsewhere it prints a line per tenth.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
