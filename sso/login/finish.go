package login

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/attribute"

	"github.com/ssokit/ssokit/internal/loaded"
	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/internal/record"
	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/internal/telemetry"
	"github.com/ssokit/ssokit/sso"
)

func (c *Completer) requestCtx(r *http.Request, actor sso.Actor) context.Context {
	ctx := r.Context()
	ai := sso.AuditInfoFrom(ctx)
	if ai.Actor.Type == "" {
		ai.Actor = actor
	}
	if ai.IP == "" {
		ai.IP = c.cfg.ClientIP(r)
	}
	if ai.UserAgent == "" {
		ai.UserAgent = clip(r.UserAgent())
	}
	return sso.WithAuditInfo(ctx, ai)
}

// Complete implements Completer.
func (c *Completer) Complete(w http.ResponseWriter, r *http.Request, login *sso.Login) (err error) {
	ctx := c.requestCtx(r, sso.Actor{Type: sso.ActorIdP})
	ctx, span := c.tel.Start(ctx, "sso.login.complete", loginAttrs(login)...)
	defer func() { telemetry.End(span, sso.ReasonOf(err), err) }()
	res, err := c.resolve(ctx, login, c.cfg.WriteWithSession)
	if res != nil && span.IsRecording() {
		span.SetAttributes(attribute.String("ssokit.login.outcome", string(res.Outcome)), attribute.Bool("ssokit.login.roles_changed", res.RolesChanged),
			attribute.Bool("ssokit.login.mfa", res.MFA))
	}
	if login != nil && login.Test && login.Connection != nil && login.Profile != nil {
		return c.finishTest(ctx, w, r, login, res, err)
	}
	if err == nil && login.StepUp != nil {
		err = c.checkStepUp(login, res)
	}
	if err != nil {
		c.failed(ctx, login, err)
		if login != nil && login.StepUp != nil {
			return c.stepUpRefused(w, r, login, err)
		}
		return err
	}
	// An SSO login's method is its protocol's name.
	method := sso.AuthMethod(res.Connection.Protocol)
	g := &sso.SessionGrant{UserID: res.User.ID, OrgID: res.Org.ID, ConnectionID: res.Connection.ID, Method: method,
		Roles: slices.Clone(res.Membership.Roles), MFA: res.MFA, IdPSessionIndex: login.Profile.SessionIndex,
		IdPSubject: login.Profile.Subject, NotAfter: login.Profile.SessionNotOnOrAfter, IdPLogoutHint: login.LogoutHint,
		// The organization read for this login, so the session manager does
		// not read it again for its session policy; the membership the
		// roles come from, so a suspension or role change meanwhile is seen.
		Org: res.Org, Member: res.Membership}
	if login.StepUp != nil {
		// checkStepUp proved a fresh multi-factor authentication the
		// organization trusts; the session stepping up is replaced.
		g.MFA, g.ReplacesSession = true, login.StepUp.SessionID
	}
	if g.MFA {
		g.MFAAt = login.Profile.AuthTime
		if g.MFAAt.IsZero() {
			g.MFAAt = c.cfg.Now().UTC()
		}
	}
	ev := &sso.Event{OrgID: res.Org.ID, Type: sso.EventLoginSucceeded,
		Actor:  sso.Actor{Type: sso.ActorUser, ID: res.User.ID},
		Target: sso.Target{Type: "connection", ID: res.Connection.ID},
		Details: map[string]string{"outcome": string(res.Outcome), "protocol": string(res.Connection.Protocol),
			"mfa": fmt.Sprint(res.MFA)}}
	if c.cfg.WriteWithSession {
		ev.FillDefaults(ctx, c.cfg.Now())
		g.Writes = &sso.LoginWrites{Identity: res.touched, Event: ev}
	}
	if err := c.cfg.Sessions.IssueSession(w, r, g); err != nil {
		err = fmt.Errorf("sso: issue session: %w", err)
		c.failed(ctx, login, err)
		if login.StepUp != nil {
			return c.stepUpRefused(w, r, login, err)
		}
		return err
	}
	c.writeAfter(ctx, g.Writes, res.touched, ev)
	http.Redirect(w, r, returnto.Safe(login.ReturnTo, c.cfg.DefaultReturnTo), http.StatusSeeOther)
	return nil
}

