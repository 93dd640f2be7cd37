package gateway

import (
	"context"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/mdouyin/mdouyin/internal/errs"
	"github.com/mdouyin/mdouyin/kitex_gen/base"
	"github.com/mdouyin/mdouyin/kitex_gen/user"
)

// A token proves who signed it in, not that the account is still there: after a
// database is restored from an older backup with the JWT secret kept, valid
// tokens can name ids without an account. Writes in such a name would leave
// likes, comments and videos nobody owns, so every write first checks that its
// caller has an account. Accounts are never deleted, so a positive answer is
// kept (for a while, bounded in number); a negative one is not, since the
// account may be registered a moment later on another gateway.
const (
	knownAccountsMax = 200_000
	knownAccountTTL  = 30 * time.Minute
)

func newKnownAccounts() *otter.Cache[int64, struct{}] {
	return otter.Must(&otter.Options[int64, struct{}]{
		MaximumSize:      knownAccountsMax,
		ExpiryCalculator: otter.ExpiryWriting[int64, struct{}](knownAccountTTL),
	})
}

// errNoAccount answers a write whose token names an id without an account.
var errNoAccount = errs.New(base.ErrCode_Unauthenticated, "your account no longer exists; please register or log in again")

// checkAccount returns nil when id has an account, errNoAccount when it has
// none, and Unavailable when the user role cannot say.
func (g *Gateway) checkAccount(ctx context.Context, id int64) error {
	if _, ok := g.accounts.GetIfPresent(id); ok {
		return nil
	}
	r, err := g.svc.User.GetProfiles(ctx, &user.GetProfilesRequest{UserIds: []int64{id}})
	if err != nil {
		return g.essential(ctx, depUser, err)
	}
	if r.GetProfiles()[id] == nil {
		return errNoAccount
	}
	g.accounts.Set(id, struct{}{})
	return nil
}
