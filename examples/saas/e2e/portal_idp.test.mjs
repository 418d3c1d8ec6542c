// The whole path a customer's IT admin takes through the admin portal, in
// headless Chromium, against real identity providers: SimpleSAMLphp set up
// as a generic SAML IdP and panva oidc-provider as a generic OpenID
// Connect provider. The admin opens a setup link made through the demo's
// API, follows the guide, pastes a wrong certificate (SAML) or a wrong
// client secret (OIDC), runs the test sign-in and reads the diagnosis on
// the portal's own page, fixes it, passes the test, activates, requires
// single sign-on, verifies a domain, creates a SCIM token and sees the
// first SCIM request in the directory sync page. Every page is checked
// with axe-core (no serious or critical violation) and saved at 1280 and
// 375 px under $SSOKIT_E2E_ARTIFACTS/portal-idp/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { adminAPI, artifacts, launchBrowser, loginThroughDevIdP, startDemo } from './lib.mjs';
import { pageChecker } from './portalkit.mjs';
import {
  missingOIDCProvider, missingSimpleSAMLphp, opUser, sspUsers, startOIDCProvider, startSimpleSAMLphp,
} from './peers.mjs';

const shots = path.join(artifacts, 'portal-idp');

// check runs axe-core on the page, checks that nothing scrolls sideways at
// 375 px, and saves both screenshots.
const check = pageChecker(shots);

// otherCertificate returns the base64 body of a new self-signed
// certificate: one the IdP does not sign with.
function otherCertificate() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssokit-e2e-cert-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', '/CN=not the IdP',
    '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem')], { stdio: 'ignore' });
  const pem = fs.readFileSync(path.join(dir, 'c.pem'), 'utf8');
  fs.rmSync(dir, { recursive: true, force: true });
  return pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
}

// spValue reads one of our values the guide shows next to its step.
async function spValue(page, key) {
  return page.locator(`input[id^="v-"][id$="-${key}"]`).first().inputValue();
}

