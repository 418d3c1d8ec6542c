package portal

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ssokit/ssokit/sso"
)

// problem is an error in plain language: what happened and what to do.
type problem struct {
	Status int
	What   string
	Next   string
	// Field names the form field at fault, when one is.
	Field string
	// Detail is the technical detail an IT admin may need (upstream status,
	// the exact check that failed).
	Detail string
}

// FieldError is bad input in one named field.
type FieldError struct {
	Field   string
	Message string
}

// Error implements error.
func (e *FieldError) Error() string { return "portal: " + e.Field + ": " + e.Message }

// Unwrap makes a FieldError match sso.ErrInvalidInput.
func (e *FieldError) Unwrap() error { return sso.ErrInvalidInput }

func fieldErr(field, msg string) error { return &FieldError{Field: field, Message: msg} }

// reasons explains the stable reasons of the admin API and the services
// behind it.
var reasons = map[string]problem{
	"not_owner": {What: "Only an owner of the organization can give or take the owner role, and that includes a group to role mapping that names it.",
		Next: "Leave the lines that map a group to owner as they are, or ask an owner to make this change. If the organization has no owner left, contact support."},
	"record_not_found": {What: "We could not find the TXT record yet.",
		Next: "Add the record below at your DNS provider exactly as shown. New records can take a few minutes (sometimes an hour) to appear; then press “Check now” again."},
	"record_mismatch": {What: "We found a TXT record with that name, but its value is not the one we asked for.",
		Next: "Copy the value again with the copy button and replace the record's value with it. Check that your DNS provider did not add quotes or split the value."},
	"dns_unavailable": {What: "We could not ask DNS about your domain right now.",
		Next: "This is usually temporary and not caused by your record. Try again in a few minutes."},
	"token_expired": {What: "The verification value for this domain has expired.",
		Next: "Remove the domain and add it again to get a new value."},
	"claimed_by_other_org": {What: "Another organization has already verified this domain.",
		Next: "If your company owns this domain, contact support so they can look into it."},
	"public_mail_domain": {What: "That is a public email provider's domain, which no single company can own.",
		Next: "Enter your company's own email domain, for example example.com."},
	"public_suffix": {What: "That is a shared top-level domain, not a domain your company can own.",
		Next: "Enter your company's own email domain, for example example.com."},
	"not_tested": {What: "This connection has not passed a test sign-in yet, or its latest test failed.",
		Next: "Fix what the last test sign-in below reports (for example, verify your email domain on the Domains page), press “Test sign-in” again, and activate after the test passes."},
	"last_enforced_connection": {What: "This is the only working connection while single sign-on is required for everyone.",
		Next: "Turn off “Require single sign-on” first, or activate another tested connection."},
	"feature_disabled": {What: "Your plan does not include this feature.",
		Next: "Contact the account owner or support to enable it."},
	"not_found": {Status: http.StatusNotFound, What: "We could not find that item.",
		Next: "It may have been removed. Go back to the list and reload it."},
	"conflict": {Status: http.StatusConflict, What: "That already exists or was changed at the same time.",
		Next: "Reload the page to see the current state."},
	"unavailable": {Status: http.StatusServiceUnavailable, What: "A service we depend on did not answer.",
		Next: "Try again in a few minutes. If it keeps happening, contact support and mention the time."},
	"rate_limited": {Status: http.StatusTooManyRequests, What: "Too many attempts in a short time.",
		Next: "Wait a minute, then try again."},
	"forbidden": {Status: http.StatusForbidden, What: "You are not allowed to do that here.",
		Next: "Reload the page and try again. If you came through a setup link, it may not cover this section."},
	"expired": {Status: http.StatusGone, What: "That has expired.", Next: "Start again from the list."},
	"invalid_input": {Status: http.StatusBadRequest, What: "Some of what you entered could not be used.",
		Next: "Correct the highlighted field and submit again."},
	"no_tested_connection": {What: "There is no active connection whose latest test sign-in passed.",
		Next: "Test and activate a connection first, and fix what a failed test reports (such as an unverified email domain); then you can require single sign-on."},
	"mfa_verification_required": {What: "This change needs your second factor first.",
		Next: "Verify with your second factor in the application, then come back and submit again."},
	"mfa_reverification_required": {What: "This change needs a fresh check of your second factor.",
		Next: "Verify with your second factor in the application, then come back and submit again."},
	"mfa_step_up_required": {What: "This change needs your second factor first.",
		Next: "Verify with your second factor in the application, then come back and submit again."},
	"mfa_enrollment_required": {What: "Your organization requires a second factor for administrators.",
		Next: "Set up a second factor in the application, then come back."},
	"reauthentication_required": {What: "For your security, sign in again before making this change.",
		Next: "Sign in to the application again, then come back and submit again."},
	"not_configured": {What: "This connection has no identity provider details yet.",
		Next: "Paste your identity provider's metadata or settings under “Paste back”, then test."},
	"idp_unavailable": {What: "Your identity provider's server did not answer properly.",
		Next: "Check the URL in your browser. If it opens there, your identity provider may block our servers; paste the metadata XML instead."},
	"idp_document_invalid": {What: "Your identity provider sent a document we could not use.",
		Next: "Check that you copied the metadata URL (not the sign-in page URL). You can also download the metadata XML and paste it instead."},
}

