// No page of the demo is wider than a phone: at 390 px the document must not scroll sideways
// (tables that need more width scroll inside their own frame, or become one block per row).
const { test, expect } = require('@playwright/test');
const { DEMO, BRANDED, demoSignIn } = require('./demo');

test.use({ viewport: { width: 390, height: 844 } });

const TEAM = '/teams/acme-robotics';
const PAGES = [
  `${TEAM}/settings/api-keys`,
  `${TEAM}/settings/api-keys/new`,
  `${TEAM}/settings/members`,
  `${TEAM}/settings/audit-log`,
  `${TEAM}/settings/webhooks`,
  `${TEAM}/settings/integrations`,
  `${TEAM}/settings`,
  `${TEAM}/api-reference`,
  '/account',
];

async function widthOf(page, url) {
  await page.goto(url);
  return page.evaluate(() => document.documentElement.scrollWidth);
}

test('no team page of the demo overflows a 390 px phone', async ({ page }) => {
  await demoSignIn(page, 'ada@acme.test');
  await page.goto(`${DEMO}${TEAM}/settings/api-keys`);
  const id = await page.locator('[data-key-name="Production backend"]').getAttribute('data-key-id');
  PAGES.push(`${TEAM}/settings/api-keys/${id}`, `${TEAM}/settings/api-keys?hint=attention&sort=name`);
  for (const url of PAGES) {
    expect(await widthOf(page, `${DEMO}${url}`), url).toBeLessThanOrEqual(390);
  }
});

test("an agency's clients show their status and actions on a phone, not off to the right", async ({ page }) => {
  await demoSignIn(page, 'nora@northstar.test', BRANDED);
  await page.goto(`${BRANDED}/agencies/northstar-digital`);
  const cells = page.locator('[data-testid=client-status], [data-testid=client-actions] summary');
  expect(await cells.count()).toBeGreaterThan(0);
  for (const box of await cells.evaluateAll((els) => els.map((e) => e.getBoundingClientRect().right))) {
    expect(box).toBeLessThanOrEqual(390);
  }
});

test('no agency page of the demo overflows a 390 px phone', async ({ page }) => {
  await demoSignIn(page, 'nora@northstar.test', BRANDED);
  for (const url of ['/agencies/northstar-digital', '/agencies/northstar-digital/operators', '/agencies/northstar-digital/brand', '/agencies/northstar-digital/audit-log']) {
    expect(await widthOf(page, `${BRANDED}${url}`), url).toBeLessThanOrEqual(390);
  }
});
