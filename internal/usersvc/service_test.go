package usersvc_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudwego/kitex/server"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/password"
	"github.com/mdouyin/mdouyin/internal/platform/db"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/platform/rpc"
	"github.com/mdouyin/mdouyin/internal/platform/svctest"
	"github.com/mdouyin/mdouyin/internal/token"
	"github.com/mdouyin/mdouyin/internal/usersvc"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/user"
	"github.com/mdouyin/mdouyin/kitex_gen/user/userservice"
)

// placement builds the user service under test and returns the interface callers
// use: the Go implementation itself, or a Kitex client of a real server on loopback.
type placement func(t *testing.T, svc *usersvc.Service) user.UserService

var placements = map[string]placement{
	"direct": func(t *testing.T, svc *usersvc.Service) user.UserService { return svc },
	"kitex":  viaKitex,
}

func viaKitex(t *testing.T, svc *usersvc.Service) user.UserService {
	t.Helper()
	addr := svctest.ServeKitex(t, "user", func(o []server.Option) server.Server { return userservice.NewServer(svc, o...) })
	c, err := userservice.NewClient("user", rpc.ClientOptions("user", []string{addr}, 10*time.Second)...)
	if err != nil {
		t.Fatal(err)
	}
	return usersvc.NewRemote(c)
}

// databases opens an empty database for the service on each engine under test.
var databases = svctest.Databases("usersvc")

type fixture struct {
	api    user.UserService
	tokens *token.Manager
	db     *db.DB
}

