package saml

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// KeyRollover schedules the replacement of the SP key (Config.Key) by
// Next, so that IdPs learn the new certificate before it is used:
//
//   - from SwitchAt-PublishFor, the SP metadata lists Next's certificate as
//     an additional signing and encryption KeyDescriptor, and assertions
//     and NameIDs encrypted to either key decrypt;
//   - from SwitchAt, Next signs AuthnRequests and logout messages and is
//     the only key in the metadata; the old key still decrypts;
//   - from SwitchAt+RetireAfter, the old key is retired: only Next
//     decrypts.
//
// Run records each step once as an audit event (EventSPKeyPublished,
// EventSPKeySwitched, EventSPKeyRetired). Per-connection keys
// (Config.KeyFor) are not rolled over by it. After the rollover the host
// makes Next its Config.Key and drops the rollover.
type KeyRollover struct {
	// Next is the key pair that replaces Config.Key.
	Next *KeyPair
	// SwitchAt is when Next starts signing.
	SwitchAt time.Time
	// PublishFor is how long before SwitchAt the metadata lists Next. Zero
	// means 14 days: long enough for IdPs that refresh SP metadata daily
	// or weekly.
	PublishFor time.Duration
	// RetireAfter is how long after SwitchAt the old key still decrypts,
	// for IdPs that still encrypt to it. Zero means 7 days.
	RetireAfter time.Duration
}

// The audit event types of a key rollover; their OrgID is empty (the SP
// key belongs to no organization), their Target the new key's
// fingerprint.
const (
	EventSPKeyPublished = "saml.sp_key_published"
	EventSPKeySwitched  = "saml.sp_key_switched"
	EventSPKeyRetired   = "saml.sp_key_retired"
)

// RolloverPhase is where the SP key rollover stands at a given time.
type RolloverPhase string

// The phases of a key rollover.
const (
	// RolloverNone: no rollover is configured.
	RolloverNone RolloverPhase = ""
	// RolloverScheduled: only the current key is used and published.
	RolloverScheduled RolloverPhase = "scheduled"
	// RolloverPublished: Next is published and decrypts; the current key
	// still signs.
	RolloverPublished RolloverPhase = "published"
	// RolloverSwitched: Next signs and alone is published; the old key
	// still decrypts.
	RolloverSwitched RolloverPhase = "switched"
	// RolloverRetired: only Next is used.
	RolloverRetired RolloverPhase = "retired"
)

// checkRollover validates cfg.Rollover and fills its defaults.
func checkRollover(cfg *Config) error {
	r := cfg.Rollover
	if r == nil {
		return nil
	}
	switch {
	case cfg.Key == nil:
		return errors.New("Rollover needs Key, the key it replaces")
	case r.Next == nil || r.Next.Key == nil || r.Next.Certificate == nil:
		return errors.New("Rollover.Next needs both Key and Certificate")
	case r.Next.Certificate.Equal(cfg.Key.Certificate):
		return errors.New("Rollover.Next has the same certificate as Key")
	case r.SwitchAt.IsZero():
		return errors.New("Rollover.SwitchAt is required")
	case r.PublishFor < 0 || r.RetireAfter < 0:
		return errors.New("Rollover durations must not be negative")
	}
	cp := *r
	if cp.PublishFor == 0 {
		cp.PublishFor = 14 * 24 * time.Hour
	}
	if cp.RetireAfter == 0 {
		cp.RetireAfter = 7 * 24 * time.Hour
	}
	cfg.Rollover = &cp
	return nil
}

// RolloverPhase returns the phase of the configured key rollover at t.
func (s *SP) RolloverPhase(t time.Time) RolloverPhase {
	r := s.cfg.Rollover
	switch {
	case r == nil:
		return RolloverNone
	case t.Before(r.SwitchAt.Add(-r.PublishFor)):
		return RolloverScheduled
	case t.Before(r.SwitchAt):
		return RolloverPublished
	case t.Before(r.SwitchAt.Add(r.RetireAfter)):
		return RolloverSwitched
	}
	return RolloverRetired
}

