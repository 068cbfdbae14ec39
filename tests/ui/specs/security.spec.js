// Browser-side security: markup typed into a key name, a team name or a brand name renders as
// text (no dialog opens, no request goes out), and the dashboard cannot be framed.
const { test, expect } = require('@playwright/test');
const { signIn } = require('./helpers');

const PAYLOAD = `<img src=x onerror=alert(1)>"'><script>alert(2)</script><svg onload=alert(3)>`;

test('markup in key, team and brand names is shown as text and never runs', async ({ page }) => {
  const dialogs = [];
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  const strayRequests = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.hostname !== '127.0.0.1' || /\/x$/.test(url.pathname)) strayRequests.push(r.url());
  });
  await signIn(page);

  // A team named with the payload (names are at most 64 characters: use its start).
  const teamName = PAYLOAD.slice(0, 64);
  await page.goto('/teams/new');
  await page.fill('#name', teamName);
  await page.click('[data-testid=new-team-submit]');
  await expect(page.locator('[data-testid=switcher-name]')).toHaveText(teamName);

  // A key named with the payload, in that team: reveal panel, then the list.
  await page.click('[data-testid=create-key]');
  await page.fill('#name', PAYLOAD.slice(0, 64));
  await page.click('[data-testid=create-key-submit]');
  await expect(page.locator('[data-testid=key-summary] .strong')).toHaveText(PAYLOAD.slice(0, 64));
  await page.click('[data-testid=reveal-done]');
  await expect(page.locator('[data-testid=key-row] .key-name')).toHaveText(PAYLOAD.slice(0, 64));

  // An agency whose brand's product name is the payload.
  await page.goto('/agencies/new');
  await page.fill('#name', 'XSS Agency');
  await page.click('[data-testid=new-agency-submit]');
  await page.click('[data-testid=nav-brand]');
  await page.fill('#product_name', `<b onmouseover=alert(4)>Brand</b><script>alert(5)</script>`);
  await page.click('[data-testid=brand-submit]');
  await expect(page.locator('[data-testid=brand-name]')).toHaveText(`<b onmouseover=alert(4)>Brand</b><script>alert(5)</script>`);
  await page.hover('[data-testid=brand-name]');

  for (const sel of ['img[src=x]', 'main script', 'svg[onload]', 'b[onmouseover]']) {
    await expect(page.locator(sel)).toHaveCount(0);
  }
  expect(dialogs).toEqual([]);
  expect(strayRequests).toEqual([]);
});

test('a page framing the dashboard gets nothing', async ({ page }) => {
  await page.goto('/login');
  await page.setContent('<iframe id="f" src="http://127.0.0.1:18080/login" width="600" height="400"></iframe>');
  const frame = page.frames().find((f) => f !== page.mainFrame());
  const inside = frame ? await frame.locator('[data-testid=sign-in]').count().catch(() => 0) : 0;
  expect(inside).toBe(0);
});
