package domains_test

import (
	"strings"
	"testing"

	"github.com/ssokit/ssokit/internal/ssoenv"
	"github.com/ssokit/ssokit/internal/telemetry/telemetrytest"
	"github.com/ssokit/ssokit/sso/domains"
)

func TestDomainVerificationSpans(t *testing.T) {
	t.Parallel()
	e := ssoenv.New(t)
	a := e.Org("acme", nil)
	res := &ssoenv.FakeResolver{}
	rec := telemetrytest.New(t)
	d := e.Domains(res, func(cfg *domains.Config) { cfg.TracerProvider = rec.TP })
	dom, err := d.Add(ctx, a.ID, "acme.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Verify(ctx, a.ID, "acme.com"); err == nil {
		t.Fatal("verified without a record")
	}
	name, value := d.Record(dom)
	res.Set(name, value)
	if _, err := d.Verify(ctx, a.ID, "acme.com"); err != nil {
		t.Fatal(err)
	}
	spans := rec.Named("sso.domain.verify")
	if len(spans) != 2 {
		t.Fatalf("spans: %d, want 2", len(spans))
	}
	if s := spans[0].Attrs; s["ssokit.outcome"] != "failure" || s["ssokit.reason"] != "record_not_found" || s["ssokit.org"] != a.ID {
		t.Fatalf("failed verification span: %v", s)
	}
	if s := spans[1].Attrs; s["ssokit.outcome"] != "success" {
		t.Fatalf("verification span: %v", s)
	}
	for _, v := range rec.AllAttrs(t) {
		if strings.Contains(v, dom.Token) {
			t.Fatalf("span carries the domain token: %q", v)
		}
	}
}
