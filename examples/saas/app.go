package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	// The two SQL drivers the demo accepts.
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"
	_ "modernc.org/sqlite"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/mfa"
	"github.com/ssokit/ssokit/oidc"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/scim"
	"github.com/ssokit/ssokit/session"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/sso/audit"
	"github.com/ssokit/ssokit/sso/discovery"
	"github.com/ssokit/ssokit/sso/domains"
	"github.com/ssokit/ssokit/sso/emailcode"
	"github.com/ssokit/ssokit/sso/health"
	"github.com/ssokit/ssokit/sso/invite"
	"github.com/ssokit/ssokit/sso/keyring"
	"github.com/ssokit/ssokit/sso/login"
	"github.com/ssokit/ssokit/sso/mail"
	"github.com/ssokit/ssokit/sso/password"
	"github.com/ssokit/ssokit/sso/policy"
	"github.com/ssokit/ssokit/sso/portal"
	"github.com/ssokit/ssokit/sso/ssotest"
	"github.com/ssokit/ssokit/sso/stack"
	"github.com/ssokit/ssokit/store/redisstore"
	"github.com/ssokit/ssokit/store/sqlstore"
	"github.com/ssokit/ssokit/store/sqlstore/sqlemailcode"
	"github.com/ssokit/ssokit/store/sqlstore/sqlinvite"
	"github.com/ssokit/ssokit/store/sqlstore/sqlmfa"
	"github.com/ssokit/ssokit/store/sqlstore/sqlnotify"
	"github.com/ssokit/ssokit/store/sqlstore/sqloidc"
	"github.com/ssokit/ssokit/store/sqlstore/sqlpassword"
	"github.com/ssokit/ssokit/store/sqlstore/sqlportal"
	"github.com/ssokit/ssokit/store/sqlstore/sqlsaml"
	"github.com/ssokit/ssokit/store/sqlstore/sqlscim"
	"github.com/ssokit/ssokit/store/sqlstore/sqlwebhook"
)

