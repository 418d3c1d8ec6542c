package main

// signinJS runs on the login pages: it adds a button per social provider,
// a passkey button, and passkey autofill (WebAuthn conditional mediation)
// on an email field whose autocomplete carries "webauthn". On the local
// sign-in page the box's data-methods narrows the buttons to the methods
// the email's organization allows.
const signinJS = `(() => {
  const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const unb64 = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
  window.ssokitPasskey = {
    b64, unb64,
    requestOptions(o) {
      const pk = { ...o.publicKey, challenge: unb64(o.publicKey.challenge) };
      pk.allowCredentials = (pk.allowCredentials || []).map((c) => ({ ...c, id: unb64(c.id) }));
      return pk;
    },
    creationOptions(o) {
      const pk = { ...o.publicKey, challenge: unb64(o.publicKey.challenge), user: { ...o.publicKey.user, id: unb64(o.publicKey.user.id) } };
      pk.excludeCredentials = (pk.excludeCredentials || []).map((c) => ({ ...c, id: unb64(c.id) }));
      return pk;
    },
    assertionJSON(c) {
      return { id: c.id, rawId: b64(c.rawId), type: c.type, response: { clientDataJSON: b64(c.response.clientDataJSON),
        authenticatorData: b64(c.response.authenticatorData), signature: b64(c.response.signature),
        userHandle: c.response.userHandle ? b64(c.response.userHandle) : null } };
    },
    attestationJSON(c) {
      return { id: c.id, rawId: b64(c.rawId), type: c.type, response: { clientDataJSON: b64(c.response.clientDataJSON),
        attestationObject: b64(c.response.attestationObject), transports: c.response.getTransports ? c.response.getTransports() : [] } };
    },
    async post(path, body) {
      const r = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body || {}) });
      const j = await r.json().catch(() => ({}));
      if (!r.ok) throw Object.assign(new Error(j.message || 'request failed'), { reason: j.error, ssoLoginURL: j.sso_login_url });
      return j;
    },
  };
  const box = document.getElementById('signin-extras');
  if (!box) return;
  // The host's tiers, narrowed on the local sign-in page to the methods
  // the email's organization allows (data-methods, from discovery).
  const on = { ...(window.ssokitSignIn || {}) };
  if (box.dataset.methods !== undefined) {
    const allowed = box.dataset.methods.split(/[ ,]+/);
    on.social = on.social && allowed.includes('social');
    on.passkey = on.passkey && allowed.includes('passkey');
  }
  const status = document.createElement('p');
  status.id = 'signin-status';
  status.setAttribute('role', 'status');
  const returnTo = (document.querySelector('input[name=return_to]') || {}).value || '/dashboard';
  if (on.social) fetch('/auth/social/providers').then((r) => (r.ok ? r.json() : { providers: [] })).then(({ providers }) => {
    for (const p of providers) {
      const a = document.createElement('a');
      a.className = 'button social';
      a.id = 'social-' + p.name;
      a.href = '/auth/social/' + encodeURIComponent(p.name) + '/start?return_to=' + encodeURIComponent(returnTo);
      a.textContent = 'Continue with ' + p.display_name;
      box.prepend(a);
    }
  }).catch(() => {});
  const pk = window.ssokitPasskey;
  let pending;
  // failed reports a refused passkey sign-in; a member whose organization
  // requires its single sign-on is taken there (a same-origin path only).
  function failed(e) {
    const to = e.ssoLoginURL;
    if (e.reason === 'sso_required' && typeof to === 'string' && to.startsWith('/') && !to.startsWith('//') && !to.startsWith('/\\')) {
      status.textContent = e.message + ' Taking you there…';
      location.assign(to);
      return;
    }
    status.textContent = 'Passkey sign-in failed: ' + e.message;
  }
  async function finish(begin, cred) {
    await pk.post('/auth/passkey/login/finish', { ceremony: begin.ceremony, credential: pk.assertionJSON(cred) });
    location.assign(returnTo);
  }
  async function conditional() {
    if (!document.querySelector('input[autocomplete~=webauthn]')) return;
    if (!window.PublicKeyCredential || !PublicKeyCredential.isConditionalMediationAvailable || !(await PublicKeyCredential.isConditionalMediationAvailable())) return;
    const begin = await pk.post('/auth/passkey/login/begin');
    pending = new AbortController();
    const cred = await navigator.credentials.get({ publicKey: pk.requestOptions(begin.options), mediation: 'conditional', signal: pending.signal });
    if (cred) await finish(begin, cred);
  }
  if (on.passkey) {
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.id = 'passkey-login';
    btn.textContent = 'Sign in with a passkey';
    btn.addEventListener('click', async () => {
      if (pending) pending.abort();
      try {
        const begin = await pk.post('/auth/passkey/login/begin');
        const cred = await navigator.credentials.get({ publicKey: pk.requestOptions(begin.options) });
        await finish(begin, cred);
      } catch (e) { failed(e); }
    });
    box.append(btn);
    conditional().catch((e) => { if (e.name !== 'AbortError') failed(e); });
  }
  box.append(status);
})();`

