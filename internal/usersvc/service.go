// Package usersvc is the user role: accounts, password checks and token issue.
package usersvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/internal/password"
	"github.com/mdouyin/mdouyin/internal/platform/idgen"
	"github.com/mdouyin/mdouyin/internal/token"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/user"
)

// Limits of account fields, in Unicode code points (api.md A.3).
const (
	MaxNameLen     = 32
	MinPasswordLen = 6
	MaxPasswordLen = 32
	// MaxProfileBatch bounds one GetProfiles call.
	MaxProfileBatch = 1000
)

// errBadCredentials is the one answer for an unknown user and a wrong password, so
// that login does not tell which names exist.
var errBadCredentials = errs.New(base.ErrCode_UserBadCredentials, "incorrect username or password")

// Service implements the user role.
type Service struct {
	store  Store
	ids    *idgen.Generator
	hasher *password.Hasher
	tokens *token.Manager
	now    func() time.Time
	log    *slog.Logger
}

var _ user.UserService = (*Service)(nil)

// New returns the user service over its dependencies.
func New(store Store, ids *idgen.Generator, hasher *password.Hasher, tokens *token.Manager, log *slog.Logger) *Service {
	return &Service{store: store, ids: ids, hasher: hasher, tokens: tokens, now: time.Now, log: log}
}

// Register creates an account and logs it in.
func (s *Service) Register(ctx context.Context, req *user.RegisterRequest) (*user.AuthResponse, error) {
	if err := checkName(req.GetUsername()); err != nil {
		return nil, err
	}
	if err := checkPassword(req.GetPassword()); err != nil {
		return nil, err
	}
	key := NameKey(req.GetUsername())
	// Refuse a taken name before paying for a hash; the unique index still decides races.
	switch _, err := s.store.ByNameKey(ctx, key); {
	case err == nil:
		return nil, errNameTaken
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, req.GetPassword())
	if err != nil {
		return nil, err
	}
	id, err := s.ids.Next()
	if err != nil {
		return nil, fmt.Errorf("usersvc: new id: %w", err)
	}
	a := &Account{ID: id, Name: req.GetUsername(), NameKey: key, PasswordHash: hash, CreatedAt: s.now().UnixMilli()}
	if err := s.store.Create(ctx, a); err != nil {
		if errors.Is(err, ErrNameTaken) {
			return nil, errNameTaken
		}
		return nil, err
	}
	return s.issue(id)
}

var errNameTaken = errs.New(base.ErrCode_UserNameTaken, "this username is already taken")

// Login checks a password and issues a token.
func (s *Service) Login(ctx context.Context, req *user.LoginRequest) (*user.AuthResponse, error) {
	name, pw := req.GetUsername(), req.GetPassword()
	// Malformed input cannot match any account; answer as for a wrong password.
	if checkName(name) != nil || checkPassword(pw) != nil {
		return nil, errBadCredentials
	}
	a, err := s.store.ByNameKey(ctx, NameKey(name))
	if errors.Is(err, ErrNotFound) {
		// Spend the same time as a real check so timing does not reveal the name is free.
		if err := s.hasher.DummyVerify(ctx, pw); err != nil {
			return nil, err
		}
		return nil, errBadCredentials
	}
	if err != nil {
		return nil, err
	}
	ok, err := s.hasher.Verify(ctx, pw, a.PasswordHash)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errBadCredentials
	}
	if s.hasher.NeedsRehash(a.PasswordHash) {
		s.rehash(ctx, a.ID, pw)
	}
	return s.issue(a.ID)
}

// rehash upgrades a stored hash to the current parameters. It is best effort: the
// login has succeeded either way.
func (s *Service) rehash(ctx context.Context, id int64, pw string) {
	hash, err := s.hasher.Hash(ctx, pw)
	if err == nil {
		err = s.store.SetPasswordHash(ctx, id, hash)
	}
	if err != nil {
		s.log.WarnContext(ctx, "password rehash failed", "user_id", id, "err", err)
	}
}

func (s *Service) issue(id int64) (*user.AuthResponse, error) {
	tok, err := s.tokens.Issue(id)
	if err != nil {
		return nil, fmt.Errorf("usersvc: issue token: %w", err)
	}
	return &user.AuthResponse{UserId: id, Token: tok}, nil
}

// VerifyToken returns the user a token belongs to.
func (s *Service) VerifyToken(ctx context.Context, req *user.VerifyTokenRequest) (*user.VerifyTokenResponse, error) {
	id, err := s.tokens.Verify(req.GetToken())
	if err != nil {
		return nil, err
	}
	return &user.VerifyTokenResponse{UserId: id}, nil
}

// GetProfiles returns the profiles of the accounts that exist among the ids.
func (s *Service) GetProfiles(ctx context.Context, req *user.GetProfilesRequest) (*user.GetProfilesResponse, error) {
	ids := req.GetUserIds()
	if len(ids) > MaxProfileBatch {
		return nil, errs.InvalidArgument("at most %d users per request", MaxProfileBatch)
	}
	for _, id := range ids {
		if !idgen.Valid(id) {
			return nil, errs.InvalidArgument("invalid user id %d", id)
		}
	}
	accounts, err := s.store.Profiles(ctx, dedupe(ids))
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*base.Profile, len(accounts))
	for id, a := range accounts {
		out[id] = &base.Profile{Id: a.ID, Name: a.Name, Avatar: a.Avatar, BackgroundImage: a.BackgroundImage, Signature: a.Signature}
	}
	return &user.GetProfilesResponse{Profiles: out}, nil
}

// NameKey is the form of a username that uniqueness is checked on: ASCII letters
// folded to lower case, everything else kept as typed.
func NameKey(name string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, name)
}

func checkName(name string) error {
	if !utf8.ValidString(name) {
		return errs.New(base.ErrCode_UserNameInvalid, "username must be valid UTF-8 text")
	}
	n := utf8.RuneCountInString(name)
	if n < 1 || n > MaxNameLen {
		return errs.Newf(base.ErrCode_UserNameInvalid, "username must be 1-%d characters", MaxNameLen)
	}
	if strings.TrimSpace(name) != name {
		return errs.New(base.ErrCode_UserNameInvalid, "username must not start or end with spaces")
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == utf8.RuneError || unicode.Is(unicode.Cf, r) {
			return errs.New(base.ErrCode_UserNameInvalid, "username must not contain control or invisible characters")
		}
	}
	return nil
}

func checkPassword(pw string) error {
	if !utf8.ValidString(pw) {
		return errs.New(base.ErrCode_UserPasswordInvalid, "password must be valid UTF-8 text")
	}
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLen || n > MaxPasswordLen {
		return errs.Newf(base.ErrCode_UserPasswordInvalid, "password must be %d-%d characters", MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

func dedupe(ids []int64) []int64 {
	seen := make(map[int64]struct{}, len(ids))
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if _, ok := seen[id]; !ok {
			seen[id] = struct{}{}
			out = append(out, id)
		}
	}
	return out
}
