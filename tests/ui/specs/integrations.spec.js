// The integrations journey in a real browser: add an integration by its labels, test its
// connection against a loopback receiver, see the credential only as a fingerprint, replace it,
// delete it — with htmx, and without JavaScript.
const http = require('http');
const { test, expect } = require('@playwright/test');
const { signIn, watchConsole } = require('./helpers');

const TOKEN = 'journey-canary-7d3f9b1e5c';

/** A receiver on 127.0.0.1 that answers 200 and remembers each request's headers. */
async function receiver() {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url, headers: req.headers });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { seen, server, url: `http://127.0.0.1:${server.address().port}` };
}

for (const javaScriptEnabled of [true, false]) {
  test(`add, test, replace and delete an integration (${javaScriptEnabled ? 'htmx' : 'no JavaScript'})`, async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    const problems = watchConsole(page);
    const target = await receiver();
    const name = javaScriptEnabled ? 'Orders API' : 'Orders API (no JS)';
    try {
      await signIn(page);
      await page.getByRole('link', { name: 'Integrations' }).click();
      await expect(page.locator('h1')).toHaveText('Integrations');
      await page.getByRole('link', { name: 'Add integration' }).first().click();
      await page.getByRole('link', { name: 'Custom HTTP API', exact: true }).click();
      await page.getByLabel('Name', { exact: true }).fill(name);
      await page.getByLabel('API base URL').fill(`${target.url}/v1`);
      // Only the inputs the chosen placement uses are shown (CSS alone: with and without JS).
      await expect(page.getByLabel('Header or parameter name', { exact: true })).toBeHidden();
      await expect(page.getByLabel('Username', { exact: true })).toBeHidden();
      await page.getByLabel('Send the credential as').selectOption('basic');
      await expect(page.getByLabel('Token', { exact: true })).toBeHidden();
      await expect(page.getByLabel('Username', { exact: true })).toBeVisible();
      await expect(page.getByLabel('Username', { exact: true })).toHaveAttribute('type', 'text');
      await expect(page.getByLabel('Password', { exact: true })).toHaveAttribute('type', 'password');
      await page.getByLabel('Send the credential as').selectOption('header');
      await expect(page.getByLabel('Username', { exact: true })).toBeHidden();
      await page.getByLabel('Header or parameter name', { exact: true }).fill('X-Api-Key');
      await page.getByLabel('Token', { exact: true }).fill(TOKEN);
      await page.getByLabel('Connection test request').fill('/health');
      await page.getByRole('button', { name: 'Add integration' }).click();

      const row = page.locator(`[data-testid=integration-row][data-integration-name="${name}"]`);
      await expect(row).toHaveCount(1);
      await expect(page.locator('[data-testid=flash]')).toContainText('will not be shown again');
      await expect(row.locator('[data-testid=credential-fingerprint]')).toHaveText(/^[0-9a-f]{8}$/);
      expect(await page.content()).not.toContain(TOKEN);

      await row.getByRole('button', { name: `Test connection of ${name}` }).click();
      await expect(page.locator('[data-testid=flash]')).toContainText(`Connection test of “${name}” passed: 200`);
      await expect(row.locator('[data-testid=test-status]')).toContainText('200 OK');
      expect(target.seen.at(-1).url).toBe('/v1/health');
      expect(target.seen.at(-1).headers['x-api-key']).toBe(TOKEN);

      const before = await row.locator('[data-testid=credential-fingerprint]').innerText();
      await row.locator('[data-testid=integration-actions] summary').click();
      await row.getByRole('link', { name: 'Edit' }).click();
      await expect(page.getByLabel('Token', { exact: true })).toHaveValue('');
      await page.getByLabel('Token', { exact: true }).fill(`${TOKEN}-2`);
      await page.getByRole('button', { name: 'Save changes' }).click();
      await expect(page.locator('[data-testid=flash]')).toContainText('saved');
      await expect(row.locator('[data-testid=credential-fingerprint]')).not.toHaveText(before);
      expect(await page.content()).not.toContain(TOKEN);

      await row.locator('[data-testid=integration-actions] summary').click();
      await row.getByRole('link', { name: 'Delete integration' }).click();
      await page.locator('[data-testid=delete-dialog]').getByRole('button', { name: 'Delete integration' }).click();
      await expect(page.locator('[data-testid=flash]')).toContainText('deleted');
      await expect(row).toHaveCount(0);
      expect(problems).toEqual([]);
    } finally {
      target.server.close();
      await context.close();
    }
  });
}