func newService(t *testing.T, d *db.DB) (*usersvc.Service, *token.Manager) {
	t.Helper()
	store, err := usersvc.NewSQLStore(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := idgen.New(1)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := token.NewManager(token.AudienceApp, token.KeyFromSecret([]byte(strings.Repeat("s", 32))), nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Cheap hashing parameters keep the suite fast; the parameters are not what it tests.
	hasher, err := password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2)
	if err != nil {
		t.Fatal(err)
	}
	return usersvc.New(store, ids, hasher, tokens, slog.New(slog.NewTextHandler(io.Discard, nil))), tokens
}

// TestUserService runs the whole suite on every database and in every placement.
func TestUserService(t *testing.T) {
	for dbName, open := range databases {
		for pName, place := range placements {
			t.Run(dbName+"/"+pName, func(t *testing.T) {
				d := open(t)
				svc, tokens := newService(t, d)
				f := &fixture{api: place(t, svc), tokens: tokens, db: d}
				t.Run("register and login", f.testRegisterLogin)
				t.Run("names unique ignoring ASCII case", f.testNameCase)
				t.Run("bad input changes nothing", f.testBadInput)
				t.Run("profiles", f.testProfiles)
				t.Run("tokens", f.testTokens)
				t.Run("concurrent registration of one name", f.testConcurrentRegister)
			})
		}
	}
}

func (f *fixture) count(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM users").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) testRegisterLogin(t *testing.T) {
	ctx := context.Background()
	reg, err := f.api.Register(ctx, &user.RegisterRequest{Username: "小明 Ming", Password: "secret-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !idgen.Valid(reg.UserId) {
		t.Fatalf("user id %d is not a valid id", reg.UserId)
	}
	if id, err := f.tokens.Verify(reg.Token); err != nil || id != reg.UserId {
		t.Fatalf("register token verifies as %d, %v; want %d", id, err, reg.UserId)
	}
	in, err := f.api.Login(ctx, &user.LoginRequest{Username: "小明 Ming", Password: "secret-1"})
	if err != nil {
		t.Fatal(err)
	}
	if in.UserId != reg.UserId {
		t.Fatalf("login id %d, want %d", in.UserId, reg.UserId)
	}
	// Wrong password and unknown user get the same answer.
	_, errWrong := f.api.Login(ctx, &user.LoginRequest{Username: "小明 Ming", Password: "secret-2"})
	_, errUnknown := f.api.Login(ctx, &user.LoginRequest{Username: "nobody-here", Password: "secret-1"})
	svctest.WantCode(t, errWrong, base.ErrCode_UserBadCredentials)
	svctest.WantCode(t, errUnknown, base.ErrCode_UserBadCredentials)
	ew, _ := errs.From(errWrong)
	eu, _ := errs.From(errUnknown)
	if ew.Msg != eu.Msg {
		t.Fatalf("wrong password says %q but unknown user says %q", ew.Msg, eu.Msg)
	}
}

func (f *fixture) testNameCase(t *testing.T) {
	ctx := context.Background()
	if _, err := f.api.Register(ctx, &user.RegisterRequest{Username: "CaseUser", Password: "secret-1"}); err != nil {
		t.Fatal(err)
	}
	before := f.count(t)
	_, err := f.api.Register(ctx, &user.RegisterRequest{Username: "caseuser", Password: "secret-1"})
	svctest.WantCode(t, err, base.ErrCode_UserNameTaken)
	if f.count(t) != before {
		t.Fatal("a refused registration wrote a row")
	}
	// Login ignores ASCII case too; non-ASCII letters are kept as typed.
	if _, err := f.api.Login(ctx, &user.LoginRequest{Username: "CASEUSER", Password: "secret-1"}); err != nil {
		t.Fatalf("login with other case: %v", err)
	}
	if _, err := f.api.Register(ctx, &user.RegisterRequest{Username: "Ärger", Password: "secret-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.api.Register(ctx, &user.RegisterRequest{Username: "ärger", Password: "secret-1"}); err != nil {
		t.Fatalf("a name differing in a non-ASCII letter's case was refused: %v", err)
	}
}

func (f *fixture) testBadInput(t *testing.T) {
	ctx := context.Background()
	long := strings.Repeat("字", 33)
	cases := []struct {
		name, user, pass string
		code             base.ErrCode
	}{
		{"empty username", "", "secret-1", base.ErrCode_UserNameInvalid},
		{"33-character username", long, "secret-1", base.ErrCode_UserNameInvalid},
		{"username with spaces around", " pad ", "secret-1", base.ErrCode_UserNameInvalid},
		{"username with a control character", "a\x00b", "secret-1", base.ErrCode_UserNameInvalid},
		{"username with invalid UTF-8", "a\xffb", "secret-1", base.ErrCode_UserNameInvalid},
		{"username with a zero-width joiner", "a\u200db", "secret-1", base.ErrCode_UserNameInvalid},
		{"empty password", "okname1", "", base.ErrCode_UserPasswordInvalid},
		{"5-character password", "okname2", "12345", base.ErrCode_UserPasswordInvalid},
		{"33-character password", "okname3", strings.Repeat("p", 33), base.ErrCode_UserPasswordInvalid},
		{"password with invalid UTF-8", "okname4", "secret\xff1", base.ErrCode_UserPasswordInvalid},
	}
	before := f.count(t)
	for _, c := range cases {
		_, err := f.api.Register(ctx, &user.RegisterRequest{Username: c.user, Password: c.pass})
		if got := errs.CodeOf(err); got != c.code {
			t.Errorf("%s: code %v (%v), want %v", c.name, got, err, c.code)
		}
		_, err = f.api.Login(ctx, &user.LoginRequest{Username: c.user, Password: c.pass})
		if got := errs.CodeOf(err); got != base.ErrCode_UserBadCredentials {
			t.Errorf("%s: login code %v, want UserBadCredentials", c.name, got)
		}
	}
	if f.count(t) != before {
		t.Fatal("refused registrations wrote rows")
	}
	// Boundaries that are allowed.
	if _, err := f.api.Register(ctx, &user.RegisterRequest{Username: strings.Repeat("字", 32), Password: strings.Repeat("码", 32)}); err != nil {
		t.Fatalf("32-character name and password: %v", err)
	}
	if _, err := f.api.Register(ctx, &user.RegisterRequest{Username: "x", Password: "123456"}); err != nil {
		t.Fatalf("1-character name and 6-character password: %v", err)
	}
}

func (f *fixture) testProfiles(t *testing.T) {
	ctx := context.Background()
	a, err := f.api.Register(ctx, &user.RegisterRequest{Username: "profile-a", Password: "secret-1"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.api.Register(ctx, &user.RegisterRequest{Username: "profile-😀", Password: "secret-1"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.api.GetProfiles(ctx, &user.GetProfilesRequest{UserIds: []int64{a.UserId, b.UserId, a.UserId, 12345}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Profiles) != 2 {
		t.Fatalf("got %d profiles, want 2 (unknown ids left out)", len(resp.Profiles))
	}
	if p := resp.Profiles[b.UserId]; p == nil || p.Name != "profile-😀" || p.Id != b.UserId {
		t.Fatalf("profile b = %+v", p)
	}
	_, err = f.api.GetProfiles(ctx, &user.GetProfilesRequest{UserIds: []int64{-1}})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	_, err = f.api.GetProfiles(ctx, &user.GetProfilesRequest{UserIds: []int64{1 << 53}})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
	_, err = f.api.GetProfiles(ctx, &user.GetProfilesRequest{UserIds: make([]int64, usersvc.MaxProfileBatch+1)})
	svctest.WantCode(t, err, base.ErrCode_InvalidArgument)
}

func (f *fixture) testTokens(t *testing.T) {
	ctx := context.Background()
	reg, err := f.api.Register(ctx, &user.RegisterRequest{Username: "token-user", Password: "secret-1"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.api.VerifyToken(ctx, &user.VerifyTokenRequest{Token: reg.Token})
	if err != nil || v.UserId != reg.UserId {
		t.Fatalf("verify = %v, %v", v, err)
	}
	for _, bad := range []string{"", "garbage", reg.Token + "x", strings.Repeat("a", 10000)} {
		_, err := f.api.VerifyToken(ctx, &user.VerifyTokenRequest{Token: bad})
		svctest.WantCode(t, err, base.ErrCode_Unauthenticated)
	}
}

func (f *fixture) testConcurrentRegister(t *testing.T) {
	ctx := context.Background()
	const n = 8
	var wg sync.WaitGroup
	codes := make([]base.ErrCode, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.api.Register(ctx, &user.RegisterRequest{Username: "Racer", Password: "secret-1"})
			codes[i] = errs.CodeOf(err)
		}()
	}
	wg.Wait()
	won := 0
	for _, c := range codes {
		switch c {
		case base.ErrCode_OK:
			won++
		case base.ErrCode_UserNameTaken:
		default:
			t.Fatalf("unexpected code %v", c)
		}
	}
	if won != 1 {
		t.Fatalf("%d registrations of one name succeeded, want 1", won)
	}
}
