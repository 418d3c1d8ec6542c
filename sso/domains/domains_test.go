package domains_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/ssokit/ssokit/internal/normalize"
	"github.com/ssokit/ssokit/internal/routing"
	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/internal/testkit"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/domains"
)

var ctx = ssoenv.Ctx

// TestTM2_VerificationRecord: a >= 128-bit token per (org, domain), record
// at _ssokit-challenge.<domain>, exact match, another tenant's token does
// not verify, expired tokens are rejected.
func TestTM2_VerificationRecord(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a, b := e.Org("tenant-a", nil), e.Org("tenant-b", nil)
	res := &ssoenv.FakeResolver{}
	d := e.Domains(res, nil)

	da, err := d.Add(ctx, a.ID, "Shared.Example.")
	if err != nil {
		t.Fatal(err)
	}
	if da.Name != "shared.example" || da.State != sso.DomainPending {
		t.Fatalf("got %+v, want normalized pending domain", da)
	}
	raw, err := base64.RawURLEncoding.DecodeString(da.Token)
	if err != nil || len(raw) < 16 {
		t.Fatalf("token %q carries %d bytes, want >= 16 (128 bits)", da.Token, len(raw))
	}
	name, value := d.Record(da)
	if name != "_ssokit-challenge.shared.example" || value != "ssokit-verify="+da.Token {
		t.Fatalf("got record %s %s", name, value)
	}
	db, err := d.Add(ctx, b.ID, "shared.example")
	if err != nil {
		t.Fatal(err)
	}
	if db.Token == da.Token {
		t.Fatal("two organizations got the same token")
	}

	// Tenant A's token published: B cannot verify with it.
	res.Set(name, value)
	_, err = d.Verify(ctx, b.ID, "shared.example")
	ssoenv.WantReason(t, err, sso.ErrInvalidInput, "record_mismatch")

	// Near misses never verify.
	for _, v := range []string{"ssokit-verify=" + db.Token + " ", "x" + "ssokit-verify=" + db.Token,
		"ssokit-verify=" + db.Token[:len(db.Token)-1], strings.ToUpper("ssokit-verify=" + db.Token), db.Token} {
		res.Set(name, v)
		if _, err := d.Verify(ctx, b.ID, "shared.example"); err == nil {
			t.Fatalf("record %q verified", v)
		}
	}
	// A verifies with its own token; B's later proof conflicts.
	res.Set(name, "v=spf1 -all", value)
	got, err := d.Verify(ctx, a.ID, "shared.example")
	if err != nil || got.State != sso.DomainVerified {
		t.Fatalf("verify A: %v %+v", err, got)
	}
	if ev := e.LastEvent(a.ID, domains.EventVerified); ev.Target.ID != "shared.example" {
		t.Fatalf("got event %+v", ev)
	}
	res.Set(name, "ssokit-verify="+db.Token)
	_, err = d.Verify(ctx, b.ID, "shared.example")
	ssoenv.WantReason(t, err, sso.ErrConflict, "claimed_by_other_org")

	// Expired token.
	c := e.Org("tenant-c", nil)
	dc, err := d.Add(ctx, c.ID, "late.example")
	if err != nil {
		t.Fatal(err)
	}
	n, v := d.Record(dc)
	res.Set(n, v)
	e.Advance(8 * 24 * time.Hour)
	_, err = d.Verify(ctx, c.ID, "late.example")
	ssoenv.WantReason(t, err, sso.ErrExpired, "token_expired")
	// Adding again issues a fresh token that works.
	dc2, err := d.Add(ctx, c.ID, "late.example")
	if err != nil || dc2.Token == dc.Token {
		t.Fatalf("re-add: %v, token renewed %v", err, dc2.Token != dc.Token)
	}
	n, v = d.Record(dc2)
	res.Set(n, v)
	if _, err := d.Verify(ctx, c.ID, "late.example"); err != nil {
		t.Fatalf("verify renewed token: %v", err)
	}
}

