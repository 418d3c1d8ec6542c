package telemetry

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

// KeyMethod names the sign-in method of a local sign-in ("password",
// "email_code", "magic_link", "passkey", "social"): the sso.AuthMethod
// its session carries.
const KeyMethod = attribute.Key("ssokit.method")

// StartSignIn starts the "sso.signin" span of a local sign-in by method
// (sso.AuthMethod) and returns ctx carrying it and the function that ends
// it: finish records the organization (when known), the outcome and, for
// a failure, the stable reason on the span, and counts the sign-in in
// ssokit.login.attempts and ssokit.login.duration with the method as the
// protocol attribute, as the SSO protocols count theirs. provider, when
// not empty, names the social provider on the span.
func (t *T) StartSignIn(ctx context.Context, method, provider string) (context.Context, func(org, reason string, err error)) {
	attrs := []attribute.KeyValue{KeyMethod.String(method), KeyProtocol.String(method)}
	if provider != "" {
		attrs = append(attrs, attribute.String("ssokit.provider", provider))
	}
	ctx, span := t.Start(ctx, "sso.signin", attrs...)
	start := time.Now()
	return ctx, func(org, reason string, err error) {
		if org != "" && span.IsRecording() {
			span.SetAttributes(KeyOrg.String(org))
		}
		End(span, reason, err)
		t.RecordLogin(ctx, method, org, "", start, reason, err)
	}
}
