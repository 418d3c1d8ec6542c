package sso

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// StepUp binds an SSO login to the session whose step-up started it: a
// session made by an organization's IdP proves a fresh second factor by
// signing in there again (MFAPolicy.StepUpAtIdP) rather than with a local
// factor. The protocol packages keep it with the login's server-side state
// (never in the browser) and hand it back in Login.StepUp; login
// completion then admits the answer only for that session's user,
// organization and connection, with a multi-factor authentication no older
// than MaxAge, made after At, and replaces that session (so a step-up is
// used once). The zero value is no step-up.
type StepUp struct {
	// SessionID is the ID (never the token) of the session stepping up.
	SessionID    string `json:"sid"`
	UserID       string `json:"uid"`
	OrgID        string `json:"org"`
	ConnectionID string `json:"conn"`
	// MaxAge is how old the IdP's authentication may be.
	MaxAge time.Duration `json:"max_age"`
	// At is when the step-up started.
	At time.Time `json:"at"`
}

// IsZero reports whether s is no step-up.
func (s StepUp) IsZero() bool { return s.SessionID == "" }

// EncodeStepUp returns s as the JSON text stores keep ("" for the zero
// value).
func EncodeStepUp(s StepUp) string {
	if s.IsZero() {
		return ""
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// DecodeStepUp reads what EncodeStepUp wrote ("" is the zero value).
func DecodeStepUp(text string) (StepUp, error) {
	var s StepUp
	if text == "" {
		return s, nil
	}
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		return StepUp{}, fmt.Errorf("sso: decode step-up: %w", err)
	}
	return s, nil
}

// ErrStepUpSessionGone reports a step-up whose session has ended (it was
// replaced by this very step-up already, logged out or expired) or is not
// the login's.
var ErrStepUpSessionGone = &ValidationError{Reason: "step_up_session_gone", Err: ErrAccessDenied}

// ErrStepUpMismatch reports a step-up started at a connection other than
// the one that made the session, or with a test login.
var ErrStepUpMismatch = fmt.Errorf("sso: step-up must start at the connection that made the session: %w", ErrInvalidInput)

// CheckStepUpStart checks the StepUp of opts, if any, before a starter
// begins the login at conn: it must name conn and its organization, and a
// test login is never a step-up.
func CheckStepUpStart(conn *Connection, opts StartOptions) error {
	su := opts.StepUp
	if su == nil {
		return nil
	}
	if su.IsZero() || conn == nil || su.ConnectionID != conn.ID || su.OrgID != conn.OrgID || su.UserID == "" || opts.Test {
		return ErrStepUpMismatch
	}
	return nil
}

// StepUpOf returns the Login.StepUp of a stored StepUp: nil for the zero
// value.
func StepUpOf(s StepUp) *StepUp {
	if s.IsZero() {
		return nil
	}
	return &s
}

// StepUpRefuser is implemented by a Completer that answers a refused
// step-up at the IdP itself (sso/login sends the browser to the host's
// refusal page, which may offer a local factor). A protocol package that
// refuses the verified answer to a step-up login because it lacks what was
// asked (no multi-factor authentication, an authentication too old)
// reports the failure with Completer.Fail and then calls RefuseStepUp;
// when it returns true the response is written, otherwise the protocol
// renders the error as usual.
type StepUpRefuser interface {
	RefuseStepUp(w http.ResponseWriter, r *http.Request, su *StepUp, returnTo string, err error) bool
}
