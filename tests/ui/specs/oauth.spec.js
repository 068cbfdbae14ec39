// An integration connected with OAuth in Chromium, as a person does it: added on the
// integrations page's OAuth form ("Add and connect"), the provider's own sign-in and consent pages (oidc-provider, started here
// from tests/oauth/server.mjs), back to Latchkey, "Connected". On a server of its own whose
// public URL is http://localhost:18085 (the redirect URI the provider has registered).
const { test, expect } = require('@playwright/test');
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const HOST = 'http://localhost:18085';
const OWNER = { email: 'olga@example.com', password: 'consent is a page away' };
let server = null;

function start(cmd, args, env, pattern) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
  const found = new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => { out += d; const m = out.match(pattern); if (m) resolve(m[1]); });
    child.on('exit', () => reject(new Error(out)));
  });
  return { child, found };
}

test.beforeAll(async ({ browser }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-oauth-'));
  const provider = start('node', [path.join(__dirname, '..', '..', 'oauth', 'server.mjs'), `${HOST}/oauth/callback`], {}, /(http:\/\/127\.0\.0\.1:\d+)/);
  const target = process.env.CARGO_TARGET_DIR || path.join(__dirname, '..', '..', '..', 'target');
  const app = start(process.env.LATCHKEY_BIN || path.join(target, 'debug', 'latchkey'), [], {
    DATABASE_URL: `sqlite://${dir}/o.db`, LATCHKEY_DATA_DIR: dir, LATCHKEY_BIND: '127.0.0.1:18085',
    LATCHKEY_PUBLIC_URL: HOST, LATCHKEY_OUTBOUND_ALLOW_CIDRS: '127.0.0.1/32', RUST_LOG: 'warn',
  }, /(http:\S+setup\?token=\w+)/);
  server = { app: app.child, provider: provider.child, dir, base: await provider.found };
  const link = await app.found;
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch('http://127.0.0.1:18085/healthz')).ok) break; } catch (e) { /* starting */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  const page = await browser.newPage();
  await page.goto(link);
  await page.getByLabel('Your name').fill('Olga Owner');
  await page.getByLabel('E-mail').fill(OWNER.email);
  await page.getByLabel('Password').fill(OWNER.password);
  await page.getByLabel('Team name').fill('Consent Team');
  await page.click('[data-testid=setup-submit]');
  await expect(page.locator('h1')).toHaveText('API keys');
  // A key for the API, made on the keys page.
  await page.goto(`${HOST}/teams/consent-team/settings/api-keys/new`);
  await page.fill('#name', 'Integrations');
  await page.click('[data-testid=create-key-form] button[type=submit]');
  server.key = await page.inputValue('[data-testid=revealed-key]');
  await page.close();
});

test.afterAll(() => {
  if (!server) return;
  server.app.kill('SIGTERM');
  server.provider.kill('SIGTERM');
  fs.rmSync(server.dir, { recursive: true, force: true });
});

