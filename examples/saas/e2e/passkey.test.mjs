// Passkeys in the demo, in headless Chromium with the DevTools virtual
// authenticator (WebAuthn.addVirtualAuthenticator: a CTAP2 platform
// authenticator with resident keys and user verification): register a
// passkey in a password session, sign out, sign in with the passkey button
// and with autofill (conditional mediation), then manage the passkeys
// (a second one only after a sign-in with the first); a member whose
// organization then enforces SSO is taken from the passkey sign-in to the
// organization's IdP.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { adminAPI, launchBrowser, passwordLogin, shot, startDemo } from './lib.mjs';

let demo;
let browser;
before(async () => {
  demo = await startDemo({ host: 'localhost' });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await demo?.stop();
});

async function withAuthenticator(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
      isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { cdp, authenticatorId };
}

test('register a passkey, then sign in with it (autofill and button)', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    const { cdp, authenticatorId } = await withAuthenticator(page);
    await passwordLogin(page, demo.base);
    await page.goto(demo.base + '/account/passkeys');
    await page.fill('#passkey-name', 'Virtual authenticator');
    await page.click('#passkey-add');
    await page.waitForFunction(() => document.getElementById('passkey-status').textContent.includes('Passkey added'));
    await page.waitForSelector('#passkeys li[data-id]');
    await shot(page, 'passkey-1-registered');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].isResidentCredential, true, 'the passkey is a discoverable credential');

    // Signed out, the email field's passkey autofill (mediation
    // "conditional") signs in as soon as the passkey is picked, which the
    // virtual authenticator does by itself: no email, no password.
    await context.clearCookies();
    await page.goto(demo.base + '/login');
    await page.waitForURL(/\/dashboard$/, { timeout: 15_000 });
    assert.equal((await page.textContent('#auth-method')).trim(), 'passkey');
    await shot(page, 'passkey-2-autofill-dashboard');

    // A browser without autofill for passkeys uses the button.
    await context.clearCookies();
    await page.addInitScript(() => {
      if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    });
    await page.goto(demo.base + '/login');
    await page.waitForSelector('#passkey-login');
    assert.equal(await page.getAttribute('#email', 'autocomplete'), 'username webauthn');
    await shot(page, 'passkey-3-login-page');
    await page.click('#passkey-login');
    await page.waitForURL(/\/dashboard$/);
    assert.equal((await page.textContent('#auth-method')).trim(), 'passkey');
  } finally {
    await context.close();
  }
});

test('manage passkeys: a password alone adds no second passkey; after a passkey sign-in, a second device, rename, delete', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const names = () => page.$$eval('#passkeys li[data-id]', (lis) => lis.map((li) => li.textContent));
  try {
    const { cdp, authenticatorId } = await withAuthenticator(page);
    // Globex's break-glass admin: the other test registered Acme's.
    await passwordLogin(page, demo.base, 'root@globex.test');
    await page.goto(demo.base + '/account/passkeys');
    await page.fill('#passkey-name', 'First');
    await page.click('#passkey-add');
    await page.waitForFunction(() => document.getElementById('passkey-status').textContent.includes('Passkey added'));

    // A passkey signs in with MFA, so once the user has one, a session
    // that knows only the password (a stolen one, say) adds no other.
    await page.fill('#passkey-name', 'Intruder');
    await page.click('#passkey-add');
    await page.waitForFunction(() => document.getElementById('passkey-status').textContent.includes('confirm it is you'));
    await shot(page, 'passkey-4-second-factor-needed');
    await page.waitForSelector('#passkeys li[data-id]');
    assert.equal((await names()).length, 1);

    // Signed in with the passkey, the person adds one on a second device
    // (a security key: one authenticator holds one passkey per account).
    await context.clearCookies();
    await page.goto(demo.base + '/login');
    await page.waitForURL(/\/dashboard$/, { timeout: 15_000 });
    assert.equal((await page.textContent('#auth-method')).trim(), 'passkey');
    await page.goto(demo.base + '/account/passkeys');
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true,
        isUserVerified: true, automaticPresenceSimulation: true },
    });
    await page.fill('#passkey-name', 'Second');
    await page.click('#passkey-add');
    await page.waitForFunction(() => [...document.querySelectorAll('#passkeys li')].some((li) => li.textContent.startsWith('Second')));
    page.once('dialog', (d) => d.accept('Renamed'));
    await page.click('#passkeys li:first-child button:not(.delete)');
    await page.waitForFunction(() => [...document.querySelectorAll('#passkeys li')].some((li) => li.textContent.startsWith('Renamed')));
    const before = await page.locator('#passkeys li[data-id]').count();
    assert.equal(before, 2);
    await page.click('#passkeys li:first-child button.delete');
    await page.waitForFunction((n) => document.querySelectorAll('#passkeys li[data-id]').length === n - 1, before);
    await shot(page, 'passkey-5-managed');
  } finally {
    await context.close();
  }
});

