package stack

import "github.com/ssokit/ssokit/sso"

// localMethods are the sign-in methods without an IdP the configuration
// turns on, in sso.LocalSignInMethods order, for discovery to tell the
// local login page (discovery.Config.LocalMethods). Nil when none is on.
func (cfg *Config) localMethods() []sso.AuthMethod {
	var out []sso.AuthMethod
	for _, m := range sso.LocalSignInMethods() {
		on := false
		switch m {
		case sso.AuthPassword:
			on = cfg.Password != nil
		case sso.AuthPasskey:
			on = cfg.Passkeys != nil
		case sso.AuthEmailCode, sso.AuthMagicLink:
			on = cfg.EmailCode != nil
		case sso.AuthSocial:
			on = cfg.Social != nil && len(cfg.Social.Providers) > 0
		}
		if on {
			out = append(out, m)
		}
	}
	return out
}