// signingKey is the key that signs for conn now: its own key (KeyFor),
// else Config.Key, or Rollover.Next from SwitchAt.
func (s *SP) signingKey(conn *sso.Connection) *KeyPair {
	if kp := s.ownKey(conn); kp != nil {
		return kp
	}
	switch s.RolloverPhase(s.now()) {
	case RolloverSwitched, RolloverRetired:
		return s.cfg.Rollover.Next
	}
	return s.cfg.Key
}

// publishedKeys are the key pairs conn's metadata lists now, the signing
// key first.
func (s *SP) publishedKeys(conn *sso.Connection) []*KeyPair {
	kp := s.signingKey(conn)
	if kp == nil {
		return nil
	}
	if s.ownKey(conn) == nil && s.RolloverPhase(s.now()) == RolloverPublished {
		return []*KeyPair{kp, s.cfg.Rollover.Next}
	}
	return []*KeyPair{kp}
}

// decryptionKeys are the key pairs that may decrypt for conn now, the
// signing key first.
func (s *SP) decryptionKeys(conn *sso.Connection) []*KeyPair {
	kp := s.signingKey(conn)
	if kp == nil {
		return nil
	}
	if s.ownKey(conn) == nil {
		switch s.RolloverPhase(s.now()) {
		case RolloverPublished:
			return []*KeyPair{kp, s.cfg.Rollover.Next}
		case RolloverSwitched:
			return []*KeyPair{kp, s.cfg.Key}
		}
	}
	return []*KeyPair{kp}
}

// rolloverSteps are the audited steps, in order, with the phase from
// which each has happened.
var rolloverSteps = []struct {
	event string
	from  RolloverPhase
}{
	{EventSPKeyPublished, RolloverPublished},
	{EventSPKeySwitched, RolloverSwitched},
	{EventSPKeyRetired, RolloverRetired},
}

var phaseOrder = map[RolloverPhase]int{RolloverScheduled: 0, RolloverPublished: 1, RolloverSwitched: 2, RolloverRetired: 3}

// AuditRollover records every rollover step that has happened and was not
// recorded yet, each once: the event ID derives from the step and the new
// key, so replicas racing to record it store one (the others get
// sso.ErrConflict, which counts as done). Run calls it every minute.
func (s *SP) AuditRollover(ctx context.Context) error {
	r := s.cfg.Rollover
	if r == nil || s.cfg.Events == nil {
		return nil
	}
	now := s.now()
	phase := s.RolloverPhase(now)
	next, old := fingerprint(r.Next.Certificate), fingerprint(s.cfg.Key.Certificate)
	s.rollMu.Lock()
	defer s.rollMu.Unlock()
	for _, st := range rolloverSteps {
		if phaseOrder[phase] < phaseOrder[st.from] {
			break
		}
		if s.rollDone[st.event] {
			continue
		}
		ev := &sso.Event{ID: "evt_" + strings.ReplaceAll(st.event, ".", "_") + "_" + next[:32], Time: now, Type: st.event,
			Actor: sso.Actor{Type: sso.ActorSystem}, Target: sso.Target{Type: "saml_sp_key", ID: next}, Outcome: sso.OutcomeSuccess,
			Details: map[string]string{"next_fingerprint": next, "old_fingerprint": old,
				"switch_at": r.SwitchAt.UTC().Format(time.RFC3339), "retire_at": r.SwitchAt.Add(r.RetireAfter).UTC().Format(time.RFC3339)}}
		if err := s.cfg.Events.AppendEvent(ctx, ev); err != nil && !errors.Is(err, sso.ErrConflict) {
			return fmt.Errorf("saml: audit %s: %w", st.event, err)
		}
		s.rollDone[st.event] = true
		s.log.InfoContext(ctx, "saml: SP key rollover step", "step", st.event, "next", next, "switch_at", r.SwitchAt)
	}
	return nil
}
