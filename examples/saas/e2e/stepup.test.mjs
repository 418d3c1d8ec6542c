// A step-up at the IdP that the IdP cannot satisfy: Acme asks for second
// factors at its IdP, and the development IdP asserts no MFA for Alice, so
// our check refuses the step-up's answer. The demo's refusal page says
// what happened; with the organization's local fallback on, Alice confirms
// with her authenticator app (codes from oathtool) and lands back where
// she was; with it off, the page only offers another try at the IdP.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  adminAPI, artifacts, base32Decode, inContext, launchBrowser, loginThroughDevIdP, shot, startDemo, totp,
} from './lib.mjs';
import { pageChecker } from './portalkit.mjs';

let demo;
let browser;
const shots = path.join(artifacts, 'stepup');
const check = pageChecker(shots);

before(async () => {
  fs.mkdirSync(shots, { recursive: true });
  demo = await startDemo();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await demo?.stop();
});

// code returns the TOTP code for secret at offset seconds from now, from
// oathtool when it is installed (CI sets SSOKIT_TEST_OATHTOOL), else from
// the suite's own RFC 6238 code (checked against oathtool in totp.test.mjs).
function code(secret, offset = 0) {
  const at = Math.floor(Date.now() / 1000) + offset;
  try {
    return execFileSync('oathtool', ['--totp', '-b', secret, '-N', `@${at}`]).toString().trim();
  } catch (err) {
    if (process.env.SSOKIT_TEST_OATHTOOL) throw err;
    return totp(base32Decode(secret), { time: at * 1000 });
  }
}

// A browser context for Alice with a session made before the policy
// change (a login under the new policy would itself ask the IdP for MFA).
async function aliceSession() {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await loginThroughDevIdP(page, demo.base, 'alice@acme.test');
  return { ctx, page };
}

// stepUpAtIdP sends the page to the dashboard, which now needs a second
// factor: the demo sends it to the IdP, Alice picks herself there, and the
// refused answer lands on the refusal page.
async function stepUpAtIdP(page) {
  await page.goto(demo.base + '/dashboard');
  await page.waitForURL((u) => u.pathname.startsWith('/idp/'));
  await page.click('#ssotest-login button[value="alice@acme.test"]');
  await page.waitForURL((u) => u.pathname === '/account/step-up');
  assert.match(await page.textContent('#stepup-message'), /did not confirm a second factor/);
  assert.equal((await page.textContent('#stepup-reason')).trim(), 'mfa_not_performed');
}

test('a refused step-up at the IdP offers the local factor, then the other try at the IdP', async () => {
  let secret;
  await inContext(browser, demo, async (page) => {
    await loginThroughDevIdP(page, demo.base, 'alice@acme.test');
    await page.goto(demo.base + '/account/mfa');
    await page.click('#enrol-start');
    await page.waitForSelector('#secret:not(:empty)');
    secret = (await page.textContent('#secret')).trim();
    await page.fill('#code', code(secret));
    await page.click('#enrol-confirm');
    await page.waitForSelector('#recovery-codes', { state: 'visible' });
  });
  const withFallback = await aliceSession();
  const without = await aliceSession();
  try {
    await adminAPI(demo.base, 'acme', 'PUT', '/mfa-policy',
      { required: true, trust_idp_mfa: true, step_up_at_idp: true, step_up_local_fallback: true, confirm: true });

    const page = withFallback.page;
    await stepUpAtIdP(page);
    await page.waitForSelector('#stepup-totp');
    await check(page, 'stepup-1-refused-fallback');
    // The page itself grants nothing: the dashboard still asks.
    const still = await page.evaluate(async () => (await fetch('/dashboard', { headers: { Accept: 'application/json' } })).status);
    assert.equal(still, 403, 'the dashboard after merely opening the refusal page');
    // A wrong code is refused and says so.
    const right = code(secret, 30);
    await page.fill('#stepup-code', right === '000000' ? '111111' : '000000');
    await page.click('#stepup-verify');
    await page.locator('#stepup-result', { hasText: 'Not accepted' }).waitFor();
    await page.fill('#stepup-code', right);
    await page.click('#stepup-verify');
    await page.waitForURL((u) => u.pathname === '/dashboard');
    await page.waitForSelector('#auth-method');
    await shot(page, 'stepup-2-back-on-dashboard');

    await adminAPI(demo.base, 'acme', 'PUT', '/mfa-policy', { step_up_local_fallback: false });
    const p2 = without.page;
    await stepUpAtIdP(p2);
    assert.equal(await p2.locator('#stepup-totp').count(), 0, 'no local factor without the fallback');
    await p2.waitForSelector('#stepup-idp-only');
    await check(p2, 'stepup-3-refused-idp-only');
    await p2.click('#stepup-retry');
    await p2.waitForURL((u) => u.pathname.startsWith('/idp/'));
    await p2.waitForSelector('#ssotest-login');
  } catch (err) {
    err.message += `\n--- demo log (tail) ---\n${demo.logTail()}`;
    throw err;
  } finally {
    await withFallback.ctx.close();
    await without.ctx.close();
  }
});