// TestTM2_PeriodicReverification: a removed record is counted as misses;
// routing stays on until the threshold and grace period are both reached,
// then the domain is marked failed, routing stops and events are recorded.
// A record that comes back restores the domain.
func TestTM2_PeriodicReverification(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("acme", nil)
	res := &ssoenv.FakeResolver{}
	d := e.Domains(res, func(c *domains.Config) {
		c.RecheckInterval = time.Hour
		c.FailureThreshold = 3
		c.GracePeriod = 48 * time.Hour
	})
	dom, _ := d.Add(ctx, a.ID, "acme.com")
	n, v := d.Record(dom)
	res.Set(n, v)
	if _, err := d.Verify(ctx, a.ID, "acme.com"); err != nil {
		t.Fatal(err)
	}
	// Record removed.
	res.Set(n)
	for i := 1; i <= 3; i++ {
		e.Advance(2 * time.Hour)
		if k, err := d.Recheck(ctx, 10); err != nil || k != 1 {
			t.Fatalf("recheck %d: n=%d err=%v", i, k, err)
		}
		got, _ := e.St.GetDomain(ctx, a.ID, "acme.com")
		if got.State != sso.DomainVerified || got.ConsecutiveFailures != i {
			t.Fatalf("after miss %d: %+v, want still verified (grace) with %d failures", i, got, i)
		}
		if _, err := routing.Domain(ctx, e.St, "acme.com"); err != nil {
			t.Fatalf("routing off during grace: %v", err)
		}
	}
	if got := len(e.Events(a.ID, domains.EventDomainRecheckMissed)); got != 3 {
		t.Fatalf("got %d recheck_missed events, want 3", got)
	}
	if got := len(e.Events(a.ID, domains.EventLost)); got != 0 {
		t.Fatalf("%d verification_lost events during the grace period", got)
	}
	e.Advance(48 * time.Hour)
	if _, err := d.Recheck(ctx, 10); err != nil {
		t.Fatal(err)
	}
	got, _ := e.St.GetDomain(ctx, a.ID, "acme.com")
	if got.State != sso.DomainFailed {
		t.Fatalf("got state %s, want failed", got.State)
	}
	if _, err := routing.Domain(ctx, e.St, "acme.com"); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("routing still on: %v", err)
	}
	if ev := e.LastEvent(a.ID, domains.EventFailed); ev.Reason != "routing_disabled" || ev.Actor.Type != sso.ActorSystem {
		t.Fatalf("got %+v", ev)
	}
	if ev := e.LastEvent(a.ID, domains.EventLost); ev == nil || ev.Target.ID != "acme.com" || ev.Actor.Type != sso.ActorSystem {
		t.Fatalf("domain.verification_lost: got %+v", ev)
	}
	// Record restored: verified again.
	res.Set(n, v)
	e.Advance(2 * time.Hour)
	if _, err := d.Recheck(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.St.GetDomain(ctx, a.ID, "acme.com"); got.State != sso.DomainVerified || got.ConsecutiveFailures != 0 {
		t.Fatalf("got %+v, want verified again", got)
	}
}

func TestDomainsRunStopsOnCancel(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("acme", nil)
	e.Verified(a.ID, "acme.com")
	looked := make(chan struct{}, 1)
	res := &ssoenv.FakeResolver{Fn: func(ctx context.Context, name string) ([]string, error) {
		select {
		case looked <- struct{}{}:
		default:
		}
		return nil, &net.DNSError{IsNotFound: true}
	}}
	d := e.Domains(res, func(c *domains.Config) { c.RecheckInterval = time.Minute })
	e.Advance(time.Hour)
	stop := testkit.Start(t, d.Run)
	select {
	case <-looked:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not check the due domain")
	}
	stop()
}

// TestTM3_Scope: verifying a subdomain grants neither its parent nor its
// siblings; a second organization claiming a verified domain is a
// conflict, not last-writer-wins.
func TestTM3_Scope(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a, b := e.Org("a", nil), e.Org("b", nil)
	e.Verified(a.ID, "sub.acme.com")
	for _, name := range []string{"acme.com", "other.acme.com", "deep.sub.acme.com"} {
		if _, err := routing.Domain(ctx, e.St, name); !errors.Is(err, sso.ErrNotFound) {
			t.Fatalf("%s routes through sub.acme.com: %v", name, err)
		}
	}
	d := e.Domains(&ssoenv.FakeResolver{}, nil)
	_, err := d.Add(ctx, b.ID, "SUB.acme.com")
	ssoenv.WantReason(t, err, sso.ErrConflict, "claimed_by_other_org")
	if dom, _ := routing.Domain(ctx, e.St, "sub.acme.com"); dom.OrgID != a.ID {
		t.Fatalf("verified holder changed to %s", dom.OrgID)
	}
	// B may still prove the parent.
	if _, err := d.Add(ctx, b.ID, "acme.com"); err != nil {
		t.Fatalf("add parent: %v", err)
	}
}

