// Real-browser walk through the admin portal: a customer's IT admin opens a
// setup link and visits every page. Each page must have no serious or
// critical axe-core violation, no Content-Security-Policy violation, and no
// horizontal scrolling at 375 px; screenshots at 1280 and 375 px land in
// $SSOKIT_E2E_ARTIFACTS/portal/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { artifacts, launchBrowser, killGroup } from './lib.mjs';
import { pageChecker, startPortal } from './portalkit.mjs';

const shots = path.join(artifacts, 'portal');

let server;
let browser;

before(async () => {
  fs.mkdirSync(shots, { recursive: true });
  server = await startPortal();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (server) await killGroup(server.proc);
});

const check = pageChecker(shots);

// start opens a setup link in a new context and presses "Start setup".
async function start(link, opts) {
  const ctx = await browser.newContext(opts);
  const page = await ctx.newPage();
  await page.goto(link);
  await page.getByRole('button', { name: 'Start setup' }).click();
  await page.waitForURL(/\/portal\/$/);
  return { ctx, page };
}

test('an IT admin walks every portal page through a setup link', async () => {
  // bypassCSP lets the test inject axe-core; the CSP itself is checked in
  // the next test.
  const { ctx, page } = await start(server.links[0], { bypassCSP: true });
  try {
    await check(page, 'overview');
    await page.getByRole('link', { name: 'Single sign-on', exact: true }).first().click();
    await check(page, 'sso');
    await page.getByRole('link', { name: 'Okta', exact: true }).click();
    await check(page, 'sso-new-okta');
    await page.getByRole('button', { name: 'Create and show the steps' }).click();
    await page.waitForURL(/\/connections\/conn_/);
    assert.match(await page.locator('.notice').innerText(), /Connection created/);
    assert.ok(await page.locator('button[data-copy]').first().isVisible(), 'copy buttons are shown when the script runs');
    await check(page, 'connection');
    // A bad paste names the field and the fix.
    await page.getByLabel('Or paste the metadata XML').fill('<html>not metadata</html>');
    await page.getByRole('button', { name: 'Save and check' }).click();
    assert.match(await page.locator('.problem').first().innerText(), /could not be used|identity provider/i);
    await check(page, 'connection-error');
    // A destructive action goes through a confirmation page.
    await page.getByRole('button', { name: 'Delete' }).click();
    assert.match(await page.locator('h1').innerText(), /Delete/);
    await check(page, 'confirm-delete');
    await page.getByRole('link', { name: 'Cancel' }).click();

    await page.getByRole('link', { name: 'Domains' }).first().click();
    await check(page, 'domains');
    await page.getByRole('button', { name: 'Check now' }).first().click();
    assert.match(await page.locator('.problem').first().innerText(), /TXT record|DNS/);
    await check(page, 'domains-check-failed');
    // Allowing other email domains weakens security: a confirmation says
    // what, then the page shows the rule as allowed, and it is turned off.
    await page.getByRole('button', { name: 'Allow other email domains' }).click();
    assert.match(await page.locator('main').innerText(), /lowers your organization's security/);
    await check(page, 'domains-policy-confirm');
    await page.getByRole('button', { name: 'Allow other email domains' }).click();
    assert.match(await page.locator('#h-policy').locator('xpath=..').innerText(), /Allowed/);
    await check(page, 'domains-policy-allowed');
    await page.getByRole('button', { name: 'Allow only verified domains' }).click();
    assert.match(await page.locator('#h-policy').locator('xpath=..').innerText(), /Not allowed/);

    await page.getByRole('link', { name: 'Directory sync' }).first().click();
    await check(page, 'directory');
    await page.getByRole('button', { name: 'Create token' }).click();
    assert.match(await page.locator('#new-token').inputValue(), /^ssokit_scim_/);
    await check(page, 'directory-new-token');

    await page.getByRole('link', { name: 'Audit log' }).first().click();
    assert.match(await page.locator('main').innerText(), /The log is intact/);
    await check(page, 'audit');
  } finally {
    await ctx.close();
  }
});

test('pages raise no Content-Security-Policy violation', async () => {
  const { ctx, page } = await start(server.links[1], {});
  const violations = [];
  page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text()); });
  try {
    for (const p of ['/', '/sso', '/sso/new/entra', '/domains', '/directory', '/audit']) {
      await page.goto(server.base + p);
      assert.equal(await page.locator('h1').count(), 1, `${p}: page did not render`);
    }
    assert.deepEqual(violations, []);
  } finally {
    await ctx.close();
  }
});
