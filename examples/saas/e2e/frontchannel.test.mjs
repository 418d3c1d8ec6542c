// OIDC Front-Channel Logout 1.0, framing only: the OP's logout page loads
// the app's frontchannel_logout_uri (advertised in the connection's setup
// info) in an iframe. The OP here is an in-test page served by the test at
// the issuer's origin (the demo's development IdP), because oidc-provider,
// the OP the suite runs, implements no front-channel logout; ending the
// sessions a sid names is covered by the oidc package's Go tests. The
// answer must render in the issuer's frame and be refused in any other
// origin's frame (Content-Security-Policy frame-ancestors).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { adminAPI, inContext, launchBrowser, startDemo } from './lib.mjs';

let demo;
let browser;

before(async () => {
  demo = await startDemo();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await demo?.stop();
});

// framePage serves, at pageURL, an OP logout page framing src, and returns
// the iframe's frame once it has loaded (or failed to).
async function framePage(page, pageURL, src) {
  await page.route(pageURL, (route) => route.fulfill({ contentType: 'text/html',
    body: `<!doctype html><title>Signing out</title><iframe id="rp" src="${src}"></iframe>` }));
  await page.goto(pageURL);
  const el = await page.waitForSelector('#rp');
  const frame = await el.contentFrame();
  await frame.waitForLoadState('load').catch(() => {});
  return frame;
}

test('the front-channel logout answer is framed by the issuer only', async () => {
  const conn = await adminAPI(demo.base, 'globex', 'GET', '/connections/conn_globex');
  const fc = conn.sp.frontchannel_logout_uri;
  assert.ok(fc, 'the setup info names the frontchannel_logout_uri to register');
  const src = `${fc}?iss=${encodeURIComponent(conn.oidc.issuer)}&sid=e2e-sid`;
  const res = await fetch(src);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('cache-control'), /no-store/);
  assert.equal(res.headers.get('content-security-policy'), `frame-ancestors ${new URL(conn.oidc.issuer).origin}`);

  await inContext(browser, demo, async (page) => {
    const frame = await framePage(page, `${new URL(conn.oidc.issuer).origin}/idp/e2e-op-logout`, src);
    assert.equal(await frame.title(), 'Signed out', 'the issuer\'s page shows the answer');
  });
  await inContext(browser, demo, async (page) => {
    const other = new URL(demo.base);
    other.hostname = 'localhost';
    const refusals = [];
    page.on('console', (m) => { if (/frame-ancestors/.test(m.text())) refusals.push(m.text()); });
    const frame = await framePage(page, `${other.origin}/e2e-other-logout`, src);
    assert.notEqual(await frame.title().catch(() => ''), 'Signed out', 'another origin\'s page shows the answer');
    assert.ok(refusals.length > 0 || frame.url().startsWith('chrome-error:'), 'the browser refused the frame');
  });
});