describe('admin portal walk with real IdPs', () => {
  let demo;
  let browser;
  const cleanups = [];

  before(async () => {
    fs.mkdirSync(shots, { recursive: true });
    demo = await startDemo();
    browser = await launchBrowser();
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await browser?.close();
    await demo?.stop();
  });

  // openSetupLink makes a setup link through the demo's API and starts a
  // portal session with it in a new browser context (bypassCSP lets axe be
  // injected; portal.test.mjs checks the CSP itself).
  async function openSetupLink(org, prefix) {
    const link = await adminAPI(demo.base, org, 'POST', '/setup-links', { sections: ['sso', 'domains', 'directory_sync', 'audit'] });
    assert.match(link.url, /\/admin\/portal\/start\//);
    const ctx = await browser.newContext({ bypassCSP: true });
    const page = await ctx.newPage();
    await page.goto(link.url);
    await check(page, `${prefix}-00-start`);
    await page.getByRole('button', { name: 'Start setup' }).click();
    await page.waitForURL(/\/admin\/portal\/$/);
    return { ctx, page };
  }

  // publisher signs an org admin of the demo in, in a context of its own,
  // and returns a function that publishes a domain's TXT record in the
  // demo's DNS zone: the part the IT admin does at the DNS provider.
  async function publisher(email) {
    const ctx = await browser.newContext();
    cleanups.push(() => ctx.close());
    const page = await ctx.newPage();
    await loginThroughDevIdP(page, demo.base, email);
    return async (domain) => {
      const res = await page.request.post(`${demo.base}/demo/dns/publish/${encodeURIComponent(domain)}`);
      assert.equal(res.status(), 200, `publishing ${domain}: ${await res.text()}`);
    };
  }

  // newConnection creates a connection from the guide named guideName.
  async function newConnection(page, guideName, name, prefix) {
    await page.goto(demo.base + '/admin/portal/sso');
    await check(page, `${prefix}-01-sso`);
    await page.getByRole('link', { name: guideName, exact: true }).click();
    await page.fill('#display_name', name);
    await check(page, `${prefix}-02-new`);
    await page.getByRole('button', { name: 'Create and show the steps' }).click();
    await page.waitForURL(/\/connections\/conn_/);
    assert.match(await page.locator('.notice').innerText(), /Connection created/);
    await check(page, `${prefix}-03-guide`);
    return new URL(page.url()).pathname.split('/').pop();
  }

  // saveAndCheck saves pasted IdP details and waits for them to be read.
  async function saveAndCheck(page) {
    await page.getByRole('button', { name: 'Save and check' }).click();
    const notice = page.locator('.notice', { hasText: 'Saved' });
    await notice.waitFor();
  }

  // testSignIn presses "Test sign-in", completes the IdP's login with
  // signIn and waits to be back on the connection's page.
  async function testSignIn(page, signIn) {
    await page.getByRole('button', { name: 'Test sign-in' }).click();
    await signIn(page);
    await page.waitForURL(/\/admin\/portal\/connections\/conn_[^/?#]+(#test)?$/);
    return page.locator('#test').locator('xpath=..');
  }

  // activateAndEnforce activates the tested connection and then requires
  // single sign-on, both through their confirmation pages.
  async function activateAndEnforce(page, prefix) {
    await page.getByRole('button', { name: 'Activate', exact: true }).click();
    await check(page, `${prefix}-08-confirm-activate`);
    await page.getByRole('button', { name: 'Activate', exact: true }).click();
    await page.waitForURL(/done=activated/);
    assert.match(await page.locator('.badge').first().innerText(), /Active/i);
    await check(page, `${prefix}-09-active`);
    await page.goto(demo.base + '/admin/portal/sso');
    await page.getByRole('button', { name: 'Require single sign-on' }).click();
    await check(page, `${prefix}-10-confirm-enforce`);
    await page.getByRole('button', { name: 'Require single sign-on' }).click();
    await page.waitForURL(/\/admin\/portal\/sso\?done=/);
    assert.match(await page.locator('#h-enf').locator('xpath=..').innerText(), /Single sign-on is required/);
    await check(page, `${prefix}-11-enforced`);
  }

  // verifyDomain adds domain on the Domains page, sees the check fail
  // before the record exists, publishes it and sees it verified.
  async function verifyDomain(page, domain, publish, prefix) {
    await page.goto(demo.base + '/admin/portal/domains');
    if (!(await page.locator(`h2:text-is("${domain}")`).count())) {
      await page.fill('#name', domain);
      await page.getByRole('button', { name: 'Add domain' }).click();
    }
    const card = page.locator('section.card', { has: page.locator(`h2:text-is("${domain}")`) });
    await card.getByRole('button', { name: 'Check now' }).click();
    assert.match(await page.locator('.problem').first().innerText(), /TXT record|DNS/);
    await check(page, `${prefix}-12-domain-not-found`);
    await publish(domain);
    await page.locator('section.card', { has: page.locator(`h2:text-is("${domain}")`) }).getByRole('button', { name: 'Check now' }).click();
    const verified = page.locator('section.card', { has: page.locator(`h2:text-is("${domain}")`) });
    assert.match(await verified.locator('.badge').innerText(), /Verified/i);
    await check(page, `${prefix}-13-domain-verified`);
  }

  // scimFirstRequest creates a SCIM token on the directory sync page,
  // sends a first SCIM request with it and sees it on the page.
  async function scimFirstRequest(page, email, prefix) {
    await page.goto(demo.base + '/admin/portal/directory');
    await page.fill('#description', 'e2e provisioning');
    await page.getByRole('button', { name: 'Create token' }).click();
    const token = await page.locator('#new-token').inputValue();
    assert.match(token, /^ssokit_scim_/);
    const base = await page.locator('#scim-base').inputValue();
    await check(page, `${prefix}-14-scim-token`);
    await page.goto(demo.base + '/admin/portal/directory');
    assert.match(await page.locator('td[data-label="Last used"]').first().innerText(), /No use recorded/);
    const res = await fetch(base.replace(/\/$/, '') + '/Users', {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: email, active: true,
        name: { givenName: 'First', familyName: 'Synced' }, emails: [{ value: email, primary: true }] }),
    });
    assert.equal(res.status, 201, `SCIM create: ${await res.text()}`);
    await page.reload();
    const used = await page.locator('td[data-label="Last used"]').first().innerText();
    assert.doesNotMatch(used, /No use recorded/);
    assert.match(used, /\d{4}/);
    // The sync status counts the synced user and shows the request.
    const status = await page.locator('#sync-status').innerText();
    assert.match(status, /Users synced\s+[1-9]/);
    assert.match(status, /Last request from your directory\s+\d+ \w+ \d{4}/);
    await check(page, `${prefix}-15-scim-used`);
  }

  async function walk(page, fn, peer) {
    try {
      await fn();
    } catch (err) {
      err.message += `\n--- page ${page.url()} ---\n${await page.locator('main').innerText().catch(() => '')}`;
      err.message += `\n--- demo log (tail) ---\n${demo.logTail()}`;
      if (peer) err.message += `\n--- peer log (tail) ---\n${peer.logTail()}`;
      throw err;
    }
  }

  test('SAML: SimpleSAMLphp as a generic SAML IdP, from a setup link to the first SCIM request',
    { skip: missingSimpleSAMLphp() || false }, async () => {
      const ssp = await startSimpleSAMLphp();
      cleanups.push(() => ssp.stop());
      const publish = await publisher('alice@acme.test');
      const { ctx, page } = await openSetupLink('acme', 'saml');
      cleanups.push(() => ctx.close());
      await walk(page, async () => {
        await check(page, 'saml-00-overview');
        const id = await newConnection(page, 'Other SAML identity provider', 'SimpleSAMLphp', 'saml');
        const md = await fetch(await spValue(page, 'metadata_url'));
        assert.equal(md.status, 200);
        ssp.registerSP(id, await md.text());

        // The IdP's metadata with another certificate in place of its own.
        const good = await (await fetch(ssp.metadataURL)).text();
        const wrong = good.replace(/(<ds:X509Certificate>)[^<]+(<\/ds:X509Certificate>)/g, `$1${otherCertificate()}$2`);
        assert.notEqual(wrong, good);
        await page.getByLabel('Or paste the metadata XML').fill(wrong);
        await saveAndCheck(page);
        assert.match(await page.locator('main').innerText(), /CN=not the IdP/);
        await check(page, 'saml-04-wrong-certificate-saved');

        const signIn = async (p) => {
          await p.waitForSelector('input[name="username"]');
          await p.fill('input[name="username"]', 'sam');
          await p.fill('input[name="password"]', sspUsers.sam.password);
          await p.press('input[name="password"]', 'Enter');
        };
        let result = await testSignIn(page, signIn);
        const failed = await result.innerText();
        assert.match(failed, /Failed/);
        assert.match(failed, /certificate/i);
        assert.match(failed, /How to fix it/);
        // The diagnosis names both certificates by fingerprint.
        assert.match(failed, /want "[0-9a-f]{64}", got "[0-9a-f]{64}"/);
        assert.equal(await page.getByRole('button', { name: 'Activate', exact: true }).count(), 0, 'a failed test offers no activation');
        // The failed test is one attempt, listed as a test.
        const attempts = await page.locator('#h-attempts').locator('xpath=..').locator('tbody tr').allInnerTexts();
        assert.equal(attempts.length, 1, `attempts: ${attempts.join(' | ')}`);
        assert.match(attempts[0], /Test sign-in.*certificate_untrusted/s);
        await check(page, 'saml-05-test-failed');

        await page.getByLabel('Metadata URL', { exact: true }).fill(ssp.metadataURL);
        await saveAndCheck(page);
        assert.match(await page.locator('main').innerText(), /ssokit e2e SimpleSAMLphp/);
        await check(page, 'saml-06-metadata-fixed');
        result = await testSignIn(page, signIn);
        assert.match(await result.innerText(), new RegExp(`Passed.*${sspUsers.sam.email.replace('.', '\\.')}`, 's'));
        await check(page, 'saml-07-test-passed');

        await activateAndEnforce(page, 'saml');
        await verifyDomain(page, 'acme-eu.test', publish, 'saml');
        await scimFirstRequest(page, 'synced.user@acme.test', 'saml');
      }, ssp);
    });

  test('OIDC: oidc-provider as a generic OpenID Connect provider, from a setup link to the first SCIM request',
    { skip: missingOIDCProvider() || false }, async () => {
      const publish = await publisher('bob@globex.test');
      const { ctx, page } = await openSetupLink('globex', 'oidc');
      cleanups.push(() => ctx.close());
      let op;
      await walk(page, async () => {
        await newConnection(page, 'Other OpenID Connect provider', 'oidc-provider', 'oidc');
        // The provider learns our redirect URI from the guide, as an admin
        // registering the application in its console would.
        const client = { client_id: 'ssokit-portal-e2e', client_secret: 'ssokit-portal-e2e-secret-0123456789', token_endpoint_auth_method: 'client_secret_basic',
          grant_types: ['authorization_code'], response_types: ['code'], redirect_uris: [await spValue(page, 'redirect_uri')] };
        op = await startOIDCProvider([client]);
        cleanups.push(() => op.stop());

        const paste = async (secret) => {
          await page.getByLabel('Issuer URL').fill(op.issuer);
          await page.getByLabel('Client ID').fill(client.client_id);
          await page.getByLabel('Client secret').fill(secret);
          await page.getByLabel('Scopes (optional)').fill('openid email profile');
          await saveAndCheck(page);
        };
        await paste('not-the-secret-0123456789abcdef');
        await check(page, 'oidc-04-wrong-secret-saved');
        const signIn = async (p) => {
          await p.waitForSelector('input[name="username"]');
          await p.fill('input[name="username"]', opUser.username);
          await p.fill('input[name="password"]', opUser.password);
          await p.press('input[name="password"]', 'Enter');
        };
        let result = await testSignIn(page, signIn);
        const failed = await result.innerText();
        assert.match(failed, /Failed/);
        assert.match(failed, /client secret/i);
        assert.match(failed, /How to fix it/);
        await check(page, 'oidc-05-test-failed');

        // With the right secret the provider's side passes, but its user is
        // alice@example.com and example.com is not verified yet: a real
        // sign-in would be refused, so the test fails with the next step
        // and activation is not offered.
        await paste(client.client_secret);
        await check(page, 'oidc-06-secret-fixed');
        result = await testSignIn(page, signIn);
        const refused = await result.innerText();
        assert.match(refused, /Failed/);
        assert.match(refused, /a real login would be refused: email_domain_not_verified/);
        assert.match(refused, /Verify the email domain on the Domains page/);
        assert.equal(await page.getByRole('button', { name: 'Activate', exact: true }).count(), 0, 'activation offered despite the refusal');
        await check(page, 'oidc-06b-policy-refused');

        await verifyDomain(page, 'example.com', publish, 'oidc');
        await page.goto(demo.base + '/admin/portal/sso');
        await page.getByRole('link', { name: 'oidc-provider' }).click();
        result = await testSignIn(page, signIn);
        assert.match(await result.innerText(), /Passed.*alice@example\.com/s);
        await check(page, 'oidc-07-test-passed');

        await activateAndEnforce(page, 'oidc');
        await scimFirstRequest(page, 'synced.user@example.com', 'oidc');
      }, op);
    });
});
