package bench

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/mdouyin/mdouyin/kitex_gen/base"
)

func TestRetryLoginOnlyWhileUnavailable(t *testing.T) {
	unavailable := &statusError{code: base.ErrCode_Unavailable, msg: "the service is temporarily unavailable"}
	other := &statusError{code: base.ErrCode_InvalidArgument, msg: "bad"}
	cases := []struct {
		name    string
		login   bool
		answers []error
		calls   int
		wantErr error
	}{
		{"login succeeds after two unavailable answers", true, []error{unavailable, unavailable, nil}, 3, nil},
		{"login gives up after setupTries", true, append(slices.Repeat([]error{unavailable}, setupTries), nil), setupTries, unavailable},
		{"login fails at once on another error", true, []error{other, nil}, 1, other},
		{"registration is not tried again", false, []error{unavailable, nil}, 1, unavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			err := retryLogin(context.Background(), c.login, 0, func() error {
				calls++
				return c.answers[calls-1]
			})
			if calls != c.calls || !errors.Is(err, c.wantErr) {
				t.Fatalf("%d calls ending in %v; want %d ending in %v", calls, err, c.calls, c.wantErr)
			}
		})
	}
}
