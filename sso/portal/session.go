package portal

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// cookieName is the portal session cookie.
const cookieName = "ssokit_portal"

// Why a request got no session; shown on the "sign in again" page.
var (
	errSessionExpired = errors.New("portal: session ended")
	errLinkRevoked    = errors.New("portal: setup link revoked")
)

func (p *Portal) setCookie(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: value, Path: p.basePath + "/", MaxAge: maxAge,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
}

// startSession creates a session for org and actor and sets its cookie.
func (p *Portal) startSession(w http.ResponseWriter, r *http.Request, orgID string, actor sso.Actor, linkID string, secs []Section) (*Session, error) {
	now := p.cfg.Now().UTC()
	token := opaque.NewToken(32)
	s := &Session{ID: opaque.NewID("psess_"), Hash: opaque.Hash(token), OrgID: orgID, Actor: actor, LinkID: linkID,
		Sections: slices.Clone(secs), CSRF: opaque.NewToken(24), CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(p.cfg.MaxLifetime)}
	if err := p.cfg.Store.CreateSession(r.Context(), s); err != nil {
		return nil, err
	}
	p.setCookie(w, token, int(p.cfg.MaxLifetime/time.Second))
	return s, nil
}

// session returns the request's live session: its cookie's, or, for the
// host's own admins, a new one. A session of the host's authentication
// that no longer matches what Authorize says is replaced.
func (p *Portal) session(w http.ResponseWriter, r *http.Request) (*Session, error) {
	s, err := p.cookieSession(r)
	if p.cfg.Authorize == nil {
		return s, err
	}
	if s != nil && s.LinkID != "" {
		return s, nil
	}
	orgID, actor, aerr := p.cfg.Authorize(r)
	if aerr != nil || orgID == "" {
		if s != nil {
			_ = p.cfg.Store.DeleteSession(r.Context(), s.ID)
		}
		if err == nil {
			err = errNoSession
		}
		return nil, err
	}
	if actor.Type == "" {
		actor.Type = sso.ActorAdmin
	}
	if s != nil && s.OrgID == orgID && s.Actor == actor {
		return s, nil
	}
	if s != nil {
		_ = p.cfg.Store.DeleteSession(r.Context(), s.ID)
	}
	return p.startSession(w, r, orgID, actor, "", AllSections)
}

// cookieSession returns the session of the request's cookie, checking its
// idle timeout, absolute lifetime and setup link.
func (p *Portal) cookieSession(r *http.Request) (*Session, error) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return nil, errNoSession
	}
	ctx := r.Context()
	s, err := p.cfg.Store.GetSession(ctx, opaque.Hash(c.Value))
	if errors.Is(err, sso.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	now := p.cfg.Now()
	if !now.Before(s.ExpiresAt) || now.Sub(s.LastSeenAt) >= p.cfg.IdleTimeout {
		_ = p.cfg.Store.DeleteSession(ctx, s.ID)
		return nil, errSessionExpired
	}
	if s.LinkID != "" {
		l, err := p.cfg.Store.GetLink(ctx, s.LinkID)
		if err != nil && !errors.Is(err, sso.ErrNotFound) {
			return nil, err
		}
		if l == nil || !l.RevokedAt.IsZero() || l.OrgID != s.OrgID {
			_ = p.cfg.Store.DeleteSession(ctx, s.ID)
			return nil, errLinkRevoked
		}
	}
	if err := p.cfg.Store.TouchSession(ctx, s.ID, now.UTC()); err != nil {
		return nil, err
	}
	return s, nil
}

// checkCSRF verifies the synchronizer token of a state-changing request.
func checkCSRF(r *http.Request, s *Session) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" {
		return fmt.Errorf("%w: portal: cross-site form submission", sso.ErrForbidden)
	}
	got := r.PostFormValue("csrf")
	if got == "" || !opaque.Equal(got, s.CSRF) {
		return fmt.Errorf("%w: portal: missing or wrong form token", sso.ErrForbidden)
	}
	return nil
}
