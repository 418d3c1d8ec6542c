package scim_test

import (
	"fmt"
	"testing"
)

func TestReviewProbe2(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
	e := newEnvOn(t, b.open(t))
	a := e.createUser("alice@example.com")
	g := e.createGroup("G1", a)
	probes := []struct{ m, p, b string }{
		{"GET", "/Users?filter=" + urlq("userName eq \"a\x00b\""), ""},
		{"GET", "/Users?filter=" + urlq(`userName eq "a\u0000b"`), ""},
		{"GET", "/Users/a%00b", ""},
		{"GET", "/Groups/a%00b", ""},
		{"GET", "/Users/" + a + "?attributes=a%00b", ""},
		{"PATCH", "/Groups/" + g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"a\u0000"}]}]}`},
		{"PATCH", "/Groups/" + g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"a\u0000\"]"}]}`},
		{"POST", "/Groups", `{"displayName":"x\u0000"}`},
		{"POST", "/Groups", `{"displayName":"y","members":[{"value":"\u0000"}]}`},
		{"GET", "/Groups?filter=" + urlq(`displayName eq "\u0000"`), ""},
		{"GET", "/Groups?filter=" + urlq(`externalId eq "\u0000"`), ""},
		{"POST", "/Users/.search", `{"filter":"userName eq \"\u0000\""}`},
	}
	for _, p := range probes {
		r := e.do(p.m, p.p, p.b)
		raw := r.raw
		if len(raw) > 200 { raw = raw[:200] }
		fmt.Printf("%s %s %.80q => %d %s\n", p.m, p.p, p.b, r.status, raw)
	}
		})
	}
}
