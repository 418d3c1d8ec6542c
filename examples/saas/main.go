// Command saas is a multi-tenant demo application built on ssokit. It uses
// every package: home-realm discovery, SAML and OIDC logins through a
// built-in development IdP, server-side sessions and API tokens, TOTP MFA,
// SCIM provisioning, the admin onboarding API and the audit trail.
//
//	go run ./examples/saas
//
// starts it on 127.0.0.1:8080 with an embedded SQLite database and prints
// what to open. Flags (each also read from an environment variable):
//
//	-addr         SSOKIT_ADDR          listen address (127.0.0.1:8080)
//	-base-url     SSOKIT_BASE_URL      public URL (http://<addr>)
//	-db           SSOKIT_DB            SQLite file path or postgres:// URL (ssokit-demo.db)
//	-admin-token  SSOKIT_ADMIN_TOKEN   bearer token for the admin API of any demo org (random)
//	-seal-key     SSOKIT_SEAL_KEY      base64 32-byte key sealing secrets at rest (derived from the admin token)
//	-otel-stdout  SSOKIT_OTEL_STDOUT   print OpenTelemetry spans and metrics to stdout
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "saas:", err)
		os.Exit(1)
	}
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func run() error {
	var opts Options
	flag.StringVar(&opts.Addr, "addr", env("SSOKIT_ADDR", "127.0.0.1:8080"), "listen address")
	flag.StringVar(&opts.BaseURL, "base-url", env("SSOKIT_BASE_URL", ""), "public base URL (default http://<addr>)")
	flag.StringVar(&opts.DB, "db", env("SSOKIT_DB", "ssokit-demo.db"), "SQLite file path, or a postgres:// URL")
	flag.StringVar(&opts.AdminToken, "admin-token", env("SSOKIT_ADMIN_TOKEN", ""), "bearer token for the admin API of any demo org (default: random, printed)")
	flag.StringVar(&opts.SealKey, "seal-key", env("SSOKIT_SEAL_KEY", ""), "base64 32-byte key that seals secrets at rest (default: derived from -admin-token or the database path)")
	flag.StringVar(&opts.Redis, "redis", env("SSOKIT_REDIS", ""), "redis:// URL for sessions and revocations between replicas (default: sessions in the database)")
	flag.BoolVar(&opts.OTelStdout, "otel-stdout", env("SSOKIT_OTEL_STDOUT", "") != "", "print OpenTelemetry spans and metrics to stdout")
	flag.Parse()
	if opts.BaseURL == "" {
		opts.BaseURL = "http://" + opts.Addr
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	opts.Logger = logger

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	app, err := NewApp(ctx, opts)
	if err != nil {
		return err
	}
	defer app.Close()

	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           app.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if err := app.Seed(ctx); err != nil {
		srv.Close()
		return err
	}
	// The background work (sweeps, health checks, webhooks) ends before
	// the database closes.
	background := make(chan struct{})
	go func() { app.RunBackground(ctx); close(background) }()

	fmt.Printf(`ssokit demo is running on %[1]s (database: %[2]s)

  Open %[1]s/ and sign in with an email:
    alice@acme.test    SAML  (Acme, via the built-in development IdP)
    bob@globex.test    OIDC  (Globex, via the built-in development IdP)
    anyone@example.com       (no SSO: local login)
  Break-glass local admins: root@acme.test / root@globex.test, password %[3]q

  Admin API:  curl -H 'Authorization: Bearer %[4]s' -H 'X-Ssokit-Org: acme' %[1]s/api/admin/connections
  SCIM:       create a token on %[1]s/admin/portal/directory, then use %[1]s/scim/v2
  Dev IdP:    %[1]s/idp/saml/metadata  and  %[1]s/idp/oidc/.well-known/openid-configuration

`, opts.BaseURL, app.DBLabel(), demoPassword, app.AdminToken())

	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdown)
	stop()
	select {
	case <-background:
	case <-shutdown.Done():
	}
	return err
}
