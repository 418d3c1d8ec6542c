// OpenID Provider for the ssokit oidc interop tests: panva oidc-provider
// behind node:http with its own login form (username, password and an
// optional otp: "123456" makes the sign-in multi-factor, acr urn:ssokit:mfa
// and amr pwd+otp, else acr urn:ssokit:pwd). Configuration comes from the
// environment (set by oidc/interop_test.go):
//   OP_PORT      port on 127.0.0.1
//   OP_JWKS      file with the private signing JWKS (RS256 + ES256)
//   OP_JWKS_NEXT file with the JWKS after a rotation (POST /__switch?rotate=1)
//   OP_CLIENTS   JSON array of client metadata
// POST /__switch?conform=1|0&rotate=1|0&jwksdown=1|0 rebuilds the provider:
// conform=1 keeps profile claims out of the ID token (userinfo path),
// rotate=1 loads OP_JWKS_NEXT and rotate=0 OP_JWKS again, jwksdown=1 makes
// GET /jwks answer 503 (an IdP whose key endpoint is down).
import http from 'node:http';
import fs from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.env.OP_PORT);
const issuer = `http://127.0.0.1:${port}`;
const clients = JSON.parse(process.env.OP_CLIENTS);

const users = new Map([
  ['alice', {
    password: 'wonderland',
    claims: {
      sub: 'alice-sub', email: 'Alice@Example.com', email_verified: true,
      name: 'Alice Liddell', given_name: 'Alice', family_name: 'Liddell', groups: ['admins', 'eng'],
    },
  }],
]);
const bySub = (sub) => [...users.values()].find((u) => u.claims.sub === sub);

function build({ conform, jwksFile }) {
  const provider = new Provider(issuer, {
    clients,
    jwks: JSON.parse(fs.readFileSync(jwksFile, 'utf8')),
    // Back-channel logout (OIDC Back-Channel Logout 1.0) posts a logout
    // token to every client with a backchannel_logout_uri when the user
    // signs out at /session/end.
    features: { devInteractions: { enabled: false }, backchannelLogout: { enabled: true } },
    pkce: { required: () => true },
    // Outgoing requests (back-channel logout tokens) go to relying parties
    // on loopback here, which the provider's SSRF guard refuses: the
    // harness drops that guard.
    fetch: (url, { dispatcher, ...options }) => globalThis.fetch(url, options),
    conformIdTokenClaims: conform,
    scopes: ['openid', 'email', 'profile', 'groups'],
    acrValues: ['urn:ssokit:pwd', 'urn:ssokit:mfa'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name'],
      groups: ['groups'],
    },
    cookies: { keys: ['ssokit-interop-cookie-key-0123456789'] },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, sub) {
      const u = bySub(sub);
      if (!u) return undefined;
      return { accountId: sub, claims: async () => ({ ...u.claims }) };
    },
    async loadExistingGrant(ctx) {
      // Consent is granted automatically for the requested scopes.
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile groups');
      await grant.save();
      return grant;
    },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  provider.on('backchannel.error', (ctx, err, client) => console.error('backchannel.error', client.clientId, err));
  provider.on('backchannel.success', (ctx, client) => console.error('backchannel.success', client.clientId));
  return provider;
}

let conform = false;
let jwksFile = process.env.OP_JWKS;
let jwksDown = false;
let provider = build({ conform, jwksFile });

const page = (uid, msg) => `<!doctype html><title>Sign in</title>
<form method="post" action="/interaction/${uid}/login">
<p>${msg}</p><input name="username"><input name="password" type="password"><button>Sign in</button></form>`;

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, issuer);
  try {
    if (req.method === 'POST' && url.pathname === '/__switch') {
      if (url.searchParams.has('conform')) conform = url.searchParams.get('conform') === '1';
      if (url.searchParams.get('rotate') === '1') jwksFile = process.env.OP_JWKS_NEXT;
      if (url.searchParams.get('rotate') === '0') jwksFile = process.env.OP_JWKS;
      if (url.searchParams.has('jwksdown')) jwksDown = url.searchParams.get('jwksdown') === '1';
      provider = build({ conform, jwksFile });
      res.end('ok');
      return;
    }
    if (jwksDown && url.pathname === '/jwks') {
      res.statusCode = 503;
      res.end('maintenance');
      return;
    }
    const m = url.pathname.match(/^\/interaction\/([\w-]+)(\/login)?$/);
    if (m) {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== m[1]) throw new Error('interaction mismatch');
      if (req.method === 'GET' && !m[2]) {
        res.setHeader('content-type', 'text/html; charset=utf-8');
        res.end(page(details.uid, 'Sign in'));
        return;
      }
      if (req.method === 'POST' && m[2]) {
        const form = await readForm(req);
        const u = users.get(form.get('username'));
        if (!u || u.password !== form.get('password')) {
          res.statusCode = 401;
          res.setHeader('content-type', 'text/html; charset=utf-8');
          res.end(page(details.uid, 'Invalid credentials'));
          return;
        }
        // A correct one-time code makes the sign-in multi-factor.
        const mfa = form.get('otp') === '123456';
        const login = { accountId: u.claims.sub, acr: mfa ? 'urn:ssokit:mfa' : 'urn:ssokit:pwd', amr: mfa ? ['pwd', 'otp'] : ['pwd'] };
        await provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
        return;
      }
    }
    provider.callback()(req, res);
  } catch (err) {
    console.error(err);
    res.statusCode = 500;
    res.end('error');
  }
});

server.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
