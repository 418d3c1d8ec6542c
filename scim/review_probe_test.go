package scim_test

import (
	"fmt"
	"strings"
	"testing"
)

func TestReviewProbe(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
	e := newEnvOn(t, b.open(t))
	a := e.createUser("Alice@Example.com")
	bb := e.createUser("bob@example.com", `"externalId":"ext-b"`)
	_ = bb
	other := e.addOrg("other")
	otok, _ := e.issue(other.ID)
	ou := e.doTok(otok, "POST", "/Users", `{"userName":"carol@other.com"}`).str("id")
	g := e.createGroup("G1", a)
	probes := []struct{ m, p, b string }{
		{"GET", "/Users?filter=" + urlq(`userName eq "alice@example.com"`), ""},
		{"GET", "/Users?filter=" + urlq(`USERNAME eq "alice@example.com"`), ""},
		{"GET", "/Users?filter=" + urlq(`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "alice@example.com"`), ""},
		{"GET", "/Users?filter=" + urlq(`emails.value eq "alice@example.com"`), ""},
		{"GET", "/Users?filter=" + urlq(`emails[value eq "alice@example.com"]`), ""},
		{"GET", "/Users?filter=" + urlq(`emails[type eq "work" and value co "@"]`), ""},
		{"GET", "/Users?filter=" + urlq(`emails pr`), ""},
		{"GET", "/Users?filter=" + urlq(`externalId eq null`), ""},
		{"GET", "/Users?filter=" + urlq(`externalId pr`), ""},
		{"GET", "/Users?filter=" + urlq(`userName eq "a\"b"`), ""},
		{"GET", "/Users?filter=" + urlq(`userName eq "ALİCE@example.com"`), ""},
		{"GET", "/Users?filter=" + urlq(`userName eq "\u00e9"`), ""},
		{"GET", "/Users?filter=" + urlq(`userName eq "x\\"`), ""},
		{"GET", "/Users?filter=" + urlq(`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "1"`), ""},
		{"GET", "/Users?filter=" + urlq(`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "1"`), ""},
		{"GET", "/Users?filter=" + urlq(`userName eq "carol@other.com"`), ""},
		{"GET", "/Users?filter=" + urlq(`id eq "` + ou + `"`), ""},
		{"GET", "/Users?filter=" + urlq(`meta.lastModified gt "2000-01-01T00:00:00Z"`), ""},
		{"GET", "/Users?filter=" + urlq(`active eq true`), ""},
		{"GET", "/Users?filter=" + urlq(`active eq "true"`), ""},
		{"GET", "/Users?count=0", ""},
		{"GET", "/Users?startIndex=0", ""},
		{"GET", "/Users?startIndex=-5&count=1", ""},
		{"GET", "/Users?attributes=userName", ""},
		{"GET", "/Users?excludedAttributes=emails,name", ""},
		{"GET", "/Users?attributes=urn:ietf:params:scim:schemas:core:2.0:User:userName", ""},
		{"GET", "/Users/" + ou, ""},
		{"PUT", "/Users/" + ou, `{"userName":"x"}`},
		{"PATCH", "/Users/" + ou, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`},
		{"DELETE", "/Users/" + ou, ""},
		{"PATCH", "/Groups/" + g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"` + ou + `"}]}]}`},
		{"PATCH", "/Groups/" + g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"` + bb + `\"]"}]}`},
		{"PATCH", "/Groups/" + g, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"nonexist\"]"}]}`},
		{"PATCH", "/Users/" + a, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:core:2.0:User:displayName","value":"Al"}]}`},
		{"PATCH", "/Users/" + a, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Eng"}]}`},
		{"PATCH", "/Users/" + a, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"emails[type eq \"home\"]"}]}`},
		{"PATCH", "/Users/" + a, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"emails","value":[{"value":"Alice@Example.com","type":"work"}]}]}`},
		{"PATCH", "/Users/" + a, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"emails","value":[]}]}`},
		{"PATCH", "/Users/" + a, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":"TRUE"}]}`},
		{"PATCH", "/Users/" + a, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":1}]}`},
		{"PATCH", "/Users/" + a, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":null}]}`},
		{"PATCH", "/Users/" + a, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"userName","value":"BOB@example.com"}]}`},
		{"PATCH", "/Users/" + a, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"externalId","value":"ext-b"}]}`},
		{"PATCH", "/Users/" + a, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName":"Z"}}]}`},
		{"POST", "/Users", `{"userName":"active1@example.com","active":"true"}`},
		{"POST", "/Users", `{"userName":"active2@example.com","active":null}`},
		{"POST", "/Users", `{"userName":"active3@example.com","active":1}`},
		{"POST", "/Users", "\ufeff" + `{"userName":"bom@example.com"}`},
		{"POST", "/Users", `{"userName":"garb@example.com"}xyz`},
		{"POST", "/Users", `{"userName":"dup1@example.com","userName":"dup2@example.com"}`},
		{"POST", "/Users", `{"userName":"dupk@example.com","USERNAME":"dupk2@example.com"}`},
		{"POST", "/Users", `{"userName":"big@example.com","displayName":"` + strings.Repeat("x", 100000) + `"}`},
		{"POST", "/Groups", `{"displayName":"` + strings.Repeat("x", 100000) + `"}`},
		{"POST", "/Users", `{"userName":""}`},
		{"POST", "/Users", `{"userName":"  "}`},
		{"POST", "/Users", `{"userName":"a\u0000b"}`},
		{"POST", "/Users", `{"userName":"` + "\xff" + `"}`},
		{"POST", "/Users", `{"userName":"alice@EXAMPLE.com"}`},
		{"PUT", "/Users/" + bb, `{"userName":"bob@example.com","id":"other"}`},
		{"PUT", "/Users/" + bb, `{"userName":"bob@example.com"}`},
		{"PUT", "/Users/" + bb, `{"userName":"bob@example.com","active":"False"}`},
		{"GET", "/Users/" + bb, ""},
		{"POST", "/Users", `[]`},
		{"POST", "/Users", `null`},
		{"POST", "/Users", `{"userName":"n@example.com","emails":"x"}`},
		{"POST", "/Users", `{"userName":"n2@example.com","emails":[{"value":1}]}`},
		{"POST", "/Users", `{"userName":"n3@example.com","name":"x"}`},
		{"POST", "/Users", `{"userName":123}`},
		{"POST", "/Users", `{"userName":"n4@example.com","schemas":"x"}`},
		{"POST", "/Users", `{"userName":"n5@example.com","groups":[{"value":"` + g + `"}]}`},
		{"POST", "/Users", `{"userName":"n6@example.com","id":"` + ou + `"}`},
		{"POST", "/Users", `{"userName":"n7@example.com","password":"x"}`},
		{"POST", "/Users", `{"userName":"n8@example.com","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"boss"}}`},
		{"POST", "/Users", `{"userName":"n9@example.com","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":"x"}`},
		{"POST", "/Groups", `{"displayName":"G1"}`},
		{"POST", "/Groups", `{"displayName":"OG","members":[{"value":"` + ou + `"}]}`},
		{"PUT", "/Groups/" + g, `{"displayName":"G1","members":[]}`},
		{"GET", "/Groups?count=0", ""},
		{"GET", "/Groups?filter=" + urlq(`members[value eq "` + a + `"]`), ""},
		{"GET", "/Groups?filter=" + urlq(`displayName eq "g1"`), ""},
		{"GET", "/Groups?excludedAttributes=members", ""},
		{"DELETE", "/Groups/" + g, ""},
		{"DELETE", "/Groups/" + g, ""},
	}
	for _, p := range probes {
		r := e.do(p.m, p.p, p.b)
		raw := r.raw
		if len(raw) > 300 { raw = raw[:300] }
		fmt.Printf("%s %s %.80q => %d %s\n", p.m, p.p, p.b, r.status, raw)
	}
	// If-Match
	r := e.do("GET", "/Users/"+a, "")
	fmt.Println("etag", r.header.Get("ETag"))
		})
	}
}
