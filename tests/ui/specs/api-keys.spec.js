// The API keys journey in a real browser, with JavaScript (htmx) and without it.
const { test, expect } = require('@playwright/test');
const { signIn, watchConsole, createKey } = require('./helpers');

const KEY_PATTERN = /^sk_(live|test)_([a-z0-9]{1,12}_)?[0-9A-Za-z]{38}$/;

test('create, copy, rotate and delete a key with htmx', async ({ page, context }) => {
  const problems = watchConsole(page);
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await signIn(page);
  const listUrl = page.url();

  const secret = await createKey(page, 'Production server', { env: 'prod', scopes: ['bots:read', 'conversations:read'] });
  expect(secret).toMatch(KEY_PATTERN);
  expect(secret.startsWith('sk_live_prod_')).toBe(true);
  // Created through an htmx swap: the URL did not change to a POST result.
  await expect(page.locator('[data-testid=reveal-warning]')).toContainText("Copy it now — you won't be able to see it again");
  await expect(page.locator('[data-testid=curl-snippet]')).toContainText(`Bearer ${secret}`);

  await page.click('[data-testid=copy-key]');
  await expect(page.locator('[data-testid=copy-key]')).toHaveText('Copied');
  await expect(page.locator('[data-testid=copy-status]')).toHaveText('Copied to clipboard.');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

  await page.click('[data-testid=reveal-done]');
  const row = page.locator('[data-testid=key-row][data-key-name="Production server"]');
  await expect(row).toHaveCount(1);
  const masked = await row.locator('[data-testid=key-masked]').innerText();
  expect(masked).toBe(`sk_live_prod_${secret.slice(13, 17)}…${secret.slice(-4)}`);
  expect(await page.content()).not.toContain(secret.slice(13));

  // Rotate with a one-hour grace period: the old key shows as retiring.
  await row.locator('[data-testid=key-actions] summary').click();
  await row.locator('[data-testid=rotate-key]').click();
  const dialog = page.locator('[data-testid=rotate-dialog]');
  await expect(dialog).toBeVisible();
  expect(await dialog.evaluate((d) => d.matches(':modal'))).toBe(true);
  expect(page.url()).toBe(listUrl);
  // Cancel closes the dialog without leaving the list.
  await dialog.locator('[data-dialog-cancel]').click();
  await expect(dialog).toHaveCount(0);
  await row.locator('[data-testid=key-actions] summary').click();
  await row.locator('[data-testid=rotate-key]').click();
  await expect(dialog).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await row.locator('[data-testid=key-actions] summary').click();
  await row.locator('[data-testid=rotate-key]').click();
  await page.check('input[name=grace][value="3600"]');
  await page.click('[data-testid=rotate-submit]');
  const successor = await page.locator('[data-testid=revealed-key]').inputValue();
  expect(successor).toMatch(KEY_PATTERN);
  expect(successor).not.toBe(secret);
  await page.click('[data-testid=reveal-done]');
  const rows = page.locator('[data-testid=key-row][data-key-name="Production server"]');
  await expect(rows).toHaveCount(2);
  await expect(page.locator('.status-retiring [data-testid=key-status]')).toHaveText('Retiring');

  // Delete the successor.
  const current = page.locator('[data-testid=key-row][data-key-name="Production server"].status-active');
  await current.locator('[data-testid=key-actions] summary').click();
  await current.locator('[data-testid=delete-key]').click();
  await expect(page.locator('[data-testid=delete-dialog]')).toContainText('Requests using this key will fail immediately');
  await page.click('[data-testid=delete-submit]');
  await expect(page.locator('[data-testid=flash]')).toContainText('Key “Production server” deleted.');
  expect(page.url()).toBe(listUrl);
  await expect(rows).toHaveCount(1);
  expect(problems).toEqual([]);
});

test('going back or reloading never shows a revealed key again', async ({ page }) => {
  await signIn(page);
  const secret = await createKey(page, 'Back button test');
  await page.click('[data-testid=reveal-done]');
  await page.goBack();
  expect(await page.content()).not.toContain(secret);
  await page.reload();
  expect(await page.content()).not.toContain(secret);
});

