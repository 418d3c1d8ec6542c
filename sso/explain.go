package sso

import (
	"errors"
	"html/template"
	"net/http"
)

// Explanation is what the person whose sign-in failed is told: what
// happened and what to do next, in plain words, with the HTTP status of
// the page and the stable reason to quote to an administrator. It never
// carries the internal cause.
type Explanation struct {
	// Status is the page's HTTP status.
	Status int
	// Title is the page's heading.
	Title string
	// What says what happened.
	What string
	// Next says what to do next.
	Next string
	// Reason is the stable reason (ReasonOf), shown as a reference.
	Reason string
}

// Explanations people are given for failures every protocol shares. The
// protocol packages (saml.Explain, oidc.Explain) add their own for their
// reasons and fall back to Explain.
var (
	// ExplainRetry is a sign-in that expired, was already used, or was
	// started in another browser.
	ExplainRetry = Explanation{Status: http.StatusBadRequest, Title: "This sign-in expired",
		What: "The sign-in took too long, was already used, or was started in another browser or tab.",
		Next: "Start signing in again, in this browser."}
	// ExplainClock is an answer dated in the future or already expired
	// when it arrived: the identity provider's clock and ours disagree.
	ExplainClock = Explanation{Status: http.StatusBadRequest, Title: "Sign-in failed",
		What: "Your identity provider's answer is dated outside the time it is valid: its clock and ours disagree.",
		Next: "Try again in a minute. If it keeps happening, tell your administrator that the identity provider's clock may be wrong."}
	// ExplainIdPRefused is an identity provider that answered without
	// signing the person in.
	ExplainIdPRefused = Explanation{Status: http.StatusBadRequest, Title: "Your identity provider did not sign you in",
		What: "Your identity provider answered that the sign-in did not succeed.",
		Next: "Try again. If it keeps happening, ask your administrator whether you are assigned to this application."}
	// ExplainUnavailableLink is a connection that is unknown, turned off
	// or no longer usable.
	ExplainUnavailableLink = Explanation{Status: http.StatusNotFound, Title: "This sign-in is not available",
		What: "Single sign-on for the link you followed is not set up or is turned off.",
		Next: "Start again from the sign-in page. If it keeps happening, tell your administrator."}
	// ExplainMFA is a second factor or a fresh sign-in the organization
	// requires and the identity provider did not confirm.
	ExplainMFA = Explanation{Status: http.StatusBadRequest, Title: "Additional verification required",
		What: "Your organization requires a second factor or a fresh sign-in, and your identity provider did not confirm it.",
		Next: "Sign in again and complete every step your identity provider asks for."}
	// ExplainUpstream is an identity provider that is not reachable or
	// answers what it should not.
	ExplainUpstream = Explanation{Status: http.StatusBadGateway, Title: "Your identity provider is not answering",
		What: "Your organization's identity provider could not be reached or did not answer as expected.",
		Next: "Try again in a few minutes. If it keeps happening, tell your administrator."}
	// ExplainLogout is a sign-out request or answer that could not be
	// accepted.
	ExplainLogout = Explanation{Status: http.StatusBadRequest, Title: "Sign-out could not be completed",
		What: "The sign-out request could not be accepted.",
		Next: "Close your browser to make sure you are signed out. If it keeps happening, tell your administrator."}
	// ExplainRejected is an answer that failed a check (a signature, an
	// audience, an issuer): a set-up problem for the administrator.
	ExplainRejected = Explanation{Status: http.StatusBadRequest, Title: "Sign-in failed",
		What: "Your identity provider's answer could not be accepted.",
		Next: "Try again. If it keeps happening, tell your administrator and quote the reference below: it names the check that failed."}
)

// Explanations maps a package's own reasons (ReasonOf) to what a person
// is told; the protocol packages and login completion keep one each.
type Explanations map[string]Explanation

// Explain is the explanation of err's reason in t, with the reason set,
// and Explain's for an unavailable service or a reason t lacks.
func (t Explanations) Explain(err error) Explanation {
	if e, ok := t[ReasonOf(err)]; ok && !errors.Is(err, ErrUnavailable) {
		return e.For(err)
	}
	return Explain(err)
}

// Explain says what happened to a failed sign-in, for the failures every
// protocol shares: access decisions, limits, unavailable services and, for
// any other rejected answer, ExplainRejected. Use the protocol packages'
// Explain (or sso/stack's, for both) to cover their own reasons too.
func Explain(err error) Explanation {
	e := explainShared(err)
	e.Reason = ReasonOf(err)
	return e
}

func explainShared(err error) Explanation {
	var ve *ValidationError
	switch {
	case errors.Is(err, ErrRateLimited):
		return Explanation{Status: http.StatusTooManyRequests, Title: "Too many attempts",
			What: "Too many sign-in attempts came from here in a short time.",
			Next: "Wait a minute, then try again."}
	case errors.Is(err, ErrSSORequired):
		return Explanation{Status: http.StatusForbidden, Title: "Single sign-on required",
			What: "Your organization requires you to sign in through its identity provider.",
			Next: "Go back to the sign-in page and continue with single sign-on."}
	case errors.Is(err, ErrNotProvisioned):
		return Explanation{Status: http.StatusForbidden, Title: "No access yet",
			What: "Your identity provider signed you in, but you do not have an account in this organization yet.",
			Next: "Ask your administrator to give you access to this application, then sign in again."}
	case errors.Is(err, ErrAccessDenied), errors.Is(err, ErrForbidden):
		return Explanation{Status: http.StatusForbidden, Title: "Access denied",
			What: "Your organization does not let you sign in to this application right now.",
			Next: "If you think you should have access, ask your administrator."}
	case errors.Is(err, ErrUnavailable):
		e := ExplainUpstream
		e.Status = http.StatusServiceUnavailable
		return e
	case errors.Is(err, ErrExpired):
		return ExplainRetry
	case errors.As(err, &ve):
		return ExplainRejected
	case errors.Is(err, ErrNotFound):
		return ExplainUnavailableLink
	case errors.Is(err, ErrInvalidInput):
		return ExplainUnavailableLink.WithStatus(http.StatusBadRequest)
	}
	return Explanation{Status: http.StatusInternalServerError, Title: "Something went wrong",
		What: "Something went wrong on our side while signing you in.",
		Next: "Try again in a minute. If it keeps happening, tell your administrator and mention the time."}
}

// WithStatus is e answered with status instead.
func (e Explanation) WithStatus(status int) Explanation {
	e.Status = status
	return e
}

// For is e with the reason of err: what a protocol's Explain returns for
// one of its reasons.
func (e Explanation) For(err error) Explanation {
	e.Reason = ReasonOf(err)
	return e
}

// explanationPage is the plain page Explanation.ServeHTTP renders.
var explanationPage = template.Must(template.New("explanation").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title></head>
<body><h1>{{.Title}}</h1><p>{{.What}}</p><p>{{.Next}}</p>{{if .Reason}}<p><small>Reference: <code>{{.Reason}}</code></small></p>{{end}}
</body></html>
`))

// ServeHTTP renders e as a plain, uncached HTML page with e.Status: the
// protocols' default error pages. A host renders its own from the fields.
func (e Explanation) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'")
	w.WriteHeader(e.Status)
	_ = explanationPage.Execute(w, e)
}
