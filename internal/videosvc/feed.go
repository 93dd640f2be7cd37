package videosvc

import (
	"context"
	"slices"

	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/relation"
)

// FeedOptions shape the following timeline. Zero fields take the defaults of
// config.Feed.
type FeedOptions struct {
	// PullThreshold: authors with more followers than this are not fanned out
	// (pull mode); their followers read their videos at read time.
	PullThreshold int
	// InboxSize is how many newest entries an inbox keeps.
	InboxSize int
	// BackfillCount is how many of an author's recent videos following them
	// copies into the follower's inbox.
	BackfillCount int
}

func (o FeedOptions) withDefaults() FeedOptions {
	if o.PullThreshold <= 0 {
		o.PullThreshold = 10_000
	}
	if o.InboxSize <= 0 {
		o.InboxSize = 1000
	}
	if o.BackfillCount < 0 {
		o.BackfillCount = 0
	}
	return o
}

// Bounds of the read-time (pull) half of the following timeline. While there
// are at most maxPopular pull-mode authors in all (the usual case: they are the
// few most followed users), the viewer's pull-mode followees are found among
// them with one UserStats call (see popularAuthors). With more, finding them
// costs a ListFollowing and a UserStats call per relationPage followees, so a
// read scans at most maxFollowingPages pages: the
// pull-mode authors among the first relationPage*maxFollowingPages followees of
// a viewer are merged in, those beyond are not (their videos still reach the
// viewer through the global timeline). At most maxPullAuthors are merged, which
// also bounds the IN list of the query that reads their videos.
const (
	relationPage      = 1000
	maxFollowingPages = 10
	maxPullAuthors    = 500
)

// globalPage is a page of the global timeline before pos, extended with the rest
// of its last millisecond when full. It reads one video more than the page: only
// when that one shares the last video's millisecond is there a rest to read.
func (s *Service) globalPage(ctx context.Context, pos Position, count int) ([]*Video, error) {
	vs, err := s.store.Recent(ctx, pos, count+1)
	if err != nil || len(vs) < count {
		return vs, err
	}
	last := vs[count-1]
	if len(vs) > count && vs[count].CreateTime != last.CreateTime {
		return vs[:count], nil
	}
	vs = vs[:count]
	rest, err := s.store.AtMillisecond(ctx, last.CreateTime, last.ID, maxTie)
	if err != nil {
		return nil, err
	}
	s.warnTie(ctx, rest, last)
	return append(vs, rest...), nil
}

func (s *Service) warnTie(ctx context.Context, rest []*Video, last *Video) {
	if len(rest) >= maxTie {
		s.log.WarnContext(ctx, "more videos share one millisecond than a feed page can take; app paging may skip some",
			"create_time", last.CreateTime)
	}
}

// followingPage is a page of the viewer's following timeline before pos: their
// own videos, their inbox (videos fanned out or backfilled from the authors they
// follow) and the videos of the pull-mode authors they follow, merged by
// (create_time, id). A full page is extended with the rest of its last
// millisecond in the following timeline, as the global timeline is.
//
// With fallThrough, a page the following timeline cannot fill is filled from the
// global timeline strictly after the last following video in (create_time, id)
// order, or strictly before pos when none is left. As the app pages on with
// next_time, the following timeline stays empty before it, so those later
// requests continue the global timeline in order. Paging therefore never repeats
// a video: every video of a page is strictly older than every video of the pages
// before. The videos of the global timeline newer than the end of the following
// timeline are passed over on purpose: they are the ones the following timeline
// ranks after the viewer's follows. Followed authors' videos older than the
// inbox reaches (trimmed, or beyond the backfill) come in the global part.
//
// The same rule means the global continuation starts at the oldest following
// video, however old: a sparse following timeline (one video from last year)
// passes over the global videos newer than it. A video that joins the following
// timeline after the fall-through (a new follow's backfill) is shown when paging
// reaches its time, and the global continuation resumes after it; still no video
// repeats, since each is older than every video shown before.
//
// A full page that took the last of the following timeline is also extended with
// the global videos of its last millisecond that rank after it, which the next
// request (strictly before that millisecond) could no longer reach. Inbox entries
// of authors the viewer no longer follows are dropped and deleted on the way (see
// staleAuthors).
func (s *Service) followingPage(ctx context.Context, viewer int64, pos Position, count int, fallThrough bool) ([]*Video, error) {
	authors, err := s.pullAuthors(ctx, viewer)
	if err != nil {
		return nil, err
	}
	authors = append(authors, viewer)
	// One video more than the page tells, in the common case, that the page
	// ends between two milliseconds and that the following timeline goes on,
	// which saves reading the rest of the last millisecond and looking past it.
	vs, err := s.following(ctx, viewer, authors, pos, 0, count+1)
	if err != nil {
		return nil, err
	}
	for range maxRepairs {
		stale, err := s.staleAuthors(ctx, viewer, authors, vs)
		if err != nil {
			// The page is still the inbox's; the check runs again next read.
			s.log.WarnContext(ctx, "cannot check the following timeline's authors", "viewer", viewer, "err", err)
			break
		}
		if len(stale) == 0 {
			break
		}
		for _, a := range stale {
			if _, err := s.o.Inbox.RemoveAuthorFromInbox(ctx, viewer, a); err != nil {
				return nil, err
			}
		}
		if vs, err = s.following(ctx, viewer, authors, pos, 0, count+1); err != nil {
			return nil, err
		}
	}
	if len(vs) > count && vs[count].CreateTime != vs[count-1].CreateTime {
		// The page's last millisecond holds nothing more, and the following
		// timeline continues after it: no tie to add, nothing to fall into.
		return vs[:count], nil
	}
	if len(vs) > count {
		vs = vs[:count]
	}
	if len(vs) == count {
		last := vs[len(vs)-1]
		rest, err := s.following(ctx, viewer, authors, Position{Time: last.CreateTime, ID: last.ID}, last.CreateTime, maxTie)
		if err != nil {
			return nil, err
		}
		s.warnTie(ctx, rest, last)
		vs = append(vs, rest...)
		if !fallThrough {
			return vs, nil
		}
		// When this page took the last of the following timeline, the next
		// request (strictly before this millisecond) starts the global
		// timeline, which would skip the global videos of this millisecond
		// that come after the last one shown: they are this page's tie.
		last = vs[len(vs)-1]
		more, err := s.following(ctx, viewer, authors, Position{Time: last.CreateTime}, 0, 1)
		if err != nil || len(more) > 0 {
			return vs, err
		}
		rest, err = s.store.AtMillisecond(ctx, last.CreateTime, last.ID, maxTie)
		if err != nil {
			return nil, err
		}
		s.warnTie(ctx, rest, last)
		return append(vs, rest...), nil
	}
	if !fallThrough {
		return vs, nil
	}
	from := pos
	if n := len(vs); n > 0 {
		from = Position{Time: vs[n-1].CreateTime, ID: vs[n-1].ID}
	}
	rest, err := s.globalPage(ctx, from, count-len(vs))
	if err != nil {
		return nil, err
	}
	return append(vs, rest...), nil
}

