package sso

import (
	"time"
)

// DomainState is the verification state of a Domain.
type DomainState string

// Domain states. Only verified domains route logins and allow linking.
const (
	DomainPending  DomainState = "pending"
	DomainVerified DomainState = "verified"
	DomainFailed   DomainState = "failed"
)

// Domain is an email domain claimed by an organization. At most one
// organization may hold a given domain in the verified state; stores enforce
// this atomically.
type Domain struct {
	OrgID string
	// Name is normalized by NormalizeDomain.
	Name string
	// Token is the secret the DNS TXT record must carry.
	Token string
	State DomainState
	// VerifiedAt is when the domain was last verified.
	VerifiedAt time.Time
	// LastCheckedAt is when DNS was last consulted.
	LastCheckedAt time.Time
	// ConsecutiveFailures counts re-verifications that missed in a row;
	// FailingSince is when the first of them happened (zero if none).
	ConsecutiveFailures int
	FailingSince        time.Time
	CreatedAt           time.Time
}

// Routable reports whether the domain may route logins and allow linking.
func (d *Domain) Routable() bool { return d.State == DomainVerified }
