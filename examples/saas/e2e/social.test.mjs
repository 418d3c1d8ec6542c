// Social sign-in in the demo, in headless Chromium, against a real OpenID
// provider configured like Google (panva oidc-provider,
// oidc/testdata/op/social.mjs): a newcomer whose verified address is in an
// organization's verified domain joins it and lands on the dashboard; an
// unverified address claiming the break-glass admin's is refused with a
// page that says what to do; once the organization enforces SSO, the same
// person is sent to its IdP instead; a member links a Google account from
// the account pages and then signs in with it; another user linking the
// same account is refused with a page that leads back to the account page.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { adminAPI, freePort, killGroup, launchBrowser, passwordLogin, shot, startDemo, waitHTTP } from './lib.mjs';
import { missingOIDCProvider, opDir } from './peers.mjs';

let demo;
let op;
let browser;
before(async () => {
  const missing = missingOIDCProvider();
  if (missing) throw new Error(missing);
  const demoPort = await freePort();
  const opPort = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssokit-e2e-social-'));
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  fs.writeFileSync(path.join(dir, 'jwks.json'), JSON.stringify({ keys: [{ ...rsa, kid: 'e2e-social-rs-1', alg: 'RS256', use: 'sig' },
    { ...ec, kid: 'e2e-social-es-1', alg: 'ES256', use: 'sig' }] }));
  const clients = [{ client_id: 'demo-social', client_secret: 'demo-social-secret', token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: [`http://127.0.0.1:${demoPort}/auth/social/google/callback`], grant_types: ['authorization_code'], response_types: ['code'] }];
  const log = fs.openSync(path.join(dir, 'op.log'), 'a');
  const proc = spawn(process.execPath, [path.join(opDir, 'social.mjs')], {
    cwd: opDir, stdio: ['ignore', log, log], detached: true,
    env: { ...process.env, OP_PORT: String(opPort), OP_JWKS: path.join(dir, 'jwks.json'), OP_CLIENTS: JSON.stringify(clients),
      WORK_TID: '72f988bf-86f1-41af-91ab-2d7cd011db47' },
  });
  op = { base: `http://127.0.0.1:${opPort}`, stop: () => killGroup(proc) };
  await waitHTTP(`${op.base}/google/.well-known/openid-configuration`);
  demo = await startDemo({ port: demoPort, env: {
    SSOKIT_GOOGLE_CLIENT_ID: 'demo-social', SSOKIT_GOOGLE_CLIENT_SECRET: 'demo-social-secret', SSOKIT_GOOGLE_ISSUER: `${op.base}/google`,
  } });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await demo?.stop();
  await op?.stop();
});

// google clicks the Google button on the login page and signs in at the
// provider as username.
async function google(page, username, prefix) {
  await page.goto(demo.base + '/login');
  await page.waitForSelector('#social-google');
  if (prefix) await shot(page, `${prefix}-1-login`);
  await page.click('#social-google');
  await page.waitForURL((u) => u.href.startsWith(op.base));
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', 'pw');
  if (prefix) await shot(page, `${prefix}-2-provider`);
  await Promise.all([page.waitForURL((u) => u.href.startsWith(demo.base)), page.click('button')]);
  await page.waitForLoadState();
}

test('a newcomer with a verified address in a verified domain joins and signs in', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await google(page, 'newhire', 'social-newcomer');
    await page.waitForURL(/\/dashboard$/);
    assert.equal((await page.textContent('#auth-method')).trim(), 'social');
    await shot(page, 'social-newcomer-3-dashboard');
  } finally {
    await context.close();
  }
});

test('an unverified address claiming the admin\'s is refused', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await google(page, 'impostor');
    const err = page.locator('#social-error');
    assert.equal(await err.getAttribute('data-reason'), 'email_not_verified');
    assert.match(await err.textContent(), /not verified/);
    await shot(page, 'social-impostor-refused');
    await page.goto(demo.base + '/dashboard');
    assert.notEqual(new URL(page.url()).pathname, '/dashboard', 'the impostor must not be signed in');
  } finally {
    await context.close();
  }
});

test('a member of an organization that enforces SSO is sent to its IdP', async () => {
  await adminAPI(demo.base, 'acme', 'PUT', '/enforcement', { enabled: true });
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await google(page, 'newhire');
    await page.waitForURL((u) => u.pathname.startsWith('/idp/') || u.pathname.startsWith('/sso/'));
    await shot(page, 'social-enforced-routed');
    assert.ok(new URL(page.url()).pathname.startsWith('/idp/'), `routed to ${page.url()}`);
  } finally {
    await context.close();
    await adminAPI(demo.base, 'acme', 'PUT', '/enforcement', { enabled: false });
  }
});

test('a member links Google from a recent password sign-in, then signs in with it', async () => {
  const linking = await browser.newContext();
  const page = await linking.newPage();
  try {
    await passwordLogin(page, demo.base, 'root@globex.test');
    await page.click('#nav-linked');
    await page.waitForSelector('#link-google');
    assert.match(await page.textContent('#linked'), /No linked accounts/);
    await shot(page, 'social-link-1-page');
    await page.click('#link-google');
    await page.waitForURL((u) => u.href.startsWith(op.base));
    await page.fill('input[name=username]', 'gina');
    await page.fill('input[name=password]', 'pw');
    await Promise.all([page.waitForURL((u) => u.href.startsWith(demo.base)), page.click('button')]);
    await page.waitForURL(/\/account\/linked$/);
    const row = page.locator('#linked li[data-provider=google]');
    await row.waitFor();
    assert.match(await row.textContent(), /gina@gmail\.com/);
    await shot(page, 'social-link-2-linked');
  } finally {
    await linking.close();
  }
  const later = await browser.newContext();
  const again = await later.newPage();
  try {
    await google(again, 'gina');
    await again.waitForURL(/\/dashboard$/);
    assert.equal((await again.textContent('#auth-method')).trim(), 'social');
    assert.match(await again.textContent('#whoami'), /root@globex\.test/);
    await shot(again, 'social-link-3-signed-in');
  } finally {
    await later.close();
  }
});

test('linking an account another user already linked is refused, with a way back to the account page', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await passwordLogin(page, demo.base, 'root@acme.test');
    await page.click('#nav-linked');
    await page.waitForSelector('#link-google');
    await page.click('#link-google');
    await page.waitForURL((u) => u.href.startsWith(op.base));
    await page.fill('input[name=username]', 'gina'); // linked to root@globex.test by the test above
    await page.fill('input[name=password]', 'pw');
    await Promise.all([page.waitForURL((u) => u.href.startsWith(demo.base)), page.click('button')]);
    const err = page.locator('#social-error');
    assert.equal(await err.getAttribute('data-reason'), 'identity_in_use');
    assert.match(await page.textContent('h1'), /not linked/);
    await shot(page, 'social-link-4-in-use');
    await page.click('text=Back to your account');
    await page.waitForURL(/\/account\/linked$/);
    await page.waitForSelector('#link-google');
    assert.match(await page.textContent('#linked'), /No linked accounts/);
  } finally {
    await context.close();
  }
});
