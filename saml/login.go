package saml

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/ssokit/ssokit/internal/opaque"
	"github.com/ssokit/ssokit/internal/returnto"
	"github.com/ssokit/ssokit/internal/telemetry"
	"github.com/ssokit/ssokit/sso"
)

// Bindings.
const (
	BindingRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	BindingPOST     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
)

// ServeLogin starts an SP-initiated login for the {connection} path value.
// The query parameter return_to is kept only when it is a safe relative
// path.
func (s *SP) ServeLogin(w http.ResponseWriter, r *http.Request) {
	conn, err := s.connection(r.Context(), r.PathValue("connection"))
	if err == nil && conn.Status != sso.ConnectionActive {
		err = invalid(ReasonConnectionDisabled, nil)
	}
	if err != nil {
		s.logReject(r, conn, err)
		s.errFn(w, r, err)
		return
	}
	opts := sso.StartOptions{ReturnTo: r.URL.Query().Get("return_to"), LoginHint: r.URL.Query().Get("login_hint")}
	if err := s.StartLogin(w, r, conn, opts); err != nil {
		s.logReject(r, conn, err)
		s.errFn(w, r, err)
	}
}

// StartLogin implements sso.Starter: it stores an outstanding AuthnRequest
// bound to this browser by a short-lived cookie and sends the browser to
// the IdP, with the HTTP-Redirect binding or, when the IdP offers only
// HTTP-POST, an auto-submitting form. opts.RequireMFA sends a
// RequestedAuthnContext (the connection's MFAAuthnContexts) and
// opts.ForceAuthn or a positive opts.MaxAge sends ForceAuthn; the ACS then
// requires what was asked (ReasonMFANotPerformed, ReasonAuthnTooOld).
func (s *SP) StartLogin(w http.ResponseWriter, r *http.Request, conn *sso.Connection, opts sso.StartOptions) (err error) {
	span := s.startSpan(r.Context(), "saml.login.start", conn)
	defer func() { telemetry.End(span, sso.ReasonOf(err), err) }()
	if conn == nil || conn.Protocol != Protocol || ConfigOf(conn) == nil {
		return invalid(ReasonNotSAML, nil)
	}
	if err := sso.CheckStepUpStart(conn, opts); err != nil {
		return err
	}
	cfg := ConfigOf(conn)
	if cfg.SSOURL == "" {
		return fmt.Errorf("%w: saml: connection %s has no SSO URL", sso.ErrInvalidInput, conn.ID)
	}
	if err := checkLocation(cfg.SSOURL); err != nil {
		return fmt.Errorf("%w: %v", sso.ErrInvalidInput, err)
	}
	now := s.now()
	id := "_" + opaque.NewID("")
	binding := opaque.NewToken(32)
	st := &AuthnRequestState{
		ID: id, ConnectionID: conn.ID, BindingHash: opaque.Hash(binding),
		ReturnTo: returnto.Safe(opts.ReturnTo, ""), Test: opts.Test,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.RequestTTL),
		RequireMFA: opts.RequireMFA, ForceAuthn: opts.ForceAuthn || opts.MaxAge > 0, MaxAge: max(opts.MaxAge, 0),
	}
	if opts.StepUp != nil {
		st.StepUp = *opts.StepUp
	}
	if err := s.cfg.Store.SaveAuthnRequest(r.Context(), st); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: requestCookiePrefix + cookieSuffix(id), Value: binding, Path: s.cookiePath(conn),
		MaxAge: int(s.cfg.RequestTTL / time.Second), Secure: true, HttpOnly: true, SameSite: http.SameSiteNoneMode,
	})
	post := cfg.SSOBinding == "post" || cfg.SSOBinding == BindingPOST
	doc := s.authnRequest(conn, id, now, st, opts.LoginHint)
	kp := s.signingKey(conn)
	if cfg.SignAuthnRequests && kp == nil {
		return fmt.Errorf("%w: saml: SignAuthnRequests needs an SP key", sso.ErrInvalidConfig)
	}
	if post {
		if cfg.SignAuthnRequests {
			if err := signEnveloped(doc, kp); err != nil {
				return err
			}
		}
		b, err := doc.WriteToBytes()
		if err != nil {
			return fmt.Errorf("saml: encode AuthnRequest: %w", err)
		}
		return writePostForm(w, cfg.SSOURL, "SAMLRequest", base64.StdEncoding.EncodeToString(b), "")
	}
	b, err := doc.WriteToBytes()
	if err != nil {
		return fmt.Errorf("saml: encode AuthnRequest: %w", err)
	}
	var sk *KeyPair
	if cfg.SignAuthnRequests {
		sk = kp
	}
	loc, err := redirectURL(cfg.SSOURL, "SAMLRequest", b, "", sk)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, loc, http.StatusFound)
	return nil
}

