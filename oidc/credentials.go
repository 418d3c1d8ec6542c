package oidc

import (
	"fmt"

	"github.com/ssokit/ssokit/sso"
)

// endpointChange names what changed between prev and next that changes who
// receives the client's credentials at the token endpoint, or returns ""
// when nothing did: the issuer, a switch between discovery and manual
// endpoints, or the manual token endpoint.
//
// With discovery the token endpoint is the one the issuer publishes, read
// again at every metadata refresh, so an unchanged issuer is an unchanged
// recipient: the issuer that was given the secret is the one that names
// where it goes.
func endpointChange(prev, next *ConnectionConfig) string {
	switch {
	case prev.Issuer != next.Issuer:
		return "issuer"
	case (prev.AuthURL != "") != (next.AuthURL != ""):
		return "choice between discovery and manual endpoints"
	case prev.TokenURL != next.TokenURL:
		return "token endpoint"
	}
	return ""
}

// credentialRequired is the error for an update that changed the
// credential's recipient without supplying the credential again.
func credentialRequired(reason, field, change string) error {
	return &sso.ValidationError{Protocol: Protocol, Reason: reason, Want: field, Got: change + " changed",
		Err: fmt.Errorf("%w: oidc: %s: required again because the %s changed", sso.ErrInvalidInput, field, change)}
}

// sealCredentials sets oc's sealed client secret or private key for method
// from in, or keeps prev's when in carries none and endpointChange finds
// no change of recipient (T-O.20: a kept secret would otherwise be sent to
// a token endpoint an admin, or whoever holds an admin session, just chose).
func (rp *RP) sealCredentials(connID, method string, prev, oc *ConnectionConfig, in *ConnectionInput) error {
	switch method {
	case "client_secret_basic", "client_secret_post":
		return rp.sealSecret(connID, method, prev, oc, in.ClientSecret)
	case "private_key_jwt":
		return rp.sealPrivateKey(connID, prev, oc, in.PrivateKeyPEM)
	}
	return nil
}

func (rp *RP) sealSecret(connID, method string, prev, oc *ConnectionConfig, secret string) error {
	switch {
	case secret != "":
		sealed, err := rp.cfg.Sealer.Seal([]byte(secret), []byte(connID))
		if err != nil {
			return fmt.Errorf("oidc: seal client secret: %w", err)
		}
		oc.ClientSecretSealed = sealed
	case prev.ClientSecretSealed == "":
		return fmt.Errorf("%w: oidc: client_secret is required for %s", sso.ErrInvalidInput, method)
	case endpointChange(prev, oc) != "":
		return credentialRequired(ReasonClientSecretRequired, "client_secret", endpointChange(prev, oc))
	default:
		oc.ClientSecretSealed = prev.ClientSecretSealed
	}
	return nil
}

func (rp *RP) sealPrivateKey(connID string, prev, oc *ConnectionConfig, pemText string) error {
	switch {
	case pemText != "":
		key, _, err := parsePrivateKey([]byte(pemText))
		if err != nil {
			return err
		}
		kid, err := keyThumbprint(key.Public())
		if err != nil {
			return err
		}
		sealed, err := rp.cfg.Sealer.Seal([]byte(pemText), privateKeyAD(connID))
		if err != nil {
			return fmt.Errorf("oidc: seal private key: %w", err)
		}
		oc.PrivateKeySealed, oc.PrivateKeyID = sealed, kid
	case prev.PrivateKeySealed == "":
		return fmt.Errorf("%w: oidc: private_key_pem is required for private_key_jwt", sso.ErrInvalidInput)
	case endpointChange(prev, oc) != "":
		return credentialRequired(ReasonPrivateKeyRequired, "private_key_pem", endpointChange(prev, oc))
	default:
		oc.PrivateKeySealed, oc.PrivateKeyID = prev.PrivateKeySealed, prev.PrivateKeyID
	}
	return nil
}