// passkeysPage lists the signed-in user's passkeys and adds, renames and
// deletes them.
const passkeysPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Passkeys</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main style="max-width:560px;margin:2rem auto;font-family:system-ui,sans-serif">
<h1>Passkeys</h1>
<p>A passkey signs you in with your device's screen lock, without a password.</p>
<ul id="passkeys"></ul>
<label for="passkey-name">Name of the new passkey</label>
<input id="passkey-name" value="This device">
<button type="button" id="passkey-add">Add a passkey</button>
<p id="passkey-status" role="status"></p>
<p><a href="/dashboard">Back to the dashboard</a></p>
</main>
<script src="/auth/signin.js"></script>
<script>
const pk = window.ssokitPasskey, status = document.getElementById('passkey-status');
async function call(method, path, body) {
  const r = await fetch(path, { method, headers: { 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(j.message || 'request failed');
  return j;
}
async function load() {
  const { passkeys } = await call('GET', '/auth/passkey/credentials');
  const ul = document.getElementById('passkeys');
  ul.replaceChildren();
  for (const p of passkeys) {
    const li = document.createElement('li');
    li.dataset.id = p.id;
    li.textContent = p.name + ' ';
    const rename = document.createElement('button');
    rename.textContent = 'Rename';
    rename.onclick = async () => { const n = prompt('New name', p.name); if (n) { await call('PATCH', '/auth/passkey/credentials/' + p.id, { name: n }).catch((e) => { status.textContent = e.message; }); load(); } };
    const del = document.createElement('button');
    del.textContent = 'Delete';
    del.className = 'delete';
    del.onclick = async () => { try { await call('DELETE', '/auth/passkey/credentials/' + p.id); status.textContent = 'Passkey deleted.'; } catch (e) { status.textContent = e.message; } load(); };
    li.append(rename, del);
    ul.append(li);
  }
  if (!passkeys.length) ul.innerHTML = '<li>No passkeys yet.</li>';
}
document.getElementById('passkey-add').onclick = async () => {
  try {
    const begin = await pk.post('/auth/passkey/register/begin');
    const cred = await navigator.credentials.create({ publicKey: pk.creationOptions(begin.options) });
    await pk.post('/auth/passkey/register/finish', { ceremony: begin.ceremony, name: document.getElementById('passkey-name').value, credential: pk.attestationJSON(cred) });
    status.textContent = 'Passkey added. You can now sign in with it.';
  } catch (e) { status.textContent = 'Adding the passkey failed: ' + e.message; }
  load();
};
load();
</script></body></html>`

// linkedPage lists the signed-in user's linked social accounts, unlinks
// them, and links another: a form per provider posts to
// /auth/social/{provider}/link, which needs a recent sign-in of the
// user's own (a password, an emailed code or a passkey).
const linkedPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Linked accounts</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main style="max-width:560px;margin:2rem auto;font-family:system-ui,sans-serif">
<h1>Linked accounts</h1>
<p>A linked Google, Microsoft or GitHub account signs you in without a password. Linking one needs a recent sign-in with your
password, an emailed code or a passkey: if you signed in through your organization, or a while ago, sign out and in again first.</p>
<ul id="linked"></ul>
<div id="link-buttons"></div>
<p id="linked-status" role="status"></p>
<p><a href="/dashboard">Back to the dashboard</a></p>
</main>
<script>
const status = document.getElementById('linked-status');
async function call(method, path) {
  const r = await fetch(path, { method, headers: { Accept: 'application/json' } });
  const j = r.status === 204 ? {} : await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(j.message || 'request failed');
  return j;
}
async function load() {
  const [{ linked }, { providers }] = await Promise.all([call('GET', '/auth/social/linked'), call('GET', '/auth/social/providers')]);
  const names = Object.fromEntries(providers.map((p) => [p.name, p.display_name]));
  const ul = document.getElementById('linked');
  ul.replaceChildren();
  for (const l of linked) {
    const li = document.createElement('li');
    li.dataset.provider = l.provider;
    li.textContent = (names[l.provider] || l.provider) + (l.email ? ' (' + l.email + ') ' : ' ');
    const del = document.createElement('button');
    del.textContent = 'Unlink';
    del.className = 'unlink';
    del.onclick = async () => {
      try { await call('DELETE', '/auth/social/linked/' + encodeURIComponent(l.provider) + '/' + encodeURIComponent(l.subject)); status.textContent = 'Account unlinked.'; }
      catch (e) { status.textContent = e.message; }
      load();
    };
    li.append(del);
    ul.append(li);
  }
  if (!linked.length) ul.innerHTML = '<li>No linked accounts yet.</li>';
  const box = document.getElementById('link-buttons');
  box.replaceChildren();
  for (const p of providers) {
    const f = document.createElement('form');
    f.method = 'post';
    f.action = '/auth/social/' + encodeURIComponent(p.name) + '/link';
    const rt = document.createElement('input');
    Object.assign(rt, { type: 'hidden', name: 'return_to', value: '/account/linked' });
    const b = document.createElement('button');
    b.id = 'link-' + p.name;
    b.textContent = 'Link ' + p.display_name;
    f.append(rt, b);
    box.append(f);
  }
}
load().catch((e) => { status.textContent = 'Could not load your linked accounts: ' + e.message; });
</script></body></html>`
