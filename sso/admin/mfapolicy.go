package admin

import (
	"net/http"
	"strconv"

	"github.com/ssokit/ssokit/internal/httpjson"
	"github.com/ssokit/ssokit/sso"
)

// EventMFAPolicyChanged is recorded when an organization's MFA policy
// (PUT /mfa-policy) changed, with one detail per changed setting holding
// its new value.
const EventMFAPolicyChanged = "org.mfa_policy_changed"

// MFAPolicyView is an organization's MFA policy (sso.MFAPolicy).
type MFAPolicyView struct {
	// Required makes a second factor mandatory for members.
	Required bool `json:"required"`
	// TrustIdPMFA counts an MFA the IdP asserts as satisfying the policy.
	TrustIdPMFA bool `json:"trust_idp_mfa"`
	// StepUpAtIdP sends members whose session an SSO connection made back
	// to their IdP for a step-up; it needs TrustIdPMFA.
	StepUpAtIdP bool `json:"step_up_at_idp"`
	// StepUpLocalFallback offers a local factor when the step-up at the
	// IdP was refused.
	StepUpLocalFallback bool `json:"step_up_local_fallback"`
}

func mfaPolicyView(org *sso.Organization) *MFAPolicyView {
	p := org.Settings.MFA
	return &MFAPolicyView{Required: p.Required, TrustIdPMFA: p.TrustIdPMFA, StepUpAtIdP: p.StepUpAtIdP,
		StepUpLocalFallback: p.StepUpLocalFallback}
}

func (h *Handler) getMFAPolicy(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	httpjson.Write(w, http.StatusOK, mfaPolicyView(org))
	return nil
}

// SetMFAPolicyRequest is the body of PUT /mfa-policy. Absent fields keep
// their value.
type SetMFAPolicyRequest struct {
	Required            *bool `json:"required,omitempty"`
	TrustIdPMFA         *bool `json:"trust_idp_mfa,omitempty"`
	StepUpAtIdP         *bool `json:"step_up_at_idp,omitempty"`
	StepUpLocalFallback *bool `json:"step_up_local_fallback,omitempty"`
}

func (h *Handler) setMFAPolicy(w http.ResponseWriter, r *http.Request, org *sso.Organization) error {
	var req SetMFAPolicyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	p := org.Settings.MFA
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
	switch {
	case p.StepUpAtIdP && !p.TrustIdPMFA:
		return inputErr("step_up_at_idp", "needs trust_idp_mfa: a step-up at the identity provider only counts when its MFA is trusted; set trust_idp_mfa to true as well")
	case p.StepUpLocalFallback && !p.StepUpAtIdP:
		return inputErr("step_up_local_fallback", "only applies with step_up_at_idp: turn that on, or leave the fallback off")
	}
	if len(changed) > 0 {
		now := h.cfg.Now().UTC()
		if _, ok := changed["required"]; ok {
			p.ChangedAt = now // grace periods start here
		}
		org.Settings.MFA, org.UpdatedAt = p, now
		if err := h.cfg.Store.UpdateOrg(r.Context(), org); err != nil {
			return err
		}
		h.audit(r.Context(), &sso.Event{OrgID: org.ID, Type: EventMFAPolicyChanged,
			Target: sso.Target{Type: "organization", ID: org.ID}, Details: changed})
	}
	httpjson.Write(w, http.StatusOK, mfaPolicyView(org))
	return nil
}
