// Real-browser walk through the portal's integrations section against the
// demo: a customer's IT admin opens a setup link for "integrations", adds
// a webhook endpoint pointing at a real loopback receiver (its signing
// secret is shown once), sees the first delivery arrive in the delivery
// log, redelivers it, rotates the secret, edits the endpoint and moves it
// to a second receiver (a new secret, shown once, signs for the new URL and
// the old one no longer verifies), creates and disables an API
// client, saves token exchange audiences (first with a bad entry) and
// deletes the endpoint after a confirmation naming it. Each page must have
// no serious or critical axe-core violation and no horizontal scrolling at
// 375 px; screenshots at 1280 and 375 px land in
// $SSOKIT_E2E_ARTIFACTS/portal/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { adminAPI, artifacts, launchBrowser, startDemo } from './lib.mjs';
import { pageChecker } from './portalkit.mjs';

const shots = path.join(artifacts, 'portal');

let demo;
let browser;
let receiver;
let receiver2;
const received = [];
const received2 = [];

// listen starts a loopback receiver recording each request into into.
async function listen(into) {
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      into.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return srv;
}

// signedBy reports whether one of the Standard Webhooks signatures of a
// request verifies with secret, as a receiver checks it.
function signedBy(secret, r) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const want = crypto.createHmac('sha256', key)
    .update(`${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.${r.body}`).digest('base64');
  return String(r.headers['webhook-signature']).split(' ').some((s) => s === `v1,${want}`);
}

before(async () => {
  fs.mkdirSync(shots, { recursive: true });
  // The receiver: a real HTTP server on loopback that records each request.
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiver2 = await listen(received2);
  demo = await startDemo();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await demo?.stop();
  await new Promise((resolve) => receiver?.close(resolve));
  await new Promise((resolve) => receiver2?.close(resolve));
});

const check = pageChecker(shots);

