package saml

import (
	"errors"
	"time"

	"github.com/russellhaering/gosaml2/types"
)

// attrNameFormatUnspecified is the NameFormat in effect when an Attribute
// has none (SAML Core 2.7.3.1).
const attrNameFormatUnspecified = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"

// checkConformance applies the rules of SAML Core and the Web Browser SSO
// profile that gosaml2 does not enforce, to the verified assertion a of a
// Response whose pre-scan is scan (T-S.27). It returns the AuthnStatement's
// SessionNotOnOrAfter, zero when absent.
func checkConformance(a *types.Assertion, scan *scanResult, acsURL string, now time.Time) (time.Time, error) {
	// SAML Bindings 3.5.5.2: a signed Response names its Destination; an
	// empty one names nothing. (A missing one is tolerated: the signed
	// Recipient binds the response to this ACS.)
	if scan.rootSigned && scan.rootHasDestination && scan.rootDestination == "" {
		return time.Time{}, mismatch(ReasonDestinationEmpty, acsURL, "")
	}
	if a.Version != "2.0" {
		return time.Time{}, mismatch(ReasonVersion, "2.0", a.Version)
	}
	// SAML Profiles 4.1.4.2: the assertion of a Web Browser SSO Response
	// carries an AuthnStatement (the pre-scan refuses a second one).
	st := a.AuthnStatement
	if st == nil {
		return time.Time{}, invalid(ReasonAuthnStatementMissing, errors.New("saml: assertion without AuthnStatement"))
	}
	var session time.Time
	if st.SessionNotOnOrAfter != nil {
		// No skew: a session that would start already past the IdP's
		// bound is of no use, and its lifetime never exceeds the bound.
		session = *st.SessionNotOnOrAfter
		if !now.Before(session) {
			return time.Time{}, mismatch(ReasonSessionExpired, "before "+session.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}
	if err := checkAttributeFormats(a.AttributeStatement); err != nil {
		return time.Time{}, err
	}
	return session, nil
}

// checkAttributeFormats refuses one attribute Name used with two
// NameFormats (a missing NameFormat is "unspecified"): they name different
// attributes that the profile, keyed by Name, could not tell apart.
// Repeated Attributes with one Name and NameFormat, within one
// AttributeStatement or across several, are merged by buildProfile in
// document order.
func checkAttributeFormats(st *types.AttributeStatement) error {
	if st == nil {
		return nil
	}
	formats := make(map[string]string, len(st.Attributes))
	for _, at := range st.Attributes {
		f := at.NameFormat
		if f == "" {
			f = attrNameFormatUnspecified
		}
		if prev, ok := formats[at.Name]; ok && prev != f {
			return mismatch(ReasonAttributeConflict, at.Name+" as "+prev, at.Name+" as "+f)
		}
		formats[at.Name] = f
	}
	return nil
}
