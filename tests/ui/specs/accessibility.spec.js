// Accessibility and test hooks on every page of `latchkey demo`: axe-core finds no serious or
// critical violation (WCAG 2.1 A/AA rules), every form control has a label, every region,
// table, button and dialog carries a data-testid, and the create and delete journeys work
// with the keyboard alone.
const { test, expect } = require('@playwright/test');
const { default: AxeBuilder } = require('@axe-core/playwright');
const { DEMO, BRANDED, demoSignIn, withSetupLink } = require('./demo');

test.describe.configure({ mode: 'serial' });

const PAGES = [
  // [who signs in (null: nobody), base, path]
  [null, DEMO, '/login'],
  [null, BRANDED, '/login'],
  [null, DEMO, '/password/forgot'],
  [null, DEMO, '/password/reset?token=no-such-link'],
  [null, DEMO, '/account/email/confirm?token=no-such-link'],
  ['ada@acme.test', DEMO, '/teams/acme-robotics/settings/api-keys'],
  ['ada@acme.test', DEMO, '/teams/acme-labs/settings/api-keys'],
  ['ada@acme.test', DEMO, '/teams/acme-robotics/settings/api-keys/new'],
  ['ada@acme.test', DEMO, '/teams/acme-robotics/settings/members'],
  ['ada@acme.test', DEMO, '/teams/acme-robotics/settings'],
  ['ada@acme.test', DEMO, '/teams/acme-robotics/api-reference'],
  ['ada@acme.test', DEMO, '/teams/acme-robotics/settings/audit-log'],
  ['ada@acme.test', DEMO, '/teams/acme-robotics/settings/integrations'],
  ['ada@acme.test', DEMO, '/teams/acme-labs/settings/integrations'],
  ['ada@acme.test', DEMO, '/teams/acme-robotics/settings/integrations/new'],
  ['ada@acme.test', DEMO, '/teams/acme-robotics/settings/integrations/new?provider=shopify'],
  ['ada@acme.test', DEMO, '/teams/acme-robotics/settings/integrations/new?provider=woocommerce'],
  ['ada@acme.test', DEMO, '/teams/acme-robotics/settings/integrations/new?provider=custom'],
  ['ada@acme.test', DEMO, '/teams/acme-robotics/settings/integrations/new?provider=zoho_crm&connect=oauth'],
  ['ada@acme.test', DEMO, '/teams/acme-robotics/settings/integrations/new?provider=microsoft_graph'],
  ['ada@acme.test', DEMO, '/teams/acme-robotics/settings/integrations/new?provider=custom&connect=oauth'],
  ['ada@acme.test', DEMO, '/teams/acme-robotics/settings/audit-log?action=nope'],
  ['ada@acme.test', DEMO, '/teams/acme-robotics/settings/webhooks'],
  ['ada@acme.test', DEMO, '/teams/acme-robotics/settings/webhooks/new'],
  ['ada@acme.test', DEMO, '/teams/acme-labs/settings/webhooks'],
  ['ada@acme.test', DEMO, '/account'],
  ['ada@acme.test', DEMO, '/teams/new'],
  ['ada@acme.test', DEMO, '/agencies/new'],
  ['ada@acme.test', DEMO, '/teams/no-such-team/settings/api-keys'],
  ['nora@northstar.test', BRANDED, '/agencies/northstar-digital'],
  ['nora@northstar.test', BRANDED, '/agencies/northstar-digital/operators'],
  ['nora@northstar.test', BRANDED, '/agencies/northstar-digital/brand'],
  ['nora@northstar.test', BRANDED, '/agencies/northstar-digital/audit-log'],
  ['nora@northstar.test', BRANDED, '/agencies/northstar-digital/webhooks'],
  ['nora@northstar.test', BRANDED, '/agencies/northstar-digital/webhooks/new'],
  ['nora@northstar.test', BRANDED, '/teams/harbor-coffee/settings/api-keys'],
  ['nora@northstar.test', BRANDED, '/teams/harbor-coffee/settings/members'],
  ['nora@northstar.test', BRANDED, '/teams/harbor-coffee/settings/integrations'],
  ['dan@acme.test', DEMO, '/teams/acme-robotics/settings/api-keys'],
  ['dan@acme.test', DEMO, '/teams/acme-robotics/settings/integrations'],
];

/** Pages reached through an integration's id (edit, delete). */
async function integrationActionPages(page) {
  await page.goto(`${DEMO}/teams/acme-robotics/settings/integrations`);
  const id = await page.locator('[data-testid=integration-row]').first().getAttribute('data-integration-id');
  return ['edit', 'delete'].map((a) => `/teams/acme-robotics/settings/integrations/${id}/${a}`);
}

