package ssoenv

import "strings"

// ReturnToPayloads are the T-S.19 open-redirect payloads.
var ReturnToPayloads = []string{
	"https://evil.example", "//evil.example", `/\evil.example`, `\/\/evil`, "https:evil.example",
	"javascript:alert(1)", "%2F%2Fevil", "/%2F/evil.example", "/%5Cevil.example", "/" + strings.Repeat("a", 600),
	"http://app.example@evil.example", "/\tevil", "//%09evil.example", "data:text/html,x", "evil.example",
	"/\u2028x", "///evil.example",
}
