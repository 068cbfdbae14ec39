// A real OAuth 2.0 authorization server for the tests (oidc-provider, a certified
// implementation), plus a small API that accepts only its access tokens, and a few test
// controls. Usage: node server.mjs REDIRECT_URI [REDIRECT_URI…]
// Prints its base URL on the first line of output, then serves until killed.
//
//   /auth, /token, /token/revocation  the provider (authorization code + PKCE S256 required,
//                                     refresh tokens rotated, client credentials)
//   GET  /api/me                      200 {"sub"…} with a current access token, else 401
//   GET  /_counts                     {"authorization_code":n,"refresh_token":n,
//                                      "client_credentials":n,"revoked":n,"invalid_grant":n}
//   POST /_expire                     forgets every access token (the API answers 401)
//   POST /_break                      forgets every grant and refresh token (invalid_grant)
import http from 'node:http';
import Provider from 'oidc-provider';

const redirects = process.argv.slice(2);
const store = new Map();
const counts = { authorization_code: 0, refresh_token: 0, client_credentials: 0, revoked: 0, invalid_grant: 0 };

// An in-memory adapter the controls can reach into (the built-in one is private).
class Adapter {
  constructor(model) { this.model = model; }
  key(id) { return `${this.model}:${id}`; }
  async upsert(id, payload, expiresIn) {
    store.set(this.key(id), { payload, expires: expiresIn ? Date.now() + expiresIn * 1000 : null });
    if (payload.grantId) {
      const g = `grant:${payload.grantId}`;
      store.set(g, [...(store.get(g) || []), this.key(id)]);
    }
    if (payload.userCode) store.set(`userCode:${payload.userCode}`, id);
    if (payload.uid) store.set(`uid:${payload.uid}`, id);
  }
  async find(id) {
    const e = store.get(this.key(id));
    if (!e || (e.expires && e.expires < Date.now())) return undefined;
    return e.payload;
  }
  async findByUserCode(code) { return this.find(store.get(`userCode:${code}`)); }
  async findByUid(uid) { return this.find(store.get(`uid:${uid}`)); }
  async consume(id) { const e = store.get(this.key(id)); if (e) e.payload.consumed = Math.floor(Date.now() / 1000); }
  async destroy(id) { store.delete(this.key(id)); }
  async revokeByGrantId(grantId) {
    for (const k of store.get(`grant:${grantId}`) || []) store.delete(k);
    store.delete(`grant:${grantId}`);
  }
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const base = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(base, {
    adapter: Adapter,
    clients: [{
      client_id: 'latchkey-test',
      client_secret: 'latchkey-test-secret',
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      response_types: ['code'],
      redirect_uris: redirects.length ? redirects : ['http://127.0.0.1/unused'],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid offline_access contacts.read contacts.write',
    }],
    scopes: ['openid', 'offline_access', 'contacts.read', 'contacts.write'],
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
    },
    pkce: { required: () => true },
    rotateRefreshToken: true,
    ttl: { AccessToken: 3600, ClientCredentials: 3600, RefreshToken: 30 * 86400, Grant: 30 * 86400, Session: 86400, Interaction: 3600, AuthorizationCode: 600 },
    findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, email: sub }) }),
    // A refresh token whenever the grant allows it, as CRMs do (not only with `offline_access`).
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  });
  provider.proxy = false;
  provider.on('grant.success', (ctx) => { const t = ctx.oidc.params.grant_type; if (t in counts) counts[t] += 1; });
  provider.on('grant.error', (ctx, err) => { if (err.error === 'invalid_grant') counts.invalid_grant += 1; });
  provider.on('grant.revoked', () => { counts.revoked += 1; });

  const callback = provider.callback();
  server.on('request', async (req, res) => {
    const json = (status, body) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(body)); };
    if (req.url === '/_counts') return json(200, counts);
    if (req.url === '/_expire' && req.method === 'POST') {
      for (const k of [...store.keys()]) if (k.startsWith('AccessToken:') || k.startsWith('ClientCredentials:')) store.delete(k);
      return json(200, { ok: true });
    }
    if (req.url === '/_break' && req.method === 'POST') {
      for (const k of [...store.keys()]) if (/^(Grant|RefreshToken|AccessToken|ClientCredentials):/.test(k)) store.delete(k);
      return json(200, { ok: true });
    }
    if (req.url.startsWith('/api/')) {
      const token = (req.headers.authorization || '').replace(/^Bearer /, '');
      const found = (await provider.AccessToken.find(token)) || (await provider.ClientCredentials.find(token));
      if (!found) return json(401, { error: 'invalid_token' });
      return json(200, { sub: found.accountId || found.clientId, scope: found.scope || '' });
    }
    return callback(req, res);
  });
  console.log(base);
  // Only the address goes to stdout: the tests read one line and close it, and the provider's
  // own notices (console.log/info) would then fail on the closed pipe.
  console.log = console.info = (...args) => console.error(...args);
});