async function api(method, p, body) {
  const res = await fetch(`${HOST}/v1${p}`, {
    method, headers: { Authorization: `Bearer ${server.key}`, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json() };
}

test('a person adds an OAuth integration in the dashboard, connects it at the provider, and disconnects it', async ({ page }) => {
  const { default: AxeBuilder } = require('@axe-core/playwright');
  const base = server.base;
  const axe = async () => {
    const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    expect(r.violations.map((v) => v.id)).toEqual([]);
  };
  // Goldens at both widths; the provider's address (a new port each run) and times masked.
  const snap = async (name) => {
    for (const [size, viewport] of [['desktop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]]) {
      await page.setViewportSize(viewport);
      await expect(page).toHaveScreenshot(`${size}-${name}.png`, {
        fullPage: true, maxDiffPixels: 0, threshold: 0, animations: 'disabled', caret: 'hide',
        mask: [page.locator('[data-volatile]'), page.locator('.key-masked'), page.locator('td[data-label="Last used"]')],
      });
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  };

  await page.goto(`${HOST}/login`);
  await page.getByLabel('E-mail').fill(OWNER.email);
  await page.getByLabel('Password').fill(OWNER.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.goto(`${HOST}/teams/consent-team/settings/integrations`);
  await page.getByRole('link', { name: 'Add integration' }).first().click();
  await page.getByRole('link', { name: 'Custom OAuth 2.0' }).click();
  await expect(page.locator('h1')).toHaveText('Connect an OAuth 2.0 API');
  // The exact redirect URI to register at the provider, with a Copy button.
  await expect(page.getByLabel('Redirect URI to register')).toHaveValue(`${HOST}/oauth/callback`);
  await axe();
  await snap('integration-oauth-form');

  // Nothing filled in: every field says what it needs, nothing is saved.
  await page.getByLabel('Name', { exact: true }).fill('');
  await page.getByRole('button', { name: 'Add and connect' }).click();
  await expect(page.locator('[data-testid=form-errors]')).toBeVisible();
  await expect(page.locator('#token-url-error')).toHaveText("Enter the provider's URL for this.");
  await expect(page.locator('#client-secret-error')).toHaveText('Enter the client secret of your app.');
  await axe();
  expect((await api('GET', '/integrations')).body.data).toHaveLength(0);

  await page.getByLabel('Name', { exact: true }).fill('CRM');
  await page.getByLabel('Authorization URL').fill(`${base}/auth`);
  await page.getByLabel('Token URL').fill(`${base}/token`);
  await page.getByLabel('Revocation URL').fill(`${base}/token/revocation`);
  await page.getByLabel('Client ID', { exact: true }).fill('latchkey-test');
  await page.getByLabel('Client secret', { exact: true }).fill('latchkey-test-secret');
  await page.getByLabel('Scopes').fill('openid offline_access contacts.read');
  await page.getByLabel('API base URL').fill(`${base}/api`);
  await page.getByLabel('Connection test request').fill('/me');
  // Add and connect → the provider's own pages → back here, connected.
  await page.getByRole('button', { name: 'Add and connect' }).click();
  await page.waitForURL(/\/interaction\//);
  await page.fill('input[name=login]', 'olga@crm.example');
  await page.fill('input[name=password]', 'anything');
  await page.click('button[type=submit]');
  await page.waitForSelector('input[name=prompt][value=consent]', { state: 'attached' });
  await page.click('button[type=submit]');
  await page.waitForURL(`${HOST}/teams/consent-team/settings/integrations`);
  await expect(page.locator('.flash')).toContainText('“CRM” is connected');
  const status = page.locator('[data-testid=oauth-status]');
  await expect(status).toHaveText('Connected as olga@crm.example');
  await expect(page.locator('[data-testid=oauth-scopes]')).toHaveText('Scopes: openid contacts.read');
  await expect(page.getByRole('button', { name: 'Connect CRM' })).toHaveCount(0);
  await axe();
  await page.goto(`${HOST}/teams/consent-team/settings/integrations`);
  await snap('integration-oauth-connected');

  // A bot flow's call carries the access token; no answer ever carries a token.
  const id = await page.locator('[data-testid=integration-row]').getAttribute('data-integration-id');
  const call = await api('POST', `/integrations/${id}/requests`, { path: '/me' });
  expect(call.status).toBe(200);
  expect(call.body.body.sub).toBe('olga@crm.example');
  const shown = await api('GET', `/integrations/${id}`);
  expect(shown.body.oauth.status).toBe('connected');
  expect(shown.body.oauth.account).toBe('olga@crm.example');
  expect(JSON.stringify(shown.body)).not.toMatch(/access_token|refresh_token|latchkey-test-secret/);

  // The provider forgets the grant (the app removed there): the next call finds out, says so,
  // and the page offers Reconnect.
  expect((await fetch(`${server.base}/_break`, { method: 'POST' })).ok).toBe(true);
  const broken = await api('POST', `/integrations/${id}/requests`, { path: '/me' });
  expect(broken.status).toBe(502);
  expect(broken.body.error.reason).toContain('needs reconnecting');
  await page.goto(`${HOST}/teams/consent-team/settings/integrations`);
  await expect(status).toHaveText('Needs reconnecting');
  await expect(page.locator('[data-testid=oauth-reason]')).toContainText('invalid_grant');
  await expect(page.getByRole('button', { name: 'Reconnect CRM' })).toBeVisible();
  await axe();
  await snap('integration-oauth-needs-reconnecting');

  // Disconnect, from the row's menu: a confirmation that says what breaks, then the tokens
  // are forgotten and the integration waits for a Connect.
  await page.locator('[data-testid=integration-actions] summary').click();
  await page.getByRole('link', { name: 'Disconnect' }).click();
  await expect(page.getByRole('heading', { name: 'Disconnect CRM?' })).toBeVisible();
  await axe();
  await page.locator('[data-testid=delete-submit]').click();
  await expect(page.locator('.flash')).toContainText('“CRM” is disconnected');
  await expect(status).toHaveText('Not connected');
  await expect(page.getByRole('button', { name: 'Connect CRM' })).toBeVisible();
  await axe();
  await page.goto(`${HOST}/teams/consent-team/settings/integrations`);
  await snap('integration-oauth-pending');
  expect((await api('POST', `/integrations/${id}/requests`, { path: '/me' })).status).toBe(502);
});
