// Package strictjson decodes one JSON object strictly: unknown fields and
// trailing data are refused, and every error wraps sso.ErrInvalidInput with
// a message that names what is wrong.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ssokit/ssokit/sso"
)

// Decode decodes raw into v. what names the document in errors (for
// example "saml config").
func Decode(raw []byte, v any, what string) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return fmt.Errorf("%w: %s is missing", sso.ErrInvalidInput, what)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return fmt.Errorf("%w: %s: field %q must be %s", sso.ErrInvalidInput, what, te.Field, kind(te.Type.Kind().String()))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return fmt.Errorf("%w: %s: %s", sso.ErrInvalidInput, what, strings.TrimPrefix(err.Error(), "json: "))
		}
		return fmt.Errorf("%w: %s is not a valid JSON object", sso.ErrInvalidInput, what)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: %s has data after the JSON object", sso.ErrInvalidInput, what)
	}
	return nil
}

func kind(k string) string {
	switch k {
	case "slice", "array":
		return "a list"
	case "bool":
		return "true or false"
	case "struct", "map":
		return "an object"
	case "string":
		return "a string"
	}
	return "a number"
}
