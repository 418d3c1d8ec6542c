package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ssokit/ssokit/sso"
)

// Standard Webhooks header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// secretPrefix starts every Standard Webhooks secret; secretBytes is the
// random key size (the scheme asks for 24 to 64 bytes).
const (
	secretPrefix = "whsec_"
	secretBytes  = 32
)

// NewSecret returns a new random signing secret: "whsec_" and the base64 of
// 32 bytes from crypto/rand.
func NewSecret() string {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		panic("webhook: crypto/rand failed: " + err.Error())
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// secretKey returns the HMAC key of a secret: its base64 part decoded.
func secretKey(secret string) ([]byte, error) {
	rest, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: webhook: secret must start with %q", sso.ErrInvalidInput, secretPrefix)
	}
	k, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(k) < 24 || len(k) > 64 {
		return nil, fmt.Errorf("%w: webhook: secret must be base64 of 24 to 64 bytes", sso.ErrInvalidInput)
	}
	return k, nil
}

// Sign returns the webhook-signature header value for a message: one
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>" per secret, separated by
// spaces.
func Sign(id string, ts time.Time, body []byte, secrets ...string) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		k, err := secretKey(s)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, "v1,"+sign(k, id, ts.Unix(), body))
	}
	return strings.Join(sigs, " "), nil
}

func sign(key []byte, id string, unix int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(strconv.FormatInt(unix, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