// authnRequest builds the AuthnRequest document.
func (s *SP) authnRequest(conn *sso.Connection, id string, now time.Time, st *AuthnRequestState, loginHint string) *etree.Document {
	doc := etree.NewDocument()
	req := doc.CreateElement("samlp:AuthnRequest")
	req.CreateAttr("xmlns:samlp", nsProtocol)
	req.CreateAttr("xmlns:saml", nsAssertion)
	req.CreateAttr("ID", id)
	req.CreateAttr("Version", "2.0")
	req.CreateAttr("IssueInstant", now.UTC().Format(time.RFC3339))
	req.CreateAttr("Destination", ConfigOf(conn).SSOURL)
	req.CreateAttr("AssertionConsumerServiceURL", s.ACSURLOf(conn))
	req.CreateAttr("ProtocolBinding", BindingPOST)
	if st.ForceAuthn {
		req.CreateAttr("ForceAuthn", "true")
	}
	req.CreateElement("saml:Issuer").SetText(s.SPEntityIDOf(conn))
	if loginHint != "" && len(loginHint) <= 256 {
		subj := req.CreateElement("saml:Subject")
		nid := subj.CreateElement("saml:NameID")
		nid.CreateAttr("Format", NameIDEmail)
		nid.SetText(loginHint)
	}
	pol := req.CreateElement("samlp:NameIDPolicy")
	pol.CreateAttr("AllowCreate", "true")
	if ConfigOf(conn).NameIDFormat != "" {
		pol.CreateAttr("Format", ConfigOf(conn).NameIDFormat)
	}
	if st.RequireMFA {
		addRequestedAuthnContext(req, ConfigOf(conn))
	}
	return doc
}

// signEnveloped signs the root of doc with an enveloped signature placed
// right after the Issuer, as the SAML schema requires.
func signEnveloped(doc *etree.Document, kp *KeyPair) error {
	ctx, err := dsig.NewSigningContext(kp.Key, [][]byte{kp.Certificate.Raw})
	if err != nil {
		return fmt.Errorf("saml: signing context: %w", err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	root := doc.Root()
	sig, err := ctx.ConstructSignature(root, true)
	if err != nil {
		return fmt.Errorf("saml: sign: %w", err)
	}
	pos := 0
	for i, c := range root.Child {
		if el, ok := c.(*etree.Element); ok && el.Tag == "Issuer" {
			pos = i + 1
			break
		}
	}
	root.InsertChildAt(pos, sig)
	return nil
}

// sigAlgFor returns the signature algorithm URI and hash for a key.
func sigAlgFor(key crypto.Signer) (string, crypto.Hash, error) {
	switch key.Public().(type) {
	case *rsa.PublicKey:
		return algRSASHA256, crypto.SHA256, nil
	case *ecdsa.PublicKey:
		return algECDSASHA256, crypto.SHA256, nil
	}
	return "", 0, errors.New("saml: unsupported SP key type")
}

// redirectURL deflates and encodes msg for the HTTP-Redirect binding,
// signing the query when kp is non-nil.
func redirectURL(dest, param string, msg []byte, relayState string, kp *KeyPair) (string, error) {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	_, _ = fw.Write(msg)
	_ = fw.Close()
	u, err := url.Parse(dest)
	if err != nil {
		return "", fmt.Errorf("saml: bad destination: %w", err)
	}
	q := param + "=" + url.QueryEscape(base64.StdEncoding.EncodeToString(buf.Bytes()))
	if relayState != "" {
		q += "&RelayState=" + url.QueryEscape(relayState)
	}
	if kp != nil {
		alg, h, err := sigAlgFor(kp.Key)
		if err != nil {
			return "", err
		}
		q += "&SigAlg=" + url.QueryEscape(alg)
		sum := sha256.Sum256([]byte(q))
		sig, err := kp.Key.Sign(rand.Reader, sum[:], h)
		if err != nil {
			return "", fmt.Errorf("saml: sign redirect: %w", err)
		}
		q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	}
	if u.RawQuery != "" {
		u.RawQuery += "&" + q
	} else {
		u.RawQuery = q
	}
	return u.String(), nil
}

var postForm = template.Must(template.New("saml-post").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Continue</title></head>
<body onload="document.forms[0].submit()">
<form method="post" action="{{.Action}}">
<input type="hidden" name="{{.Param}}" value="{{.Value}}">
{{if .RelayState}}<input type="hidden" name="RelayState" value="{{.RelayState}}">{{end}}
<noscript><button type="submit">Continue</button></noscript>
</form></body></html>
`))

// writePostForm writes an auto-submitting HTTP-POST binding form.
func writePostForm(w http.ResponseWriter, action, param, value, relayState string) error {
	if err := checkLocation(action); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// The inline onload handler needs 'unsafe-inline' for scripts; the page
	// holds no user data besides the encoded message.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; form-action "+originOf(action))
	return postForm.Execute(w, struct{ Action, Param, Value, RelayState string }{action, param, value, relayState})
}

func originOf(loc string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return "'none'"
	}
	return u.Scheme + "://" + u.Host
}

// checkLocation accepts only absolute http(s) URLs with a host.
func checkLocation(loc string) error {
	u, err := url.Parse(strings.TrimSpace(loc))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return fmt.Errorf("saml: location %q is not an absolute http(s) URL", truncate(loc, 64))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
