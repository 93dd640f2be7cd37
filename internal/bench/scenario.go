package bench

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cloudwego/hertz/pkg/protocol"
)

// Scenario is one kind of request.
type Scenario struct {
	Name string
	// Build fills req (empty) with the next request of this kind; it runs on
	// w's goroutine.
	Build func(w *Worker, req *protocol.Request) error
}

// Mix hands out scenarios in proportion to their weights. The order is fixed
// (smooth weighted round-robin over one shared counter), not random: every
// scenario runs exactly weight times in each sum-of-weights requests, so short
// runs cover them all and two runs offer the same mix.
type Mix struct {
	Scenarios []*Scenario
	seq       []int
	n         atomic.Uint64
}

// NewMix makes a mix; weights[i] belongs to scenarios[i] and must be positive.
func NewMix(scenarios []*Scenario, weights []int) (*Mix, error) {
	if len(scenarios) == 0 || len(scenarios) != len(weights) {
		return nil, fmt.Errorf("bench: %d scenarios with %d weights", len(scenarios), len(weights))
	}
	total := 0
	for i, w := range weights {
		if w <= 0 {
			return nil, fmt.Errorf("bench: scenario %s has weight %d; weights must be positive", scenarios[i].Name, w)
		}
		total += w
	}
	if total > 1_000_000 {
		return nil, fmt.Errorf("bench: weights add up to %d; keep them under 1,000,000", total)
	}
	m := &Mix{Scenarios: scenarios, seq: make([]int, 0, total)}
	current := make([]int, len(weights))
	for range total {
		best := 0
		for i, w := range weights {
			current[i] += w
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		m.seq = append(m.seq, best)
	}
	return m, nil
}

func (m *Mix) next() int { return m.seq[(m.n.Add(1)-1)%uint64(len(m.seq))] }

// Account is a logged-in user of the target.
type Account struct {
	ID    int64
	Name  string
	Token string
}

// Video is a video found in the target's feed.
type Video struct {
	ID, Author, Comments int64
}

// Env is what the scenarios know about the target: set up once per invocation
// (Setup), shared read-only by every worker.
type Env struct {
	Base     string // the target's URL, without a trailing slash
	Accounts []Account
	Videos   []Video
	Users    []int64 // video authors and our accounts: user info and follow targets
	Hot      Video   // the video of comment_list_hot and like_hot: most comments among Videos
	Clip     []byte  // the video that publish uploads
	RunID    string  // unique per invocation: names and texts carry it
	seq      atomic.Int64
}

// need is what a scenario requires of the Env.
type need uint8

const (
	needAccount need = 1 << iota
	needPeer         // a second account
	needVideo
	needClip
)

type scenarioDef struct {
	name  string
	read  bool // a page read: compared with the ceiling by --scenario ceiling
	needs need
	help  string
	build func(e *Env, w *Worker, req *protocol.Request) error
}

// catalog is every scenario, in the order reports list them. The request shapes
// are the app's: parameters in the query string, publish as multipart.
var catalog = []scenarioDef{
	{"feed_guest", true, 0, "GET /douyin/feed/ without a token (the global timeline's first page)",
		func(e *Env, w *Worker, req *protocol.Request) error {
			w.start(e.Base, "/douyin/feed/")
			return w.request(req, http.MethodGet)
		}},
	{"feed_user", true, needAccount, "GET /douyin/feed/ as a random account (its following timeline)",
		func(e *Env, w *Worker, req *protocol.Request) error {
			w.start(e.Base, "/douyin/feed/")
			w.param("token", e.account(w).Token)
			return w.request(req, http.MethodGet)
		}},
	{"user_info", true, needAccount, "GET /douyin/user/ of a random known user",
		func(e *Env, w *Worker, req *protocol.Request) error {
			w.start(e.Base, "/douyin/user/")
			w.param("token", e.account(w).Token)
			w.intParam("user_id", e.Users[w.rng.IntN(len(e.Users))])
			return w.request(req, http.MethodGet)
		}},
	{"like", false, needAccount | needVideo, "POST /douyin/favorite/action/ like or unlike (at random) of a random video",
		func(e *Env, w *Worker, req *protocol.Request) error {
			w.start(e.Base, "/douyin/favorite/action/")
			w.param("token", e.account(w).Token)
			w.intParam("video_id", e.video(w).ID)
			w.intParam("action_type", 1+w.rng.Int64N(2))
			return w.request(req, http.MethodPost)
		}},
	{"like_hot", false, needAccount | needVideo, "POST /douyin/favorite/action/ like or unlike (at random) of one video (the hot one) by a random account",
		func(e *Env, w *Worker, req *protocol.Request) error {
			w.start(e.Base, "/douyin/favorite/action/")
			w.param("token", e.account(w).Token)
			w.intParam("video_id", e.Hot.ID)
			w.intParam("action_type", 1+w.rng.Int64N(2))
			return w.request(req, http.MethodPost)
		}},
	{"comment_list_hot", true, needAccount | needVideo, "GET /douyin/comment/list/ of the video with the most comments",
		func(e *Env, w *Worker, req *protocol.Request) error {
			w.start(e.Base, "/douyin/comment/list/")
			w.param("token", e.account(w).Token)
			w.intParam("video_id", e.Hot.ID)
			return w.request(req, http.MethodGet)
		}},
	{"comment_list_hot_guest", true, needVideo, "GET /douyin/comment/list/ of the video with the most comments, without a token",
		func(e *Env, w *Worker, req *protocol.Request) error {
			w.start(e.Base, "/douyin/comment/list/")
			w.intParam("video_id", e.Hot.ID)
			return w.request(req, http.MethodGet)
		}},
	{"comment_list_cold", true, needAccount | needVideo, "GET /douyin/comment/list/ of a random video",
		func(e *Env, w *Worker, req *protocol.Request) error {
			w.start(e.Base, "/douyin/comment/list/")
			w.param("token", e.account(w).Token)
			w.intParam("video_id", e.video(w).ID)
			return w.request(req, http.MethodGet)
		}},
	{"comment_post", false, needAccount | needVideo, "POST /douyin/comment/action/ a new comment on a random video",
		func(e *Env, w *Worker, req *protocol.Request) error {
			w.start(e.Base, "/douyin/comment/action/")
			w.param("token", e.account(w).Token)
			w.intParam("video_id", e.video(w).ID)
			w.param("action_type", "1")
			// Unique text: the same text by the same user on the same video
			// within 10 s is refused as a duplicate (api.md B.5).
			w.param("comment_text", e.text("comment"))
			return w.request(req, http.MethodPost)
		}},
	{"follow", false, needAccount | needPeer, "POST /douyin/relation/action/ follow or unfollow (at random) of a random known user",
		func(e *Env, w *Worker, req *protocol.Request) error {
			i := w.rng.IntN(len(e.Accounts))
			a := e.Accounts[i]
			to := e.Users[w.rng.IntN(len(e.Users))]
			if to == a.ID { // following oneself is an error
				to = e.Accounts[(i+1)%len(e.Accounts)].ID
			}
			w.start(e.Base, "/douyin/relation/action/")
			w.param("token", a.Token)
			w.intParam("to_user_id", to)
			w.intParam("action_type", 1+w.rng.Int64N(2))
			return w.request(req, http.MethodPost)
		}},
	{"chat_poll", false, needAccount | needPeer, "GET /douyin/message/chat/ of an account with its peer, messages of the last second (the app's poll)",
		func(e *Env, w *Worker, req *protocol.Request) error {
			a, peer := e.pair(w)
			w.start(e.Base, "/douyin/message/chat/")
			w.param("token", a.Token)
			w.intParam("to_user_id", peer.ID)
			w.intParam("pre_msg_time", time.Now().Add(-time.Second).UnixMilli())
			return w.request(req, http.MethodGet)
		}},
	{"chat_send", false, needAccount | needPeer, "POST /douyin/message/action/ a message from an account to its peer",
		func(e *Env, w *Worker, req *protocol.Request) error {
			a, peer := e.pair(w)
			w.start(e.Base, "/douyin/message/action/")
			w.param("token", a.Token)
			w.intParam("to_user_id", peer.ID)
			w.param("action_type", "1")
			w.param("content", e.text("message"))
			return w.request(req, http.MethodPost)
		}},
	{"publish", false, needAccount | needClip, "POST /douyin/publish/action/ the clip (multipart) as a random account",
		func(e *Env, w *Worker, req *protocol.Request) error {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			mw.WriteField("token", e.account(w).Token)
			mw.WriteField("title", e.text("video"))
			fw, err := mw.CreateFormFile("data", "bench.mp4")
			if err != nil {
				return err
			}
			fw.Write(e.Clip)
			mw.Close()
			w.start(e.Base, "/douyin/publish/action/")
			req.SetBody(body.Bytes())
			req.Header.SetContentTypeBytes([]byte(mw.FormDataContentType()))
			return w.request(req, http.MethodPost)
		}},
}

// DefaultMix is the weighted mix of --scenario mix: mostly reading, as an app's
// traffic is, with every write present. Publish is rare, because each one costs
// the server a full decode of the clip. A sixth of the likes go to one video, as
// on a video that went viral.
var DefaultMix = []Weight{
	{"feed_guest", 150}, {"feed_user", 250}, {"user_info", 100},
	{"comment_list_hot", 80}, {"comment_list_hot_guest", 20}, {"comment_list_cold", 100}, {"like", 100}, {"like_hot", 20},
	{"comment_post", 40}, {"follow", 40}, {"chat_poll", 70}, {"chat_send", 29}, {"publish", 1},
}

// ReadScenarios are the ones --scenario ceiling compares with the ceiling.
func ReadScenarios() []string {
	var out []string
	for _, d := range catalog {
		if d.read {
			out = append(out, d.name)
		}
	}
	return out
}

// ScenarioNames lists every scenario, in report order.
func ScenarioNames() []string {
	out := make([]string, len(catalog))
	for i, d := range catalog {
		out[i] = d.name
	}
	return out
}

// ScenarioHelp is one line per scenario, for the usage text.
func ScenarioHelp() string {
	var b strings.Builder
	for _, d := range catalog {
		fmt.Fprintf(&b, "  %-18s %s\n", d.name, d.help)
	}
	return b.String()
}

func lookup(name string) (scenarioDef, bool) {
	i := slices.IndexFunc(catalog, func(d scenarioDef) bool { return d.name == name })
	if i < 0 {
		return scenarioDef{}, false
	}
	return catalog[i], true
}

// Weight is a scenario's share of a mix.
type Weight struct {
	Name   string
	Weight int
}

// ParseMix reads "name=weight,name=weight,..." (weights are integers; a weight
// of 0 leaves the scenario out).
func ParseMix(s string) ([]Weight, error) {
	var out []Weight
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, ws, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		w, err := strconv.Atoi(strings.TrimSpace(ws))
		if !ok || err != nil || w < 0 {
			return nil, fmt.Errorf("--mix: %q: want name=weight with a whole number weight", part)
		}
		if _, known := lookup(name); !known {
			return nil, fmt.Errorf("--mix: unknown scenario %q (known: %s)", name, strings.Join(ScenarioNames(), ", "))
		}
		if slices.ContainsFunc(out, func(x Weight) bool { return x.Name == name }) {
			return nil, fmt.Errorf("--mix: %s given twice", name)
		}
		if w > 0 {
			out = append(out, Weight{name, w})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--mix: no scenario with a positive weight")
	}
	return out, nil
}

// needsOf is what the named scenarios require together.
func needsOf(names []string) need {
	var n need
	for _, name := range names {
		d, _ := lookup(name)
		n |= d.needs
	}
	return n
}

// Scenario returns the named scenario bound to e.
func (e *Env) Scenario(name string) (*Scenario, error) {
	d, ok := lookup(name)
	if !ok {
		return nil, fmt.Errorf("unknown scenario %q (known: %s)", name, strings.Join(ScenarioNames(), ", "))
	}
	switch {
	case d.needs&needAccount != 0 && len(e.Accounts) == 0:
		return nil, fmt.Errorf("scenario %s needs an account (--accounts or --seeded-users)", name)
	case d.needs&needPeer != 0 && len(e.Accounts) < 2:
		return nil, fmt.Errorf("scenario %s needs two accounts", name)
	case d.needs&needVideo != 0 && len(e.Videos) == 0:
		return nil, fmt.Errorf("scenario %s needs a video in the feed", name)
	case d.needs&needClip != 0 && len(e.Clip) == 0:
		return nil, fmt.Errorf("scenario %s needs a clip to upload", name)
	}
	return &Scenario{Name: name, Build: func(w *Worker, req *protocol.Request) error { return d.build(e, w, req) }}, nil
}

func (e *Env) account(w *Worker) Account { return e.Accounts[w.rng.IntN(len(e.Accounts))] }

func (e *Env) video(w *Worker) Video { return e.Videos[w.rng.IntN(len(e.Videos))] }

// pair is a random account and its fixed peer, so chats accumulate per pair.
func (e *Env) pair(w *Worker) (Account, Account) {
	i := w.rng.IntN(len(e.Accounts))
	return e.Accounts[i], e.Accounts[(i+1)%len(e.Accounts)]
}

// text is a unique string for comments, messages and titles.
func (e *Env) text(kind string) string {
	return fmt.Sprintf("bench %s %s #%d", kind, e.RunID, e.seq.Add(1))
}

func (w *Worker) start(base, path string) {
	w.url = append(append(w.url[:0], base...), path...)
}

func (w *Worker) sep() {
	if bytes.IndexByte(w.url, '?') < 0 {
		w.url = append(w.url, '?')
	} else {
		w.url = append(w.url, '&')
	}
}

func (w *Worker) param(k, v string) {
	w.sep()
	w.url = append(append(append(w.url, k...), '='), url.QueryEscape(v)...)
}

func (w *Worker) intParam(k string, v int64) {
	w.sep()
	w.url = strconv.AppendInt(append(append(w.url, k...), '='), v, 10)
}

// request sets req's method and URL; req was Reset, which marks its URI for
// parsing again.
func (w *Worker) request(req *protocol.Request, method string) error {
	req.SetMethod(method)
	req.Header.SetRequestURIBytes(w.url)
	return nil
}
