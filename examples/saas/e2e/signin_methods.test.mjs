// Each organization's own ways to sign in, in headless Chromium against the
// demo: Acme's admin narrows them on the portal's "Ways to sign in" page
// (passkey and emailed code), Globex's through the admin API (password and
// sign-in link). With their IdPs switched off, the email-first page then
// offers each organization its own set, and a way an organization turned
// off is refused, with a message that says what to do, even when it is
// used directly (a magic link opened from the email, a password posted to
// the login form).
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { adminAPI, artifacts, inContext, launchBrowser, loginThroughDevIdP, shot, startDemo } from './lib.mjs';
import { pageChecker } from './portalkit.mjs';

const check = pageChecker(path.join(artifacts, 'signin-methods'));

// signInMail waits for the newest sign-in email to addr at /dev/mail and
// returns its code and link.
async function signInMail(base, addr, seen) {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const html = await (await fetch(base + '/dev/mail')).text();
    const mails = [];
    for (const art of html.split('<article>').slice(1)) {
      if (!art.includes(`To ${addr} `) || !art.includes('sign-in code')) continue;
      const code = /code is (\d+)/.exec(art);
      const link = /(http:\/\/\S+\/auth\/email\/link\?token=[A-Za-z0-9_-]+)/.exec(art);
      if (code && link) mails.push({ code: code[1], link: link[1] });
    }
    if (mails.length > seen) return { ...mails[0], count: mails.length };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no new sign-in email to ${addr} at /dev/mail`);
}

// mailLink waits for the newest link matching re in an email to addr.
async function mailLink(base, addr, re) {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const html = await (await fetch(base + '/dev/mail')).text();
    for (const art of html.split('<article>').slice(1)) {
      const m = re.exec(art);
      if (art.includes(`To ${addr} `) && m) return m[1];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no link ${re} to ${addr} at /dev/mail`);
}