// Options configure the demo.
type Options struct {
	Addr       string
	BaseURL    string
	DB         string
	AdminToken string
	SealKey    string
	// Redis, when set (redis://host:port/db), holds browser sessions,
	// refresh tokens and revocations, and carries revocations between
	// replicas.
	Redis      string
	OTelStdout bool
	Logger     *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// App is the wired demo application.
type App struct {
	opts    Options
	base    *url.URL
	db      *sql.DB
	store   *sqlstore.Store
	rdb     *redis.Client
	kv      *kv
	sealer  *keyring.Keyring
	idp     *ssotest.IdP
	auditor *audit.Trail

	sessions  *session.Manager
	completer *login.Completer
	saml      *saml.SP
	oidc      *oidc.RP
	discovery *discovery.Handler
	domains   *domains.Manager
	enforcer  *policy.Enforcer
	admin     *admin.Handler
	portal    *portal.Portal
	password  *password.Manager
	emailcode *emailcode.Manager
	invites   *invite.Manager
	mail      *mail.DevMailer
	mfa       *mfa.Manager
	scim      *scim.Handler
	dns       *demoResolver
	pages     *pages
	telemetry *telemetrySetup
	kit       *stack.Stack
	health    *health.Checker
	log       *slog.Logger

	generatedToken bool
}

// NewApp opens the database, migrates it and wires every component. Call
// Seed once the handler is being served.
func NewApp(ctx context.Context, opts Options) (*App, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	base, err := url.Parse(strings.TrimSuffix(opts.BaseURL, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("invalid -base-url %q", opts.BaseURL)
	}
	a := &App{opts: opts, base: base, log: opts.Logger}
	if a.opts.AdminToken == "" {
		a.opts.AdminToken = "demo_" + opaque.NewToken(24)
		a.generatedToken = true
	}
	if err := a.openDB(ctx); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	if a.telemetry, err = setupTelemetry(opts.OTelStdout); err != nil {
		return nil, err
	}
	if err := a.wire(ctx); err != nil {
		return nil, err
	}
	ok = true
	return a, nil
}

// Seed creates the demo organizations on first start and registers every
// connection that points at the development IdP. Call it once the server is
// listening: configuring the OIDC connection fetches the development IdP's
// keys from this very process.
func (a *App) Seed(ctx context.Context) error {
	if err := a.seed(ctx); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if err := a.registerWithDevIdP(ctx); err != nil {
		return fmt.Errorf("register demo connections with the development IdP: %w", err)
	}
	return nil
}

// AdminToken returns the bearer token of the admin API.
func (a *App) AdminToken() string { return a.opts.AdminToken }

// DBLabel describes the database for the start banner, without credentials.
func (a *App) DBLabel() string {
	if isPostgres(a.opts.DB) {
		if u, err := url.Parse(a.opts.DB); err == nil {
			return "postgres://" + u.Host + u.Path
		}
		return "postgres"
	}
	return "sqlite:" + a.opts.DB
}

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

func (a *App) openDB(ctx context.Context) error {
	var (
		db      *sql.DB
		err     error
		dialect sqlstore.Dialect
	)
	if isPostgres(a.opts.DB) {
		dialect = sqlstore.Postgres
		db, err = sql.Open("pgx", a.opts.DB)
		if err == nil {
			db.SetMaxOpenConns(20)
			db.SetMaxIdleConns(10)
			db.SetConnMaxIdleTime(time.Minute)
		}
	} else {
		dialect = sqlstore.SQLite
		db, err = sql.Open("sqlite", sqlstore.SQLiteDSN(a.opts.DB))
		if err == nil {
			db.SetMaxOpenConns(4)
		}
	}
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	a.db = db
	if a.store, err = sqlstore.New(db, dialect); err != nil {
		return err
	}
	// Wait briefly for the database (replicas may start before it).
	var lastErr error
	for i := 0; i < 30; i++ {
		if lastErr = a.store.Migrate(ctx); lastErr == nil {
			break
		}
		if ctx.Err() != nil || !errors.Is(lastErr, sso.ErrUnavailable) {
			break
		}
		time.Sleep(time.Second)
	}
	if lastErr != nil {
		return fmt.Errorf("migrate: %w", lastErr)
	}
	a.kv = &kv{db: db}
	return a.kv.init(ctx)
}

// sessionStores picks where sessions live and how replicas hear of
// revoked access tokens: Redis for both when Options.Redis is set;
// otherwise sessions in the database and, on PostgreSQL, LISTEN/NOTIFY.
func (a *App) sessionStores() (session.Store, session.RevocationBus, error) {
	if a.opts.Redis != "" {
		ro, err := redis.ParseURL(a.opts.Redis)
		if err != nil {
			return nil, nil, fmt.Errorf("demo: -redis: %w", err)
		}
		a.rdb = redis.NewClient(ro)
		st, err := redisstore.New(a.rdb, redisstore.Options{})
		if err != nil {
			return nil, nil, err
		}
		bus, err := redisstore.NewBus(a.rdb, redisstore.BusOptions{})
		if err != nil {
			return nil, nil, err
		}
		return st, bus, nil
	}
	if isPostgres(a.opts.DB) {
		bus, err := sqlnotify.New(sqlnotify.Config{DB: a.db, DSN: a.opts.DB})
		return nil, bus, err
	}
	return nil, nil, nil
}

// Close releases the database.
func (a *App) Close() {
	if a.telemetry != nil {
		a.telemetry.shutdown()
	}
	if a.db != nil {
		a.db.Close()
	}
	if a.rdb != nil {
		a.rdb.Close()
	}
}

func (a *App) url(p string) *url.URL {
	u := *a.base
	u.Path = strings.TrimSuffix(u.Path, "/") + p
	return &u
}

func (a *App) secure() bool { return a.base.Scheme == "https" }

func (a *App) wire(ctx context.Context) error {
	var err error
	sealKey, err := a.sealKey()
	if err != nil {
		return err
	}
	if a.sealer, err = keyring.New("demo1", map[string][]byte{"demo1": sealKey}); err != nil {
		return err
	}

	// Keys shared by every replica live in the database.
	idpSAMLKey, idpSAMLCert, err := a.sharedRSACert(ctx, "idp-saml", "ssokit development IdP")
	if err != nil {
		return err
	}
	idpOIDCKey, _, err := a.sharedRSACert(ctx, "idp-oidc", "ssokit development IdP OIDC")
	if err != nil {
		return err
	}
	spKey, spCert, err := a.sharedRSACert(ctx, "sp", "ssokit demo SP")
	if err != nil {
		return err
	}
	tokKey, err := a.sharedECKey(ctx, "access-token")
	if err != nil {
		return err
	}

	a.idp, err = ssotest.NewIdP(ssotest.Config{
		BaseURL:  a.url("/idp"),
		Users:    demoIdPUsers(),
		SAMLKey:  idpSAMLKey,
		SAMLCert: idpSAMLCert,
		OIDCKey:  idpOIDCKey,
		Logger:   a.log,
	})
	if err != nil {
		return err
	}
	insecure := !a.secure()
	tp, mp := a.telemetry.providers()
	a.dns = &demoResolver{kv: a.kv}
	a.mail = &mail.DevMailer{}
	sessions, bus, err := a.sessionStores()
	if err != nil {
		return err
	}
	// Every ssokit component, wired by the composition root.
	kit, err := stack.New(ctx, stack.Config{
		Store:         a.store,
		SAMLStore:     sqlsaml.New(a.store),
		OIDCStore:     sqloidc.New(a.store),
		SCIMStore:     sqlscim.New(a.store),
		MFAStore:      sqlmfa.New(a.store),
		BaseURL:       a.base,
		Sealer:        a.sealer,
		SigningKeys:   []session.SigningKey{{ID: "demo-es256-1", PrivateKey: tokKey}},
		RevocationBus: bus,
		SessionStore:  sessions,
		// Passwords for the break-glass admins (and any organization
		// without an IdP); the emails they send are shown at /dev/mail.
		Password: &stack.PasswordConfig{Store: sqlpassword.New(a.store), Mailer: a.mail,
			VerifyURL: a.url("/account/verify"), ResetURL: a.url("/account/reset"), AppName: "Demo SaaS"},
		// Sign-in by emailed code or link, also shown at /dev/mail.
		EmailCode: &stack.EmailCodeConfig{Store: sqlemailcode.New(a.store), Mailer: a.mail, AppName: "Demo SaaS"},
		// Invitations (POST /api/admin/invitations) and domain auto-join;
		// the accept page is /invite/accept.
		Invites: &stack.InviteConfig{Store: sqlinvite.New(a.store), Mailer: a.mail, LoginURL: "/login/email", AppName: "Demo SaaS"},
		// Social sign-in and passkeys (signin.go).
		Social:   a.socialConfig(),
		Passkeys: a.passkeyConfig(),
		// A signed-in user's organizations, and new ones, at /api/account/.
		Account: &stack.AccountConfig{Settings: sso.OrgSettings{DefaultRole: "member",
			Features: sso.Features{"email_code", "magic_link", "social", "passkey"}}},
		// The admin portal a customer's IT admin sets SSO up in, entered
		// as an org admin of the demo or through a setup link. Its links
		// and sessions live in the database, shared by the replicas.
		Portal: &stack.PortalConfig{Store: sqlportal.New(a.store), Brand: portal.Brand{AppName: "Demo SaaS: single sign-on setup"}},
		// Webhook endpoints and SIEM streams an organization's admin adds
		// in the portal's integrations section.
		Webhooks:      sqlwebhook.New(a.store),
		SPKey:         &saml.KeyPair{Key: spKey, Certificate: spCert},
		LocalLoginURL: "/login/local",
		// The admin API's authorization; its MFA policy is the default
		// (the organization's, as on the admin pages).
		Authorize: a.authorizeAdmin,
		MFA: &stack.MFAConfig{Issuer: "ssokit demo", EnrollmentURL: "/account/mfa", VerifyURL: "/account/mfa",
			WebAuthn: a.webAuthnConfig(), StepUpRefusedURL: stepUpRefusedPath},
		DefaultReturnTo:     "/dashboard",
		TestReturnTo:        "/admin/portal/sso",
		ErrorHandler:        a.protocolError,
		SessionErrorHandler: a.sessionError,
		Chooser:             a.renderChooser,
		LoginRateLimit:      20,
		LoginBurst:          100,
		// The demo's browsers and load runs all come from loopback.
		CallbackRateLimit: 50,
		CallbackBurst:     200,
		DNS:               a.dns,
		Logger:            a.log,
		TracerProvider:    tp,
		MeterProvider:     mp,
		// The development IdP is served by this process over http on
		// loopback; a production host leaves these off.
		Dev: stack.Dev{AllowInsecureCookie: insecure, AllowInsecureURLs: insecure, AllowPrivateAddresses: true},
	})
	if err != nil {
		return err
	}
	a.kit = kit
	a.auditor, a.sessions, a.completer = kit.Auditor, kit.Sessions, kit.Completer
	a.saml, a.oidc, a.discovery, a.domains = kit.SAML, kit.OIDC, kit.Discovery, kit.Domains
	a.enforcer, a.health, a.mfa, a.admin, a.scim = kit.Enforcer, kit.Health, kit.MFA, kit.Admin, kit.SCIM
	a.portal, a.password, a.emailcode, a.invites = kit.Portal, kit.Password, kit.EmailCode, kit.Invites
	a.pages, err = newPages(a)
	return err
}

// webAuthnConfig enables security keys when the base URL has a host name:
// WebAuthn relying party IDs cannot be IP addresses.
func (a *App) webAuthnConfig() *mfa.WebAuthnConfig {
	if net.ParseIP(a.base.Hostname()) != nil {
		return nil
	}
	return &mfa.WebAuthnConfig{
		RPID:          a.base.Hostname(),
		RPDisplayName: "ssokit demo",
		Origins:       []string{a.base.Scheme + "://" + a.base.Host},
	}
}

// sealKey returns the key that seals secrets: -seal-key, or one derived from
// the admin token (replicas started with the same token agree), or from the
// database path for a default local run.
func (a *App) sealKey() ([]byte, error) {
	if a.opts.SealKey != "" {
		k, err := base64.StdEncoding.DecodeString(a.opts.SealKey)
		if err != nil || len(k) != 32 {
			return nil, errors.New("-seal-key must be 32 bytes, base64 encoded")
		}
		return k, nil
	}
	seed := "ssokit-demo-seal:" + a.opts.DB
	if !a.generatedToken {
		seed = "ssokit-demo-seal:" + a.opts.AdminToken
	}
	sum := sha256.Sum256([]byte(seed))
	return sum[:], nil
}

// sharedRSACert returns an RSA key and self-signed certificate stored in the
// database under name, creating them on first use. Every replica sharing
// the database gets the same pair.
func (a *App) sharedRSACert(ctx context.Context, name, cn string) (*rsa.PrivateKey, *x509.Certificate, error) {
	gen := func() (string, error) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return "", err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(time.Now().UnixNano()),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().AddDate(5, 0, 0),
			KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return "", err
		}
		kb := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
		cb := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		return a.seal(string(kb)+string(cb), name)
	}
	v, err := a.kv.getOrCreate(ctx, "key:"+name, gen)
	if err != nil {
		return nil, nil, err
	}
	plain, err := a.sealer.Open(v, []byte(name))
	if err != nil {
		return nil, nil, fmt.Errorf("open shared key %s (is -seal-key the same on every replica?): %w", name, err)
	}
	var key *rsa.PrivateKey
	var cert *x509.Certificate
	rest := plain
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "CERTIFICATE":
			cert, err = x509.ParseCertificate(b.Bytes)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	if key == nil || cert == nil {
		return nil, nil, fmt.Errorf("shared key %s is incomplete", name)
	}
	return key, cert, nil
}