// TestTM4_UnclaimableDomains: public suffixes, IPs, free and disposable
// mail providers (embedded list plus the host's additions).
func TestTM4_UnclaimableDomains(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("a", nil)
	d := e.Domains(&ssoenv.FakeResolver{}, func(c *domains.Config) { c.BlockedDomains = []string{"Mail.Corp-Free.example"} })
	tests := []struct {
		name     string
		sentinel error
		reason   string
	}{
		{"co.uk", sso.ErrInvalidInput, "public_suffix"},
		{"github.io", sso.ErrInvalidInput, "public_suffix"},
		{"vercel.app", sso.ErrInvalidInput, "public_suffix"},
		{"com", sso.ErrInvalidInput, "invalid_input"},
		{"gmail.com", sso.ErrInvalidInput, "public_mail_domain"},
		{"GMail.com.", sso.ErrInvalidInput, "public_mail_domain"},
		{"outlook.com", sso.ErrInvalidInput, "public_mail_domain"},
		{"yahoo.com", sso.ErrInvalidInput, "public_mail_domain"},
		{"proton.me", sso.ErrInvalidInput, "public_mail_domain"},
		{"mailinator.com", sso.ErrInvalidInput, "public_mail_domain"},
		{"10minutemail.com", sso.ErrInvalidInput, "public_mail_domain"},
		{"eu.mailinator.com", sso.ErrInvalidInput, "public_mail_domain"},
		{"mail.corp-free.example", sso.ErrInvalidInput, "public_mail_domain"},
		{"1.2.3.4", sso.ErrInvalidInput, "invalid_input"},
		{"[::1]", sso.ErrInvalidInput, "invalid_input"},
		{"localhost", sso.ErrInvalidInput, "invalid_input"},
		{"", sso.ErrInvalidInput, "invalid_input"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Add(ctx, a.ID, tc.name)
			ssoenv.WantReason(t, err, tc.sentinel, tc.reason)
		})
	}
	if doms, _ := d.List(ctx, a.ID); len(doms) != 0 {
		t.Fatalf("refused domains were stored: %v", doms)
	}
	if !normalize.IsPublicMailDomain("hotmail.co.uk") || normalize.IsPublicMailDomain("acme.com") {
		t.Fatal("IsPublicMailDomain list wrong")
	}
}

// TestTM5_RegistrableDomainConsistency: the same normalization serves
// claiming and routing, so case, trailing dots and IDN spellings route to
// the same organization, and nothing else does.
func TestTM5_RegistrableDomainConsistency(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("a", nil)
	res := &ssoenv.FakeResolver{}
	d := e.Domains(res, nil)
	dom, err := d.Add(ctx, a.ID, "Bücher.Example")
	if err != nil {
		t.Fatal(err)
	}
	if dom.Name != "xn--bcher-kva.example" {
		t.Fatalf("got %q", dom.Name)
	}
	n, v := d.Record(dom)
	res.Set(n, v)
	if _, err := d.Verify(ctx, a.ID, "xn--bcher-kva.example."); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"x@BÜCHER.example", "x@xn--bcher-kva.example.", "X@Bücher.Example"} {
		_, domain, err := normalize.Email(email)
		if err != nil {
			t.Fatal(err)
		}
		got, err := routing.Domain(ctx, e.St, domain)
		if err != nil || got.OrgID != a.ID {
			t.Fatalf("%s: got %v %v", email, got, err)
		}
	}
	if reg, _ := normalize.RegistrableDomain("mail.bücher.example"); reg == "" {
		t.Fatal("no registrable domain")
	}
}

