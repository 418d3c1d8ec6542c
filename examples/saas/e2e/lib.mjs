// Shared helpers of the demo's real-browser suite: building and starting the
// demo, launching Debian's Chromium through playwright-core, screenshots,
// RFC 6238 TOTP codes, and the admin API.
import { spawn, execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..', '..');
export const artifacts = process.env.SSOKIT_E2E_ARTIFACTS || path.join(repoRoot, '.artifacts', 'e2e');
export const adminToken = 'e2e-admin-token-0123456789';
export const chromiumPath = process.env.SSOKIT_E2E_CHROMIUM || '/usr/bin/chromium';

// freePort returns a free TCP port on 127.0.0.1.
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// demoBinary returns the demo executable: $SSOKIT_E2E_BIN, or a fresh build.
let built;
export function demoBinary() {
  if (process.env.SSOKIT_E2E_BIN) return process.env.SSOKIT_E2E_BIN;
  if (!built) {
    built = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ssokit-e2e-bin-')), 'saas');
    execFileSync('go', ['build', '-o', built, './examples/saas'], { cwd: repoRoot, stdio: 'inherit' });
  }
  return built;
}

// startDemo runs the demo on a free loopback port with a new SQLite file and
// resolves once it has seeded and printed its banner. opts.host names the
// base URL's host ("localhost" for WebAuthn, whose relying party ID cannot
// be an IP address), opts.port a port chosen beforehand, opts.env extra
// environment variables.
export async function startDemo(opts = {}) {
  const port = opts.port || await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssokit-e2e-demo-'));
  const base = `http://${opts.host || '127.0.0.1'}:${port}`;
  const log = fs.createWriteStream(path.join(dir, 'demo.log'));
  const proc = spawn(demoBinary(), ['-addr', `127.0.0.1:${port}`, '-base-url', base, '-db', path.join(dir, 'demo.db'),
    '-admin-token', adminToken], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...(opts.env || {}) } });
  proc.stderr.pipe(log);
  let out = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start in 60 s; log in ${dir}/demo.log`)), 60_000);
    proc.stdout.on('data', (b) => {
      out += b;
      if (out.includes('ssokit demo is running')) { clearTimeout(timer); resolve(); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`demo exited with ${code}; log in ${dir}/demo.log`)); });
  });
  proc.removeAllListeners('exit');
  return {
    base, dir, proc,
    logTail: () => tail(fs.readFileSync(path.join(dir, 'demo.log'), 'utf8'), 4000),
    stop: () => killGroup(proc),
  };
}

export function tail(s, n) { return s.length > n ? s.slice(s.length - n) : s; }

// killGroup ends a process started with detached: true and its children.
export async function killGroup(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const done = new Promise((r) => proc.once('exit', r));
  try { process.kill(-proc.pid, 'SIGTERM'); } catch { return; }
  const t = setTimeout(() => { try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ } }, 5000);
  await done;
  clearTimeout(t);
}

// waitHTTP polls url until it answers 200.
export async function waitHTTP(url, ms = 15_000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
      last = new Error(`status ${r.status}`);
    } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready: ${last}`);
}

// launchBrowser starts headless Debian Chromium with the flags the machine
// needs (playwright-core gives it a new empty profile directory).
export function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

// shot saves a full-page PNG of page under artifacts/<name>.png.
export async function shot(page, name) {
  fs.mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

// base32Decode decodes RFC 4648 base32 (no padding needed, case-insensitive).
export function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = s.toUpperCase().replace(/[\s=]/g, '');
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`invalid base32 character ${JSON.stringify(ch)}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

// totp computes an RFC 6238 code (HMAC-SHA1 by default) for the given time.
export function totp(key, { time = Date.now(), step = 30, digits = 6, algorithm = 'sha1' } = {}) {
  const counter = BigInt(Math.floor(time / 1000 / step));
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(counter);
  const mac = createHmac(algorithm, key).update(msg).digest();
  const off = mac[mac.length - 1] & 0x0f;
  const bin = ((mac[off] & 0x7f) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
  return String(bin % 10 ** digits).padStart(digits, '0');
}

// adminAPI calls the demo's admin API with the admin token for org.
export async function adminAPI(base, org, method, p, body) {
  const headers = { Authorization: `Bearer ${adminToken}`, 'X-Ssokit-Org': org, Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + '/api/admin' + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let data;
  try { data = text ? JSON.parse(text) : null; } catch { data = { raw: text }; }
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return data;
}

// loginThroughDevIdP signs in on the email-first page and picks the user on
// the development IdP's page, saving a screenshot of each step. The
// development IdP skips its page for OIDC when login_hint names one of its
// users, as the discovery page sends it; it returns whether the page showed.
export async function loginThroughDevIdP(page, base, email, prefix) {
  await page.goto(base + '/login');
  await page.fill('#email', email);
  if (prefix) await shot(page, `${prefix}-1-email`);
  await page.click('#continue');
  await page.waitForURL((u) => u.pathname === '/dashboard' || u.pathname.startsWith('/idp/'));
  let picked = false;
  if (new URL(page.url()).pathname.startsWith('/idp/')) {
    await page.waitForSelector('#ssotest-login');
    if (prefix) await shot(page, `${prefix}-2-idp`);
    await page.click(`#ssotest-login button[value="${email}"]`);
    picked = true;
  }
  await page.waitForURL(/\/dashboard$/);
  await page.waitForSelector('#auth-method');
  if (prefix) await shot(page, `${prefix}-3-dashboard`);
  return picked;
}

// passwordLogin signs email in with the demo's break-glass password on
// the local sign-in page and waits for the dashboard.
export async function passwordLogin(page, base, email = 'root@acme.test') {
  await page.goto(base + '/login/local');
  await page.fill('#email', email);
  await page.fill('#password', 'ssokit-demo');
  await page.click('#sign-in');
  await page.waitForURL(/\/dashboard$/);
}

// inContext runs fn(page, ctx) in a new browser context of browser and
// closes it; a failure carries the tail of the demo's log, and of peer's
// (an IdP started by the test) when given.
export async function inContext(browser, demo, fn, peer) {
  const ctx = await browser.newContext();
  try {
    await fn(await ctx.newPage(), ctx);
  } catch (err) {
    err.message += `\n--- demo log (tail) ---\n${demo.logTail()}`;
    if (peer) err.message += `\n--- peer log (tail) ---\n${peer.logTail()}`;
    throw err;
  } finally {
    await ctx.close();
  }
}
