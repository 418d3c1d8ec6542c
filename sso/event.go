package sso

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"sort"
	"time"
)

// ActorType says who acted in an Event.
type ActorType string

// Actor types. Operator is the host's own staff (acting across organizations);
// Admin is a tenant administrator acting in their own organization.
const (
	ActorUser     ActorType = "user"
	ActorAdmin    ActorType = "admin"
	ActorOperator ActorType = "operator"
	ActorIdP      ActorType = "idp"
	ActorSCIM     ActorType = "scim"
	ActorSystem   ActorType = "system"
)

// Actor is who caused an Event.
type Actor struct {
	Type ActorType
	ID   string
}

// Target is what an Event is about.
type Target struct {
	Type string
	ID   string
}

// Outcome of an Event.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// Event types with stable names. Packages may define more; names are
// "<noun>.<past-tense verb>".
const (
	EventLoginSucceeded      = "login.succeeded"
	EventLoginFailed         = "login.failed"
	EventRolesChanged        = "membership.roles_changed"
	EventCrossTenantDenied   = "authz.cross_tenant_denied"
	EventCertificateExpiring = "connection.certificate_expiring"
	EventSessionRevoked      = "session.revoked"
)

// Event is one audit record. Events of an organization form a hash chain:
// each carries the hash of its predecessor, so an edited or deleted event is
// detected by VerifyChain. Events with an empty OrgID (operator actions that
// concern no organization) form their own chain. The store seals an event
// into its chain (see Chain) when it appends it or shortly after; see
// EventStore.
type Event struct {
	ID    string
	OrgID string
	// Seq is the 1-based position in the organization's chain, assigned by
	// the store when it seals the event; zero while it is unsealed.
	Seq       int64
	Time      time.Time
	Type      string
	Actor     Actor
	Target    Target
	Outcome   string
	Reason    string
	IP        string
	UserAgent string
	Details   map[string]string
	// PrevHash is the Hash of the previous event in the chain ("" for the
	// first) and Hash this event's own hash; both are set by the store
	// through Chain when it seals the event, and Hash is empty until then.
	PrevHash string
	Hash     string
}

// EventQuery selects events of one organization. Zero fields do not filter.
type EventQuery struct {
	OrgID string
	Since time.Time
	Until time.Time
	Type  string
	// ActorID filters by Actor.ID.
	ActorID string
	// AfterSeq returns events with Seq > AfterSeq (the pagination cursor).
	AfterSeq int64
	// Limit caps the result; zero means 100, and at most 1000 are returned.
	Limit int
}

// EffectiveLimit returns the page size q asks for, clamped to [1, 1000].
func (q EventQuery) EffectiveLimit() int {
	switch {
	case q.Limit <= 0:
		return 100
	case q.Limit > 1000:
		return 1000
	}
	return q.Limit
}

// Matches reports whether e satisfies every filter of q except AfterSeq and
// Limit. Stores that filter in memory use it.
func (q EventQuery) Matches(e *Event) bool {
	return e.OrgID == q.OrgID &&
		(q.Since.IsZero() || !e.Time.Before(q.Since)) &&
		(q.Until.IsZero() || e.Time.Before(q.Until)) &&
		(q.Type == "" || e.Type == q.Type) &&
		(q.ActorID == "" || e.Actor.ID == q.ActorID)
}

// Chain links e after prev (nil for the first event of a chain): it sets
// e.Seq, e.PrevHash and e.Hash, sealing e. Stores call it inside the same
// atomic step that reads prev (the chain's last sealed event) and writes
// e's seal.
func (e *Event) Chain(prev *Event) {
	e.Seq, e.PrevHash = 1, ""
	if prev != nil {
		e.Seq, e.PrevHash = prev.Seq+1, prev.Hash
	}
	e.Hash = e.ComputeHash()
}

// ComputeHash returns the hex SHA-256 over the event's content and PrevHash,
// with times at microsecond precision so every store round-trips it.
func (e *Event) ComputeHash() string {
	h := sha256.New()
	field := func(h hash.Hash, s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], uint64(e.Seq))
	h.Write(seq[:])
	for _, s := range []string{
		e.ID, e.OrgID, e.Time.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano),
		e.Type, string(e.Actor.Type), e.Actor.ID, e.Target.Type, e.Target.ID,
		e.Outcome, e.Reason, e.IP, e.UserAgent, e.PrevHash,
	} {
		field(h, s)
	}
	keys := make([]string, 0, len(e.Details))
	for k := range e.Details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		field(h, k)
		field(h, e.Details[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}
