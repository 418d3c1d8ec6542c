// OpenID Providers configured like the social providers, for the
// sso/social interop tests: panva oidc-provider instances mounted under
// path prefixes of one node:http server, sharing one signing JWKS.
//   /google                 issuer http://127.0.0.1:PORT/google (Google-like:
//                           email_verified says whether the email is verified,
//                           hd names the Workspace domain of a company account)
//   /<tenant>/v2.0          issuer http://127.0.0.1:PORT/<tenant>/v2.0, one per
//                           Microsoft-like tenant (WORK_TID and the personal
//                           accounts' tenant): tokens carry tid, and xms_edov
//                           when the email's domain owner is verified
//   /{common,organizations,consumers}/v2.0/.well-known/openid-configuration
//                           the multi-tenant discovery: the work tenant's
//                           document with issuer http://127.0.0.1:PORT/{tenantid}/v2.0
// It leaves server.mjs (the oidc package's provider) unchanged.
// Environment (set by sso/social's tests):
//   OP_PORT, OP_JWKS (private signing JWKS), OP_CLIENTS (JSON array of client
//   metadata, registered at every instance), WORK_TID (the work tenant's ID).
import http from 'node:http';
import fs from 'node:fs';
import Provider from 'oidc-provider';

const port = Number(process.env.OP_PORT);
const base = `http://127.0.0.1:${port}`;
const clients = JSON.parse(process.env.OP_CLIENTS);
const jwks = JSON.parse(fs.readFileSync(process.env.OP_JWKS, 'utf8'));
const workTid = process.env.WORK_TID;
const consumersTid = '9188040d-6c67-4c5b-b112-36a304b66dad';

// Users per instance prefix: username -> claims. Every password is "pw".
const users = {
  '/google': {
    gina: { sub: 'google-gina', email: 'gina@gmail.com', email_verified: true, name: 'Gina G' },
    member: { sub: 'google-member', email: 'member@acme.example', email_verified: true, hd: 'acme.example', name: 'Mia Member' },
    mallory: { sub: 'google-mallory', email: 'member@acme.example', email_verified: false, name: 'Mallory' },
    enforced: { sub: 'google-enforced', email: 'erin@bigcorp.example', email_verified: true, hd: 'bigcorp.example', name: 'Erin' },
    invited: { sub: 'google-invited', email: 'ivan@startup.example', email_verified: true, hd: 'startup.example', name: 'Ivan' },
    // A personal Google account made with a company address: Google checked
    // the address once, when the account was made, but does not host it.
    former: { sub: 'google-former', email: 'former@acme.example', email_verified: true, name: 'Former Employee' },
    outsider: { sub: 'google-outsider', email: 'olga@smallshop.example', email_verified: true, name: 'Olga' },
    // For the demo's browser suite (examples/saas/e2e/social.test.mjs).
    newhire: { sub: 'google-newhire', email: 'newhire@acme.test', email_verified: true, hd: 'acme.test', name: 'Nina Newhire' },
    impostor: { sub: 'google-impostor', email: 'root@acme.test', email_verified: false, name: 'Impostor' },
  },
  [`/${workTid}/v2.0`]: {
    wendy: { sub: 'ms-wendy', tid: workTid, email: 'wendy@contoso.example', xms_edov: true, name: 'Wendy W' },
    eve: { sub: 'ms-eve', tid: workTid, email: 'member@acme.example', name: 'Eve (tenant admin set this address)' },
    forger: { sub: 'ms-forger', tid: 'aaaaaaaa-0000-0000-0000-000000000000', email: 'forger@contoso.example', xms_edov: true },
  },
  [`/${consumersTid}/v2.0`]: {
    pat: { sub: 'ms-pat', tid: consumersTid, email: 'pat@outlook.example', xms_edov: true, name: 'Pat P' },
  },
};

function build(prefix) {
  const provider = new Provider(base + prefix, {
    clients,
    jwks,
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    conformIdTokenClaims: false,
    scopes: ['openid', 'email', 'profile'],
    claims: { openid: ['sub', 'tid', 'hd'], email: ['email', 'email_verified', 'xms_edov'], profile: ['name'] },
    cookies: { keys: ['ssokit-social-interop-cookie-key-0123'] },
    interactions: { url: (ctx, interaction) => `${prefix}/interaction/${interaction.uid}` },
    async findAccount(ctx, sub) {
      const u = Object.values(users[prefix]).find((c) => c.sub === sub);
      if (!u) return undefined;
      return { accountId: sub, claims: async () => ({ ...u }) };
    },
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', prefix, err));
  return provider;
}

const providers = Object.fromEntries(Object.keys(users).map((p) => [p, build(p)]));

const page = (action, msg) => `<!doctype html><title>Sign in</title>
<form method="post" action="${action}"><p>${msg}</p><input name="username"><input name="password" type="password"><button>Sign in</button></form>`;

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

async function discovery(res) {
  // The multi-tenant document: the work tenant's, with the issuer template.
  const r = await fetch(`${base}/${workTid}/v2.0/.well-known/openid-configuration`);
  const doc = await r.json();
  doc.issuer = `${base}/{tenantid}/v2.0`;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(doc));
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, base);
  try {
    if (/^\/(common|organizations|consumers)\/v2\.0\/\.well-known\/openid-configuration$/.test(url.pathname)) {
      await discovery(res);
      return;
    }
    const prefix = Object.keys(providers).find((p) => url.pathname === p || url.pathname.startsWith(p + '/'));
    if (!prefix) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    const provider = providers[prefix];
    const m = url.pathname.slice(prefix.length).match(/^\/interaction\/([\w-]+)(\/login)?$/);
    if (m) {
      const details = await provider.interactionDetails(req, res);
      if (details.uid !== m[1]) throw new Error('interaction mismatch');
      const action = `${prefix}/interaction/${details.uid}/login`;
      if (req.method === 'GET' && !m[2]) {
        res.setHeader('content-type', 'text/html; charset=utf-8');
        res.end(page(action, 'Sign in'));
        return;
      }
      if (req.method === 'POST' && m[2]) {
        const form = await readForm(req);
        const u = users[prefix][form.get('username')];
        if (!u || form.get('password') !== 'pw') {
          res.statusCode = 401;
          res.setHeader('content-type', 'text/html; charset=utf-8');
          res.end(page(action, 'Invalid credentials'));
          return;
        }
        await provider.interactionFinished(req, res, { login: { accountId: u.sub } }, { mergeWithLastSubmission: false });
        return;
      }
    }
    // Mount the instance under its prefix the way connect/express do.
    req.originalUrl = req.url;
    req.url = req.url.slice(prefix.length) || '/';
    provider.callback()(req, res);
  } catch (err) {
    console.error(err);
    res.statusCode = 500;
    res.end('error');
  }
});

server.listen(port, '127.0.0.1', () => console.log(`social providers listening on ${base}`));