describe('each organization offers its own ways to sign in', () => {
  let demo;
  let browser;

  before(async () => {
    // localhost: passkeys need a host name.
    demo = await startDemo({ host: 'localhost' });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await demo?.stop();
  });

  const withPage = (fn) => inContext(browser, demo, fn);

  // withAxe is withPage in a context that bypasses the page's CSP, so
  // that axe-core can be injected.
  async function withAxe(fn) {
    const ctx = await browser.newContext({ bypassCSP: true });
    try {
      await fn(await ctx.newPage());
    } catch (err) {
      err.message += `\n--- demo log (tail) ---\n${demo.logTail()}`;
      throw err;
    } finally {
      await ctx.close();
    }
  }

  test('(m-a) Acme\'s admin chooses passkey and emailed code on the portal page; Globex chooses password and link', () => withAxe(async (page) => {
    await loginThroughDevIdP(page, demo.base, 'alice@acme.test');
    await page.goto(demo.base + '/admin/portal/sso');
    await page.click('#sign-in-methods-link');
    await page.waitForURL(/\/admin\/portal\/sign-in-methods$/);
    assert.equal(await page.isChecked('#choice-all'), true);
    await check(page, 'm-a-1-page');
    await page.check('#choice-some');
    for (const m of ['password', 'magic_link', 'social']) await page.uncheck(`#method-${m}`);
    // Nothing chosen is refused with a message on the page.
    await page.uncheck('#method-passkey');
    await page.uncheck('#method-email_code');
    await page.getByRole('button', { name: 'Save ways to sign in' }).click();
    assert.match(await page.textContent('main'), /Choose at least one way to sign in/);
    await check(page, 'm-a-2-nothing-chosen');
    await page.check('#choice-some');
    await page.check('#method-passkey');
    await page.check('#method-email_code');
    await page.getByRole('button', { name: 'Save ways to sign in' }).click();
    // The box to sign out the ways turned off is ticked by default; Alice's
    // SSO session is not one of them, and no one had signed in otherwise.
    await page.waitForURL(/sign-in-methods\?done=saved&ended=\d+$/);
    assert.equal(new URL(page.url()).searchParams.get('ended'), '0');
    assert.equal(await page.isChecked('#method-password'), false);
    assert.equal(await page.isChecked('#method-passkey'), true);
    await check(page, 'm-a-3-saved');

    const acme = await adminAPI(demo.base, 'acme', 'GET', '/org');
    assert.deepEqual(acme.allowed_sign_in_methods, ['passkey', 'email_code']);
    const globex = await adminAPI(demo.base, 'globex', 'PATCH', '/org', { sign_in_methods: ['password', 'magic_link'] });
    assert.deepEqual(globex.allowed_sign_in_methods, ['password', 'magic_link']);
    // Without their IdPs, both organizations' members sign in locally.
    for (const org of ['acme', 'globex']) await adminAPI(demo.base, org, 'POST', `/connections/conn_${org}/disable`);
  }));

  // continueAs types email on the email-first page and returns the page it
  // leads to.
  async function continueAs(page, email) {
    await page.goto(demo.base + '/login');
    await page.fill('#email', email);
    await page.click('#continue');
    await page.waitForURL(/\/login\/local\?/);
    return new URL(page.url());
  }

  test('(m-b) the email-first page offers each organization its own set', () => withPage(async (page) => {
    let u = await continueAs(page, 'newcomer@acme.test');
    assert.equal(u.searchParams.get('methods'), 'passkey,email_code');
    await page.waitForSelector('#passkey-login');
    assert.equal(await page.locator('#sign-in').count(), 0, 'Acme turned passwords off: no password form');
    assert.equal(await page.locator('#email-code').count(), 1);
    assert.match(await page.textContent('#methods-note'), /ways your organization lets you sign in/);
    await shot(page, 'm-b-1-acme');

    u = await continueAs(page, 'someone@globex.test');
    assert.equal(u.searchParams.get('methods'), 'password,magic_link');
    assert.equal(await page.locator('#sign-in').count(), 1);
    assert.equal(await page.locator('#email-code').count(), 1);
    // The script has run (the status line is its), without a passkey button.
    await page.waitForSelector('#signin-status', { state: 'attached' });
    assert.equal(await page.locator('#passkey-login').count(), 0, 'Globex turned passkeys off: no passkey button');
    await shot(page, 'm-b-2-globex');

    // The answer depends on the domain only: a known and an unknown
    // address of Acme get the same set.
    u = await continueAs(page, 'root@acme.test');
    assert.equal(u.searchParams.get('methods'), 'passkey,email_code');
  }));

  test('(m-c) a magic link from Acme, which allows only codes, is refused; its code signs in', () => withPage(async (page) => {
    const who = 'root@acme.test';
    const seen = (await fetch(demo.base + '/dev/mail').then((r) => r.text())).split('<article>').filter((a) => a.includes(`To ${who} `) && a.includes('sign-in code')).length;
    await page.goto(`${demo.base}/login/email?login_hint=${encodeURIComponent(who)}`);
    await page.click('#send-code');
    await page.waitForSelector('#check-email');
    const mail = await signInMail(demo.base, who, seen);
    await page.goto(mail.link);
    await page.click('#continue');
    assert.match(await page.textContent('#message'), /turned off sign-in by emailed code or link/);
    await shot(page, 'm-c-1-link-refused');
    assert.notEqual(new URL(page.url()).pathname, '/dashboard');

    await page.goto(`${demo.base}/login/email?login_hint=${encodeURIComponent(who)}`);
    await page.click('#send-code');
    await page.waitForSelector('#check-email');
    const next = await signInMail(demo.base, who, mail.count);
    await page.fill('#code', next.code);
    await page.click('#verify-code');
    await page.waitForURL(/\/dashboard/);
    assert.equal((await page.textContent('#auth-method')).trim(), 'email_code');
  }));

  test('(m-d) a password posted for an Acme member is refused with what to do', () => withPage(async (page) => {
    // A newcomer signs up with a password; confirming the address joins
    // Acme by its domain's auto-join policy.
    const addr = 'pia@acme.test';
    const pw = 'correct horse battery staple';
    await page.goto(demo.base + '/signup');
    await page.fill('#name', 'Pia');
    await page.fill('#email', addr);
    await page.fill('#password', pw);
    await page.click('#sign-up');
    await page.waitForSelector('#account-notice');
    await page.goto(await mailLink(demo.base, addr, /(http:\/\/\S+\/account\/verify\?token=[A-Za-z0-9_-]+)/));
    await page.click('#confirm');
    await page.waitForSelector('#account-notice');
    // The password form is not offered for Acme; posted directly, the
    // right password is refused.
    await page.goto(`${demo.base}/login/local?login_hint=${encodeURIComponent(addr)}`);
    await page.fill('#password', pw);
    await page.click('#sign-in');
    await page.waitForSelector('#login-error');
    assert.match(await page.textContent('#login-error'), /turned off password sign-in/);
    await shot(page, 'm-d-1-password-refused');
    const res = await page.request.get(demo.base + '/dashboard', { maxRedirects: 0 });
    assert.notEqual(res.status(), 200, 'no session after a refused password');
  }));
});
