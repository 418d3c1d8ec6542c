package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
)

// decode reads one JSON object into v: unknown fields, trailing data and
// oversized bodies are refused with ErrInvalidInput.
func decode(r *http.Request, v any) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "" && ct != "application/json" {
		return fmt.Errorf("%w: content type must be application/json", sso.ErrInvalidInput)
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("%w: request body too large", sso.ErrInvalidInput)
		}
		return fmt.Errorf("%w: unreadable body", sso.ErrInvalidInput)
	}
	if err := checkJSONShape(raw); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if field, problem, ok := httpjson.BadField(err); ok {
			return inputErr(field, problem)
		}
		return fmt.Errorf("%w: malformed JSON: %s", sso.ErrInvalidInput, jsonProblem(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: trailing data after JSON object", sso.ErrInvalidInput)
	}
	return nil
}

// checkJSONShape refuses what encoding/json would otherwise accept
// silently: a body that is not an object (null would decode as an empty
// request), a member named twice in one object (encoding/json matches names
// case-insensitively and keeps the last), and NUL characters in strings,
// which PostgreSQL cannot store. Malformed JSON is left to the decoder.
func checkJSONShape(raw []byte) error {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 {
		return fmt.Errorf("%w: malformed JSON: empty body", sso.ErrInvalidInput)
	}
	if trimmed[0] != '{' {
		return fmt.Errorf("%w: malformed JSON: body must be an object", sso.ErrInvalidInput)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	type frame struct {
		obj, expKey bool
		keys        map[string]bool
	}
	var stack []*frame
	for {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if d, ok := t.(json.Delim); ok {
			switch d {
			case '{', '[':
				if top != nil && top.obj {
					top.expKey = true
				}
				stack = append(stack, &frame{obj: d == '{', expKey: true, keys: map[string]bool{}})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if s, ok := t.(string); ok && strings.IndexByte(s, 0) >= 0 {
			return fmt.Errorf("%w: strings must not contain NUL characters", sso.ErrInvalidInput)
		}
		if top == nil || !top.obj {
			continue
		}
		if top.expKey {
			k := strings.ToLower(t.(string))
			if top.keys[k] {
				return fmt.Errorf("%w: malformed JSON: a field appears more than once", sso.ErrInvalidInput)
			}
			top.keys[k] = true
			top.expKey = false
			continue
		}
		top.expKey = true
	}
}

// jsonProblem describes a decode error without echoing input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "syntax error at offset " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		return "wrong type for field " + te.Field
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field"
	case errors.Is(err, io.EOF):
		return "empty body"
	}
	return "invalid JSON"
}
