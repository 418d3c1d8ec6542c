package httpjson

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// BadField names the request member a json.Decoder error is about, and
// what is wrong with it: a value of the wrong type, or (with
// DisallowUnknownFields) a member the request does not have. The name is
// clipped to 64 bytes, without control characters. ok is false for other
// errors (malformed JSON).
func BadField(err error) (field, problem string, ok bool) {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return te.Field, "has the wrong type (expected " + te.Type.String() + ")", true
	}
	q, found := strings.CutPrefix(err.Error(), "json: unknown field ")
	if !found {
		return "", "", false
	}
	name, uerr := strconv.Unquote(q)
	if uerr != nil {
		return "", "", false
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	if len(name) > 64 {
		name = strings.ToValidUTF8(name[:64], "")
	}
	if name == "" {
		return "", "", false
	}
	return name, "is not a field of this request: check its spelling", true
}
