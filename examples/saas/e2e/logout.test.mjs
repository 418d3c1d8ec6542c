// Logout end to end through real IdPs: a logout started at SimpleSAMLphp
// (IdP-initiated Single Logout) or at oidc-provider (back-channel logout)
// ends the app session, and the app's "Sign out" ends the IdP session too
// (SP-initiated SAML SLO; OIDC RP-initiated logout with id_token_hint,
// returning to post_logout_redirect_uri). oidc-provider 9 implements no
// front-channel logout, so that endpoint is covered by the oidc package's
// tests only.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminAPI, launchBrowser, loginThroughDevIdP, shot, startDemo, inContext } from './lib.mjs';
import {
  missingOIDCProvider, missingSimpleSAMLphp, opUser, sspUsers, startOIDCProvider, startSimpleSAMLphp,
} from './peers.mjs';

describe('logout through real IdPs', () => {
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

  const withContext = (fn, peer) => inContext(browser, demo, fn, peer);

  // activate runs the connection's test sign-in in the admin portal as an
  // admin signed in on page, completes the IdP's login with signIn, and
  // activates the connection once the test passed.
  async function activate(page, id, signIn) {
    await page.goto(`${demo.base}/admin/portal/connections/${id}`);
    await page.getByRole('button', { name: 'Test sign-in' }).click();
    await signIn(page);
    await page.waitForURL(/\/admin\/portal\/connections\/conn_/);
    assert.match(await page.locator('#test').locator('xpath=..').innerText(), /Passed/);
    // The first button asks for a confirmation, the second confirms.
    await page.getByRole('button', { name: 'Activate', exact: true }).click();
    await page.getByRole('button', { name: 'Activate', exact: true }).click();
    await page.waitForURL(/done=activated/);
  }

  // signInWith signs in on the email-first page through the connection
  // named name, using signIn at the IdP.
  async function signInWith(page, email, name, signIn) {
    await page.goto(demo.base + '/login');
    await page.fill('#email', email);
    await page.click('#continue');
    const link = page.locator('a.button', { hasText: name });
    await link.waitFor();
    await link.click();
    await signIn(page);
    await page.waitForURL(/\/dashboard$/);
  }

  // assertSignedOut checks that the protected page sends the browser to the
  // sign-in page: the app session is gone.
  async function assertSignedOut(page, prefix) {
    await page.goto(demo.base + '/dashboard');
    await page.waitForURL((u) => u.pathname === '/login');
    await shot(page, `${prefix}-signed-out`);
    assert.equal(new URL(page.url()).pathname, '/login');
  }

  test('SAML: IdP-initiated and SP-initiated Single Logout with SimpleSAMLphp', { skip: missingSimpleSAMLphp() || false }, async () => {
    const ssp = await startSimpleSAMLphp();
    cleanups.push(() => ssp.stop());
    const conn = await adminAPI(demo.base, 'acme', 'POST', '/connections', {
      protocol: 'saml', display_name: 'SimpleSAMLphp', config: { metadata_url: ssp.metadataURL },
    });
    assert.ok(conn.saml.slo_url, 'the IdP metadata advertises a SingleLogoutService');
    ssp.registerSP(conn.id, await (await fetch(conn.sp.metadata_url)).text());
    const sspSignIn = async (page) => {
      await page.waitForSelector('input[name="username"]');
      await page.fill('input[name="username"]', 'sam');
      await page.fill('input[name="password"]', sspUsers.sam.password);
      await page.press('input[name="password"]', 'Enter');
    };
    await withContext(async (page) => {
      await loginThroughDevIdP(page, demo.base, 'alice@acme.test');
      await activate(page, conn.id, sspSignIn);
    }, ssp);

    await withContext(async (page) => {
      // 1. Logout started at the IdP: SimpleSAMLphp sends a signed
      // LogoutRequest naming the NameID and SessionIndex to the app's SLO
      // endpoint, which ends that session and answers; the IdP then
      // returns the browser to ReturnTo.
      await signInWith(page, sspUsers.sam.email, 'SimpleSAMLphp', sspSignIn);
      await shot(page, 'slo-saml-1-dashboard');
      assert.equal((await page.textContent('#auth-method')).trim(), 'saml');
      await page.goto(`${ssp.base}/saml2/idp/SingleLogoutService.php?ReturnTo=${encodeURIComponent(demo.base + '/login?from=idp')}`);
      await page.waitForURL((u) => u.pathname === '/login' && u.searchParams.get('from') === 'idp');
      await shot(page, 'slo-saml-2-after-idp-logout');
      await assertSignedOut(page, 'slo-saml-3');

      // 2. Logout started in the app: "Sign out" ends the app session and
      // sends a LogoutRequest to SimpleSAMLphp, whose LogoutResponse
      // returns to the sign-in page; the IdP session is gone too, so the
      // next SSO login asks for the password again.
      await signInWith(page, sspUsers.sam.email, 'SimpleSAMLphp', sspSignIn);
      await page.click('#logout');
      await page.waitForURL((u) => u.pathname === '/login');
      await shot(page, 'slo-saml-4-after-app-logout');
      await assertSignedOut(page, 'slo-saml-5');
      await page.goto(demo.base + '/login');
      await page.fill('#email', sspUsers.sam.email);
      await page.click('#continue');
      await page.locator('a.button', { hasText: 'SimpleSAMLphp' }).click();
      await page.waitForSelector('input[name="username"]');
      await shot(page, 'slo-saml-6-idp-asks-again');
    }, ssp);
  });

  test('OIDC: RP-initiated and back-channel logout with oidc-provider', { skip: missingOIDCProvider() || false }, async () => {
    await withContext(async (page) => {
      await loginThroughDevIdP(page, demo.base, 'bob@globex.test');
      await page.goto(demo.base + '/admin/portal/domains');
      await page.fill('#name', 'example.com');
      await page.getByRole('button', { name: 'Add domain' }).click();
      const pub = await page.request.post(`${demo.base}/demo/dns/publish/example.com`);
      assert.equal(pub.status(), 200, await pub.text());
      const card = () => page.locator('section.card', { has: page.locator('h2:text-is("example.com")') });
      await card().getByRole('button', { name: 'Check now' }).click();
      assert.match(await card().locator('.badge').innerText(), /Verified/i);
    });
    const client = { client_id: 'ssokit-logout-e2e', client_secret: 'ssokit-logout-e2e-secret-0123456789', token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'], response_types: ['code'] };
    const signedOut = demo.base + '/login';
    let op = await startOIDCProvider([{ ...client, redirect_uris: ['http://127.0.0.1/placeholder'] }]);
    const conn = await adminAPI(demo.base, 'globex', 'POST', '/connections', {
      protocol: 'oidc', display_name: 'oidc-provider',
      config: { issuer: op.issuer, client_id: client.client_id, client_secret: client.client_secret, auth_method: 'client_secret_basic',
        scopes: ['openid', 'email', 'profile'], post_logout_redirect_uri: signedOut },
    });
    assert.ok(conn.sp.backchannel_logout_uri, 'the admin API names the back-channel logout URI to register');
    await op.stop();
    op = await startOIDCProvider([{
      ...client, redirect_uris: [conn.sp.redirect_uri], post_logout_redirect_uris: [signedOut],
      backchannel_logout_uri: conn.sp.backchannel_logout_uri, backchannel_logout_session_required: true,
    }], op.port, op.jwksFile);
    cleanups.push(() => op.stop());
    const opSignIn = async (page) => {
      await page.waitForSelector('input[name="username"]');
      await page.fill('input[name="username"]', opUser.username);
      await page.fill('input[name="password"]', opUser.password);
      await page.press('input[name="password"]', 'Enter');
    };
    await withContext(async (page) => {
      await loginThroughDevIdP(page, demo.base, 'bob@globex.test');
      await activate(page, conn.id, opSignIn);
    }, op);

    await withContext(async (page) => {
      // 1. RP-initiated: "Sign out" ends the app session and sends the
      // browser to the OP's end_session_endpoint with the login's ID token
      // as id_token_hint; the OP confirms and returns to
      // post_logout_redirect_uri.
      await signInWith(page, opUser.email, 'oidc-provider', opSignIn);
      assert.equal((await page.textContent('#auth-method')).trim(), 'oidc');
      const [endSession] = await Promise.all([
        page.waitForRequest((r) => r.url().startsWith(op.issuer + '/session/end')),
        page.click('#logout'),
      ]);
      const q = new URL(endSession.url()).searchParams;
      assert.ok(q.get('id_token_hint'), 'the logout carries id_token_hint');
      assert.equal(q.get('post_logout_redirect_uri'), signedOut);
      await page.locator('button[value="yes"]').click();
      await page.waitForURL((u) => u.href === signedOut);
      await shot(page, 'slo-oidc-1-after-rp-logout');
      await assertSignedOut(page, 'slo-oidc-2');

      // 2. Back-channel: the user signs out at the OP itself; the OP posts
      // a logout token (sub, sid) to the app, which ends the session it
      // names, though the browser never comes back to the app.
      await signInWith(page, opUser.email, 'oidc-provider', opSignIn);
      await page.goto(op.issuer + '/session/end');
      await page.locator('button[value="yes"]').click();
      await page.waitForURL((u) => u.href.startsWith(op.issuer) && !u.pathname.startsWith('/session/end/confirm'));
      await shot(page, 'slo-oidc-3-signed-out-at-op');
      await assertSignedOut(page, 'slo-oidc-4');
    }, op);
  });
});
