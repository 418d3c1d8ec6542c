package portal

import (
	"encoding/json"
	"net/http"

	"github.com/ssokit/ssokit/sso/admin"
)

func (p *Portal) ssoTest(w http.ResponseWriter, r *http.Request, _ *Session) error {
	c, err := p.connection(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	if len(c.Settings) == 0 {
		p.renderDetail(w, r, http.StatusConflict, c, nil, &problem{What: "There is nothing to test yet.",
			Next: "Paste your identity provider's details first (step “Paste back” below)."})
		return nil
	}
	rec := &recorder{header: http.Header{}}
	p.passThrough(rec, r, http.MethodPost, "/connections/"+urlPath(c.ID)+"/test")
	if rec.status >= 400 {
		e := &apiError{Status: rec.status}
		_ = json.Unmarshal(rec.body.Bytes(), e)
		e.Status = rec.status
		p.renderDetail(w, r, rec.status, c, nil, explain(e))
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: testCookie, Value: c.ID, Path: p.basePath + "/", MaxAge: 3600,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	h := w.Header()
	if _, ok := rec.header["Content-Security-Policy"]; ok {
		// A browser enforces every policy it is sent: the starter's page (an
		// auto-submitting form) runs under its own policy only, or the
		// portal's, which allows no inline script, would stop its submit.
		h.Del("Content-Security-Policy")
	}
	for k, v := range rec.header {
		h[k] = append(h[k], v...)
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body.Bytes())
	return nil
}

// ssoTested is where a test sign-in returns: the connection's page.
func (p *Portal) ssoTested(w http.ResponseWriter, r *http.Request, _ *Session) error {
	ck, err := r.Cookie(testCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 128 {
		p.redirect(w, r, "/sso", "")
		return nil
	}
	http.Redirect(w, r, p.basePath+"/connections/"+urlPath(ck.Value)+"#test", http.StatusSeeOther)
	return nil
}

func (p *Portal) ssoActivate(w http.ResponseWriter, r *http.Request, _ *Session) error {
	c, err := p.connection(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	if !p.confirmed(w, r, "Activate “"+c.DisplayName+"”?", confirmData{
		Consequence: "People whose email is in one of your verified domains will be sent to this identity provider when they sign in.",
		Button:      "Activate", Back: p.basePath + "/connections/" + c.ID}) {
		return nil
	}
	if err := p.call(r, http.MethodPost, "/connections/"+urlPath(c.ID)+"/activate", nil, nil); err != nil {
		p.renderDetail(w, r, statusOf(err), c, nil, explain(err))
		return nil
	}
	p.redirect(w, r, "/connections/"+c.ID, "activated")
	return nil
}

func (p *Portal) ssoDisable(w http.ResponseWriter, r *http.Request, _ *Session) error {
	c, err := p.connection(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	if !p.confirmed(w, r, "Turn off “"+c.DisplayName+"”?", confirmData{
		Consequence: "Nobody can sign in with this connection until you activate it again. People already signed in stay signed in.",
		Button:      "Turn off", Back: p.basePath + "/connections/" + c.ID}) {
		return nil
	}
	if err := p.call(r, http.MethodPost, "/connections/"+urlPath(c.ID)+"/disable", nil, nil); err != nil {
		p.renderDetail(w, r, statusOf(err), c, nil, explain(err))
		return nil
	}
	p.redirect(w, r, "/connections/"+c.ID, "disabled")
	return nil
}

func (p *Portal) ssoDelete(w http.ResponseWriter, r *http.Request, _ *Session) error {
	c, err := p.connection(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	if !p.confirmed(w, r, "Delete “"+c.DisplayName+"”?", confirmData{
		Consequence: "The connection and its settings are deleted for good. Your identity provider's app stays; remove it there too if you no longer need it.",
		Button:      "Delete connection", Back: p.basePath + "/connections/" + c.ID}) {
		return nil
	}
	if err := p.call(r, http.MethodDelete, "/connections/"+urlPath(c.ID), nil, nil); err != nil {
		p.renderDetail(w, r, statusOf(err), c, nil, explain(err))
		return nil
	}
	p.redirect(w, r, "/sso", "deleted")
	return nil
}

func (p *Portal) ssoEnforce(w http.ResponseWriter, r *http.Request, _ *Session) error {
	on := r.PostFormValue("enabled") == "on"
	title, cons, btn := "Require single sign-on for everyone?", "From now on people of your organization can only sign in through your identity provider; passwords and other sign-in methods stop working for them.", "Require single sign-on"
	if !on {
		title, cons, btn = "Stop requiring single sign-on?", "People may sign in with other methods (such as passwords) again. This lowers your organization's security.", "Stop requiring it"
	}
	if !p.confirmed(w, r, title, confirmData{Consequence: cons, Button: btn, Back: p.basePath + "/sso"}) {
		return nil
	}
	if err := p.call(r, http.MethodPut, "/enforcement", admin.SetEnforcementRequest{Enabled: &on}, nil); err != nil {
		return err
	}
	p.redirect(w, r, "/sso", "saved")
	return nil
}
