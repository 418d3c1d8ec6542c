package stack_test

import (
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"

	"github.com/ssokit/ssokit/saml"
	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/stack"
)

// A host's Config.ErrorHandler renders failed sign-ins in its own layout
// with Explain's words: what happened, what to do next, and a reference
// for the administrator.
func ExampleExplain() {
	page := template.Must(template.New("").Parse(
		`<h1>{{.Title}}</h1><p>{{.What}}</p><p>{{.Next}}</p><small>Reference: {{.Reason}}</small>`))
	errorHandler := func(w http.ResponseWriter, r *http.Request, err error) {
		e := stack.Explain(err)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(e.Status)
		_ = page.Execute(w, e)
	}

	// A SAML response posted a second time, as a browser's back button
	// and resubmit would.
	rec := httptest.NewRecorder()
	errorHandler(rec, httptest.NewRequest(http.MethodPost, "/sso/saml/acs", nil),
		&sso.ValidationError{Protocol: saml.Protocol, Reason: saml.ReasonReplayed})
	fmt.Println(rec.Code)
	fmt.Println(rec.Body.String())
	// Output:
	// 400
	// <h1>This sign-in expired</h1><p>The sign-in took too long, was already used, or was started in another browser or tab.</p><p>Start signing in again, in this browser.</p><small>Reference: replayed</small>
}
