package stack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"golang.org/x/time/rate"

	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/sso/invite"
	"github.com/ssokit/ssokit/sso/passkey"
	"github.com/ssokit/ssokit/sso/social"
)

// SocialConfig configures social sign-in (package sso/social); the fields
// mean what they mean in social.Config. The redirect URI to register at a
// provider is BaseURL + PrefixSocial + name + "/callback".
type SocialConfig struct {
	// Providers are the configured providers (social.Google,
	// social.Microsoft, social.GitHub). At least one is required.
	Providers []social.Provider
	// Store keeps social identities: sqlsocial.New or memsocial.New of
	// the stack's Store. Required.
	Store social.Store
	// Admission places a person without an organization into one. Nil
	// means the invitations and auto-join policies of Config.Invites when
	// it is set (a pending invitation for the provider-verified address,
	// else its verified domain's policy, where "approval" makes a join
	// request), and nobody otherwise: such sign-ins are refused with
	// no_organization.
	Admission social.Admission
	// HTTPClient is the base client for provider requests (only its
	// Transport is used).
	HTTPClient *http.Client
	FlowTTL    time.Duration
	RateLimit  rate.Limit
	Burst      int
	// ErrorHandler renders refusals. Nil means social.WriteError (a page
	// that names the reason and what to do next, or JSON when asked).
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// PasskeyConfig configures passwordless sign-in with passkeys (package
// sso/passkey); the fields mean what they mean in passkey.Config.
type PasskeyConfig struct {
	// RPID is the WebAuthn relying party ID: the site's domain, never an
	// IP address. Zero means the host name of Config.BaseURL.
	RPID string
	// Origins are the page origins allowed to use it. Nil means the
	// origin of Config.BaseURL.
	Origins       []string
	RPDisplayName string
	// Store keeps passkeys and ceremonies: sqlpasskey.New or
	// mempasskey.New of the stack's Store. Required.
	Store passkey.Store
	// OtherMethods guards the deletion of a user's last passkey. Nil
	// means: the user has a password (with Config.Password) or a linked
	// social account (with Config.Social).
	OtherMethods passkey.OtherMethods
	Timeout      time.Duration
	RateLimit    rate.Limit
	Burst        int
}

// AccountConfig turns on the signed-in user's own API (admin.Account) at
// PrefixAccount: their organizations (GET /orgs) and new ones (POST
// /orgs).
type AccountConfig struct {
	// Settings are the settings of a new organization (its plan features,
	// JIT, default role). Zero means the most restrictive.
	Settings sso.OrgSettings
}

// wireAccount builds the account API when configured.
func (s *Stack) wireAccount(cfg Config) error {
	if cfg.Account == nil {
		return nil
	}
	var err error
	s.Account, err = admin.NewAccount(admin.AccountConfig{
		Store: cfg.Store, Auditor: s.Auditor, Settings: cfg.Account.Settings, Now: cfg.Now, Logger: cfg.Logger,
		User: func(r *http.Request) (string, error) {
			p, ok := sso.PrincipalFrom(r.Context())
			if !ok || p.Kind != sso.PrincipalSession {
				return "", sso.ErrForbidden // answered 401: sign in first
			}
			return p.UserID, nil
		},
	})
	return err
}

// wireSignIn builds the social and passkey tiers when configured.
func (s *Stack) wireSignIn(cfg Config) error {
	var err error
	base, ip, now, lg := cfg.BaseURL, cfg.ClientIP, cfg.Now, cfg.Logger
	if sc := cfg.Social; sc != nil {
		admission := sc.Admission
		if admission == nil && s.Invites != nil {
			admission = inviteAdmission{s.Invites}
		}
		if s.Social, err = social.New(social.Config{
			BaseURL: under(base, PrefixSocial), Providers: sc.Providers, Store: sc.Store,
			Users: cfg.Store, Orgs: cfg.Store, Members: cfg.Store, Sessions: s.Sessions, Enforcer: s.Enforcer,
			Admission: admission, OtherMethods: socialOthers(cfg), Auditor: s.Auditor, Sealer: s.Sealer,
			SSOLoginPath:      under(base, PrefixDiscovery+"login/").Path,
			HTTPClient:        sc.HTTPClient,
			AllowInsecureURLs: cfg.Dev.AllowInsecureURLs, AllowPrivateAddresses: cfg.Dev.AllowPrivateAddresses,
			DefaultReturnTo: cfg.DefaultReturnTo, FlowTTL: sc.FlowTTL, RateLimit: sc.RateLimit, Burst: sc.Burst,
			ClientIP: ip, ErrorHandler: sc.ErrorHandler, Now: now, Logger: lg,
			TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider,
		}); err != nil {
			return err
		}
	}
	if pc := cfg.Passkeys; pc != nil {
		rpid, origins := pc.RPID, pc.Origins
		if rpid == "" {
			rpid = base.Hostname()
		}
		if origins == nil {
			origins = []string{base.Scheme + "://" + base.Host}
		}
		other := pc.OtherMethods
		if other == nil {
			other = s.otherMethods(cfg)
		}
		// A TOTP or WebAuthn factor of package mfa makes adding or deleting
		// a passkey need a fresh second factor, as a passkey does.
		var second func(context.Context, string) (bool, error)
		if s.MFA != nil {
			second = s.MFA.HasFactor
		}
		if s.Passkeys, err = passkey.New(passkey.Config{
			RPID: rpid, Origins: origins, RPDisplayName: pc.RPDisplayName, Store: pc.Store,
			Users: cfg.Store, Orgs: cfg.Store, Members: cfg.Store, Sessions: s.Sessions, Enforcer: s.Enforcer,
			Auditor: s.Auditor, OtherMethods: other, SecondFactor: second, SSOLoginPath: under(base, PrefixDiscovery+"login/").Path, Timeout: pc.Timeout, RateLimit: pc.RateLimit, Burst: pc.Burst,
			ClientIP: ip, Now: now, Logger: lg, TracerProvider: cfg.TracerProvider, MeterProvider: cfg.MeterProvider,
		}); err != nil {
			return err
		}
		if s.passkeys != nil {
			s.passkeys.m = s.Passkeys
		}
	}
	return nil
}

// passkeyFactor returns what lets package mfa verify a user with their
// passkeys (mfa.Config.Passkeys) when passkeys are on, nil otherwise. The
// MFA manager is built before the passkey manager (whose registration
// asks it whether the user has a factor), so the returned value reaches
// the passkey manager once that is built.
func (s *Stack) passkeyFactor(cfg *Config) mfa.PasskeyChecker {
	if cfg.Passkeys == nil {
		return nil
	}
	s.passkeys = &latePasskeys{}
	return s.passkeys
}

// latePasskeys is mfa.PasskeyChecker over a passkey manager set after the
// MFA manager is built, and before anything is served.
type latePasskeys struct{ m *passkey.Manager }

func (l *latePasskeys) HasPasskey(ctx context.Context, userID string) (bool, error) {
	if l.m == nil {
		return false, nil
	}
	return l.m.HasPasskey(ctx, userID)
}

func (l *latePasskeys) BeginCheck(ctx context.Context, userID, sessionID string) (string, *protocol.CredentialAssertion, error) {
	if l.m == nil {
		return "", nil, &sso.ValidationError{Protocol: passkey.Protocol, Reason: passkey.ReasonNoPasskey, Err: sso.ErrNotFound}
	}
	return l.m.BeginCheck(ctx, userID, sessionID)
}

func (l *latePasskeys) FinishCheck(ctx context.Context, userID, sessionID, ceremonyID string, body []byte) error {
	if l.m == nil {
		return &sso.ValidationError{Protocol: passkey.Protocol, Reason: passkey.ReasonNoPasskey, Err: sso.ErrNotFound}
	}
	return l.m.FinishCheck(ctx, userID, sessionID, ceremonyID, body)
}

// otherMethods reports whether a user can sign in without a passkey: with
// a password (Config.Password) or a linked social account (Config.Social).
func (s *Stack) otherMethods(cfg Config) passkey.OtherMethods {
	return func(ctx context.Context, userID string) (bool, error) {
		if pc := cfg.Password; pc != nil {
			_, err := pc.Store.GetCredential(ctx, userID)
			if err == nil {
				return true, nil
			} else if !errors.Is(err, sso.ErrNotFound) {
				return false, err
			}
		}
		if sc := cfg.Social; sc != nil {
			ids, err := sc.Store.ListUserIdentities(ctx, userID)
			if err != nil {
				return false, err
			}
			return len(ids) > 0, nil
		}
		return false, nil
	}
}

// socialOthers reports whether a user can sign in without a social
// identity: with a password (Config.Password) or a passkey
// (Config.Passkeys).
func socialOthers(cfg Config) func(ctx context.Context, userID string) (bool, error) {
	return func(ctx context.Context, userID string) (bool, error) {
		if pc := cfg.Password; pc != nil {
			_, err := pc.Store.GetCredential(ctx, userID)
			if err == nil {
				return true, nil
			} else if !errors.Is(err, sso.ErrNotFound) {
				return false, err
			}
		}
		if pk := cfg.Passkeys; pk != nil {
			cs, err := pk.Store.ListCredentials(ctx, userID)
			return len(cs) > 0, err
		}
		return false, nil
	}
}

// signInMounts are the routes of the social and passkey tiers.
func (s *Stack) signInMounts(strip func(prefix string, h http.Handler) mount) []mount {
	var ms []mount
	if s.Social != nil {
		// Sign-in starts by a top-level GET and returns from the provider
		// cross-site by design; the callback checks its sealed state.
		ms = append(ms, strip(PrefixSocial, s.loadOnce(s.Social)))
	}
	if s.Passkeys != nil {
		// The passkey handler refuses cross-origin posts itself, and the
		// ceremonies check the origin the browser signed.
		ms = append(ms, strip(PrefixPasskey, s.loadOnce(s.Passkeys)))
	}
	if s.Account != nil {
		// Session cookie only, and no cross-origin request (CSRF).
		ms = append(ms, strip(PrefixAccount, http.NewCrossOriginProtection().Handler(s.loadOnce(s.Account))))
	}
	return ms
}

// inviteAdmission admits people to organizations through sso/invite: a
// pending invitation for the provider-verified address, else the
// auto-join policy of its verified domain (a join request under
// approval). The stack sets it as SocialConfig.Admission when Invites is
// set too and SocialConfig.Admission is nil.
type inviteAdmission struct{ m *invite.Manager }

// Offer implements social.Admission.
func (a inviteAdmission) Offer(ctx context.Context, email string) (*social.Offer, error) {
	w, err := a.m.WayIn(ctx, email)
	if err != nil {
		return nil, err
	}
	if w.Invitation != nil {
		return &social.Offer{OrgID: w.OrgID, Via: "invitation", Ref: w.Invitation.ID}, nil
	}
	return &social.Offer{OrgID: w.OrgID, Via: "auto_join"}, nil
}

// Accept implements social.Admission.
func (a inviteAdmission) Accept(ctx context.Context, o *social.Offer, u *sso.User) (*sso.Membership, error) {
	w := &invite.Way{OrgID: o.OrgID}
	if o.Via == "invitation" {
		inv, err := a.m.Pending(ctx, o.OrgID, o.Ref)
		if err != nil {
			return nil, err
		}
		w.Invitation = inv
	}
	out, err := a.m.Enter(ctx, w, u)
	if err != nil {
		return nil, err
	}
	if out.Joined == nil || out.Joined.OrgID != o.OrgID {
		return nil, fmt.Errorf("stack: %w", social.ErrJoinRequested)
	}
	return out.Joined, nil
}
