package stack

import (
	"context"
	"sync"
	"time"
)

// Run does all background work until ctx ends, then returns ctx's error:
// SAML metadata refresh and certificate warnings, domain re-verification,
// federation health checks, sealing audit events into their chains (for a
// store that appends them unsealed, such as sqlstore; see
// audit.Trail.Run), and every SweepInterval the sweep of expired sessions,
// token families and OIDC flows and the end of sessions their membership no
// longer admits (session.Manager.Reconcile). A failing loop is logged,
// never fatal to the others. Run it on every replica.
func (s *Stack) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	loop := func(name string, run func(context.Context) error) {
		wg.Go(func() {
			if err := run(ctx); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "stack: background work stopped", "loop", name, "err", err)
			}
		})
	}
	loop("saml metadata refresh", s.SAML.Run)
	loop("domain re-verification", s.Domains.Run)
	loop("federation health", s.Health.Run)
	loop("audit sealer", s.Auditor.Run)
	if s.Webhooks != nil {
		loop("webhooks", s.Webhooks.Run)
	}
	loop("session revocations", s.Sessions.Run)
	loop("sweep", s.runSweeps)
	wg.Wait()
	return ctx.Err()
}

func (s *Stack) runSweeps(ctx context.Context) error {
	t := time.NewTicker(s.sweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if _, err := s.Sessions.Sweep(ctx); err != nil {
				s.log.WarnContext(ctx, "stack: session sweep", "err", err)
			}
			if _, err := s.Sessions.Reconcile(ctx); err != nil {
				s.log.WarnContext(ctx, "stack: session reconcile", "err", err)
			}
			if _, err := s.OIDC.DeleteExpired(ctx); err != nil {
				s.log.WarnContext(ctx, "stack: oidc flow sweep", "err", err)
			}
		}
	}
}
