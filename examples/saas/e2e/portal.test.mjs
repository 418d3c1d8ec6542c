// Real-browser walk through the admin portal: a customer's IT admin opens a
// setup link and visits every page. Each page must have no serious or
// critical axe-core violation, no Content-Security-Policy violation, and no
// horizontal scrolling at 375 px; screenshots at 1280 and 375 px land in
// $SSOKIT_E2E_ARTIFACTS/portal/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { repoRoot, artifacts, freePort, launchBrowser, killGroup } from './lib.mjs';

const require = createRequire(import.meta.url);
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const shots = path.join(artifacts, 'portal');

let server;
let browser;

// startPortal builds and runs the portal's loopback server and resolves
// with its setup links.
async function startPortal() {
  let bin = process.env.SSOKIT_E2E_PORTAL_BIN;
  if (!bin) {
    bin = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ssokit-e2e-portal-')), 'portalserve');
    execFileSync('go', ['build', '-o', bin, './sso/portal/internal/portalserve'], { cwd: repoRoot, stdio: 'inherit' });
  }
  const port = await freePort();
  const proc = spawn(bin, ['-addr', `localhost:${port}`], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  proc.stderr.on('data', (b) => { err += b; });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`portalserve did not start in 30 s: ${err}`)), 30_000);
    proc.stdout.on('data', (b) => {
      out += b;
      if (out.includes('portal is running')) { clearTimeout(timer); resolve(); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`portalserve exited with ${code}: ${err}`)); });
  });
  proc.removeAllListeners('exit');
  const links = [...out.matchAll(/^setup link: (\S+)$/gm)].map((m) => m[1]);
  assert.equal(links.length, 2, `two setup links expected, got: ${out}`);
  return { proc, links, base: `http://localhost:${port}/portal` };
}

before(async () => {
  fs.mkdirSync(shots, { recursive: true });
  server = await startPortal();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (server) await killGroup(server.proc);
});

// check runs axe-core, the 375 px overflow check and both screenshots.
async function check(page, name) {
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.addScriptTag({ content: axeSource });
  const res = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  const bad = res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${name}: axe violations ${JSON.stringify(bad, null, 1)}`);
  await page.screenshot({ path: path.join(shots, `${name}-1280.png`), fullPage: true });
  await page.setViewportSize({ width: 375, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `${name}: ${overflow} px of horizontal scrolling at 375 px`);
  await page.screenshot({ path: path.join(shots, `${name}-375.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
}

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
