package mfa

// messages say, per JSON error code, what happened and what to do next;
// every error body the handlers write carries the one for its code as
// "message", for a page to show as it is.
var messages = map[string]string{
	ReasonCodeMalformed:      "Enter the code your authenticator app shows now, digits only.",
	ReasonCodeInvalid:        "That code is not the one your authenticator app shows now. Enter the current code; if it keeps failing, check that your device's clock is set automatically.",
	ReasonCodeReplayed:       "That code was already used. Wait for the next code in your authenticator app and enter it.",
	ReasonLockedOut:          "Too many wrong attempts, so second-factor checks are paused for a while. Wait a few minutes, then try again.",
	ReasonNotEnrolled:        "You have no second factor of that kind. Set one up first, or use another one you have.",
	ReasonAlreadyEnrolled:    "An authenticator app is already set up. Remove it first to set up another.",
	ReasonNoPendingEnrolment: "This setup has expired or was started before you last signed in. Start the setup again and scan the new QR code.",
	ReasonEnrolmentReplaced:  "You started a newer setup (in another tab or window) after this one, so this QR code no longer counts. Scan the newest QR code and enter its code, or start again.",
	ReasonRecoveryMalformed:  "Enter a recovery code as you saved it, like abcd-efgh-ijkl-mnop.",
	ReasonRecoveryInvalid:    "That recovery code is unknown or already used. Each code works once: try another of your saved codes.",
	ReasonWebAuthnInvalid:    "Your security key's answer could not be verified. Try again with a key registered to your account.",
	ReasonWebAuthnMalformed:  "Your browser sent an answer that is not a security key's. Try again, or use another browser.",
	ReasonCounterRegression:  "This security key looks copied (its counter went backwards), so it was refused. Use another factor and tell your administrator.",
	ReasonCeremonyInvalid:    "This security-key prompt expired or was already used. Start again.",
	ReasonWebAuthnDisabled:   "Security keys are not available here. Use another factor.",
	ReasonPasskeyInvalid:     "Your passkey could not confirm it is you. Try again with a passkey of this account, unlocking it with your screen lock.",

	CodeEnrollmentRequired:       "Your organization requires a second factor. Set one up to continue.",
	CodeVerificationRequired:     "Confirm it is you with your second factor to continue.",
	CodeStepUpRequired:           "This action needs a recent check of your second factor. Verify it, then try again.",
	CodeUnauthenticated:          "Sign in first.",
	CodeReverificationRequired:   "To change your second factors, first verify one you already have (a code, a security key, a passkey or a recovery code).",
	CodeReauthenticationRequired: "Sign in again, then try again within a few minutes.",
	CodeStepUpAtIdPRequired:      "Your organization confirms a second factor at its identity provider, not here. Sign in there again to continue.",
	CodeStepUpAtIdPUnavailable:   "This session cannot confirm a second factor at an identity provider. Use a second factor here instead.",

	"not_found":              "There is no such second-factor endpoint.",
	"unsupported_media_type": "Send the request as JSON (Content-Type: application/json).",
	"invalid_request":        "The request was not understood. Reload the page and try again.",
	"unavailable":            "Second factors cannot be checked right now. Try again in a minute.",
	"internal":               "Something went wrong on our side. Try again in a minute.",
}
