// Real-browser scenarios of sign-in by emailed code and magic link
// (sso/emailcode) in the demo: the code typed into the browser that asked,
// the link opened there, the link opened in another browser (which asks
// "continue here?"), and a used link refused. The development mailer's
// page at /dev/mail stands in for the mailbox.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminAPI, inContext, launchBrowser, shot, startDemo } from './lib.mjs';

const who = 'root@globex.test';

// signInMails returns the sign-in emails to addr on /dev/mail, newest
// first, as {code, link}.
async function signInMails(base, addr) {
  const html = await (await fetch(base + '/dev/mail')).text();
  const out = [];
  for (const art of html.split('<article>').slice(1)) {
    if (!art.includes(`To ${addr} `) || !art.includes('sign-in code')) continue;
    const code = /code is (\d+)/.exec(art);
    const link = /(http:\/\/\S+\/auth\/email\/link\?token=[A-Za-z0-9_-]+)/.exec(art);
    if (code && link) out.push({ code: code[1], link: link[1] });
  }
  return out;
}

// nextMail waits for a sign-in email to addr newer than the `seen` ones.
async function nextMail(base, addr, seen) {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const mails = await signInMails(base, addr);
    if (mails.length > seen) return mails[0];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no new sign-in email to ${addr} at /dev/mail`);
}

describe('email sign-in in the demo', () => {
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

  const withPage = (fn) => inContext(browser, demo, fn);

  // askForEmail starts from the password page's "other ways" list.
  async function askForEmail(page, name) {
    const seen = (await signInMails(demo.base, who)).length;
    await page.goto(`${demo.base}/login/local?login_hint=${encodeURIComponent(who)}`);
    await page.click('#email-code');
    await page.waitForURL(/\/login\/email/);
    assert.equal(await page.inputValue('#email'), who);
    await page.click('#send-code');
    await page.waitForSelector('#check-email');
    await shot(page, `${name}-1-check-email`);
    return nextMail(demo.base, who, seen);
  }

  test('(email-a) a code typed into the browser that asked signs in', () => withPage(async (page) => {
    const mail = await askForEmail(page, 'email-a');
    await page.fill('#code', mail.code);
    await page.click('#verify-code');
    await page.waitForURL(/\/dashboard/);
    await shot(page, 'email-a-2-dashboard');
    assert.equal((await page.textContent('#auth-method')).trim(), 'email_code');
    assert.match(await page.textContent('#whoami'), /root@globex\.test/);
  }));

  test('(email-b) a wrong code is refused and the page says what to do', () => withPage(async (page) => {
    const mail = await askForEmail(page, 'email-b');
    const wrong = mail.code === '000000' ? '111111' : '000000';
    await page.fill('#code', wrong);
    await page.click('#verify-code');
    await page.waitForSelector('#email-error');
    assert.match(await page.textContent('#email-error'), /Check the code in the newest email/);
    await shot(page, 'email-b-2-wrong-code');
    await page.fill('#code', mail.code);
    await page.click('#verify-code');
    await page.waitForURL(/\/dashboard/);
  }));

  test('(email-c) the link opened in the same browser signs in after one click', () => withPage(async (page) => {
    const mail = await askForEmail(page, 'email-c');
    await page.goto(mail.link);
    assert.match(await page.textContent('#message'), /Sign in as root@globex\.test/);
    await shot(page, 'email-c-2-link-page');
    await page.click('#continue');
    await page.waitForURL(/\/dashboard/);
    assert.equal((await page.textContent('#auth-method')).trim(), 'magic_link');
  }));

  test('(email-d) the link opened in another browser asks first, then works once', async () => {
    const asker = await browser.newContext();
    const other = await browser.newContext();
    try {
      const page = await asker.newPage();
      const mail = await askForEmail(page, 'email-d');
      const phone = await other.newPage();
      await phone.goto(mail.link);
      assert.match(await phone.textContent('h1'), /Continue in this browser\?/);
      assert.match(await phone.textContent('#message'), /different browser/);
      await shot(phone, 'email-d-2-confirm');
      await phone.click('#continue');
      await phone.waitForURL(/\/dashboard/);
      assert.equal((await phone.textContent('#auth-method')).trim(), 'magic_link');
      // The asking browser's copy of the link is used up.
      await page.goto(mail.link);
      assert.match(await page.textContent('h1'), /does not work/);
      assert.match(await page.textContent('#message'), /invalid or was already used/);
      await shot(page, 'email-d-3-used');
    } catch (err) {
      err.message += `\n--- demo log (tail) ---\n${demo.logTail()}`;
      throw err;
    } finally {
      await asker.close();
      await other.close();
    }
  });
});

describe('invitations in the demo', () => {
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

  // inviteLink returns the accept link of the newest invitation to addr.
  async function inviteLink(addr) {
    const end = Date.now() + 10_000;
    while (Date.now() < end) {
      const html = await (await fetch(demo.base + '/dev/mail')).text();
      for (const art of html.split('<article>').slice(1)) {
        const m = /(http:\/\/\S+\/invite\/accept\?token=[A-Za-z0-9_-]+)/.exec(art);
        if (art.includes(`To ${addr} `) && m) return m[1];
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no invitation to ${addr} at /dev/mail`);
  }

  test('(invite-a) a new user accepts an invitation, signs in by code, and the link is used up', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const addr = 'newbie@example.org';
    try {
      const inv = await adminAPI(demo.base, 'globex', 'POST', '/invitations', { email: addr, roles: ['member'] });
      assert.equal(inv.status, 'pending');
      const link = await inviteLink(addr);
      await page.goto(link);
      assert.match(await page.textContent('h1'), /Join Globex/);
      assert.match(await page.textContent('#message'), /newbie@example\.org/);
      await shot(page, 'invite-a-1-invitation');
      await page.click('#accept');
      await page.waitForSelector('#next');
      assert.match(await page.textContent('#message'), /You joined Globex/);
      await shot(page, 'invite-a-2-joined');
      await page.click('#next');
      await page.waitForURL(/\/login\/email/);
      assert.equal(await page.inputValue('#email'), addr);
      const seen = (await signInMails(demo.base, addr)).length;
      await page.click('#send-code');
      await page.waitForSelector('#check-email');
      const mail = await nextMail(demo.base, addr, seen);
      await page.fill('#code', mail.code);
      await page.click('#verify-code');
      await page.waitForURL(/\/dashboard/);
      assert.match(await page.textContent('#whoami'), /newbie@example\.org · Globex/);
      assert.equal((await page.textContent('#auth-method')).trim(), 'email_code');
      await shot(page, 'invite-a-3-dashboard');
      const list = await adminAPI(demo.base, 'globex', 'GET', '/invitations');
      assert.equal(list.invitations.find((i) => i.id === inv.id).status, 'accepted');
      // The link works once.
      await page.goto(link);
      assert.match(await page.textContent('h1'), /cannot be used/);
      assert.match(await page.textContent('#message'), /invalid or was already used/);
    } catch (err) {
      err.message += `\n--- demo log (tail) ---\n${demo.logTail()}`;
      throw err;
    } finally {
      await ctx.close();
    }
  });
});

