package portal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/sso"
)

// Audit event types recorded by the portal.
const (
	// EventSetupLinkCreated is recorded when a setup link was issued.
	EventSetupLinkCreated = "portal.setup_link_created"
	// EventSetupLinkUsed is recorded when a setup link started a session.
	EventSetupLinkUsed = "portal.setup_link_used"
	// EventSetupLinkRevoked is recorded when a setup link was revoked.
	EventSetupLinkRevoked = "portal.setup_link_revoked"
	// EventSecurityWeakened is recorded when an admin confirmed a change
	// that lowers a connection's security; Details["weakened"] names the
	// settings.
	EventSecurityWeakened = "connection.security_weakened"
)

// MaxLinkTTL bounds how long a setup link stays valid.
const MaxLinkTTL = 7 * 24 * time.Hour

// LinkRequest asks for a setup link.
type LinkRequest struct {
	OrgID    string
	Sections []Section
	// TTL is how long the link may be opened; zero means 72 hours, at most
	// MaxLinkTTL.
	TTL time.Duration
	// CreatedBy is who issued the link (the host's staff or an admin).
	CreatedBy sso.Actor
}

// CreateLink issues a setup link and returns its URL, which carries the
// only copy of its secret: show it once.
func (p *Portal) CreateLink(ctx context.Context, req LinkRequest) (string, *SetupLink, error) {
	if req.TTL == 0 {
		req.TTL = 72 * time.Hour
	}
	if req.TTL < time.Minute || req.TTL > MaxLinkTTL {
		return "", nil, fieldErr("ttl", "must be between 1 minute and 7 days")
	}
	if len(req.Sections) == 0 {
		return "", nil, fieldErr("sections", "choose at least one section")
	}
	secs := []Section{}
	for _, s := range req.Sections {
		if !slices.Contains(AllSections, s) {
			return "", nil, fieldErr("sections", fmt.Sprintf("unknown section %q", clip(string(s), 32)))
		}
		if !slices.Contains(secs, s) {
			secs = append(secs, s)
		}
	}
	org, err := p.cfg.Admin.Store.GetOrg(ctx, req.OrgID)
	if err != nil {
		return "", nil, err
	}
	now := p.cfg.Now().UTC()
	token := opaque.NewToken(32)
	l := &SetupLink{ID: opaque.NewID("setup_"), OrgID: org.ID, Hash: opaque.Hash(token), Sections: secs,
		CreatedBy: req.CreatedBy, CreatedAt: now, ExpiresAt: now.Add(req.TTL)}
	if err := p.cfg.Store.CreateLink(ctx, l); err != nil {
		return "", nil, err
	}
	p.audit(ctx, &sso.Event{OrgID: org.ID, Type: EventSetupLinkCreated, Actor: req.CreatedBy,
		Target: sso.Target{Type: "setup_link", ID: l.ID}, Outcome: sso.OutcomeSuccess,
		Details: map[string]string{"sections": joinSections(secs), "expires_at": l.ExpiresAt.Format(time.RFC3339)}})
	return strings.TrimSuffix(p.base.String(), "/") + "/start/" + token, l, nil
}

// RevokeLink revokes orgID's setup link id and ends the sessions it
// started.
func (p *Portal) RevokeLink(ctx context.Context, orgID, id string, by sso.Actor) error {
	if err := p.cfg.Store.RevokeLink(ctx, orgID, id, p.cfg.Now().UTC()); err != nil {
		return err
	}
	p.audit(ctx, &sso.Event{OrgID: orgID, Type: EventSetupLinkRevoked, Actor: by,
		Target: sso.Target{Type: "setup_link", ID: id}, Outcome: sso.OutcomeSuccess})
	return nil
}

func joinSections(secs []Section) string {
	s := ""
	for i, x := range secs {
		if i > 0 {
			s += ","
		}
		s += string(x)
	}
	return s
}

