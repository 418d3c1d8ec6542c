// Helpers shared by the admin portal's browser walks: the portal's loopback
// server, and the check each page must pass (no serious or critical
// axe-core violation, no horizontal scrolling at 375 px, screenshots at
// 1280 and 375 px).
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { repoRoot, freePort } from './lib.mjs';

const require = createRequire(import.meta.url);
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

// startPortal builds and runs the portal's loopback server and resolves
// with its setup links.
export async function startPortal() {
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

// pageChecker returns check(page, name), which runs axe-core and the
// 375 px overflow check on page and saves both screenshots under shots.
export function pageChecker(shots) {
  return async function check(page, name) {
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
  };
}
