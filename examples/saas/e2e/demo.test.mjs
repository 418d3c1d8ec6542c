// Real-browser scenarios against the demo and its built-in development IdP:
// SAML and OIDC logins, the admin SSO wizard, MFA enrolment and session
// revocation. Each step leaves a screenshot in .artifacts/e2e/.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  adminAPI, base32Decode, inContext, launchBrowser, loginThroughDevIdP, shot, startDemo, totp,
} from './lib.mjs';

describe('demo with the development IdP', () => {
  let demo;
  let browser;

  before(async () => {
    demo = await startDemo();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await demo?.stop();
  });

  // withPage runs fn in a fresh browser context (its own cookies) and adds
  // the demo's log to the failure.
  const withPage = (fn) => inContext(browser, demo, fn);

  test('(a) SAML login of alice@acme.test through the development IdP', () => withPage(async (page) => {
    assert.equal(await loginThroughDevIdP(page, demo.base, 'alice@acme.test', 'a-saml'), true, 'the IdP page was shown');
    assert.equal((await page.textContent('#auth-method')).trim(), 'saml');
    assert.match(await page.textContent('#whoami'), /alice@acme\.test · Acme Corp/);
    assert.match(await page.textContent('#roles'), /\badmin\b/);
  }));

  test('(b) OIDC login of bob@globex.test through the development IdP', () => withPage(async (page) => {
    // The discovery page passes login_hint, which the development IdP's
    // OIDC side honours without showing its page.
    await loginThroughDevIdP(page, demo.base, 'bob@globex.test', 'b-oidc');
    assert.equal((await page.textContent('#auth-method')).trim(), 'oidc');
    assert.match(await page.textContent('#whoami'), /bob@globex\.test · Globex/);
  }));

  test('(e) admin portal: create, register, test and activate a SAML connection', () => withPage(async (page) => {
    await loginThroughDevIdP(page, demo.base, 'alice@acme.test');
    // The demo's admin pages are the admin portal, behind the demo's own
    // admin sign-in; the old address leads there.
    await page.goto(demo.base + '/admin/sso');
    await page.waitForURL(/\/admin\/portal\/sso$/);
    await shot(page, 'e-wizard-1-portal');
    const before = await adminAPI(demo.base, 'acme', 'GET', '/connections');

    await page.getByRole('link', { name: 'Other SAML identity provider', exact: true }).click();
    await page.fill('#display_name', 'Wizard SAML');
    await page.getByRole('button', { name: 'Create and show the steps' }).click();
    await page.waitForURL(/\/connections\/conn_/);
    const id = new URL(page.url()).pathname.split('/').pop();
    assert.ok(id && !before.connections.some((c) => c.id === id), 'a new connection appears');
    await page.getByLabel('Metadata URL', { exact: true }).fill(demo.base + '/idp/saml/metadata');
    await page.getByRole('button', { name: 'Save and check' }).click();
    await page.locator('.notice', { hasText: 'Saved' }).waitFor();
    await shot(page, 'e-wizard-2-draft');

    // The step done in the IdP's console: the development IdP's stand-in.
    const reg = await page.request.post(`${demo.base}/demo/idp/register/${id}`);
    assert.equal(reg.status(), 200, await reg.text());

    // Activation before a successful test is refused.
    assert.equal(await page.getByRole('button', { name: 'Activate', exact: true }).count(), 0, 'activation offered before a test');

    await page.getByRole('button', { name: 'Test sign-in' }).click();
    await page.waitForSelector('#ssotest-login');
    await shot(page, 'e-wizard-4-test-idp');
    await page.click('#ssotest-login button[value="alice@acme.test"]');
    await page.waitForURL(/\/admin\/portal\/connections\/conn_/);
    const result = await page.locator('#test').locator('xpath=..').innerText();
    assert.match(result, /Passed.*alice@acme\.test/s);
    await shot(page, 'e-wizard-5-test-passed');

    await page.getByRole('button', { name: 'Activate', exact: true }).click();
    await page.getByRole('button', { name: 'Activate', exact: true }).click();
    await page.waitForURL(/done=activated/);
    await shot(page, 'e-wizard-6-active');
    const c = await adminAPI(demo.base, 'acme', 'GET', `/connections/${id}`);
    assert.equal(c.status, 'active');
    assert.equal(c.last_test.ok, true);

    // Leave acme with a single active connection for the other scenarios.
    await adminAPI(demo.base, 'acme', 'POST', `/connections/${id}/disable`);
  }));

  test('(e2) a setup link from the dashboard, and break-glass sign-in reachable from the sign-in page', () => withPage(async (page) => {
    await loginThroughDevIdP(page, demo.base, 'alice@acme.test');
    await page.click('#create-setup-link');
    const link = await page.inputValue('#setup-link');
    assert.match(link, /\/admin\/portal\/start\//);
    await shot(page, 'e2-setup-link');
    await page.click('#logout');
    await page.goto(demo.base + '/login');
    await page.click('#break-glass');
    await page.waitForURL(/\/login\/local$/);
    assert.equal(await page.locator('form[action="/login/local"]').count(), 1);
  }));

  test('(f) MFA enrolment with a TOTP code computed by the test', () => withPage(async (page) => {
    await loginThroughDevIdP(page, demo.base, 'dave@globex.test');
    await page.goto(demo.base + '/account/mfa');
    assert.equal((await page.textContent('#totp-state')).trim(), 'not enrolled');
    await page.click('#enrol-start');
    await page.waitForSelector('#secret:not(:empty)');
    await page.waitForFunction(() => document.getElementById('qr').complete && document.getElementById('qr').naturalWidth > 0);
    const secret = (await page.textContent('#secret')).trim();
    assert.match(secret, /^[A-Z2-7]+=*$/, 'the secret is base32');
    await shot(page, 'f-mfa-1-secret');

    // A wrong code is refused first.
    const code = totp(base32Decode(secret));
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
    await page.fill('#code', wrong);
    await page.click('#enrol-confirm');
    await page.locator('#enrol-error', { hasText: 'Code not accepted' }).waitFor();

    await page.fill('#code', totp(base32Decode(secret)));
    await page.click('#enrol-confirm');
    await page.waitForSelector('#recovery-codes', { state: 'visible' });
    const codes = (await page.textContent('#recovery-codes')).trim().split('\n').filter(Boolean);
    assert.ok(codes.length >= 8, `recovery codes shown (${codes.length})`);
    await shot(page, 'f-mfa-2-recovery-codes');

    await page.goto(demo.base + '/account/mfa');
    assert.equal((await page.textContent('#totp-state')).trim(), 'enrolled');
    await shot(page, 'f-mfa-3-enrolled');
  }));

  test('(g) revoking another session logs that browser out', async () => {
    const ctxA = await browser.newContext();
    const ctxB = await browser.newContext();
    try {
      const a = await ctxA.newPage();
      const b = await ctxB.newPage();
      await loginThroughDevIdP(a, demo.base, 'carol@acme.test');
      await loginThroughDevIdP(b, demo.base, 'carol@acme.test');
      await a.goto(demo.base + '/account/sessions');
      const rows = a.locator('#sessions tbody tr[data-session]');
      assert.equal(await rows.count(), 2, 'both sessions are listed');
      await shot(a, 'g-sessions-1-two');
      const other = a.locator('#sessions tbody tr[data-session]:has(.revoke)');
      assert.equal(await other.count(), 1, 'only the other session can be revoked');
      await other.locator('.revoke').click();
      await a.waitForURL(/\/account\/sessions$/);
      assert.equal(await rows.count(), 1);
      await shot(a, 'g-sessions-2-revoked');

      // The other browser's next request finds its session gone.
      await b.goto(demo.base + '/dashboard');
      await b.waitForURL(/\/login\?return_to=/);
      assert.equal(await b.locator('#email').count(), 1);
      await shot(b, 'g-sessions-3-other-logged-out');
      // The revoking browser is still signed in.
      await a.goto(demo.base + '/dashboard');
      assert.equal((await a.textContent('#auth-method')).trim(), 'saml');
    } catch (err) {
      err.message += `\n--- demo log (tail) ---\n${demo.logTail()}`;
      throw err;
    } finally {
      await ctxA.close();
      await ctxB.close();
    }
  });

  test('(h) a failed sign-in says what happened and what to do next', () => withPage(async (page) => {
    // A callback whose sign-in this browser never started (or already used).
    let res = await page.goto(demo.base + '/sso/oidc/callback?state=not-a-state&code=x');
    assert.equal(res.status(), 400);
    assert.equal((await page.textContent('h1')).trim(), 'This sign-in expired');
    assert.match(await page.textContent('#error-message'), /already used, or was started in another browser/);
    assert.match(await page.textContent('#error-next'), /Start signing in again/);
    assert.equal((await page.textContent('#error-reason')).trim(), 'state_invalid');
    await shot(page, 'h-error-1-state');

    // The SAML ACS opened directly, as a reload or a bookmark would.
    res = await page.goto(demo.base + '/sso/saml/acs');
    assert.equal(res.status(), 405);
    assert.match(await page.textContent('#error-message'), /cannot be opened directly/);
    assert.equal((await page.textContent('#error-reason')).trim(), 'acs_not_posted');
    await page.getByRole('link', { name: 'Back to sign in' }).click();
    await page.waitForURL(/\/login$/);
    assert.equal(await page.locator('#email').count(), 1, 'the link leads to the sign-in page');
    await shot(page, 'h-error-2-acs-get');
  }));

  test('(i) an OIDC app tile starts a login that lands on the page it names, only on this site', () => withPage(async (page) => {
    const { connections } = await adminAPI(demo.base, 'globex', 'GET', '/connections');
    const conn = connections.find((c) => c.protocol === 'oidc');
    assert.ok(conn, 'the demo has an OIDC connection for Globex');
    // The login URL the portal gives for the IdP's "initiate login URI".
    const tile = (target) => `${conn.sp.login_url}?` + new URLSearchParams({
      iss: conn.oidc.issuer, login_hint: 'bob@globex.test', target_link_uri: target,
    });
    // As the IdP's dashboard would: the login lands on the page it names.
    await page.goto(tile(demo.base + '/account/sessions'));
    await page.waitForURL(/\/account\/sessions$/);
    assert.equal(await page.locator('#sessions').count(), 1, 'signed in, on the named page');
    await shot(page, 'i-tile-1-landed');
    // Another site's target is dropped: the login lands on the default page.
    await page.goto(tile('https://evil.example/phish'));
    await page.waitForURL(/\/dashboard$/);
    assert.ok(page.url().startsWith(demo.base + '/'), `landed on ${page.url()}`);
    await shot(page, 'i-tile-2-other-site-dropped');
  }));
});
