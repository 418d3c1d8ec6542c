package saml

import (
	"time"

	"github.com/ssokit/ssokit/sso"
)

// ValidateForTest runs the ACS validation core against an explicit SP
// identity and clock, for captured vendor responses.
func (s *SP) ValidateForTest(conn *sso.Connection, entityID, acsURL, encoded string, now time.Time) (*sso.Profile, string, error) {
	v, err := s.validateResponse(conn, spIdentity{entityID: entityID, acsURL: acsURL}, encoded, now)
	if err != nil {
		return nil, "", err
	}
	return buildProfile(conn, v), v.inResponseTo, nil
}

// ScanForTest runs the structural pre-scan alone.
func ScanForTest(doc []byte, allowSHA1, assertionRoot bool) error {
	_, err := scanDocument(doc, scanPolicy{allowSHA1: allowSHA1, assertionRoot: assertionRoot})
	return err
}
