// A SAML connection moved from another vendor keeps the single logout and
// SP metadata URLs its IdP already knows (sp_slo_url, sp_metadata_url):
// SimpleSAMLphp reads our metadata from the old metadata URL, so its
// logout requests go to the old SLO URL, and a logout started at
// SimpleSAMLphp still ends the app session.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { adminAPI, inContext, launchBrowser, loginThroughDevIdP, shot, startDemo } from './lib.mjs';
import { missingSimpleSAMLphp, sspUsers, startSimpleSAMLphp } from './peers.mjs';

let demo;
let browser;
let ssp;

before(async () => {
  demo = await startDemo();
  browser = await launchBrowser();
});

after(async () => {
  await ssp?.stop();
  await browser?.close();
  await demo?.stop();
});

test('SimpleSAMLphp logs out through the old vendor\'s SLO URL', { skip: missingSimpleSAMLphp() || false }, async () => {
  ssp = await startSimpleSAMLphp();
  const oldSLO = demo.base + '/sso/saml/oldvendor/acme/slo';
  const oldMetadata = demo.base + '/sso/saml/oldvendor/acme/metadata';
  const conn = await adminAPI(demo.base, 'acme', 'POST', '/connections', {
    protocol: 'saml', display_name: 'SimpleSAMLphp',
    config: { metadata_url: ssp.metadataURL, sp_slo_url: oldSLO, sp_metadata_url: oldMetadata },
  });
  assert.equal(conn.sp.slo_url, oldSLO, 'the setup info names the old SLO URL');
  assert.equal(conn.sp.metadata_url, oldMetadata, 'the setup info names the old metadata URL');
  const md = await (await fetch(oldMetadata)).text();
  assert.match(md, new RegExp(`SingleLogoutService[^>]*Location="${oldSLO.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`));
  ssp.registerSP(conn.id, md);
  const sspSignIn = async (page) => {
    await page.waitForSelector('input[name="username"]');
    await page.fill('input[name="username"]', 'sam');
    await page.fill('input[name="password"]', sspUsers.sam.password);
    await page.press('input[name="password"]', 'Enter');
  };
  await inContext(browser, demo, async (page) => {
    await loginThroughDevIdP(page, demo.base, 'alice@acme.test');
    await page.goto(`${demo.base}/admin/portal/connections/${conn.id}`);
    await page.getByRole('button', { name: 'Test sign-in' }).click();
    await sspSignIn(page);
    await page.waitForURL(/\/admin\/portal\/connections\/conn_/);
    await page.getByRole('button', { name: 'Activate', exact: true }).click();
    await page.getByRole('button', { name: 'Activate', exact: true }).click();
    await page.waitForURL(/done=activated/);
  }, ssp);

  await inContext(browser, demo, async (page) => {
    await page.goto(demo.base + '/login');
    await page.fill('#email', sspUsers.sam.email);
    await page.click('#continue');
    const link = page.locator('a.button', { hasText: 'SimpleSAMLphp' });
    await link.waitFor();
    await link.click();
    await sspSignIn(page);
    await page.waitForURL(/\/dashboard$/);
    assert.equal((await page.textContent('#auth-method')).trim(), 'saml');

    const sloRequests = [];
    page.on('request', (r) => { if (r.url().startsWith(oldSLO)) sloRequests.push(r.url()); });
    await page.goto(`${ssp.base}/saml2/idp/SingleLogoutService.php?ReturnTo=${encodeURIComponent(demo.base + '/login?from=idp')}`);
    await page.waitForURL((u) => u.pathname === '/login' && u.searchParams.get('from') === 'idp');
    assert.ok(sloRequests.length > 0, 'SimpleSAMLphp sent its LogoutRequest to the old SLO URL');
    await page.goto(demo.base + '/dashboard');
    await page.waitForURL((u) => u.pathname === '/login');
    await shot(page, 'slo-oldurl-signed-out');
  }, ssp);
});
