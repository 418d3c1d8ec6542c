package admin

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
)

// EventMFAPolicyChanged is recorded when an organization's MFA policy
// (PUT /mfa-policy) changed, with one detail per changed setting holding
// its new value, and, when the change lowers the policy, the detail
// "weakened": the names of the weakening settings, comma-separated.
const EventMFAPolicyChanged = "org.mfa_policy_changed"

// Bounds of the MFA grace period, in days; zero means the default.
const (
	DefaultMFAGraceDays = 7
	MaxMFAGraceDays     = 90
)

// MFAPolicyView is an organization's MFA policy (sso.MFAPolicy).
type MFAPolicyView struct {
	// Required makes a second factor mandatory for members.
	Required bool `json:"required"`
	// GracePeriodDays is how many days members may postpone enrolment
	// after the policy change or after joining (DefaultMFAGraceDays when
	// the organization set none).
	GracePeriodDays int `json:"grace_period_days"`
	// TrustIdPMFA counts an MFA the IdP asserts as satisfying the policy.
	TrustIdPMFA bool `json:"trust_idp_mfa"`
	// StepUpAtIdP sends members whose session an SSO connection made back
	// to their IdP for a step-up; it needs TrustIdPMFA.
	StepUpAtIdP bool `json:"step_up_at_idp"`
	// StepUpLocalFallback offers a local factor when the step-up at the
	// IdP was refused.
	StepUpLocalFallback bool `json:"step_up_local_fallback"`
}

// graceDays is the grace period of p in whole days.
func graceDays(p sso.MFAPolicy) int {
	if p.GracePeriod <= 0 {
		return DefaultMFAGraceDays
	}
	return int(p.GracePeriod / (24 * time.Hour))
}

func mfaPolicyView(org *sso.Organization) *MFAPolicyView {
	p := org.Settings.MFA
	return &MFAPolicyView{Required: p.Required, GracePeriodDays: graceDays(p), TrustIdPMFA: p.TrustIdPMFA, StepUpAtIdP: p.StepUpAtIdP,
		StepUpLocalFallback: p.StepUpLocalFallback}
}

func (h *Handler) getMFAPolicy(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	httpjson.Write(w, http.StatusOK, mfaPolicyView(org))
	return nil
}

// SetMFAPolicyRequest is the body of PUT /mfa-policy. Absent fields keep
// their value.
type SetMFAPolicyRequest struct {
	Required *bool `json:"required,omitempty"`
	// GracePeriodDays is 1 to MaxMFAGraceDays.
	GracePeriodDays     *int  `json:"grace_period_days,omitempty"`
	TrustIdPMFA         *bool `json:"trust_idp_mfa,omitempty"`
	StepUpAtIdP         *bool `json:"step_up_at_idp,omitempty"`
	StepUpLocalFallback *bool `json:"step_up_local_fallback,omitempty"`
	// Confirm acknowledges a weakening change (see MFAPolicyWeakenings).
	Confirm bool `json:"confirm,omitempty"`
}

// MFAPolicyWeakenings names the settings whose change from old to p
// lowers the policy: MFA no longer required, a longer grace period, the
// IdP's MFA counted, and a local factor offered instead of the IdP's
// step-up. PUT /mfa-policy needs Confirm for them and audits them.
func MFAPolicyWeakenings(old, p sso.MFAPolicy) []string {
	var weak []string
	if old.Required && !p.Required {
		weak = append(weak, "required")
	}
	if graceDays(p) > graceDays(old) {
		weak = append(weak, "grace_period_days")
	}
	if p.TrustIdPMFA && !old.TrustIdPMFA {
		weak = append(weak, "trust_idp_mfa")
	}
	if p.StepUpLocalFallback && !old.StepUpLocalFallback {
		weak = append(weak, "step_up_local_fallback")
	}
	return weak
}

// weakeningProblem says what confirming each weakening setting accepts.
var weakeningProblem = map[string]string{
	"required":               "members will no longer need a second factor",
	"grace_period_days":      "members may go longer without a second factor",
	"trust_idp_mfa":          "a second factor your identity provider reports will count, without a check here",
	"step_up_local_fallback": "members whose identity provider refused a step-up may use a factor set up here instead",
}

func (h *Handler) setMFAPolicy(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	var req SetMFAPolicyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	org, err := h.saveOrg(r.Context(), org, func(org *sso.Organization) ([]*sso.Event, bool, error) {
		old := org.Settings.MFA
		p, changed, err := applyMFAPolicy(old, &req)
		if err != nil {
			return nil, false, err
		}
		weak := MFAPolicyWeakenings(old, p)
		if len(weak) > 0 && !req.Confirm {
			return nil, false, inputErr(weak[0], weakeningProblem[weak[0]]+"; send confirm: true if you mean it")
		}
		if len(changed) == 0 {
			return nil, false, nil
		}
		if _, ok := changed["required"]; ok {
			p.ChangedAt = h.cfg.Now().UTC() // grace periods start here
		}
		if len(weak) > 0 {
			changed["weakened"] = strings.Join(weak, ",")
		}
		org.Settings.MFA = p
		// The policy and its event commit together (see Handler.saveOrg).
		return []*sso.Event{{OrgID: org.ID, Type: EventMFAPolicyChanged, Target: sso.Target{Type: "organization", ID: org.ID},
			Details: changed}}, true, nil
	})
	if err != nil {
		return err
	}
	httpjson.Write(w, http.StatusOK, mfaPolicyView(org))
	return nil
}

// applyMFAPolicy returns old with req's fields applied and checked, and
// the changed settings with their new values.
func applyMFAPolicy(old sso.MFAPolicy, req *SetMFAPolicyRequest) (sso.MFAPolicy, map[string]string, error) {
	p := old
	changed := map[string]string{}
	for _, s := range []struct {
		name string
		in   *bool
		out  *bool
	}{{"required", req.Required, &p.Required}, {"trust_idp_mfa", req.TrustIdPMFA, &p.TrustIdPMFA},
		{"step_up_at_idp", req.StepUpAtIdP, &p.StepUpAtIdP}, {"step_up_local_fallback", req.StepUpLocalFallback, &p.StepUpLocalFallback}} {
		if s.in != nil && *s.in != *s.out {
			*s.out = *s.in
			changed[s.name] = strconv.FormatBool(*s.in)
		}
	}
	if d := req.GracePeriodDays; d != nil {
		if *d < 1 || *d > MaxMFAGraceDays {
			return p, nil, inputErr("grace_period_days", "give a number of days from 1 to "+strconv.Itoa(MaxMFAGraceDays))
		}
		if *d != graceDays(old) {
			p.GracePeriod = time.Duration(*d) * 24 * time.Hour
			changed["grace_period_days"] = strconv.Itoa(*d)
		}
	}
	switch {
	case p.StepUpAtIdP && !p.TrustIdPMFA:
		return p, nil, inputErr("step_up_at_idp", "needs trust_idp_mfa: a step-up at the identity provider only counts when its MFA is trusted; set trust_idp_mfa to true as well")
	case p.StepUpLocalFallback && !p.StepUpAtIdP:
		return p, nil, inputErr("step_up_local_fallback", "only applies with step_up_at_idp: turn that on, or leave the fallback off")
	}
	return p, changed, nil
}
