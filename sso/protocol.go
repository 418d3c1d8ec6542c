package sso

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
)

// ProtocolConfig is one connection's protocol configuration: the IdP's
// endpoints, keys and options for that protocol. The protocol package owns
// the type; stores keep it as the JSON document it marshals to, beside its
// Version, and get it back through DecodeConfig.
type ProtocolConfig interface {
	// IdPIssuer is the identifier the IdP asserts (the SAML entity ID, the
	// OIDC issuer); "" while it is not known yet.
	IdPIssuer() string
	// Version is the schema version of the document the value marshals to.
	// A protocol package that changes its document raises it and upgrades
	// older versions when it decodes them.
	Version() int
}

var registry = struct {
	sync.RWMutex
	decoders map[Protocol]func(version int, doc []byte) (ProtocolConfig, error)
}{decoders: map[Protocol]func(int, []byte) (ProtocolConfig, error){}}

// RegisterProtocol makes decode the decoder of p's configuration
// documents; decode upgrades documents of older versions. Protocol packages call it from init, so a program decodes the
// connections of exactly the protocols it links. It panics when p is empty
// or registered twice.
func RegisterProtocol(p Protocol, decode func(version int, doc []byte) (ProtocolConfig, error)) {
	registry.Lock()
	defer registry.Unlock()
	if p == "" || decode == nil {
		panic("sso: RegisterProtocol with an empty name or nil decoder")
	}
	if _, dup := registry.decoders[p]; dup {
		panic("sso: protocol " + string(p) + " registered twice")
	}
	registry.decoders[p] = decode
}

// DecodeConfig decodes a configuration document of protocol p stored with
// version. An empty or null document is a nil configuration. A protocol no
// linked package registered decodes to a *rawConfig, which keeps the
// document unchanged, so a program that does not link a protocol can still
// list, copy and store its connections.
func DecodeConfig(p Protocol, version int, doc []byte) (ProtocolConfig, error) {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 || bytes.Equal(doc, []byte("null")) {
		return nil, nil
	}
	registry.RLock()
	decode := registry.decoders[p]
	registry.RUnlock()
	if decode == nil {
		return &rawConfig{V: version, Doc: append(json.RawMessage(nil), doc...)}, nil
	}
	c, err := decode(version, doc)
	if err != nil {
		return nil, fmt.Errorf("sso: %s connection configuration (version %d): %w", p, version, err)
	}
	return c, nil
}

// EncodeConfig returns the stored form of c: its JSON document and
// version. A nil configuration is the document "null", version 0.
func EncodeConfig(c ProtocolConfig) (doc []byte, version int, err error) {
	if c == nil {
		return []byte("null"), 0, nil
	}
	doc, err = json.Marshal(c)
	if err != nil {
		return nil, 0, fmt.Errorf("sso: encode connection configuration: %w", err)
	}
	return doc, c.Version(), nil
}

// rawConfig is the configuration of a protocol this program does not link:
// the stored document, kept byte for byte.
type rawConfig struct {
	V   int
	Doc json.RawMessage
}

// IdPIssuer implements ProtocolConfig; a raw document names none.
func (r *rawConfig) IdPIssuer() string { return "" }

// Version implements ProtocolConfig.
func (r *rawConfig) Version() int { return r.V }

// MarshalJSON returns the document unchanged.
func (r *rawConfig) MarshalJSON() ([]byte, error) {
	if len(r.Doc) == 0 {
		return []byte("null"), nil
	}
	return r.Doc, nil
}

// checkProtocol accepts a registered protocol, or any well-formed name
// (a program need not link every protocol whose connections it stores).
func checkProtocol(p Protocol) error {
	if p == "" || len(p) > 32 {
		return fmt.Errorf("%w: invalid protocol %q", ErrInvalidInput, p)
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return fmt.Errorf("%w: invalid protocol %q", ErrInvalidInput, p)
		}
	}
	return nil
}
