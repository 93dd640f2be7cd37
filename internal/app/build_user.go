package app

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mdouyin/mdouyin/internal/gateway"
	"github.com/mdouyin/mdouyin/internal/password"
	"github.com/mdouyin/mdouyin/internal/token"
	"github.com/mdouyin/mdouyin/internal/usersvc"
)

func buildUser(ctx context.Context, p *platform, tokens *token.Manager, s *gateway.Services) error {
	d, err := p.DB(ctx, "user")
	if err != nil {
		return err
	}
	store, err := usersvc.NewSQLStore(ctx, d)
	if err != nil {
		return err
	}
	params := password.DefaultParams()
	params.Memory = p.cfg.Password.MemoryKiB
	hasher, err := password.NewHasher(params, p.cfg.Password.MaxInFlight)
	if err != nil {
		return err
	}
	p.metrics.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mdouyin_password_hashes_in_flight",
			Help: "Argon2id hashes being computed now (bounded by password.max_in_flight)."},
			func() float64 { return float64(hasher.InFlight()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mdouyin_password_hashes_queued",
			Help: "Logins and registrations waiting for an Argon2id slot."},
			func() float64 { return float64(hasher.Queued()) }),
	)
	s.User = usersvc.New(store, p.ids, hasher, tokens, p.log)
	return nil
}
