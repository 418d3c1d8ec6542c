package scim_test

import (
	"fmt"
	"testing"
)

func TestReviewProbe3(t *testing.T) {
	e := newEnv(t)
	a := e.createUser("alice@example.com")
	b := e.createUser("bob@example.com")
	g := e.createGroup("G1", a)
	for _, ops := range []string{
		`{"op":"add","path":"urn:ietf:params:scim:schemas:core:2.0:Group:members","value":[{"value":"` + b + `"}]}`,
		`{"op":"remove","path":"urn:ietf:params:scim:schemas:core:2.0:Group:members[value eq \"` + b + `\"]"}`,
		`{"op":"replace","path":"urn:ietf:params:scim:schemas:core:2.0:Group:displayName","value":"G2"}`,
		`{"op":"replace","path":"members","value":[]}`,
		`{"op":"add","path":"members","value":[]}`,
		`{"op":"replace","value":{"displayName":"G3","members":[{"value":"` + a + `"}]}}`,
		`{"op":"replace","path":"displayName","value":""}`,
		`{"op":"replace","path":"displayName","value":null}`,
		`{"op":"remove","path":"displayName"}`,
		`{"op":"add","path":"members","value":{"value":"` + b + `"}}`,
		`{"op":"add","path":"members","value":[{"value":"` + b + `"},{"value":"` + b + `"}]}`,
		`{"op":"remove","path":"members[value eq \"` + a + `\" or value eq \"` + b + `\"]"}`,
		`{"op":"remove","path":"members[display eq \"x\"]"}`,
		`{"op":"remove","path":"members"}`,
		`{"op":"add","path":"externalId","value":"e1"}`,
		`{"op":"add","path":"id","value":"e1"}`,
		`{"op":"add","path":"meta.version","value":"e1"}`,
		`{"op":"nope","path":"displayName","value":"x"}`,
		`{"op":"add","path":"members","value":[{"value":123}]}`,
		`{"op":"add","path":"members","value":[{"$ref":"x"}]}`,
	} {
		r := e.do("PATCH", "/Groups/"+g, patchOps(ops))
		g2 := e.do("GET", "/Groups/"+g, "")
		fmt.Printf("%.100s => %d %.150s\n   now: %.300s\n", ops, r.status, r.raw, g2.raw)
	}
	r := e.do("PATCH", "/Users/"+a, patchOps(`{"op":"add","path":"groups","value":[{"value":"`+g+`"}]}`))
	fmt.Println("user groups add:", r.status, r.raw[:120])
}
