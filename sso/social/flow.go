package social

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/sso"
)

// flowState is what a started login remembers, sealed into the flow
// cookie: nothing is stored server-side, so a flow may finish on another
// replica, and the cookie binds it to the browser that started it.
type flowState struct {
	Provider string    `json:"p"`
	State    string    `json:"s"`
	Nonce    string    `json:"n"`
	Verifier string    `json:"v"`
	ReturnTo string    `json:"r,omitempty"`
	Org      string    `json:"o,omitempty"`
	Expires  time.Time `json:"e"`
	// LinkUser and LinkSession, for a link (StartLink), are the user the
	// account is to be linked to and the session that asked.
	LinkUser    string `json:"lu,omitempty"`
	LinkSession string `json:"ls,omitempty"`
}

// flowAD is the associated data of the sealed flow cookie, so a value
// sealed for another purpose never opens as a flow.
var flowAD = []byte("ssokit/social/flow")

// maxCookie bounds the flow cookie read back.
const maxCookie = 2048

func (m *Manager) cookieName() string {
	if m.secure {
		return "__Host-ssokit_social"
	}
	return "ssokit_social"
}

// random returns n random bytes, base64url.
func (m *Manager) random(n int) (string, error) {
	b := make([]byte, n)
	if _, err := m.cfg.Rand.Read(b); err != nil {
		return "", fmt.Errorf("social: randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// StartOptions are the per-login options of Start.
type StartOptions struct {
	// ReturnTo is where the browser goes after the login; anything but a
	// safe relative path is dropped.
	ReturnTo string
	// Org is the slug of the organization to sign in to; empty means the
	// user's only one.
	Org string
	// LoginHint is passed to OIDC providers as login_hint.
	LoginHint string
}

// Start begins a login at the provider named name: it sets the sealed flow
// cookie and redirects the browser (302) to the provider's authorization
// endpoint with state, PKCE S256 and, for OIDC, a nonce.
func (m *Manager) Start(w http.ResponseWriter, r *http.Request, name string, opts StartOptions) error {
	p, ok := m.providers[name]
	if !ok {
		return deny(ReasonUnknownProvider, sso.ErrNotFound, nil)
	}
	f := &flowState{ReturnTo: returnto.Safe(opts.ReturnTo, ""), Org: opts.Org}
	if len(f.Org) > 128 {
		f.Org = ""
	}
	return m.startFlow(w, r, p, f, opts.LoginHint)
}

// startFlow completes f (provider, state, nonce, PKCE verifier, expiry),
// seals it into the flow cookie and redirects the browser (302) to p's
// authorization endpoint.
func (m *Manager) startFlow(w http.ResponseWriter, r *http.Request, p *Provider, f *flowState, loginHint string) error {
	authURL, err := m.authURL(r.Context(), p)
	if err != nil {
		return err
	}
	f.Provider, f.Expires = p.Name, m.now().Add(m.cfg.FlowTTL)
	for _, v := range []*string{&f.State, &f.Nonce} {
		if *v, err = m.random(24); err != nil {
			return err
		}
	}
	f.Verifier = oauth2.GenerateVerifier()
	raw, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("social: encode flow: %w", err)
	}
	sealed, err := m.cfg.Sealer.Seal(raw, flowAD)
	if err != nil {
		return fmt.Errorf("social: seal flow: %w", err)
	}
	oc := m.oauth2Config(p, authURL, "")
	params := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.Verifier)}
	if p.Kind == KindOIDC {
		params = append(params, oauth2.SetAuthURLParam("nonce", f.Nonce))
		if loginHint != "" && len(loginHint) <= 256 {
			params = append(params, oauth2.SetAuthURLParam("login_hint", loginHint))
		}
	}
	http.SetCookie(w, &http.Cookie{Name: m.cookieName(), Value: sealed, Path: "/", MaxAge: int(m.cfg.FlowTTL / time.Second),
		HttpOnly: true, Secure: m.secure, SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, oc.AuthCodeURL(f.State, params...), http.StatusFound)
	return nil
}

func (m *Manager) oauth2Config(p *Provider, authURL, tokenURL string) *oauth2.Config {
	return &oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, Scopes: p.Scopes, RedirectURL: m.RedirectURI(p.Name),
		Endpoint: oauth2.Endpoint{AuthURL: authURL, TokenURL: tokenURL}}
}