// mailLink waits for the newest link to addr matching re on /dev/mail.
async function mailLink(addr, re) {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const html = await (await fetch(demo.base + '/dev/mail')).text();
    for (const art of html.split('<article>').slice(1)) {
      const m = re.exec(art);
      if (art.includes(`To ${addr} `) && m) return m[1];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no link ${re} to ${addr} at /dev/mail`);
}

// memberWithPasskey signs addr up with a password (joining Acme by its
// verified domain), signs in and registers a passkey, in page.
async function memberWithPasskey(page, addr, password) {
  await withAuthenticator(page);
  await page.goto(demo.base + '/signup');
  await page.fill('#name', addr.split('@')[0]);
  await page.fill('#email', addr);
  await page.fill('#password', password);
  await page.click('#sign-up');
  await page.waitForSelector('#account-notice');
  await page.goto(await mailLink(addr, /(http:\/\/\S+\/account\/verify\?token=[A-Za-z0-9_-]+)/));
  await page.click('#confirm');
  await page.waitForSelector('#account-notice');
  await page.goto(`${demo.base}/login/local?login_hint=${encodeURIComponent(addr)}`);
  await page.fill('#password', password);
  await page.click('#sign-in');
  await page.waitForURL(/\/dashboard$/);
  await page.goto(demo.base + '/account/passkeys');
  await page.click('#passkey-add');
  await page.waitForFunction(() => document.getElementById('passkey-status').textContent.includes('Passkey added'));
}

test('a member whose organization enforces SSO is taken from the passkey sign-in to its IdP', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await memberWithPasskey(page, 'pia@acme.test', 'amber meadow kettle 2031');
    await adminAPI(demo.base, 'acme', 'PUT', '/enforcement', { enabled: true });
    await context.clearCookies();
    await page.goto(demo.base + '/login');
    await page.waitForURL((u) => u.pathname.startsWith('/idp/'), { timeout: 15_000 });
    await shot(page, 'passkey-6-sso-required-routed');
  } finally {
    await adminAPI(demo.base, 'acme', 'PUT', '/enforcement', { enabled: false }).catch(() => {});
    await context.close();
  }
});

test('when the organization requires MFA, a password sign-in is verified with the passkey, not sent to set up an app', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const addr = 'quinn@acme.test';
  try {
    await memberWithPasskey(page, addr, 'violet harbor lantern 2031');
    await adminAPI(demo.base, 'acme', 'PUT', '/mfa-policy', { required: true });
    await context.clearCookies();
    await page.addInitScript(() => {
      if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    });
    await page.goto(`${demo.base}/login/local?login_hint=${encodeURIComponent(addr)}`);
    await page.fill('#password', 'violet harbor lantern 2031');
    await page.click('#sign-in');
    await page.waitForURL((u) => u.pathname === '/account/mfa');
    assert.equal((await page.textContent('#mfa-policy')).trim(), 'verification_required');
    assert.equal(await page.locator('#enrol-card').count(), 0, 'no authenticator-app setup before the passkey check');
    await shot(page, 'passkey-7-mfa-verify');
    await page.click('#passkey-verify');
    await page.waitForURL((u) => u.pathname === '/dashboard');
    await page.goto(demo.base + '/account/mfa');
    assert.equal((await page.textContent('#session-mfa')).trim(), 'verified');
    await shot(page, 'passkey-8-mfa-verified');
  } finally {
    await adminAPI(demo.base, 'acme', 'PUT', '/mfa-policy', { required: false, confirm: true }).catch(() => {});
    await context.close();
  }
});