describe('password accounts in the demo', () => {
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

  // mailLink waits for the count-th link to addr matching re (1-based, in
  // sending order) on /dev/mail.
  async function mailLink(addr, re, count) {
    const end = Date.now() + 10_000;
    while (Date.now() < end) {
      const html = await (await fetch(demo.base + '/dev/mail')).text();
      const links = [];
      for (const art of html.split('<article>').slice(1)) {
        const m = re.exec(art);
        if (art.includes(`To ${addr} `) && m) links.unshift(m[1]);
      }
      if (links.length >= count) return links[count - 1];
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no link ${re} to ${addr} at /dev/mail`);
  }

  async function passwordLogin(page, addr, pw) {
    await page.goto(`${demo.base}/login/local?login_hint=${encodeURIComponent(addr)}`);
    await page.fill('#password', pw);
    await page.click('#sign-in');
  }

  test('(pw-a) sign-up, email verification, invitation and password login; then a reset', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const addr = 'pat@example.org';
    const first = 'correct horse battery staple';
    const second = 'a brand new passphrase 2031';
    try {
      await adminAPI(demo.base, 'globex', 'POST', '/invitations', { email: addr, roles: ['member'] });
      await page.goto(demo.base + '/login/local');
      await page.click('#signup');
      await page.fill('#name', 'Pat');
      await page.fill('#email', addr);
      await page.fill('#password', first);
      await page.click('#sign-up');
      await page.waitForSelector('#account-notice');
      assert.match(await page.textContent('#account-notice'), /emailed pat@example\.org a link/);
      await shot(page, 'pw-a-1-signed-up');

      await page.goto(await mailLink(addr, /(http:\/\/\S+\/account\/verify\?token=[A-Za-z0-9_-]+)/, 1));
      await page.click('#confirm');
      await page.waitForSelector('#account-notice');
      assert.match(await page.textContent('#account-notice'), /is confirmed/);
      await shot(page, 'pw-a-2-verified');

      await page.goto(await mailLink(addr, /(http:\/\/\S+\/invite\/accept\?token=[A-Za-z0-9_-]+)/, 1));
      await page.click('#accept');
      await page.waitForSelector('#next');
      assert.match(await page.textContent('#message'), /You joined Globex/);

      await passwordLogin(page, addr, first);
      await page.waitForURL(/\/dashboard/);
      assert.equal((await page.textContent('#auth-method')).trim(), 'password');
      assert.match(await page.textContent('#whoami'), /pat@example\.org · Globex/);
      await shot(page, 'pw-a-3-dashboard');
    } catch (err) {
      err.message += `\n--- demo log (tail) ---\n${demo.logTail()}`;
      throw err;
    } finally {
      await ctx.close();
    }

    const ctx2 = await browser.newContext();
    const p2 = await ctx2.newPage();
    try {
      await p2.goto(`${demo.base}/login/local?login_hint=${encodeURIComponent(addr)}`);
      await p2.click('#forgot');
      assert.equal(await p2.inputValue('#email'), addr);
      await p2.click('#send-reset');
      await p2.waitForSelector('#account-notice');
      await p2.goto(await mailLink(addr, /(http:\/\/\S+\/account\/reset\?token=[A-Za-z0-9_-]+)/, 1));
      await p2.fill('#password', second);
      await p2.click('#set-password');
      await p2.waitForSelector('#account-notice');
      assert.match(await p2.textContent('#account-notice'), /password was changed/);
      await shot(p2, 'pw-a-4-reset');
      await passwordLogin(p2, addr, first);
      await p2.waitForSelector('#login-error');
      await passwordLogin(p2, addr, second);
      await p2.waitForURL(/\/dashboard/);
      assert.equal((await p2.textContent('#auth-method')).trim(), 'password');
    } catch (err) {
      err.message += `\n--- demo log (tail) ---\n${demo.logTail()}`;
      throw err;
    } finally {
      await ctx2.close();
    }
  });
});
