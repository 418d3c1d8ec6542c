package main

import (
	"net/url"
	"slices"
	"strings"

	"github.com/ssokit/ssokit/sso"
)

// localView is what the local sign-in page (templates/local.html) shows:
// the methods discovery said the email's organization allows (its
// "methods" parameter, sso/discovery Config.LocalMethods), or every
// method this host turned on when the page is opened directly. The page
// only hides what the organization refused; each sign-in package refuses
// a disallowed method itself (reason method_disabled).
type localView struct {
	Email, ReturnTo, Error string
	// Methods is the "methods" parameter as received ("" when absent),
	// carried through the password form so a failed attempt shows the
	// same choice again.
	Methods string
	// Narrowed is true when Methods came from discovery.
	Narrowed bool
	// Password and EmailCode show the password form and the link to
	// sign-in by emailed code or link; Passkey and Social tell the page's
	// script (signin.js) which buttons to add.
	Password, EmailCode, Passkey, Social bool
	// EmailLabel names the emailed ways the organization allows.
	EmailLabel string
}

// newLocalView reads the methods from q, a query or a posted form.
func (a *App) newLocalView(q url.Values, email, returnTo, msg string) *localView {
	v := &localView{Email: email, ReturnTo: returnTo, Error: msg}
	_, v.Narrowed = q["methods"]
	v.Methods = q.Get("methods")
	on := func(m sso.AuthMethod) bool {
		return !v.Narrowed || slices.Contains(strings.Split(v.Methods, ","), string(m))
	}
	v.Password = on(sso.AuthPassword)
	code, link := on(sso.AuthEmailCode), on(sso.AuthMagicLink)
	v.EmailCode = code || link
	switch {
	case code && link:
		v.EmailLabel = "Email me a sign-in code or link"
	case code:
		v.EmailLabel = "Email me a sign-in code"
	default:
		v.EmailLabel = "Email me a sign-in link"
	}
	v.Passkey = on(sso.AuthPasskey) && a.kit.Passkeys != nil
	v.Social = on(sso.AuthSocial) && a.kit.Social != nil
	return v
}

// None reports whether the organization allows no method this page
// offers.
func (v *localView) None() bool { return !v.Password && !v.EmailCode && !v.Passkey && !v.Social }