func (a *App) sharedECKey(ctx context.Context, name string) (crypto.Signer, error) {
	gen := func() (string, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return "", err
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return "", err
		}
		return a.seal(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), name)
	}
	v, err := a.kv.getOrCreate(ctx, "key:"+name, gen)
	if err != nil {
		return nil, err
	}
	plain, err := a.sealer.Open(v, []byte(name))
	if err != nil {
		return nil, fmt.Errorf("open shared key %s (is -seal-key the same on every replica?): %w", name, err)
	}
	b, _ := pem.Decode(plain)
	if b == nil {
		return nil, fmt.Errorf("shared key %s is not PEM", name)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("shared key %s is not a signer", name)
	}
	return s, nil
}

func (a *App) seal(plain, name string) (string, error) {
	return a.sealer.Seal([]byte(plain), []byte(name))
}

// RunBackground runs the periodic work until ctx ends: SAML metadata
// refresh and certificate warnings, domain re-verification, federation
// health checks, and sweeping expired sessions and OIDC flows.
func (a *App) RunBackground(ctx context.Context) {
	_ = a.kit.Run(ctx)
}

// authorizeAdmin is the admin API's authorization hook: the admin token
// (scripts; the organization named by X-Ssokit-Org, slug or ID) or a
// session whose member holds the "admin" role in its own organization.
func (a *App) authorizeAdmin(r *http.Request) (string, sso.Actor, error) {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		tok := strings.TrimPrefix(h, "Bearer ")
		if !opaque.Equal(opaque.Hash(tok), opaque.Hash(a.opts.AdminToken)) {
			return "", sso.Actor{}, sso.ErrForbidden
		}
		ref := r.Header.Get("X-Ssokit-Org")
		org, err := a.store.GetOrgBySlug(r.Context(), ref)
		if err != nil {
			org, err = a.store.GetOrg(r.Context(), ref)
		}
		if err != nil {
			return "", sso.Actor{}, sso.ErrForbidden
		}
		return org.ID, sso.Actor{Type: sso.ActorOperator, ID: "demo-admin-token"}, nil
	}
	p, ok := sso.PrincipalFrom(r.Context())
	if !ok || !p.HasRole("admin") {
		return "", sso.Actor{}, sso.ErrForbidden
	}
	return p.OrgID, sso.Actor{Type: sso.ActorAdmin, ID: p.UserID}, nil
}