func (p *Portal) audit(ctx context.Context, e *sso.Event) {
	if p.cfg.Admin.Auditor == nil {
		return
	}
	if err := p.cfg.Admin.Auditor.Record(ctx, e); err != nil {
		p.log.ErrorContext(ctx, "portal: audit event not recorded", "type", e.Type, "err", err)
	}
}

// startPage shows the "Start setup" button. Opening the link does not use
// it, so mail scanners that follow links cannot spend it.
func (p *Portal) startPage(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if len(token) < 20 || len(token) > 128 {
		p.renderEnded(w, r, http.StatusNotFound, "This setup link is not valid",
			"Check that you copied the whole link, or ask the person who sent it for a new one.")
		return
	}
	p.render(w, r, http.StatusOK, "start", &page{Title: "Set up single sign-on",
		Data: map[string]string{"Token": token, "Idle": durationText(p.cfg.IdleTimeout)}})
}

// durationText says d in whole hours, or else in minutes.
func durationText(d time.Duration) string {
	if d >= time.Hour && d%time.Hour == 0 {
		return plural(int(d/time.Hour), "hour", "hours")
	}
	return plural(int((d+time.Minute-1)/time.Minute), "minute", "minutes")
}

// start spends a setup link and starts its session. A cross-site form
// cannot start one: otherwise another site could sign a visitor into the
// other site's organization (login CSRF).
func (p *Portal) start(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" || (r.Header.Get("Origin") != "" && r.Header.Get("Origin") != p.origin()) {
		p.renderEnded(w, r, http.StatusForbidden, "This setup link must be opened directly",
			"Open the link from your email or chat in the browser, then press “Start setup” on our page.")
		return
	}
	token := r.PostFormValue("token")
	if len(token) < 20 || len(token) > 128 {
		p.renderEnded(w, r, http.StatusNotFound, "This setup link is not valid",
			"Check that you copied the whole link, or ask the person who sent it for a new one.")
		return
	}
	ctx := r.Context()
	l, err := p.cfg.Store.UseLink(ctx, opaque.Hash(token), p.cfg.Now().UTC())
	if err != nil {
		p.linkRefused(w, r, err)
		return
	}
	actor := sso.Actor{Type: ActorSetupLink, ID: l.ID}
	if _, err := p.startSession(w, r, l.OrgID, actor, l.ID, l.Sections); err != nil {
		p.fail(w, r, err)
		return
	}
	ctx = sso.WithAuditInfo(ctx, p.cfg.Admin.Auditor.RequestInfo(r, actor))
	p.audit(ctx, &sso.Event{OrgID: l.OrgID, Type: EventSetupLinkUsed, Actor: actor,
		Target: sso.Target{Type: "setup_link", ID: l.ID}, Outcome: sso.OutcomeSuccess})
	http.Redirect(w, r, p.basePath+"/", http.StatusSeeOther)
}

func (p *Portal) linkRefused(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, sso.ErrConflict):
		p.renderEnded(w, r, http.StatusGone, "This setup link was already used",
			"A setup link starts one session only. If that was not you, tell the person who sent it at once; otherwise ask them for a new link.")
	case errors.Is(err, sso.ErrExpired):
		p.renderEnded(w, r, http.StatusGone, "This setup link has expired or was withdrawn",
			"Ask the person who sent it for a new link.")
	case errors.Is(err, sso.ErrNotFound):
		p.renderEnded(w, r, http.StatusNotFound, "This setup link is not valid",
			"Check that you copied the whole link, or ask the person who sent it for a new one.")
	default:
		p.fail(w, r, err)
	}
}

func clip(s string, n int) string {
	if len(s) > n {
		return strings.ToValidUTF8(s[:n], "")
	}
	return s
}

// origin is the scheme and host of BaseURL as browsers send it in Origin:
// in lower case, without the scheme's default port.
func (p *Portal) origin() string {
	scheme, host, port := strings.ToLower(p.base.Scheme), strings.ToLower(p.base.Hostname()), p.base.Port()
	if port == map[string]string{"https": "443", "http": "80"}[scheme] {
		port = ""
	}
	if port != "" {
		return scheme + "://" + net.JoinHostPort(host, port)
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host
}