// explain turns err into a problem for the page.
func explain(err error) *problem {
	var fe *FieldError
	if errors.As(err, &fe) {
		return &problem{Status: http.StatusBadRequest, What: "“" + fieldLabel(fe.Field) + "” " + fe.Message + ".",
			Next: "Correct it and submit again.", Field: fe.Field}
	}
	reason := sso.ReasonOf(err)
	msg := ""
	var ae *apiError
	if errors.As(err, &ae) {
		reason, msg = ae.Reason, ae.Message
	}
	pr, ok := reasons[reason]
	switch {
	case ok:
	case ae != nil && ae.Field != "" && ae.Status < 500:
		// A reason of the protocol package about the named field.
		pr, reason = reasons["invalid_input"], "invalid_input"
	case ae != nil && ae.Status < 500:
		pr = problem{What: "That could not be done (" + strings.ReplaceAll(reason, "_", " ") + ").",
			Next: "Reload the page to see the current state, then try again."}
	default:
		pr = problem{What: "Something went wrong on our side.", Next: "Try again. If it keeps happening, contact support and mention the time."}
	}
	pr.Status = statusOf(err)
	if ae != nil {
		pr.Field, pr.Detail = ae.Field, ae.Detail
		if pr.Detail == "" && reason == "invalid_input" {
			pr.Detail = strings.TrimPrefix(msg, sso.ErrInvalidInput.Error()+": ")
		}
		if pr.Field != "" && reason == "invalid_input" {
			pr.What = fmt.Sprintf("“%s” could not be used.", fieldLabel(pr.Field))
		}
	}
	return &pr
}

func fieldLabel(f string) string {
	if l, ok := fieldLabels[f]; ok {
		return l
	}
	return strings.ReplaceAll(f, "_", " ")
}

var fieldLabels = map[string]string{
	"display_name": "Name", "config": "Identity provider settings", "metadata_url": "Metadata URL",
	"metadata_xml": "Metadata XML", "issuer": "Issuer URL", "client_id": "Client ID", "client_secret": "Client secret",
	"name": "Domain", "overlap_seconds": "Keep the old token working for", "ttl": "Valid for", "sections": "Sections",
	"group_roles": "Group to role mapping", "attribute_mapping": "Attribute mapping",
}

// notices are the one-line confirmations shown after a redirect (?done=).
var notices = map[string]string{
	"created":       "Connection created. Next: copy our values into your identity provider, then run a test sign-in.",
	"saved":         "Changes saved.",
	"saved_retest":  "Changes saved. Because the identity provider settings changed, run a test sign-in again before people can use this connection.",
	"activated":     "Connection activated. People with a verified email domain can now sign in with it.",
	"disabled":      "Connection turned off. Nobody can sign in with it until you activate it again.",
	"deleted":       "Connection deleted.",
	"domain_added":  "Domain added. Publish the TXT record below, then press “Check now”.",
	"verified":      "Domain verified. Sign-ins for this domain now go to your single sign-on.",
	"removed":       "Domain removed.",
	"token_revoked": "Token revoked. Your directory can no longer use it.",
	"duplicate":     "That form was already submitted once; here is the result of the first submission.",
}
