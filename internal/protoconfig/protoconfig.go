// Package protoconfig holds what every protocol package does with its
// connection configuration document: register a JSON decoder for it and
// read it back from a connection.
package protoconfig

import (
	"encoding/json"
	"fmt"

	"github.com/ssokit/ssokit/sso"
)

// Register registers p's decoder: documents of versions 0 (unversioned,
// from releases before versioning) to latest decode as JSON into a new T.
// A protocol whose document changes shape decodes older versions itself
// instead.
func Register[T any, PT interface {
	*T
	sso.ProtocolConfig
}](p sso.Protocol, latest int) {
	sso.RegisterProtocol(p, func(version int, doc []byte) (sso.ProtocolConfig, error) {
		if version < 0 || version > latest {
			return nil, fmt.Errorf("unsupported %s configuration version %d", p, version)
		}
		c := PT(new(T))
		if err := json.Unmarshal(doc, c); err != nil {
			return nil, err
		}
		return c, nil
	})
}

// Of returns c's configuration when it has type PT, else nil.
func Of[PT sso.ProtocolConfig](c *sso.Connection) PT {
	var zero PT
	if c == nil {
		return zero
	}
	cfg, ok := c.Config.(PT)
	if !ok {
		return zero
	}
	return cfg
}
