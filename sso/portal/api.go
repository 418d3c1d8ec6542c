package portal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/ssokit/ssokit/sso"
)

// apiError is an error answer of the admin API.
type apiError struct {
	Status  int
	Reason  string `json:"error"`
	Message string `json:"message"`
	Field   string `json:"field"`
	Detail  string `json:"detail"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("portal: admin API answered %d %s: %s", e.Status, e.Reason, e.Message)
}

// recorder is the in-process response of an admin API call.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

// call sends one request to the admin API as the session of r and decodes
// its JSON answer into out (when non-nil). An error answer is an
// *apiError.
func (p *Portal) call(r *http.Request, method, path string, body, out any) error {
	var rd bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&rd).Encode(body); err != nil {
			return fmt.Errorf("portal: encode admin request: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), method, path, &rd)
	if err != nil {
		return fmt.Errorf("%w: portal: bad admin path", sso.ErrInvalidInput)
	}
	req.RemoteAddr = r.RemoteAddr
	for _, h := range []string{"User-Agent", "X-Forwarded-For", "X-Real-Ip", "Forwarded"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := &recorder{header: http.Header{}}
	p.api.ServeHTTP(rec, req)
	if rec.status >= 400 {
		e := &apiError{Status: rec.status}
		_ = json.Unmarshal(rec.body.Bytes(), e)
		e.Status = rec.status
		return e
	}
	if out != nil && rec.body.Len() > 0 {
		if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
			return fmt.Errorf("portal: decode admin answer: %w", err)
		}
	}
	return nil
}

// passThrough lets the admin API answer r's browser directly (test login
// redirects, audit exports), as the session of r.
func (p *Portal) passThrough(w http.ResponseWriter, r *http.Request, method, path string) {
	req := r.Clone(r.Context())
	req.Method = method
	req.URL.Path = path
	req.URL.RawPath = ""
	if method == http.MethodPost {
		req.Body = http.NoBody
		req.ContentLength = 0
		req.Header.Set("Content-Type", "application/json")
	}
	p.api.ServeHTTP(w, req)
}