// TestTM6_DNSSpoofingResistance: NXDOMAIN, SERVFAIL, timeouts, huge TXT
// sets and a CNAME-chained answer, through the resolver interface.
func TestTM6_DNSSpoofingResistance(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("a", nil)
	var fn func(ctx context.Context, name string) ([]string, error)
	res := &ssoenv.FakeResolver{Fn: func(ctx context.Context, name string) ([]string, error) { return fn(ctx, name) }}
	d := e.Domains(res, func(c *domains.Config) { c.LookupTimeout = 100 * time.Millisecond })
	dom, _ := d.Add(ctx, a.ID, "acme.com")
	_, want := d.Record(dom)

	huge := make([]string, 20000)
	for i := range huge {
		huge[i] = strings.Repeat("x", 255)
	}
	tests := []struct {
		name     string
		fn       func(ctx context.Context, name string) ([]string, error)
		sentinel error
		reason   string
	}{
		{"NXDOMAIN", func(context.Context, string) ([]string, error) {
			return nil, &net.DNSError{Err: "no such host", IsNotFound: true}
		}, sso.ErrInvalidInput, "record_not_found"},
		{"NoAnswer", func(context.Context, string) ([]string, error) { return nil, nil }, sso.ErrInvalidInput, "record_not_found"},
		{"SERVFAIL", func(context.Context, string) ([]string, error) {
			return nil, &net.DNSError{Err: "server misbehaving", IsTemporary: true}
		}, sso.ErrUnavailable, "dns_unavailable"},
		{"Timeout", func(ctx context.Context, _ string) ([]string, error) {
			<-ctx.Done()
			return nil, &net.DNSError{Err: "i/o timeout", IsTimeout: true}
		}, sso.ErrUnavailable, "dns_unavailable"},
		{"HugeAnswerWithoutToken", func(context.Context, string) ([]string, error) { return huge, nil }, sso.ErrInvalidInput, "record_mismatch"},
		{"HugeAnswerTokenPastCap", func(context.Context, string) ([]string, error) {
			return append(huge[:1000:1000], want), nil
		}, sso.ErrInvalidInput, "record_mismatch"},
		{"OversizedRecord", func(context.Context, string) ([]string, error) {
			return []string{want + strings.Repeat("A", 1<<20)}, nil
		}, sso.ErrInvalidInput, "record_mismatch"},
	}
	for _, tc := range tests {
		fn = tc.fn
		start := time.Now()
		_, err := d.Verify(ctx, a.ID, "acme.com")
		ssoenv.WantReason(t, err, tc.sentinel, tc.reason)
		if time.Since(start) > 3*time.Second {
			t.Fatalf("%s: took %v", tc.name, time.Since(start))
		}
		if got, _ := e.St.GetDomain(ctx, a.ID, "acme.com"); got.State != sso.DomainPending {
			t.Fatalf("%s: state %s", tc.name, got.State)
		}
	}
	// The resolver follows CNAMEs; a chained answer with the token among
	// other records verifies.
	fn = func(_ context.Context, name string) ([]string, error) {
		if name != "_ssokit-challenge.acme.com" {
			return nil, fmt.Errorf("asked for %q", name)
		}
		return []string{"google-site-verification=abc", want}, nil
	}
	if _, err := d.Verify(ctx, a.ID, "acme.com"); err != nil {
		t.Fatal(err)
	}
}

// TestTM6_RealResolverConcatenatesStrings runs the default net.Resolver
// against a local DNS server whose TXT record splits the value into several
// character-strings; they are concatenated before the exact match. The
// server answers through a CNAME to check that the chain is followed.
func TestTM6_RealResolverConcatenatesStrings(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("a", nil)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no UDP: %v", err)
	}
	defer pc.Close()
	d := e.Domains(nil, func(c *domains.Config) {
		c.LookupTimeout = 2 * time.Second
		c.Resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dd net.Dialer
			return dd.DialContext(ctx, "udp", pc.LocalAddr().String())
		}}
	})
	dom, _ := d.Add(ctx, a.ID, "acme.com")
	_, want := d.Record(dom)
	go serveDNS(pc, func(q dnsmessage.Question) []dnsmessage.Resource {
		if q.Type != dnsmessage.TypeTXT {
			return nil
		}
		target := dnsmessage.MustNewName("verify.dns-provider.example.")
		return []dnsmessage.Resource{
			{Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeCNAME, Class: dnsmessage.ClassINET, TTL: 60},
				Body: &dnsmessage.CNAMEResource{CNAME: target}},
			{Header: dnsmessage.ResourceHeader{Name: target, Type: dnsmessage.TypeTXT, Class: dnsmessage.ClassINET, TTL: 60},
				Body: &dnsmessage.TXTResource{TXT: []string{want[:20], want[20:]}}},
		}
	})
	if _, err := d.Verify(ctx, a.ID, "acme.com"); err != nil {
		t.Fatalf("verify through real resolver: %v", err)
	}
}

