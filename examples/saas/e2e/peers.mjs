// Real interop peers for the browser suite: SimpleSAMLphp under PHP's
// built-in server (configuration written here) and panva oidc-provider
// through the oidc package's harness in oidc/testdata/op/server.mjs.
import { execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, killGroup, repoRoot, tail, waitHTTP } from './lib.mjs';

export const sspWWW = '/usr/share/simplesamlphp/www';
export const opDir = path.join(repoRoot, 'oidc', 'testdata', 'op');

// missingSimpleSAMLphp explains why SimpleSAMLphp cannot run, or is ''.
export function missingSimpleSAMLphp() {
  if (!fs.existsSync(sspWWW)) return 'SimpleSAMLphp is not installed (run .ci/install-saml.sh)';
  try { execFileSync('php', ['-r', 'new DOMDocument();'], { stdio: 'ignore' }); } catch { return 'php with php-xml is missing (run .ci/install-saml.sh)'; }
  try { execFileSync('openssl', ['version'], { stdio: 'ignore' }); } catch { return 'openssl is missing'; }
  return '';
}

// missingOIDCProvider explains why oidc-provider cannot run, or is ''.
export function missingOIDCProvider() {
  if (!fs.existsSync(path.join(opDir, 'node_modules', 'oidc-provider', 'package.json'))) {
    return 'oidc-provider is not installed in oidc/testdata/op (run .ci/install-oidc.sh)';
  }
  return '';
}

// selfSignedCert writes <name>.key and <name>.crt into dir: an RSA key and a
// self-signed certificate valid from a day ago (a certificate minted this
// second is "not valid yet" for an SP that allows for clock skew).
function selfSignedCert(dir, name, cn) {
  const ca = path.join(dir, 'ca');
  fs.mkdirSync(path.join(ca, 'new'), { recursive: true });
  fs.writeFileSync(path.join(ca, 'index.txt'), '');
  fs.writeFileSync(path.join(ca, 'serial'), '1000\n');
  fs.writeFileSync(path.join(ca, 'ca.cnf'), `[ca]
default_ca = e2e
[e2e]
dir = ${ca}
database = ${ca}/index.txt
new_certs_dir = ${ca}/new
serial = ${ca}/serial
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
`);
  const stamp = (d) => d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(ca, `${name}.csr`);
  execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', key, '-out', csr], { stdio: 'ignore' });
  execFileSync('openssl', ['ca', '-batch', '-selfsign', '-notext', '-config', path.join(ca, 'ca.cnf'), '-keyfile', key, '-in', csr,
    '-startdate', stamp(new Date(Date.now() - 86400_000)), '-enddate', stamp(new Date(Date.now() + 2 * 86400_000)),
    '-out', path.join(dir, `${name}.crt`)], { stdio: 'ignore' });
}

// SAML users of the SimpleSAMLphp IdP (exampleauth:UserPass).
export const sspUsers = {
  sam: { password: 'samspass', email: 'sam@acme.test', givenName: 'Sam', sn: 'Saml', groups: ['Engineering'] },
};

