// Real-browser walk through the portal's advanced connection settings, the
// connection import and the allowed networks (IP allowlist): a customer's IT
// admin opens a setup link, configures a SAML connection by hand, then uses
// each page, including its errors and confirmations. Each page must have no
// serious or critical axe-core violation, no Content-Security-Policy
// violation, and no horizontal scrolling at 375 px; screenshots at 1280 and
// 375 px land in $SSOKIT_E2E_ARTIFACTS/portal/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { artifacts, launchBrowser, killGroup } from './lib.mjs';
import { pageChecker, startPortal } from './portalkit.mjs';

const shots = path.join(artifacts, 'portal');

let server;
let browser;
let certPEM;

before(async () => {
  fs.mkdirSync(shots, { recursive: true });
  // An IdP signing certificate that expires in 10 days: the page warns.
  certPEM = execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', '/dev/null',
    '-subj', '/CN=e2e-idp', '-days', '10'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  server = await startPortal();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (server) await killGroup(server.proc);
});

const check = pageChecker(shots);

async function start(link, opts) {
  const ctx = await browser.newContext(opts);
  const page = await ctx.newPage();
  await page.goto(link);
  await page.getByRole('button', { name: 'Start setup' }).click();
  await page.waitForURL(/\/portal\/$/);
  return { ctx, page };
}

