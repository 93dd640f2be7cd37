package usersvc

import (
	"context"
	"errors"
)

// Account is a stored user. Profile fields may be empty: the gateway then shows
// generated defaults.
type Account struct {
	ID              int64
	Name            string
	NameKey         string
	PasswordHash    string
	Avatar          string
	BackgroundImage string
	Signature       string
	CreatedAt       int64 // epoch ms
}

// Store keeps accounts. It is defined here, where it is used; store_sql.go and
// cache.go implement it.
type Store interface {
	// Create inserts a new account, or returns ErrNameTaken when its NameKey exists.
	Create(ctx context.Context, a *Account) error
	// ByNameKey returns the account with that key, or ErrNotFound.
	ByNameKey(ctx context.Context, nameKey string) (*Account, error)
	// Profiles returns the accounts that exist among ids, without password hashes.
	Profiles(ctx context.Context, ids []int64) (map[int64]*Account, error)
	// SetPasswordHash replaces an account's hash, after a rehash with new parameters.
	SetPasswordHash(ctx context.Context, id int64, hash string) error
}

var (
	// ErrNotFound is returned by Store lookups that find nothing.
	ErrNotFound = errors.New("usersvc: account not found")
	// ErrNameTaken is returned by Create when the name (ignoring ASCII case) exists.
	ErrNameTaken = errors.New("usersvc: name taken")
)