// startSimpleSAMLphp writes a configuration into a new directory and runs
// SimpleSAMLphp on a free loopback port. SP metadata files written with
// registerSP are read on every request.
export async function startSimpleSAMLphp() {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssokit-e2e-ssp-'));
  const base = `http://127.0.0.1:${port}`;
  const entityID = `${base}/saml2/idp/metadata.php`;
  for (const d of ['tmp', 'log', 'sessions', 'sp', 'metadata', 'cert']) fs.mkdirSync(path.join(dir, d));
  selfSignedCert(path.join(dir, 'cert'), 'idp', 'ssokit e2e SimpleSAMLphp');
  const php = (s) => `'${String(s).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  fs.writeFileSync(path.join(dir, 'config.php'), `<?php
require '/etc/simplesamlphp/config.php';
$d = ${php(dir)};
$config['baseurlpath'] = ${php(base + '/')};
$config['enable.saml20-idp'] = true;
$config['module.enable'] = ['exampleauth' => true, 'core' => true, 'saml' => true, 'admin' => true];
$config['session.cookie.secure'] = false;
$config['session.cookie.samesite'] = null;
$config['certdir'] = $d.'/cert/';
$config['tempdir'] = $d.'/tmp';
$config['loggingdir'] = $d.'/log';
$config['logging.handler'] = 'stderr';
$config['logging.level'] = SimpleSAML\\Logger::WARNING;
$config['store.type'] = 'phpsession';
$config['session.phpsession.savepath'] = $d.'/sessions';
$config['secretsalt'] = 'ssokit-e2e-salt-0123456789abcdef';
$config['auth.adminpassword'] = 'ssokit-e2e-admin';
$config['metadatadir'] = $d.'/metadata/';
$config['metadata.sources'] = [['type' => 'flatfile', 'directory' => $d.'/metadata']];
// Logout started here (SingleLogoutService.php?ReturnTo=) may return to
// any loopback page.
$config['trusted.url.regex'] = true;
$config['trusted.url.domains'] = ['127\\.0\\.0\\.1(:\\d+)?'];
`);
  const users = Object.entries(sspUsers).map(([uid, u]) => `  ${php(`${uid}:${u.password}`)} => ['uid' => [${php(uid)}], 'email' => [${php(u.email)}], ` +
    `'givenName' => [${php(u.givenName)}], 'sn' => [${php(u.sn)}], 'groups' => [${u.groups.map(php).join(', ')}]],`).join('\n');
  fs.writeFileSync(path.join(dir, 'authsources.php'), `<?php
$config = [
  'admin' => ['core:AdminPassword'],
  'e2e-userpass' => ['exampleauth:UserPass',
${users}
  ],
];
`);
  fs.writeFileSync(path.join(dir, 'metadata', 'saml20-idp-hosted.php'), `<?php
$metadata[${php(entityID)}] = [
  'host' => '__DEFAULT__',
  'privatekey' => 'idp.key',
  'certificate' => 'idp.crt',
  'auth' => 'e2e-userpass',
  'signature.algorithm' => 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'saml20.sign.response' => true,
  'saml20.sign.assertion' => true,
  'sign.logout' => true,
  'NameIDFormat' => 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  'authproc' => [100 => ['class' => 'saml:AttributeNameID', 'attribute' => 'email', 'Format' => 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress']],
];
`);
  fs.writeFileSync(path.join(dir, 'metadata', 'saml20-sp-remote.php'), `<?php
foreach (glob(${php(dir + '/sp/')} . '*.xml') as $f) {
  foreach (\\SimpleSAML\\Metadata\\SAMLParser::parseDescriptorsFile($f) as $e) {
    $m = $e->getMetadata20SP();
    $metadata[$m['entityid']] = $m;
  }
}
`);
  const logPath = path.join(dir, 'php.log');
  const log = fs.openSync(logPath, 'a');
  const proc = spawn('php', ['-S', `127.0.0.1:${port}`, '-t', sspWWW], {
    env: { ...process.env, SIMPLESAMLPHP_CONFIG_DIR: dir }, stdio: ['ignore', log, log], detached: true,
  });
  await waitHTTP(`${base}/saml2/idp/metadata.php`);
  return {
    base, dir, entityID, metadataURL: `${base}/saml2/idp/metadata.php`,
    // registerSP stores the SP metadata document (XML) under sp/.
    registerSP: (name, xml) => fs.writeFileSync(path.join(dir, 'sp', `${name}.xml`), xml),
    logTail: () => tail(fs.readFileSync(logPath, 'utf8'), 3000),
    stop: () => killGroup(proc),
  };
}

// writeJWKS writes a private JWKS with an RS256 and an ES256 key.
function writeJWKS(file) {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  fs.writeFileSync(file, JSON.stringify({ keys: [{ ...rsa, kid: 'e2e-rs-1', alg: 'RS256', use: 'sig' }, { ...ec, kid: 'e2e-es-1', alg: 'ES256', use: 'sig' }] }));
}

// OIDC user of the provider harness (see oidc/testdata/op/server.mjs).
export const opUser = { username: 'alice', password: 'wonderland', email: 'alice@example.com' };

// startOIDCProvider runs oidc/testdata/op/server.mjs on port (a free one
// when 0) with the given clients; restarting it on the same port with new
// clients keeps the issuer and keys.
export async function startOIDCProvider(clients, port = 0, jwksFile = '') {
  if (!port) port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssokit-e2e-op-'));
  if (!jwksFile) {
    jwksFile = path.join(dir, 'jwks.json');
    writeJWKS(jwksFile);
  }
  const logPath = path.join(dir, 'op.log');
  const log = fs.openSync(logPath, 'a');
  const proc = spawn(process.execPath, [path.join(opDir, 'server.mjs')], {
    cwd: opDir, stdio: ['ignore', log, log], detached: true,
    env: { ...process.env, OP_PORT: String(port), OP_JWKS: jwksFile, OP_JWKS_NEXT: jwksFile, OP_CLIENTS: JSON.stringify(clients) },
  });
  const issuer = `http://127.0.0.1:${port}`;
  await waitHTTP(`${issuer}/.well-known/openid-configuration`);
  return {
    issuer, port, jwksFile,
    logTail: () => tail(fs.readFileSync(logPath, 'utf8'), 3000),
    stop: () => killGroup(proc),
  };
}
