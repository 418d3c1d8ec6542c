package sso

import "context"

type planOnlyKey struct{}

// WithPlanOnly marks ctx as planning only: a ConnectionConfigurer
// validates and builds the connection's configuration as usual but
// reserves nothing in its stores (saml's claims on own endpoint paths),
// because the connection will not be written. A dry run of an import
// (sso/migrate) plans with it.
func WithPlanOnly(ctx context.Context) context.Context {
	return context.WithValue(ctx, planOnlyKey{}, true)
}

// PlanOnly reports whether ctx was marked by WithPlanOnly.
func PlanOnly(ctx context.Context) bool {
	v, _ := ctx.Value(planOnlyKey{}).(bool)
	return v
}

// ConnectionReserver is an optional capability of a ConnectionConfigurer:
// it reserves in its stores what a configured connection claims (saml: the
// paths of its own endpoint URLs), as ConfigureConnection does outside
// WithPlanOnly. A writer that planned with WithPlanOnly calls it for each
// connection it is about to write; an error refuses that write (a
// *FieldError naming the setting another connection holds).
type ConnectionReserver interface {
	ReserveConnection(ctx context.Context, c *Connection) error
	// ReleaseConnection drops every reservation of c, whose creation
	// failed or was abandoned: c is not stored.
	ReleaseConnection(ctx context.Context, c *Connection) error
}