// maxRepairs bounds how often one read repairs an inbox and reads it again.
const maxRepairs = 2

// staleAuthors returns the authors of inbox videos among vs whom the viewer no
// longer follows. Such entries are rare: a fan-out that read the follower list
// just before the viewer unfollowed can write after the unfollow's removal ran.
// Checking the page's authors (one batched call) lets the read repair them, so
// the race cannot leave an unfollowed author in the timeline for good.
func (s *Service) staleAuthors(ctx context.Context, viewer int64, followed []int64, vs []*Video) ([]int64, error) {
	var check []int64
	for _, v := range vs {
		if !slices.Contains(followed, v.AuthorID) && !slices.Contains(check, v.AuthorID) {
			check = append(check, v.AuthorID)
		}
	}
	if len(check) == 0 {
		return nil, nil
	}
	stats, err := s.o.Relation.UserStats(ctx, &relation.UserStatsRequest{ViewerId: viewer, UserIds: check})
	if err != nil {
		return nil, err
	}
	var stale []int64
	for _, a := range check {
		if st := stats.GetStats()[a]; st != nil && !st.GetIsFollow() {
			stale = append(stale, a)
		}
	}
	return stale, nil
}

// following returns up to limit videos of the viewer's following timeline older
// than before and created no earlier than since: the inbox merged with the
// videos of authors (the viewer and their pull-mode followees). A video in both
// (an author who crossed the threshold after it was fanned out) is listed once.
func (s *Service) following(ctx context.Context, viewer int64, authors []int64, before Position, since int64, limit int) ([]*Video, error) {
	return s.o.Inbox.Timeline(ctx, viewer, authors, before, since, limit)
}

// pullAuthors returns the viewer's followees in pull mode (more followers than
// the threshold), within the bounds documented at relationPage: from the list
// of every pull-mode author when it is short, or else by walking the viewer's
// following list, where the mode of each followee comes from s.modes when it
// knows it (see pullModes).
func (s *Service) pullAuthors(ctx context.Context, viewer int64) ([]int64, error) {
	if popular, usable := s.popular.get(ctx, s.o.Relation, int64(s.feed.PullThreshold), s.now()); usable {
		return s.followedPopular(ctx, viewer, popular)
	}
	var out []int64
	cursor := ""
	for range maxFollowingPages {
		page, err := s.o.Relation.ListFollowing(ctx, &relation.ListRequest{UserId: viewer, Page: &base.Page{Count: relationPage, Cursor: cursor}})
		if err != nil {
			return nil, err
		}
		if ids := page.GetUserIds(); len(ids) > 0 {
			pull, unknown := s.modes.split(ids)
			if len(unknown) > 0 {
				stats, err := s.o.Relation.UserStats(ctx, &relation.UserStatsRequest{UserIds: unknown})
				if err != nil {
					return nil, err
				}
				for _, id := range unknown {
					st := stats.GetStats()[id]
					isPull := st != nil && st.GetFollowerCount() > int64(s.feed.PullThreshold)
					s.modes.set(id, isPull)
					if isPull {
						pull = append(pull, id)
					}
				}
			}
			// In the order of the following list, as the bounds above say.
			isPull := make(map[int64]bool, len(pull))
			for _, id := range pull {
				isPull[id] = true
			}
			for _, id := range ids {
				if isPull[id] {
					out = append(out, id)
					if len(out) == maxPullAuthors {
						return out, nil
					}
				}
			}
		}
		if !page.GetPage().GetHasMore() || page.GetPage().GetNextCursor() == "" {
			return out, nil
		}
		cursor = page.GetPage().GetNextCursor()
	}
	return out, nil
}

// followedPopular returns the authors among popular (every pull-mode author)
// that viewer follows and that are still above the threshold, in one call.
func (s *Service) followedPopular(ctx context.Context, viewer int64, popular []int64) ([]int64, error) {
	if len(popular) == 0 {
		return nil, nil
	}
	stats, err := s.o.Relation.UserStats(ctx, &relation.UserStatsRequest{ViewerId: viewer, UserIds: popular})
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, id := range popular {
		if st := stats.GetStats()[id]; st.GetIsFollow() && st.GetFollowerCount() > int64(s.feed.PullThreshold) {
			out = append(out, id)
		}
	}
	return out, nil
}
