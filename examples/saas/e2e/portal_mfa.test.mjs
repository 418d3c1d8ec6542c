// Real-browser walk through the portal's multi-factor policy page: a
// customer's IT admin opens a setup link, requires a second factor with a
// short grace period (saved at once), then lowers the policy, which asks
// for a confirmation naming what it weakens, and meets a refusal of the
// admin API's checks next to its field. Each page must have no serious or
// critical axe-core violation and no horizontal scrolling at 375 px;
// screenshots land in $SSOKIT_E2E_ARTIFACTS/portal/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { artifacts, launchBrowser, killGroup } from './lib.mjs';
import { pageChecker, startPortal } from './portalkit.mjs';

const shots = path.join(artifacts, 'portal');
const check = pageChecker(shots);
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

test('an IT admin requires a second factor, then lowers the policy with a confirmation', async () => {
  // axe-core is injected as an inline script, which the portal's CSP forbids.
  const ctx = await browser.newContext({ bypassCSP: true });
  try {
    const page = await ctx.newPage();
    await page.goto(server.links[0]);
    await page.getByRole('button', { name: 'Start setup' }).click();
    await page.waitForURL(/\/portal\/$/);
    await page.goto(server.base + '/sso');
    await page.getByRole('link', { name: 'multi-factor policy' }).click();
    await page.waitForURL(/\/portal\/mfa$/);
    assert.equal(await page.getByLabel('Days to set up a second factor').inputValue(), '7');
    await check(page, 'mfa-policy');

    // Raising the policy saves at once.
    await page.getByLabel('Require a second factor').selectOption('true');
    await page.getByLabel('Days to set up a second factor').fill('3');
    await page.getByRole('button', { name: 'Save the policy' }).click();
    await page.waitForURL(/\/portal\/mfa\?done=saved$/);
    assert.match(await page.locator('main').innerText(), /Changes saved/);
    assert.equal(await page.getByLabel('Days to set up a second factor').inputValue(), '3');

    // A check of the admin API is shown next to its field; nothing is saved.
    await page.getByLabel('Ask the identity provider again for sensitive actions').selectOption('true');
    await page.getByRole('button', { name: 'Save the policy' }).click();
    assert.equal(await page.getByLabel('Ask the identity provider again for sensitive actions').getAttribute('aria-invalid'), 'true');
    assert.match(await page.locator('main').innerText(), /could not be saved: it needs “Count the identity provider's second factor” set to Yes/);
    await check(page, 'mfa-policy-refused');

    // Lowering it asks first.
    await page.goto(server.base + '/mfa');
    await page.getByLabel('Require a second factor').selectOption('false');
    await page.getByRole('button', { name: 'Save the policy' }).click();
    assert.match(await page.locator('main').innerText(), /no longer need a second factor/);
    await check(page, 'mfa-policy-confirm');
    await page.getByRole('button', { name: 'Save the weaker policy' }).click();
    await page.waitForURL(/\/portal\/mfa\?done=saved$/);
    assert.equal(await page.getByLabel('Require a second factor').inputValue(), 'false');
  } finally {
    await ctx.close();
  }
});
