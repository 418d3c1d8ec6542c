package social

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/oauth2"

	"github.com/ssokit/ssokit/internal/egress"
	"github.com/ssokit/ssokit/sso"
)

// maxAPIBody bounds a GitHub API response.
const maxAPIBody = 256 << 10

// githubUser is the part of GET /user this package reads. The id is the
// stable key; login and email can change or be reused.
type githubUser struct {
	ID    int64  `json:"id"`
	Login string `json:"login"`
	Name  string `json:"name"`
}

// githubEmail is one entry of GET /user/emails.
type githubEmail struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

// githubProfile exchanges the code (with the PKCE verifier) and reads the
// account: its numeric ID from GET /user and its primary email from GET
// /user/emails. Only the primary address is used, verified only when
// GitHub says so; a verified secondary address never stands in for it.
func (m *Manager) githubProfile(ctx context.Context, p *Provider, f *flowState, code string) (*VerifiedAccount, error) {
	tok, err := m.oauth2Config(p, p.AuthURL, p.TokenURL).Exchange(context.WithValue(ctx, oauth2.HTTPClient, m.client), code,
		oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return nil, exchangeErr(p.Name, err)
	}
	var u githubUser
	if err := m.githubGet(ctx, p, tok.AccessToken, "/user", &u); err != nil {
		return nil, err
	}
	if u.ID <= 0 {
		return nil, upstream(p.Name, errors.New("social: GitHub user without an id"))
	}
	var emails []githubEmail
	if err := m.githubGet(ctx, p, tok.AccessToken, "/user/emails", &emails); err != nil {
		return nil, err
	}
	acct := &VerifiedAccount{Subject: strconv.FormatInt(u.ID, 10), Name: u.Name, EmailVerifiedOnce: p.EmailVerifiedOnce}
	if acct.Name == "" {
		acct.Name = u.Login
	}
	for _, e := range emails {
		if e.Primary {
			acct.Email, acct.EmailVerified = strings.ToLower(strings.TrimSpace(e.Email)), e.Verified
			break
		}
	}
	acct.EmailVerified = acct.EmailVerified && acct.Email != ""
	return acct, nil
}

// githubGet GETs the API path with the access token and decodes the JSON
// answer into v. A 401 or 403 is a refused token; anything else that is
// not a 200 with JSON is a provider fault.
func (m *Manager) githubGet(ctx context.Context, p *Provider, token, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(p.APIURL, "/")+path, nil)
	if err != nil {
		return fmt.Errorf("social: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	resp, err := m.client.Do(req)
	if err != nil {
		return upstream(p.Name, err)
	}
	defer resp.Body.Close()
	body, err := egress.ReadAll(resp.Body, maxAPIBody)
	if err != nil {
		return upstream(p.Name, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return deny(ReasonTokenInvalid, sso.ErrAccessDenied, fmt.Errorf("social: GitHub %s answered %d", path, resp.StatusCode))
	case resp.StatusCode != http.StatusOK:
		return upstream(p.Name, fmt.Errorf("social: GitHub %s answered %d", path, resp.StatusCode))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return upstream(p.Name, fmt.Errorf("social: GitHub %s: %w", path, err))
	}
	return nil
}