/** Pages reached through each webhook endpoint's id (its log, edit, rotate, delete). */
async function webhookActionPages(page) {
  await page.goto(`${DEMO}/teams/acme-robotics/settings/webhooks`);
  const ids = await page.locator('[data-testid=endpoint-row]').evaluateAll((rows) => rows.map((r) => r.dataset.endpointId));
  const base = '/teams/acme-robotics/settings/webhooks';
  return ids.flatMap((id) => [`${base}/${id}`, `${base}/${id}?status=failed`]).concat(
    ['edit', 'rotate', 'delete'].map((a) => `${base}/${ids[0]}/${a}`));
}

/** Pages reached through a key's id (its page; rotate, delete, edit), and the list filtered. */
async function keyActionPages(page) {
  const list = '/teams/acme-robotics/settings/api-keys';
  await page.goto(`${DEMO}${list}`);
  const id = await page.locator('[data-key-name="Production backend"]').getAttribute('data-key-id');
  const widget = await page.locator('[data-key-name="Support widget"]').first().getAttribute('data-key-id');
  return [`${list}/${id}`, `${list}/${widget}`, `${list}?hint=attention`, `${list}?q=zzz`, `${list}?status=gone`]
    .concat(['edit', 'rotate', 'delete'].map((a) => `${list}/${id}/${a}`));
}

