package password

// messages are the user-safe texts of the reasons without a FieldError.
var messages = map[string]string{
	ReasonInvalidCredentials: "Unknown email or wrong password.",
	ReasonRateLimited:        "Too many attempts; wait a moment and try again.",
	ReasonEmailNotVerified:   "Confirm your email address first; we sent you a link.",
	ReasonSSORequired:        "Your organization requires single sign-on; use its sign-in button.",
	ReasonAccessDenied:       "You cannot sign in to this organization.",
	ReasonMethodDisabled:     "Your organization has turned off password sign-in. Use another way it offers on the sign-in page, or ask your administrator.",
	ReasonCrossOrigin:        "Cross-origin request refused.",
	ReasonUnauthenticated:    "Sign in first.",
	ReasonMalformed:          "Send a JSON object or a form post with the documented fields.",
	"unavailable":            "The service is temporarily unavailable; try again later.",
}

func message(reason string) string {
	if s, ok := messages[reason]; ok {
		return s
	}
	return "Request refused."
}
