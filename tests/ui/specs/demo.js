// Shared by the screenshot and accessibility suites: the `latchkey demo` server started by
// global-setup.js (seeded data, fixed clock 2026-01-15T10:00:00Z).
const { expect } = require('@playwright/test');

const DEMO = 'http://127.0.0.1:18082';
// *.localhost resolves to the loopback address in Chromium: the agency's own host name.
const BRANDED = 'http://northstar.localhost:18082';
const PASSWORD = 'latchkey-demo-password';

async function demoSignIn(page, email, base = DEMO) {
  await page.goto(`${base}/login`);
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.click('[data-testid=sign-in-submit]');
  await expect(page.locator('[data-testid=sign-in]')).toHaveCount(0);
}

module.exports = { DEMO, BRANDED, PASSWORD, demoSignIn };
