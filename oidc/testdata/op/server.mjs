// OpenID Provider for the ssokit oidc interop tests: panva oidc-provider
// behind node:http with its own login form. Configuration comes from the
// environment (set by oidc/interop_test.go):
//   OP_PORT      port on 127.0.0.1
//   OP_JWKS      file with the private signing JWKS (RS256 + ES256)
//   OP_JWKS_NEXT file with the JWKS after a rotation (POST /__switch?rotate=1)
//   OP_CLIENTS   JSON array of client metadata
// POST /__switch?conform=1|0&rotate=1 rebuilds the provider: conform=1 keeps
// profile claims out of the ID token (userinfo path), rotate=1 loads
// OP_JWKS_NEXT.
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
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    conformIdTokenClaims: conform,
    scopes: ['openid', 'email', 'profile', 'groups'],
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
  return provider;
}

let conform = false;
let jwksFile = process.env.OP_JWKS;
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
      provider = build({ conform, jwksFile });
      res.end('ok');
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
        await provider.interactionFinished(req, res, { login: { accountId: u.claims.sub } }, { mergeWithLastSubmission: false });
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