// writeAfter stores what the session issuer did not write with the
// session: the identity's last login and the login's event. The session
// stands either way, so a failure is logged, not returned.
func (c *Completer) writeAfter(ctx context.Context, w *sso.LoginWrites, touched *sso.Identity, ev *sso.Event) {
	if w != nil && w.Written {
		return
	}
	if touched != nil {
		if err := c.cfg.Store.UpdateIdentity(ctx, touched); err != nil {
			c.log.ErrorContext(ctx, "sso: record last login", "identity_id", touched.ID, "error", err)
		}
	}
	c.record(ctx, ev)
}

// loginAttrs are the span attributes of a login: IDs and the protocol only.
func loginAttrs(login *sso.Login) []attribute.KeyValue {
	if login == nil || login.Connection == nil {
		return nil
	}
	c := login.Connection
	return append(telemetry.Tenant(c.OrgID, c.ID), telemetry.KeyProtocol.String(string(c.Protocol)), attribute.Bool("ssokit.login.test", login.Test))
}

// finishTest records a test login's result on the connection and sends the
// admin back; it never issues a session. The test succeeds when the IdP's
// response was valid, the profile carries what a login needs and the
// policy would admit the tester; a refusal by policy (an unverified email
// domain, a user who may not be provisioned, ...) fails the test with its
// reason, so the connection cannot be activated on false confidence.
func (c *Completer) finishTest(ctx context.Context, w http.ResponseWriter, r *http.Request, login *sso.Login, res *Resolution, rerr error) error {
	p := login.Profile
	tr := &sso.TestResult{At: c.cfg.Now().UTC(), Profile: p}
	var problems []string
	if p.Issuer == "" || p.Subject == "" {
		problems = append(problems, "subject: want a NameID/sub, got none")
	}
	if p.Email == "" {
		problems = append(problems, "email: want an email attribute (check the attribute mapping), got none")
	} else if _, _, err := normalize.Email(p.Email); err != nil {
		problems = append(problems, fmt.Sprintf("email: want an address, got %q", clip(p.Email)))
	}
	var detail string
	switch reason := sso.ReasonOf(rerr); {
	case reason == "connection_mismatch" || reason == "connection_disabled" || reason == "feature_disabled":
		tr.Reason = reason
		detail = "connection: " + reason
	case len(problems) > 0:
		tr.Reason = "profile_incomplete"
		detail = strings.Join(problems, "; ")
	case rerr != nil:
		// The IdP side works, but the policy would refuse this user: a
		// failure, so that activation and enforcement wait for the fix.
		tr.Reason = reason
		if tr.Reason == "" {
			if !errors.Is(rerr, sso.ErrAccessDenied) {
				// Not a refusal (the store failed, say): no result to record.
				return rerr
			}
			tr.Reason = "access_denied"
		}
		detail = fmt.Sprintf("IdP response valid for %s, but a real login would be refused: %s", p.Email, tr.Reason)
		var ve *sso.ValidationError
		if errors.As(rerr, &ve) && (ve.Want != "" || ve.Got != "") {
			detail += fmt.Sprintf(" (want %q, got %q)", ve.Want, ve.Got)
		}
	default:
		tr.OK = true
		detail = fmt.Sprintf("IdP response valid for %s; a real login would be %s", p.Email, res.Outcome)
		if res.MFA {
			detail += " (MFA asserted)"
		}
	}
	tr.Detail = detail
	if err := c.saveTest(ctx, login.Connection.ID, login.Connection.OrgID, tr); err != nil {
		return err
	}
	http.Redirect(w, r, returnto.Safe(login.ReturnTo, c.cfg.TestReturnTo), http.StatusSeeOther)
	return nil
}

// testAttempts bounds how many times saveTest re-applies a test result to
// a connection that keeps changing under it.
const testAttempts = 3

