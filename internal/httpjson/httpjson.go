// Package httpjson writes JSON responses with the headers every ssokit
// JSON endpoint sends.
package httpjson

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// Write sends v as JSON with status, no-store caching and nosniff. A value
// that cannot be encoded becomes a 500 {"error":"internal"}.
func Write(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"internal"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