func serveDNS(pc net.PacketConn, answer func(dnsmessage.Question) []dnsmessage.Resource) {
	buf := make([]byte, 1500)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		var m dnsmessage.Message
		if err := m.Unpack(buf[:n]); err != nil || len(m.Questions) == 0 {
			continue
		}
		m.Header.Response, m.Header.Authoritative, m.Header.RecursionAvailable = true, true, true
		m.Answers = answer(m.Questions[0])
		out, err := m.Pack()
		if err != nil {
			continue
		}
		_, _ = pc.WriteTo(out, addr)
	}
}

func TestDomainsRemoveStopsRouting(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("a", nil)
	e.Verified(a.ID, "acme.com")
	d := e.Domains(&ssoenv.FakeResolver{}, nil)
	if err := d.Remove(ctx, a.ID, "ACME.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := routing.Domain(ctx, e.St, "acme.com"); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("got %v", err)
	}
	if e.LastEvent(a.ID, domains.EventRemoved).Target.ID != "acme.com" {
		t.Fatal("no removal event")
	}
	if err := d.Remove(ctx, a.ID, "acme.com"); !errors.Is(err, sso.ErrNotFound) {
		t.Fatalf("second remove: %v", err)
	}
}

func TestNewDomainsConfig(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	for _, cfg := range []domains.Config{
		{},
		{Store: e.St, ChallengePrefix: "no-underscore"},
		{Store: e.St, ChallengePrefix: "_two.labels"},
		{Store: e.St, BlockedDomains: []string{"not a domain"}},
	} {
		if _, err := domains.New(cfg); !errors.Is(err, sso.ErrInvalidConfig) {
			t.Fatalf("%+v: got %v", cfg, err)
		}
	}
	d, err := domains.New(domains.Config{Store: e.St, ChallengePrefix: "_acme-sso"})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := d.Record(&sso.Domain{Name: "x.example", Token: "t"}); n != "_acme-sso.x.example" {
		t.Fatalf("got %s", n)
	}
}

func BenchmarkIsPublicMailDomain(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		normalize.IsPublicMailDomain("eng.corp.acme-industries.example")
	}
}

// FuzzDomainsAdd claims arbitrary names: no panic, and whatever is stored
// is normalized, claimable and pending.
func FuzzDomainsAdd(f *testing.F) {
	for _, s := range []string{"acme.com", "Bücher.Example.", "co.uk", "gmail.com", "1.2.3.4", "[::1]", "-a.com", "a..b",
		"xn--bcher-kva.example", strings.Repeat("a.", 200) + "com", "\x00.com", "a\u2028b.com", "ACME.COM"} {
		f.Add(s)
	}
	e := ssoenv.New(f)
	org := e.Org("fuzz", nil)
	d := e.Domains(&ssoenv.FakeResolver{}, nil)
	f.Fuzz(func(t *testing.T, name string) {
		dom, err := d.Add(ctx, org.ID, name)
		if err != nil {
			if !errors.Is(err, sso.ErrInvalidInput) && !errors.Is(err, sso.ErrConflict) {
				t.Fatalf("%q: unexpected error %v", name, err)
			}
			return
		}
		n, nerr := normalize.Domain(dom.Name)
		if nerr != nil || n != dom.Name || d.Blocked(dom.Name) || dom.State == sso.DomainFailed {
			t.Fatalf("%q stored as %+v", name, dom)
		}
	})
}

// TestTM3_ConcurrentVerificationSingleWinner: many organizations proving
// the same domain at once; exactly one ends up verified.
func TestTM3_ConcurrentVerificationSingleWinner(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	res := &ssoenv.FakeResolver{}
	d := e.Domains(res, nil)
	const n = 8
	var recs []string
	orgs := make([]string, n)
	for i := range orgs {
		o := e.Org(fmt.Sprintf("org-%d", i), nil)
		orgs[i] = o.ID
		dom, err := d.Add(ctx, o.ID, "contested.example")
		if err != nil {
			t.Fatal(err)
		}
		_, v := d.Record(dom)
		recs = append(recs, v)
	}
	res.Set("_ssokit-challenge.contested.example", recs...)
	errs := make(chan error, n)
	for _, id := range orgs {
		go func() {
			_, err := d.Verify(ctx, id, "contested.example")
			errs <- err
		}()
	}
	wins := 0
	for range orgs {
		err := <-errs
		switch {
		case err == nil:
			wins++
		case sso.ReasonOf(err) != "claimed_by_other_org" || !errors.Is(err, sso.ErrConflict):
			t.Fatalf("got %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d organizations verified the domain, want 1", wins)
	}
}