// metadata is SAML IdP metadata signed with certPEM's key.
function metadata(entityID) {
  const b64 = certPEM.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  return `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${entityID}">` +
    '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">' +
    `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
    '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>' +
    '</md:IDPSSODescriptor></md:EntityDescriptor>';
}

test('an IT admin sets advanced settings, imports connections and limits networks', async () => {
  const { ctx, page } = await start(server.links[0], { bypassCSP: true });
  try {
    // Configure the seeded SAML connection by hand.
    await page.goto(server.base + '/sso');
    const href = await page.locator('a[href*="/connections/conn_"]').first().getAttribute('href');
    await page.goto(new URL(href, server.base).toString());
    await page.getByText('No metadata? Enter the details by hand').click();
    await page.getByLabel('Identity provider entity ID (issuer)').fill('https://idp.example.com/e2e');
    await page.getByLabel('Single sign-on URL').fill('https://idp.example.com/sso');
    await page.getByLabel('Signing certificate (PEM)').fill(certPEM);
    await page.getByRole('button', { name: 'Save and check' }).click();
    assert.match(await page.locator('main').innerText(), /This certificate expires in \d+ days/);
    await page.getByRole('link', { name: 'Advanced settings' }).click();
    await page.waitForURL(/\/advanced$/);
    assert.match(await page.locator('main').innerText(), /Our entity ID \(audience\)/);
    await check(page, 'advanced');

    // A foreign ACS URL is refused next to its field.
    await page.getByLabel('Our Assertion Consumer Service URL for this connection').fill('https://elsewhere.example/acs');
    await page.getByRole('button', { name: 'Save advanced settings' }).click();
    assert.equal(await page.getByLabel('Our Assertion Consumer Service URL for this connection').getAttribute('aria-invalid'), 'true');
    assert.match(await page.locator('#a-1-help').innerText(), /could not be used/);
    assert.equal(await page.locator('[aria-invalid="true"]').count(), 1, 'only the ACS URL field is marked');
    await check(page, 'advanced-error');

    // The own entity ID and a weakening choice: the risk is confirmed.
    await page.getByLabel('Our Assertion Consumer Service URL for this connection').fill('');
    await page.getByLabel('Our entity ID (audience) for this connection').fill('urn:legacy:e2e');
    await page.getByLabel('Accept the old RSA 1.5 encryption for encrypted assertions').selectOption('true');
    await page.getByRole('button', { name: 'Save advanced settings' }).click();
    assert.match(await page.locator('main').innerText(), /RSA 1\.5 key transport, which is open to known attacks/);
    await check(page, 'advanced-confirm');
    await page.getByRole('button', { name: 'Lower security and save' }).click();
    await page.waitForURL(/\/advanced\?done=saved_retest$/);
    const main = await page.locator('main').innerText();
    assert.match(main, /Our entity ID \(audience\)\s*urn:legacy:e2e/);
    assert.match(main, /padding-oracle/, 'the API warning about the weakened setting is shown');
    await check(page, 'advanced-saved');

    // IdP-initiated sign-in and SHA-1, once set only by the operator, are
    // settable after confirming their risks.
    await page.getByLabel('Accept sign-ins started at the identity provider').selectOption('true');
    await page.getByLabel('Accept SHA-1 signatures').selectOption('true');
    await page.getByRole('button', { name: 'Save advanced settings' }).click();
    const risks = await page.locator('main').innerText();
    assert.match(risks, /replayed to sign in as that person/);
    assert.match(risks, /SHA-1 signatures can be forged/);
    await check(page, 'advanced-switches-confirm');
    await page.getByRole('button', { name: 'Lower security and save' }).click();
    await page.waitForURL(/\/advanced\?done=saved_retest$/);
    const switched = await page.locator('main').innerText();
    assert.match(switched, /AllowIdPInitiated accepts unsolicited responses/);
    assert.match(switched, /AllowSHA1 accepts RSA-SHA1 signatures/);
    assert.equal(await page.getByLabel('Accept sign-ins started at the identity provider').inputValue(), 'true');
    assert.doesNotMatch(switched, /set by the application's operator/);
    await check(page, 'advanced-switches-saved');
    await page.getByRole('link', { name: /^Back to / }).click();
    assert.match(await page.locator('main').innerText(), /Warnings\s*[\s\S]*padding-oracle/, 'the connection page shows the warning too');
    await check(page, 'connection-warnings');

    // Import: an invalid row is named; a valid file is checked, confirmed, applied.
    await page.goto(server.base + '/sso');
    await page.getByRole('link', { name: 'Import your connections' }).click();
    await check(page, 'import');
    await page.getByLabel('Rows (JSON or CSV)').fill(JSON.stringify([{ name: 'Broken', protocol: 'saml' }]));
    await page.getByRole('button', { name: 'Check the import' }).click();
    assert.match(await page.locator('main').innerText(), /Invalid: fix and check again/);
    assert.equal(await page.getByRole('button', { name: 'Import these connections' }).count(), 0);
    await check(page, 'import-invalid');
    const file = JSON.stringify({ connections: [{ name: 'Legacy Okta', protocol: 'saml', idp_metadata_xml: metadata('https://okta.example.com/legacy'), sp_entity_id: 'urn:legacy:okta' }] });
    await page.locator('#import-file').setInputFiles({ name: 'connections.json', mimeType: 'application/json', buffer: Buffer.from(file) });
    await page.waitForFunction(() => document.getElementById('import-rows').value.includes('Legacy Okta'));
    await page.getByRole('button', { name: 'Check the import' }).click();
    assert.match(await page.locator('main').innerText(), /1 to create, 0 to update, 0 unchanged, 0 invalid/);
    await check(page, 'import-plan');
    await page.getByRole('button', { name: 'Import these connections' }).click();
    assert.match(await page.locator('main').innerText(), /Create 1 and update 0 connections/);
    await check(page, 'import-confirm');
    await page.getByRole('button', { name: 'Import connections' }).click();
    assert.match(await page.locator('.notice').innerText(), /Imported: 1 created/);
    await check(page, 'import-done');
    await page.goto(server.base + '/sso');
    assert.match(await page.locator('main').innerText(), /Legacy Okta/);

    // Allowed networks: a bad entry, then a list that leaves the admin out.
    await page.getByRole('link', { name: 'allowed networks' }).click();
    await check(page, 'network');
    await page.getByLabel('Allowed networks, one per line').fill('127.0.0.1/32\n10.0.0.0/33');
    await page.getByRole('button', { name: 'Save allowed networks' }).click();
    assert.match(await page.locator('main').innerText(), /Entry 2 of the list, “10\.0\.0\.0\/33”, is not a network/);
    await check(page, 'network-error');
    await page.getByLabel('Allowed networks, one per line').fill('203.0.113.0/24');
    await page.getByRole('button', { name: 'Save allowed networks' }).click();
    assert.match(await page.locator('main').innerText(), /Your own address 127\.0\.0\.1 is not in this list/);
    await check(page, 'network-confirm');
    await page.getByRole('link', { name: 'Cancel' }).click();
    await page.getByLabel('Allowed networks, one per line').fill('127.0.0.1/32\n203.0.113.0/24');
    await page.getByRole('button', { name: 'Save allowed networks' }).click();
    assert.match(await page.locator('.notice').innerText(), /Changes saved/);
    assert.equal(await page.getByLabel('Allowed networks, one per line').inputValue(), '127.0.0.1/32\n203.0.113.0/24');
    await check(page, 'network-saved');
  } finally {
    await ctx.close();
  }
});

test('the settings pages raise no Content-Security-Policy violation', async () => {
  const { ctx, page } = await start(server.links[1], {});
  const violations = [];
  page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text()); });
  try {
    await page.goto(server.base + '/sso');
    const href = await page.locator('a[href*="/connections/conn_"]').first().getAttribute('href');
    for (const p of [new URL(href, server.base).pathname + '/advanced', '/portal/sso/import', '/portal/network']) {
      await page.goto(new URL(p, server.base).toString());
      assert.equal(await page.locator('h1').count(), 1, `${p}: page did not render`);
    }
    assert.ok(await page.goto(server.base + '/sso/import').then(() => page.locator('#import-file').isVisible()),
      'the file picker is shown when the import script runs');
    assert.deepEqual(violations, []);
  } finally {
    await ctx.close();
  }
});
