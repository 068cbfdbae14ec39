// Shared steps for the browser specs.
const { expect } = require('@playwright/test');

const OWNER = { email: 'ada@example.com', password: 'correct horse battery staple' };

async function signIn(page) {
  await page.goto('/login');
  await page.fill('#email', OWNER.email);
  await page.fill('#password', OWNER.password);
  await page.click('[data-testid=sign-in-submit]');
  await expect(page.locator('h1')).toHaveText('API keys');
}

/** Fails the test on any console error or CSP violation the page itself causes. */
function watchConsole(page) {
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(e.message));
  return problems;
}

async function createKey(page, name, { env = '', mode = 'live', scopes = null } = {}) {
  await page.click('[data-testid=create-key]');
  await expect(page.locator('[data-testid=create-key-form]')).toBeVisible();
  await page.fill('#name', name);
  if (env) await page.fill('#environment', env);
  await page.check(`input[name=mode][value=${mode}]`);
  if (scopes) {
    for (const box of await page.locator('input[name=scopes]').all()) {
      const value = await box.getAttribute('value');
      if (scopes.includes(value)) await box.check(); else await box.uncheck();
    }
  }
  await page.click('[data-testid=create-key-submit]');
  await expect(page.locator('[data-testid=reveal-panel]')).toBeVisible();
  return page.locator('[data-testid=revealed-key]').inputValue();
}

module.exports = { OWNER, signIn, watchConsole, createKey };