test('integrations: webhook endpoint with a real receiver, API client and token exchange audiences', { timeout: 180_000 }, async () => {
  const org = 'acme';
  const link = await adminAPI(demo.base, org, 'POST', '/setup-links', { sections: ['integrations'] });
  // bypassCSP lets axe be injected; the portal's CSP is checked by its Go tests.
  const ctx = await browser.newContext({ bypassCSP: true });
  const page = await ctx.newPage();
  await page.goto(link.url);
  await page.getByRole('button', { name: 'Start setup' }).click();
  await page.waitForURL(/\/admin\/portal\/$/);
  await page.getByRole('link', { name: 'Integrations' }).click();
  await page.waitForURL(/\/integrations$/);
  await check(page, 'integrations-01-list');

  // Add a webhook endpoint for domain events.
  const hookURL = `http://127.0.0.1:${receiver.address().port}/ssokit`;
  await page.getByLabel('URL').fill(hookURL);
  await page.getByLabel('Description (optional)').fill('Our loopback receiver');
  await page.getByLabel('domain.added').check();
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  await page.getByText('you will not see it again').waitFor();
  const secret = await page.locator('#hook-secret').inputValue();
  assert.ok(secret.length >= 16, 'the signing secret is shown');
  await check(page, 'integrations-02-created');
  await page.getByRole('link', { name: 'Back to integrations' }).click();
  assert.ok(!(await page.content()).includes(secret), 'the secret is not shown a second time');
  await page.getByRole('link', { name: hookURL }).click();
  const hookPage = page.url();
  assert.match(hookPage, /\/integrations\/webhooks\/[^/]+$/);

  // An event of the organization reaches the receiver and the log.
  await adminAPI(demo.base, org, 'POST', '/domains', { name: `hooks-${Date.now()}.example` });
  const deadline = Date.now() + 30_000;
  while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  assert.ok(received.length > 0, 'the receiver got the delivery');
  assert.match(received[0].body, /domain\.added/);
  await page.goto(hookPage + '?status=delivered');
  await page.locator('#deliveries').getByText('HTTP 204').first().waitFor();
  await check(page, 'integrations-03-delivery-log');

  // Send it again: the receiver gets a second request.
  const before = received.length;
  await page.getByRole('button', { name: 'Send again' }).first().click();
  await page.getByText('Delivery queued again').waitFor();
  const deadline2 = Date.now() + 30_000;
  while (received.length === before && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 250));
  assert.ok(received.length > before, 'the redelivery reached the receiver');

  // Rotate the secret, keeping the old one for a day.
  await page.getByLabel('Keep signing with the old secret too for').selectOption('86400');
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  await page.getByText('The old secret also signs until').waitFor();
  const rotated = await page.locator('#hook-secret').inputValue();
  assert.notEqual(rotated, secret);
  await check(page, 'integrations-04-rotated');

  // Edit the endpoint: a bad URL is named next to the field, a save that
  // keeps the URL keeps the secret.
  await page.goto(hookPage);
  await page.getByRole('link', { name: 'Edit settings' }).click();
  await page.waitForURL(/\/edit$/);
  await check(page, 'integrations-04a-edit');
  await page.getByLabel('URL').fill('ftp://hooks.example/in');
  await page.getByRole('button', { name: 'Save endpoint' }).click();
  await page.locator('#hook-url[aria-invalid="true"]').waitFor();
  await check(page, 'integrations-04b-edit-error');
  await page.getByLabel('URL').fill(hookURL);
  await page.getByLabel('Description (optional)').fill('Billing receiver');
  await page.getByLabel('domain.verified').check();
  await page.getByRole('button', { name: 'Save endpoint' }).click();
  await page.getByText('Endpoint saved').waitFor();
  assert.ok((await page.content()).includes('Billing receiver'));
  assert.equal(await page.locator('#hook-secret').count(), 0, 'a save keeping the URL shows no secret');

  // Move it to a second receiver: a new secret, shown once, and the next
  // event goes there signed with it only.
  const movedURL = `http://127.0.0.1:${receiver2.address().port}/moved`;
  await page.getByRole('link', { name: 'Edit settings' }).click();
  await page.getByLabel('URL').fill(movedURL);
  await page.getByRole('button', { name: 'Save endpoint' }).click();
  await page.getByText('you will not see it again').waitFor();
  await page.getByText(`moved from ${hookURL}`).waitFor();
  const movedSecret = await page.locator('#hook-secret').inputValue();
  assert.ok(movedSecret !== rotated && movedSecret !== secret, 'the moved endpoint has a new secret');
  await check(page, 'integrations-04c-moved');
  const sentBefore = received.length;
  await adminAPI(demo.base, org, 'POST', '/domains', { name: `moved-${Date.now()}.example` });
  const deadline3 = Date.now() + 30_000;
  while (received2.length === 0 && Date.now() < deadline3) await new Promise((r) => setTimeout(r, 250));
  assert.ok(received2.length > 0, 'the new receiver got the delivery');
  assert.match(received2[0].body, /domain\.added/);
  assert.ok(signedBy(movedSecret, received2[0]), 'the new secret verifies the request');
  assert.ok(!signedBy(rotated, received2[0]) && !signedBy(secret, received2[0]), 'no old secret verifies the request');
  assert.equal(received.length, sentBefore, 'the old receiver got nothing after the move');
  await page.goto(hookPage);
  assert.ok(!(await page.content()).includes(movedSecret), 'the new secret is not shown a second time');

  // API client: secret once, then disable with a confirmation.
  await page.goto(demo.base + '/admin/portal/integrations');
  await page.getByLabel('Name').fill('Reporting');
  await page.getByRole('button', { name: 'Create client' }).click();
  const clientSecret = await page.locator('#client-secret').inputValue();
  assert.ok(clientSecret.length >= 16);
  await check(page, 'integrations-05-client-created');
  await page.goto(demo.base + '/admin/portal/integrations');
  assert.ok(!(await page.content()).includes(clientSecret), 'the client secret is not shown a second time');
  await page.getByRole('button', { name: 'Disable…' }).first().click();
  await page.getByText('“Reporting”').first().waitFor();
  await check(page, 'integrations-06-client-disable-confirm');
  await page.getByRole('button', { name: 'Disable client' }).click();
  await page.getByText('API client disabled').waitFor();

  // Token exchange audiences: a bad entry is named next to the list.
  await page.getByLabel('Audiences, one per line').fill('https://api.example.com\nhttp://plain.example');
  await page.getByRole('button', { name: 'Save audiences' }).click();
  await page.getByText('Entry 2, “http://plain.example”').first().waitFor();
  await check(page, 'integrations-07-audience-error');
  await page.getByLabel('Audiences, one per line').fill('https://api.example.com\nbilling-api');
  await page.getByRole('button', { name: 'Save audiences' }).click();
  await page.getByText('Token exchange audiences saved').waitFor();
  const ex = await adminAPI(demo.base, org, 'GET', '/token-exchange');
  assert.deepEqual(ex.audiences, ['billing-api', 'https://api.example.com']);

  // Delete the endpoint after a confirmation naming it.
  await page.goto(hookPage);
  await page.getByRole('button', { name: 'Delete…' }).click();
  await page.getByText(movedURL).first().waitFor();
  await check(page, 'integrations-08-delete-confirm');
  await page.getByRole('button', { name: 'Delete endpoint' }).click();
  await page.getByText('Endpoint deleted').waitFor();
  const list = await adminAPI(demo.base, org, 'GET', '/webhooks');
  assert.equal(list.endpoints.length, 0);
  await ctx.close();
});