// takeFlow reads, opens and clears the flow cookie, and checks that it
// belongs to provider name, has not expired and carries state.
func (m *Manager) takeFlow(w http.ResponseWriter, r *http.Request, name, state string) (*flowState, error) {
	c, err := r.Cookie(m.cookieName())
	if err != nil || c.Value == "" || len(c.Value) > maxCookie {
		return nil, deny(ReasonStateInvalid, sso.ErrInvalidInput, errors.New("social: no flow cookie"))
	}
	http.SetCookie(w, &http.Cookie{Name: m.cookieName(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: m.secure, SameSite: http.SameSiteLaxMode})
	raw, err := m.cfg.Sealer.Open(c.Value, flowAD)
	if err != nil {
		return nil, deny(ReasonStateInvalid, sso.ErrInvalidInput, err)
	}
	var f flowState
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, deny(ReasonStateInvalid, sso.ErrInvalidInput, err)
	}
	switch {
	case f.Provider != name:
		return nil, deny(ReasonStateInvalid, sso.ErrInvalidInput, errors.New("social: flow of another provider"))
	case !m.now().Before(f.Expires):
		return nil, deny(ReasonStateInvalid, sso.ErrExpired, errors.New("social: flow expired"))
	case state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(f.State)) != 1:
		return nil, deny(ReasonStateInvalid, sso.ErrInvalidInput, errors.New("social: state mismatch"))
	}
	return &f, nil
}

// Callback finishes a login at the provider named name: it checks the
// flow cookie and state, exchanges the code (with the PKCE verifier),
// verifies the identity, then signs the person in (see [Manager.SignIn])
// and redirects (303) to the login's return path. On error it has written
// only the cookie deletion; the caller renders the error.
func (m *Manager) Callback(w http.ResponseWriter, r *http.Request, name string) error {
	p, ok := m.providers[name]
	if !ok {
		return deny(ReasonUnknownProvider, sso.ErrNotFound, nil)
	}
	ctx, finish := m.tel.StartSignIn(r.Context(), string(Method), p.Name)
	orgID, err := m.callback(w, r.WithContext(ctx), p)
	finish(orgID, sso.ReasonOf(err), err)
	return err
}

// callback is Callback for provider p without the telemetry; it returns
// the organization chosen, when the sign-in got that far.
func (m *Manager) callback(w http.ResponseWriter, r *http.Request, p *Provider) (orgID string, err error) {
	ctx := r.Context()
	q := r.URL.Query()
	f, err := m.takeFlow(w, r, p.Name, q.Get("state"))
	if err != nil {
		m.failed(r, p.Name, "", "", err)
		return "", err
	}
	if f.LinkUser != "" {
		defer func() {
			if err != nil {
				err = &LinkError{ReturnTo: returnto.Safe(f.ReturnTo, ""), Err: err}
			}
		}()
	}
	if e := q.Get("error"); e != "" {
		err := deny(ReasonProviderError, sso.ErrAccessDenied, fmt.Errorf("social: provider answered %.64q", e))
		m.failed(r, p.Name, "", "", err)
		return "", err
	}
	var prof *VerifiedAccount
	switch p.Kind {
	case KindOIDC:
		prof, err = m.oidcProfile(ctx, p, f, q)
	default:
		prof, err = m.githubProfile(ctx, p, f, q.Get("code"))
	}
	if err != nil {
		m.failed(r, p.Name, "", "", err)
		return "", err
	}
	prof = withNormalEmail(prof)
	if f.LinkUser != "" {
		return "", m.finishLink(w, r, p, f, prof)
	}
	_, orgID, err = m.signIn(w, r, p.Name, prof, f.Org)
	if err != nil {
		return orgID, err
	}
	http.Redirect(w, r, returnto.Safe(f.ReturnTo, m.cfg.DefaultReturnTo), http.StatusSeeOther)
	return orgID, nil
}
