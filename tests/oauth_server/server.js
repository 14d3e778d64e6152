// A real OAuth 2.0 authorization server for the broker's tests: panva/oidc-provider behind a
// small wrapper that (1) logs users in without a form (login_hint names the account; "deny"
// refuses), (2) counts token-endpoint requests, (3) can answer the next token requests with
// a fault a real provider can't be told to produce (500, hang, HTML, 2 MB, no access_token,
// a redirect to another host, invalid_grant).
//
// Started by tests/credentials/oauth_server.py with the configuration in OAUTH_SERVER_CONFIG:
//   {"port": 8123, "clients": [...], "rotateRefreshToken": true, "accessTokenTTL": 3600,
//    "resource": "http://127.0.0.1:8150/", "resourceScopes": "todo:read todo:write"}
// Prints "listening <port>" once ready.
import http from 'node:http';
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OAUTH_SERVER_CONFIG || '{}');
const port = config.port;
const issuer = `http://127.0.0.1:${port}`;
const resource = config.resource || 'http://127.0.0.1:8150/';
const resourceScopes = config.resourceScopes || 'todo:read todo:write';

const provider = new Provider(issuer, {
  clients: config.clients || [],
  pkce: { required: () => true },
  scopes: ['openid', 'offline_access'],
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: resourceScopes,
        accessTokenFormat: 'opaque',
        accessTokenTTL: config.accessTokenTTL || 3600,
      }),
    },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: config.rotateRefreshToken !== false,
  ttl: {
    AccessToken: config.accessTokenTTL || 3600,
    AuthorizationCode: 60,
    RefreshToken: 14 * 24 * 3600,
    Interaction: 600,
    Session: 3600,
    Grant: 14 * 24 * 3600,
  },
  cookies: { keys: ['test-only-cookie-key-0123456789'] },
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
});
provider.proxy = false;

const stats = { token_requests: 0, revocation_requests: 0, grant_types: [] };
let faults = [];

const callback = provider.callback();

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params } = details;
  if (params.login_hint === 'deny') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'The user said no.',
    }, { mergeWithLastSubmission: false });
  }
  if (prompt.name === 'login') {
    return provider.interactionFinished(req, res, {
      login: { accountId: params.login_hint || 'test-user' },
    }, { mergeWithLastSubmission: false });
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  if (missing.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, {
    mergeWithLastSubmission: true,
  });
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

function fault(mode, res) {
  switch (mode) {
    case 'status500':
      res.writeHead(500, { 'content-type': 'application/json' });
      return res.end('{"error":"server_error"}');
    case 'hang':
      return setTimeout(() => { res.writeHead(500); res.end(); }, 30000);
    case 'html':
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<html><body>Please log in</body></html>');
    case 'huge': {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ access_token: 'x', padding: 'p'.repeat(2 * 1024 * 1024) }));
    }
    case 'no_access_token':
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"token_type":"Bearer","expires_in":3600}');
    case 'invalid_grant':
      res.writeHead(400, { 'content-type': 'application/json' });
      return res.end('{"error":"invalid_grant","error_description":"grant request is invalid"}');
    default:
      if (mode.startsWith('redirect:')) {
        res.writeHead(307, { location: mode.slice('redirect:'.length) });
        return res.end();
      }
      res.writeHead(500);
      return res.end('unknown fault');
  }
}

const server = http.createServer(async (req, res) => {
  const path = req.url.split('?')[0];
  try {
    if (path === '/__stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(stats));
    }
    if (path === '/__faults' && req.method === 'POST') {
      faults = faults.concat(JSON.parse((await readBody(req)).toString() || '[]'));
      res.writeHead(204);
      return res.end();
    }
    if (path.startsWith('/interaction/')) {
      return await interaction(req, res);
    }
    if (path === '/token' && req.method === 'POST') {
      stats.token_requests += 1;
      if (faults.length) return fault(faults.shift(), res);
    }
    if (path === '/token/revocation' && req.method === 'POST') {
      stats.revocation_requests += 1;
    }
    return callback(req, res);
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' });
    return res.end(String(err && err.message));
  }
});

server.on('error', (err) => {
  console.log(`error ${err.code}`);
  process.exit(3);
});
server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
