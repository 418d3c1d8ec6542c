// The suite computes TOTP codes itself; check that against RFC 6238
// Appendix B and, when installed, oathtool.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { base32Decode, totp } from './lib.mjs';

test('RFC 6238 Appendix B SHA-1 vectors', () => {
  const seed = Buffer.from('12345678901234567890');
  for (const [t, want] of [[59, '94287082'], [1111111109, '07081804'], [1111111111, '14050471'],
    [1234567890, '89005924'], [2000000000, '69279037'], [20000000000, '65353130']]) {
    assert.equal(totp(seed, { time: t * 1000, digits: 8 }), want, `T=${t}`);
  }
});

test('base32 decoding', () => {
  assert.equal(base32Decode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ').toString(), '12345678901234567890');
  assert.throws(() => base32Decode('not base32!'));
});

test('agrees with oathtool', (t) => {
  try { execFileSync('oathtool', ['--version'], { stdio: 'ignore' }); } catch { t.skip('oathtool is not installed'); return; }
  const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
  const at = 1_795_000_000;
  const want = execFileSync('oathtool', ['--totp', '-b', secret, '-N', `@${at}`]).toString().trim();
  assert.equal(totp(base32Decode(secret), { time: at * 1000 }), want);
});