// saveTest records tr on the connection and audits it. The connection is
// written only while it is the one just read (sso.UpdateConnectionIf), so
// an administrator's concurrent edit is kept: the result is applied again
// to the edited connection, unless the edit changed the configuration the
// test ran against, which must be tested again (ErrConflict).
func (c *Completer) saveTest(ctx context.Context, connID, orgID string, tr *sso.TestResult) error {
	var tested []byte
	for range testAttempts {
		conn, err := c.cfg.Store.GetConnection(ctx, connID)
		if err != nil {
			return err
		}
		if conn.OrgID != orgID {
			return fmt.Errorf("sso: test result: %w", sso.ErrNotFound)
		}
		cfg, _, err := sso.EncodeConfig(conn.Config)
		if err != nil {
			return err
		}
		if tested == nil {
			tested = cfg
		} else if !bytes.Equal(tested, cfg) {
			return fmt.Errorf("sso: test result not recorded: the connection's configuration changed during the test: %w", sso.ErrConflict)
		}
		prev := conn.UpdatedAt
		conn.LastTest = tr
		if tr.OK {
			conn.LastTestOK = tr.At
		}
		conn.UpdatedAt = sso.NextUpdatedAt(prev, tr.At)
		err = sso.UpdateConnectionIf(ctx, c.cfg.Store, conn, prev)
		if errors.Is(err, sso.ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		c.recordTest(ctx, conn, tr)
		return nil
	}
	return fmt.Errorf("sso: test result not recorded: the connection kept changing: %w", sso.ErrConflict)
}

// recordTest audits the test result tr recorded on conn.
func (c *Completer) recordTest(ctx context.Context, conn *sso.Connection, tr *sso.TestResult) {
	outcome := sso.OutcomeSuccess
	if !tr.OK {
		outcome = sso.OutcomeFailure
	}
	c.record(ctx, &sso.Event{OrgID: conn.OrgID, Type: EventConnectionTested, Target: sso.Target{Type: "connection", ID: conn.ID},
		Outcome: outcome, Reason: tr.Reason, Details: map[string]string{"detail": clipN(tr.Detail, 1024)}})
}

func (c *Completer) failed(ctx context.Context, login *sso.Login, err error) {
	e := &sso.Event{Type: sso.EventLoginFailed, Outcome: sso.OutcomeFailure, Reason: sso.ReasonOf(err)}
	if login != nil && login.Connection != nil {
		e.OrgID = login.Connection.OrgID
		e.Target = sso.Target{Type: "connection", ID: login.Connection.ID}
		e.Details = map[string]string{"protocol": string(login.Connection.Protocol)}
	}
	c.record(ctx, e)
}

// Fail implements Completer: it records the rejected login and, for a test
// login, the diagnostic on the connection.
func (c *Completer) Fail(r *http.Request, f *sso.LoginFailure) {
	if f == nil {
		return
	}
	ctx := c.requestCtx(r, sso.Actor{Type: sso.ActorIdP})
	e := &sso.Event{Type: sso.EventLoginFailed, Outcome: sso.OutcomeFailure, Reason: sso.ReasonOf(f.Err),
		Details: map[string]string{"protocol": string(f.Protocol)}}
	if e.Reason == "" {
		e.Reason = "unknown"
	}
	var conn *sso.Connection
	if f.Connection != nil {
		// Trust only the stored connection's organization.
		if sc, err := loaded.Connection(ctx, c.cfg.Store, f.Connection); err == nil && sc.OrgID == f.Connection.OrgID {
			conn = sc
		}
	}
	if conn != nil {
		e.OrgID = conn.OrgID
		e.Target = sso.Target{Type: "connection", ID: conn.ID}
		if f.Test {
			// The test's result is its own event (connection.tested):
			// this one is marked so a list of attempts shows it once.
			e.Details["test"] = "true"
		}
	}
	c.record(ctx, e)
	if f.Test && conn != nil {
		detail := e.Reason
		var ve *sso.ValidationError
		if errors.As(f.Err, &ve) {
			detail = ve.Detail()
		}
		tr := &sso.TestResult{At: c.cfg.Now().UTC(), Reason: e.Reason, Detail: clipN(detail, 1024)}
		if err := c.saveTest(ctx, conn.ID, conn.OrgID, tr); err != nil {
			c.log.ErrorContext(ctx, "sso: record test result", "connection", conn.ID, "err", err)
		}
	}
}

func (c *Completer) record(ctx context.Context, e *sso.Event) {
	record.Quietly(ctx, c.cfg.Auditor, e, c.log.ErrorContext)
}
