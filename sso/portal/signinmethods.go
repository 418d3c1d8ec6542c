package portal

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/ssokit/ssokit/sso"
	"github.com/ssokit/ssokit/sso/admin"
)

// The sign-in methods page chooses how people of an organization without
// single sign-on (or its break-glass members) may sign in: the ways the
// plan includes, all or some. It sits in the single sign-on section, next
// to the rule that requires single sign-on; the admin API (PATCH /org)
// refuses a way the plan lacks and audits each change. When the admin API
// can end an organization's sessions (its Sessions is a
// sso.OrgSessionRevoker, as session.Manager is), a checkbox, ticked by
// default, also signs out the sessions of the ways no longer allowed
// (PATCH /org "end_sessions"), and the confirmation says how many ended.
func (p *Portal) signInMethodRoutes(m *http.ServeMux) {
	m.Handle("GET /sign-in-methods", p.page(SectionSSO, p.signInMethodsPage))
	m.Handle("POST /sign-in-methods", p.action(SectionSSO, p.signInMethodsSave))
}

// methodChoice is one way to sign in as the page lists it.
type methodChoice struct {
	Name, Label, Hint string
	Checked           bool
}

// methodLabels are the page's names of the sign-in methods.
var methodLabels = map[sso.AuthMethod][2]string{
	sso.AuthPassword:  {"Password", "An email address and a password. Break-glass administrators always keep theirs."},
	sso.AuthPasskey:   {"Passkey", "The device's screen lock or a security key, without a password."},
	sso.AuthEmailCode: {"Code by email", "A one-time code sent to the person's address."},
	sso.AuthMagicLink: {"Sign-in link by email", "A link sent to the person's address that signs them in once."},
	sso.AuthSocial:    {"Google, Microsoft or GitHub account", "The person's own account at one of these providers, with a verified address."},
}

// methodsForm is the state of the page's form.
type methodsForm struct {
	all         bool
	chosen      []string
	endSessions bool
}

// canEndSessions reports whether the admin API can end the sessions of a
// way to sign in that is turned off.
func (p *Portal) canEndSessions() bool {
	_, ok := p.cfg.Admin.Sessions.(sso.OrgSessionRevoker)
	return ok
}

// endedNotice is the confirmation of a save that ended n sessions.
func endedNotice(n int) string {
	if n == 1 {
		return "Changes saved. 1 session signed in a way that is no longer allowed was ended."
	}
	return fmt.Sprintf("Changes saved. %d sessions signed in a way that is no longer allowed were ended.", n)
}

func (p *Portal) renderSignInMethods(w http.ResponseWriter, r *http.Request, status int, v *admin.OrgView, fm methodsForm, pr *problem) {
	all, chosen := fm.all, fm.chosen
	var choices []methodChoice
	for _, m := range v.PlanSignInMethods {
		l := methodLabels[m]
		choices = append(choices, methodChoice{Name: string(m), Label: l[0], Hint: l[1], Checked: all || slices.Contains(chosen, string(m))})
	}
	var missing []string
	for _, m := range sso.LocalSignInMethods() {
		if !slices.Contains(v.PlanSignInMethods, m) {
			missing = append(missing, methodLabels[m][0])
		}
	}
	notice := ""
	if n, err := strconv.Atoi(r.URL.Query().Get("ended")); err == nil && n >= 0 && r.URL.Query().Get("done") == "saved" {
		notice = endedNotice(n)
	}
	p.render(w, r, status, "signin_methods", &page{Title: "Ways to sign in", Section: string(SectionSSO), Problem: pr, Notice: notice,
		Data: map[string]any{"All": all, "Choices": choices, "Missing": missing, "Invalid": pr != nil && pr.Field == "sign_in_methods",
			"CanEnd": p.canEndSessions(), "EndSessions": fm.endSessions}})
}

func (p *Portal) signInMethodsPage(w http.ResponseWriter, r *http.Request, _ *Session) error {
	v, err := p.orgSettings(r)
	if err != nil {
		return err
	}
	var chosen []string
	for _, m := range v.SignInMethods {
		chosen = append(chosen, string(m))
	}
	p.renderSignInMethods(w, r, http.StatusOK, v, methodsForm{all: v.SignInMethods == nil, chosen: chosen, endSessions: true}, nil)
	return nil
}

func (p *Portal) signInMethodsSave(w http.ResponseWriter, r *http.Request, _ *Session) error {
	all := r.PostFormValue("choice") != "some"
	chosen := r.PostForm["method"]
	raw := json.RawMessage("null")
	if !all {
		if chosen == nil {
			chosen = []string{}
		}
		b, err := json.Marshal(chosen)
		if err != nil {
			return err
		}
		raw = b
	}
	end := p.canEndSessions() && r.PostFormValue("end_sessions") == "on"
	var v admin.OrgView
	if err := p.call(r, http.MethodPatch, "/org", admin.OrgUpdateRequest{SignInMethods: raw, EndSessions: end}, &v); err != nil {
		cur, gerr := p.orgSettings(r)
		if gerr != nil {
			return gerr
		}
		pr := explain(err)
		var ae *apiError
		if errors.As(err, &ae) && ae.Field == "sign_in_methods" {
			pr.What = "The ways to sign in could not be saved: " + ae.Message + "."
			if len(chosen) == 0 {
				pr.What = "Choose at least one way to sign in, or allow every way your plan includes."
			}
			pr.Next, pr.Field = "Correct the choice and save again. Nothing was changed.", "sign_in_methods"
		}
		p.renderSignInMethods(w, r, statusOf(err), cur, methodsForm{all: all, chosen: chosen, endSessions: end}, pr)
		return nil
	}
	if v.EndedSessions != nil {
		http.Redirect(w, r, p.basePath+"/sign-in-methods?done=saved&ended="+strconv.Itoa(*v.EndedSessions), http.StatusSeeOther)
		return nil
	}
	p.redirect(w, r, "/sign-in-methods", "saved")
	return nil
}