async function audit(page, label, problems) {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();
  const bad = results.violations.filter((v) => ['serious', 'critical'].includes(v.impact));
  for (const v of bad) problems.push(`${label}: axe ${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  // Every form control has an accessible name (axe's label rule, asserted on its own too).
  const unlabelled = await page.locator('input:not([type=hidden]), select, textarea').evaluateAll((els) =>
    els.filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
      .map((el) => el.outerHTML.slice(0, 80)));
  for (const u of unlabelled) problems.push(`${label}: unlabelled ${u}`);
  // Stable hooks for screenshot tools.
  const missing = await page.locator('main, nav, section, table, dialog, form:not(.inline-form), button, [role=note]').evaluateAll((els) =>
    els.filter((el) => !el.closest('[data-testid]')).map((el) => el.outerHTML.slice(0, 80)));
  for (const m of missing) problems.push(`${label}: no data-testid on or above ${m}`);
  // Times and secrets are maskable.
  const unmarked = await page.locator('time:not([data-volatile]), input.secret:not([data-volatile])').evaluateAll((els) =>
    els.map((el) => el.outerHTML.slice(0, 80)));
  for (const u of unmarked) problems.push(`${label}: not data-volatile: ${u}`);
}

for (const size of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
  test(`every page passes axe and has hooks at ${size.width}px`, async ({ browser }) => {
    // About 20 pages with a full axe run each: well over the default 30 s on a busy machine.
    test.setTimeout(180_000);
    const problems = [];
    let signedIn = null;
    let context = null;
    let page = null;
    for (const [who, base, path] of PAGES) {
      if (who !== signedIn || !page) {
        if (context) await context.close();
        context = await browser.newContext({ viewport: size });
        page = await context.newPage();
        if (who) await demoSignIn(page, who, base);
        signedIn = who;
      }
      await page.goto(base + path);
      await audit(page, `${who || 'anonymous'} ${base}${path}`, problems);
      if (who === 'ada@acme.test' && path.endsWith('/integrations') && path.includes('acme-robotics')) {
        for (const p of await integrationActionPages(page)) {
          await page.goto(DEMO + p);
          await audit(page, p, problems);
        }
      }
      if (who === 'ada@acme.test' && path.endsWith('/webhooks') && path.includes('acme-robotics')) {
        for (const p of await webhookActionPages(page)) {
          await page.goto(DEMO + p);
          await audit(page, p, problems);
        }
      }
      if (who === 'ada@acme.test' && path.endsWith('/api-keys') && path.includes('acme-robotics')) {
        for (const p of await keyActionPages(page)) {
          await page.goto(DEMO + p);
          await audit(page, p, problems);
        }
      }
    }
    await context.close();
    expect(problems).toEqual([]);
  });
}

test('two-factor enrolment, recovery codes and the code step pass axe', async ({ page }) => {
  const { totp } = require('./demo');
  const problems = [];
  // An account no screenshot shows: its second factor changes no golden.
  await demoSignIn(page, 'lea@atlas.test');
  await page.goto(`${DEMO}/account`);
  await page.click('[data-testid=two-factor-setup]');
  await audit(page, 'two-factor enrolment', problems);
  const secret = (await page.textContent('[data-testid=totp-secret]')).trim();
  await page.fill('#code', totp(secret));
  await page.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
  await expect(page.locator('[data-testid=recovery-codes]')).toBeVisible();
  await audit(page, 'recovery codes', problems);
  await page.goto(`${DEMO}/account`);
  await audit(page, 'account with two-factor on', problems);
  await page.click('[data-testid=sign-out]');
  await page.fill('#email', 'lea@atlas.test');
  await page.fill('#password', 'latchkey-demo-password');
  await page.click('[data-testid=sign-in-submit]');
  await expect(page.locator('[data-testid=two-factor-step]')).toBeVisible();
  await audit(page, 'two-factor step', problems);
  expect(problems).toEqual([]);
});

test('create and delete a key with the keyboard alone', async ({ page }) => {
  await demoSignIn(page, 'ben@acme.test');
  await page.goto(`${DEMO}/teams/acme-robotics/settings/api-keys`);
  const tabTo = async (selector, max = 60) => {
    for (let i = 0; i < max; i++) {
      await page.keyboard.press('Tab');
      if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) return;
    }
    throw new Error(`could not reach ${selector} with Tab`);
  };
  await tabTo('[data-testid=create-key]');
  await page.keyboard.press('Enter');
  await expect(page.locator('[data-testid=create-key-form]')).toBeVisible();
  await tabTo('#name');
  await page.keyboard.type('Keyboard key');
  await tabTo('[data-testid=create-key-form] button[type=submit]', 120);
  await page.keyboard.press('Enter');
  await expect(page.locator('[data-testid=reveal-panel]')).toBeVisible();
  const problems = [];
  await audit(page, 'reveal panel', problems);
  await tabTo('[data-testid=reveal-done]');
  await page.keyboard.press('Enter');
  const row = page.locator('[data-testid=key-row][data-key-name="Keyboard key"]');
  await expect(row).toBeVisible();
  await tabTo('[data-testid=key-row][data-key-name="Keyboard key"] [data-testid=key-actions] summary', 200);
  await page.keyboard.press('Enter');
  await tabTo('[data-testid=key-row][data-key-name="Keyboard key"] [data-testid=delete-key]');
  await page.keyboard.press('Enter');
  await expect(page.locator('[data-testid=delete-dialog]')).toBeVisible();
  await audit(page, 'delete dialog (htmx modal)', problems);
  expect(problems).toEqual([]);
  await tabTo('[data-testid=delete-submit]');
  await page.keyboard.press('Enter');
  await expect(page.locator('[data-testid=flash]')).toContainText('deleted');
  await expect(row).toHaveCount(0);
});

test('invitation, throttled sign-in and forbidden pages pass axe', async ({ page, browser }) => {
  test.setTimeout(120_000);
  const problems = [];
  // An invitation on the journeys server (18080), so the demo's member list stays as seeded.
  const { signIn } = require('./helpers');
  await signIn(page);
  await page.goto('/');
  const team = new URL(page.url()).pathname.split('/')[2];
  await page.goto(`/teams/${team}/settings/members`);
  await page.fill('#invite-email', 'new.person@example.com');
  await page.click('[data-testid=invite-submit]');
  await audit(page, 'members with invitation link', problems);
  const link = await page.inputValue('[data-testid=invitation-link]');
  const other = await browser.newContext();
  const invitee = await other.newPage();
  await invitee.goto(link);
  await audit(invitee, 'invitation sign-up', problems);
  await invitee.click('[data-testid=accept-invitation]');
  await audit(invitee, 'invitation with errors', problems);
  await other.close();
  // Demo: 429 after repeated failures, 403 for a viewer.
  const ctx = await browser.newContext();
  const p = await ctx.newPage();
  for (let i = 0; i < 6; i++) {
    await p.goto(`${DEMO}/login`);
    await p.fill('#email', 'nobody-a11y@example.com');
    await p.fill('#password', 'wrong password, again');
    await p.click('[data-testid=sign-in-submit]');
  }
  await audit(p, '429 page', problems);
  await demoSignIn(p, 'dan@acme.test').catch(() => {});
  await p.goto(`${DEMO}/teams/acme-robotics/settings/api-keys/new`);
  await audit(p, '403 page', problems);
  // The first-run set-up page, on a throwaway server.
  await withSetupLink(async (link) => {
    await p.goto(link);
    await audit(p, 'set-up page', problems);
    await p.click('[data-testid=setup-submit]');
    await audit(p, 'set-up page with errors', problems);
  });
  await ctx.close();
  expect(problems).toEqual([]);
});
