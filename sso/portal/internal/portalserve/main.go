// Command portalserve serves the admin portal on loopback, on an in-memory
// store, for the browser tests and for trying the pages by hand:
//
//	go run ./sso/portal/internal/portalserve -addr localhost:8089
//
// It seeds one organization with a pending domain and a draft SAML
// connection, prints two setup links for every section ("setup link: URL"),
// then "portal is running".
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
	"github.com/ssokit/ssokit/sso/portal"
	"github.com/ssokit/ssokit/sso/stack"
	"github.com/ssokit/ssokit/store/memstore"
	"github.com/ssokit/ssokit/store/memstore/memoidc"
	"github.com/ssokit/ssokit/store/memstore/memsaml"
	"github.com/ssokit/ssokit/store/memstore/memscim"
)

func main() {
	addr := flag.String("addr", "localhost:8089", "listen address (loopback)")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "portalserve:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	host, _, err := net.SplitHostPort(addr)
	if err != nil || (host != "localhost" && host != "127.0.0.1") {
		return fmt.Errorf("-addr must be a loopback host:port")
	}
	base, _ := url.Parse("http://" + addr)
	st := memstore.New()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	s, err := stack.New(ctx, stack.Config{
		Store: st, SAMLStore: memsaml.New(st), OIDCStore: memoidc.New(st), SCIMStore: memscim.New(st),
		BaseURL: base, SealKeys: map[string][]byte{"k1": key}, SealKeyID: "k1", LocalLoginURL: "/login",
		Dev: stack.Dev{AllowInsecureCookie: true, AllowInsecureURLs: true},
	})
	if err != nil {
		return err
	}
	org, err := seed(ctx, st)
	if err != nil {
		return err
	}
	p, err := portal.New(portal.Config{
		Admin: admin.Config{Store: st, Domains: s.Domains, Enforcer: s.Enforcer, Auditor: s.Auditor, Sessions: s.Sessions,
			Configurers: map[sso.Protocol]sso.ConnectionConfigurer{"saml": s.SAML, "oidc": s.OIDC},
			Starters:    map[sso.Protocol]sso.Starter{"saml": s.SAML, "oidc": s.OIDC}},
		Store:       portal.NewMemoryStore(),
		BaseURL:     base.String() + "/portal",
		SCIMBaseURL: func(orgID string) string { return base.String() + stack.PrefixSCIM },
		Brand:       portal.Brand{AppName: "Acme Cloud"},
	})
	if err != nil {
		return err
	}
	// Two links: each starts one browser session.
	var links []string
	for range 2 {
		link, _, err := p.CreateLink(ctx, portal.LinkRequest{OrgID: org.ID, Sections: portal.AllSections,
			CreatedBy: sso.Actor{Type: sso.ActorOperator, ID: "portalserve"}})
		if err != nil {
			return err
		}
		links = append(links, link)
	}
	mux := http.NewServeMux()
	mux.Handle("/", s.Handler())
	mux.Handle("/portal/", http.StripPrefix("/portal", p))
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	for _, l := range links {
		fmt.Println("setup link:", l)
	}
	fmt.Println("portal is running on", base.String()+"/portal/")
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	slog.Info("portalserve: stopped")
	return nil
}

func seed(ctx context.Context, st *memstore.Store) (*sso.Organization, error) {
	now := time.Now().UTC()
	org := &sso.Organization{ID: opaque.NewID("org_"), Slug: "acme", Name: "Acme", CreatedAt: now, UpdatedAt: now}
	org.Settings.Features = sso.Features{"saml", "oidc", "scim", "enforce_sso", sso.FeatureIPAllowlist}
	if err := st.CreateOrg(ctx, org); err != nil {
		return nil, err
	}
	if err := st.CreateDomain(ctx, &sso.Domain{OrgID: org.ID, Name: "acme.example", Token: opaque.NewToken(16),
		State: sso.DomainPending, CreatedAt: now}); err != nil {
		return nil, err
	}
	c := &sso.Connection{ID: opaque.NewID("conn_"), OrgID: org.ID, Protocol: saml.Protocol, Status: sso.ConnectionDraft,
		DisplayName: "Okta (draft)", CreatedAt: now, UpdatedAt: now}
	if err := st.CreateConnection(ctx, c); err != nil {
		return nil, err
	}
	return org, nil
}
