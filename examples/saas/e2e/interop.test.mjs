// Real-browser logins through real IdPs: SimpleSAMLphp (SAML) and panva
// oidc-provider (OIDC). Each connection is created through the admin API,
// registered at the IdP, proven with the wizard's test login in the browser,
// activated, and then used by a user on the email-first page.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminAPI, launchBrowser, loginThroughDevIdP, shot, startDemo, inContext } from './lib.mjs';
import {
  missingOIDCProvider, missingSimpleSAMLphp, opUser, sspUsers, startOIDCProvider, startSimpleSAMLphp,
} from './peers.mjs';

describe('demo with real IdPs', () => {
  let demo;
  let browser;
  const cleanups = [];

  before(async () => {
    demo = await startDemo();
    browser = await launchBrowser();
  });

  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await browser?.close();
    await demo?.stop();
  });

  // runTestAndActivate runs the test sign-in of the connection in the admin
  // portal as an admin already signed in on page, completes the IdP's
  // login with signIn, and activates the connection once the test passed.
  async function runTestAndActivate(page, id, signIn, prefix) {
    await page.goto(`${demo.base}/admin/portal/connections/${id}`);
    await page.getByRole('button', { name: 'Test sign-in' }).click();
    await signIn(page);
    await page.waitForURL(/\/admin\/portal\/connections\/conn_/);
    assert.match(await page.locator('#test').locator('xpath=..').innerText(), /Passed/);
    await shot(page, `${prefix}-test-passed`);
    await page.getByRole('button', { name: 'Activate', exact: true }).click();
    await page.getByRole('button', { name: 'Activate', exact: true }).click();
    await page.waitForURL(/done=activated/);
    await shot(page, `${prefix}-active`);
  }

  // chooseConnection signs in on the email-first page and picks the
  // connection named name on the chooser (the org has two active ones).
  async function chooseConnection(page, email, name, prefix) {
    await page.goto(demo.base + '/login');
    await page.fill('#email', email);
    await page.click('#continue');
    const link = page.locator('a.button', { hasText: name });
    await link.waitFor();
    await shot(page, `${prefix}-chooser`);
    await link.click();
  }

  const withContext = (fn, peer) => inContext(browser, demo, fn, peer);

  test('(c) SAML login through SimpleSAMLphp', { skip: missingSimpleSAMLphp() || false }, async () => {
    const ssp = await startSimpleSAMLphp();
    cleanups.push(() => ssp.stop());
    const conn = await adminAPI(demo.base, 'acme', 'POST', '/connections', {
      protocol: 'saml', display_name: 'SimpleSAMLphp',
      config: { metadata_url: ssp.metadataURL },
      group_roles: [{ group: 'Engineering', role: 'engineer' }],
    });
    assert.equal(conn.saml.idp_entity_id, ssp.entityID);
    const md = await fetch(conn.sp.metadata_url);
    assert.equal(md.status, 200);
    ssp.registerSP(conn.id, await md.text());

    const sspSignIn = async (page, prefix) => {
      await page.waitForSelector('input[name="username"]');
      await page.fill('input[name="username"]', 'sam');
      await page.fill('input[name="password"]', sspUsers.sam.password);
      if (prefix) await shot(page, `${prefix}-ssp-login`);
      await page.press('input[name="password"]', 'Enter');
    };
    await withContext(async (page) => {
      await loginThroughDevIdP(page, demo.base, 'alice@acme.test');
      await runTestAndActivate(page, conn.id, (p) => sspSignIn(p, 'c-ssp-1'), 'c-ssp-2');
    }, ssp);
    await withContext(async (page) => {
      await chooseConnection(page, sspUsers.sam.email, 'SimpleSAMLphp', 'c-ssp-3');
      await sspSignIn(page, 'c-ssp-4');
      await page.waitForURL(/\/dashboard$/);
      await shot(page, 'c-ssp-5-dashboard');
      assert.equal((await page.textContent('#auth-method')).trim(), 'saml');
      assert.match(await page.textContent('#whoami'), /sam@acme\.test · Acme Corp/);
      assert.match(await page.textContent('#roles'), /engineer/);
    }, ssp);
  });

  test('(d) OIDC login through oidc-provider', { skip: missingOIDCProvider() || false }, async () => {
    // The provider's user is alice@example.com: Globex verifies example.com
    // on its domains page first (through the demo's DNS zone).
    await withContext(async (page) => {
      await loginThroughDevIdP(page, demo.base, 'bob@globex.test');
      await page.goto(demo.base + '/admin/portal/domains');
      await page.fill('#name', 'example.com');
      await page.getByRole('button', { name: 'Add domain' }).click();
      const pub = await page.request.post(`${demo.base}/demo/dns/publish/example.com`);
      assert.equal(pub.status(), 200, await pub.text());
      const card = page.locator('section.card', { has: page.locator('h2:text-is("example.com")') });
      await card.getByRole('button', { name: 'Check now' }).click();
      assert.match(await page.locator('section.card', { has: page.locator('h2:text-is("example.com")') }).locator('.badge').innerText(), /Verified/i);
      await shot(page, 'd-op-1-domain-verified');
    });

    // The connection's redirect URI names its ID, so the provider starts
    // once for the discovery the configuration needs, and again on the same
    // port (same issuer and keys) with the client registered.
    const client = { client_id: 'ssokit-demo-e2e', client_secret: 'ssokit-demo-e2e-secret-0123456789', token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'], response_types: ['code'] };
    let op = await startOIDCProvider([{ ...client, redirect_uris: ['http://127.0.0.1/placeholder'] }]);
    const conn = await adminAPI(demo.base, 'globex', 'POST', '/connections', {
      protocol: 'oidc', display_name: 'oidc-provider',
      config: { issuer: op.issuer, client_id: client.client_id, client_secret: client.client_secret, auth_method: 'client_secret_basic',
        scopes: ['openid', 'email', 'profile', 'groups'] },
      group_roles: [{ group: 'admins', role: 'admin' }],
    });
    await op.stop();
    op = await startOIDCProvider([{ ...client, redirect_uris: [conn.sp.redirect_uri] }], op.port, op.jwksFile);
    cleanups.push(() => op.stop());

    const opSignIn = async (page, prefix) => {
      await page.waitForSelector('input[name="username"]');
      await page.fill('input[name="username"]', opUser.username);
      await page.fill('input[name="password"]', opUser.password);
      if (prefix) await shot(page, `${prefix}-op-login`);
      await page.press('input[name="password"]', 'Enter');
    };
    await withContext(async (page) => {
      await loginThroughDevIdP(page, demo.base, 'bob@globex.test');
      await runTestAndActivate(page, conn.id, (p) => opSignIn(p, 'd-op-2'), 'd-op-3');
    }, op);
    await withContext(async (page) => {
      await chooseConnection(page, opUser.email, 'oidc-provider', 'd-op-4');
      await opSignIn(page, 'd-op-5');
      await page.waitForURL(/\/dashboard$/);
      await shot(page, 'd-op-6-dashboard');
      assert.equal((await page.textContent('#auth-method')).trim(), 'oidc');
      assert.match(await page.textContent('#whoami'), /alice@example\.com · Globex/);
      assert.match(await page.textContent('#roles'), /\badmin\b/);
    }, op);
  });
});