test('the search narrows the list as you type, keeps the box, and a name opens the key page', async ({ page }) => {
  const problems = watchConsole(page);
  await signIn(page);
  for (const name of ['Search alpha', 'Search beta']) {
    await createKey(page, name, { scopes: ['bots:read'] });
    await page.click('[data-testid=reveal-done]');
  }
  const rows = page.locator('[data-testid=key-row]');
  const search = page.getByLabel('Search', { exact: true });
  await search.fill('alpha');
  await expect(page).toHaveURL(/[?&]q=alpha/);
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toHaveAttribute('data-key-name', 'Search alpha');
  // htmx swapped the results only: the box still has the text and the focus.
  await expect(search).toBeFocused();
  await expect(search).toHaveValue('alpha');
  await page.getByLabel('Sort').selectOption('name');
  await expect(page).toHaveURL(/sort=name/);
  await search.fill('search');
  await expect(rows).toHaveCount(2);
  await expect(rows.first()).toHaveAttribute('data-key-name', 'Search alpha');
  await page.getByRole('link', { name: 'Search beta' }).click();
  await expect(page.locator('h1')).toHaveText('Search beta');
  await expect(page.locator('[data-testid=key-summary]')).toContainText('bots:read');
  await page.goBack();
  await expect(search).toHaveValue('search');
  expect(problems).toEqual([]);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the search and filters are a plain GET form', async ({ page }) => {
    await signIn(page);
    await createKey(page, 'Plain form key', { mode: 'test' });
    await page.click('[data-testid=reveal-done]');
    await page.getByLabel('Search', { exact: true }).fill('plain form');
    await page.getByLabel('Mode').selectOption('test');
    await page.click('[data-testid=apply-filters]');
    await expect(page).toHaveURL(/q=plain\+form/);
    await expect(page).toHaveURL(/mode=test/);
    await expect(page.locator('[data-testid=key-row]')).toHaveCount(1);
    await expect(page.locator('[data-testid=key-count]')).toHaveText('1 key matches');
    await page.click('[data-testid=clear-filters]');
    await expect(page).not.toHaveURL(/q=/);
  });

  test('create, read the key from the field, rotate and delete with plain forms', async ({ page }) => {
    await signIn(page);
    const secret = await createKey(page, 'No-JS worker', { mode: 'test' });
    expect(secret).toMatch(KEY_PATTERN);
    expect(secret.startsWith('sk_test_')).toBe(true);
    const field = page.locator('[data-testid=revealed-key]');
    await expect(field).toHaveAttribute('readonly', '');
    await field.focus();

    await page.click('[data-testid=reveal-done]');
    const row = page.locator('[data-testid=key-row][data-key-name="No-JS worker"]');
    // <details> menus open without script.
    await row.locator('[data-testid=key-actions] summary').click();
    await row.locator('[data-testid=rotate-key]').click();
    await expect(page).toHaveURL(/\/rotate$/);
    await page.check('input[name=grace][value="0"]');
    await page.click('[data-testid=rotate-submit]');
    await expect(page.locator('[data-testid=rotated-note]')).toContainText('stopped working now');
    await page.click('[data-testid=reveal-done]');
    await expect(row).toHaveCount(1);

    await row.locator('[data-testid=key-actions] summary').click();
    await row.locator('[data-testid=delete-key]').click();
    await page.click('[data-testid=delete-submit]');
    await expect(page.locator('[data-testid=flash]')).toContainText('Key “No-JS worker” deleted.');
    await expect(row).toHaveCount(0);
  });

  test('validation errors come back as a 422 page with messages next to fields', async ({ page }) => {
    await signIn(page);
    await page.click('[data-testid=create-key]');
    await page.fill('#name', '');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.click('[data-testid=create-key-submit]'),
    ]);
    expect(response.status()).toBe(422);
    await expect(page.locator('#name-error')).toHaveText('Enter a name.');
    await expect(page.locator('#name')).toHaveAttribute('aria-invalid', 'true');
  });
});

test('the dashboard refuses to be framed', async ({ page }) => {
  await page.goto('/login');
  const response = await page.request.get('/login');
  expect(response.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(response.headers()['x-frame-options']).toBe('DENY');
});
