// Golden screenshots of every page and state of `latchkey demo`, at desktop and phone sizes,
// compared with zero tolerance. The goldens live in __screenshots__/ and are committed; the
// suite runs twice in CI (each run restarts the demo server), so a pixel that depends on the
// machine, the run or the clock fails it.
const { test, expect } = require('@playwright/test');
const { DEMO, BRANDED, demoSignIn, withSetupLink, totp } = require('./demo');

test.describe.configure({ mode: 'serial' });

const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
const strict = { fullPage: true, maxDiffPixels: 0, threshold: 0, animations: 'disabled', caret: 'hide' };

async function snap(page, name, mask = [], fullPage = true) {
  await page.evaluate(() => document.fonts.ready);
  await expect(page).toHaveScreenshot(`${name}.png`, { ...strict, mask, fullPage });
}

for (const [size, viewport] of Object.entries(SIZES)) {
  test.describe(size, () => {
    test.use({ viewport });

    test(`set-up and sign-in (${size})`, async ({ page }) => {
      await withSetupLink(async (link) => {
        await page.goto(link);
        await snap(page, `${size}-setup`);
      });
      await page.goto(`${DEMO}/login`);
      await snap(page, `${size}-sign-in`);
      await page.fill('#email', 'ada@acme.test');
      await page.fill('#password', 'not the password at all');
      await page.click('[data-testid=sign-in-submit]');
      await expect(page.locator('[data-testid=sign-in-error]')).toBeVisible();
      await snap(page, `${size}-sign-in-error`);
      await page.goto(`${BRANDED}/login`);
      await snap(page, `${size}-sign-in-branded`);
    });

    test(`key pages (${size})`, async ({ page }) => {
      await demoSignIn(page, 'ada@acme.test');
      await page.goto(`${DEMO}/teams/acme-labs/settings/api-keys`);
      await snap(page, `${size}-keys-empty`);
      await page.goto(`${DEMO}/teams/acme-robotics/settings/api-keys`);
      await snap(page, `${size}-keys-full`);
      await page.goto(`${DEMO}/teams/acme-robotics/settings/api-keys/new`);
      await snap(page, `${size}-create-form`);
      await page.fill('#name', '');
      await page.locator('input[name=scopes]').evaluateAll((boxes) => boxes.forEach((b) => { b.checked = false; }));
      await page.click('[data-testid=create-key-form] button[type=submit]');
      await expect(page.locator('.field-error').first()).toBeVisible();
      await snap(page, `${size}-create-form-errors`);
      const row = (name) => page.locator(`[data-testid=key-row][data-key-name="${name}"]`).first();
      await page.goto(`${DEMO}/teams/acme-robotics/settings/api-keys`);
      const prodId = await row('Production backend').getAttribute('data-key-id');
      await page.goto(`${DEMO}/teams/acme-robotics/settings/api-keys/${prodId}/rotate`);
      await snap(page, `${size}-rotate-dialog`);
      await page.goto(`${DEMO}/teams/acme-robotics/settings/api-keys/${prodId}/delete`);
      await snap(page, `${size}-delete-confirmation`);
      // With JavaScript the same confirmation opens as a modal <dialog> over the list.
      await page.goto(`${DEMO}/teams/acme-robotics/settings/api-keys`);
      await row('Production backend').locator('[data-testid=key-actions] summary').click();
      await row('Production backend').locator('[data-testid=rotate-key]').click();
      await expect(page.locator('#modal [data-testid=rotate-dialog]')).toBeVisible();
      // The viewport only: a modal's backdrop covers the viewport, not a stitched full page.
      await snap(page, `${size}-rotate-dialog-modal`, [], false);
      await page.goto(`${DEMO}/teams/acme-robotics/settings/api-keys`);
      await expect(page.locator('[data-testid=retiring-usage]')).toHaveText('Still in use: last request 5 minutes ago');
      // A key's own page: summary, hygiene, usage charts by outcome, addresses, lineage, trail.
      await page.goto(`${DEMO}/teams/acme-robotics/settings/api-keys/${prodId}`);
      await snap(page, `${size}-key-page`);
      const widgetId = await page.goto(`${DEMO}/teams/acme-robotics/settings/api-keys`)
        .then(() => row('Support widget').getAttribute('data-key-id'));
      await page.goto(`${DEMO}/teams/acme-robotics/settings/api-keys/${widgetId}`);
      await snap(page, `${size}-key-page-rotated`);
      // The list filtered to what needs attention, a search, and one that matches nothing.
      await page.goto(`${DEMO}/teams/acme-robotics/settings/api-keys?hint=attention`);
      await snap(page, `${size}-keys-attention`);
      await page.goto(`${DEMO}/teams/acme-robotics/settings/api-keys?q=support`);
      await snap(page, `${size}-keys-search`);
      await page.goto(`${DEMO}/teams/acme-robotics/settings/api-keys?q=nothing-like-it&status=active`);
      await snap(page, `${size}-keys-no-match`);
      // Ending the grace of a retiring key that is still in use asks first.
      const oldWidget = await page.goto(`${DEMO}/teams/acme-robotics/settings/api-keys`)
        .then(() => page.locator('[data-testid=key-row].row-nested').getAttribute('data-key-id'));
      await page.goto(`${DEMO}/teams/acme-robotics/settings/api-keys/${oldWidget}/end-grace`);
      await snap(page, `${size}-end-grace-confirmation`);
      await page.goto(`${DEMO}/teams/acme-robotics/settings/members`);
      await snap(page, `${size}-members`);
      // Removing a member and transferring ownership ask first.
      const removeCara = await page.locator('[data-testid=member-row][data-member-email="cara@acme.test"] [data-testid=remove-member]').getAttribute('href');
      await page.goto(`${DEMO}${removeCara}`);
      await snap(page, `${size}-remove-member`);
      const caraId = removeCara.split('/').slice(-2)[0];
      await page.goto(`${DEMO}/teams/acme-robotics/settings/members/transfer?user_id=${caraId}`);
      await snap(page, `${size}-transfer-confirmation`);
      await page.goto(`${DEMO}/teams/acme-robotics/api-reference`);
      await snap(page, `${size}-api-reference`);
      // Up to yesterday: other suites make changes on the demo server today.
      await page.goto(`${DEMO}/teams/acme-robotics/settings/audit-log?to=2026-01-14`);
      await snap(page, `${size}-audit-log`);
      await page.goto(`${DEMO}/teams/acme-robotics/settings/audit-log?action=api_key.created&from=2026-01-01&to=2026-01-14`);
      await snap(page, `${size}-audit-log-filtered`);
    });

    test(`integration pages (${size})`, async ({ page }) => {
      await demoSignIn(page, 'ada@acme.test');
      const list = `${DEMO}/teams/acme-robotics/settings/integrations`;
      await page.goto(list);
      await snap(page, `${size}-integrations`);
      const id = await page.locator('[data-testid=integration-row][data-integration-name="Acme store"]').getAttribute('data-integration-id');
      await page.goto(`${list}/new`);
      await snap(page, `${size}-integration-chooser`);
      // A preset that connects with OAuth 2.0: the redirect URI to register, the data centre.
      await page.goto(`${list}/new?provider=zoho_crm&connect=oauth`);
      await snap(page, `${size}-integration-oauth-preset`);
      await page.goto(`${list}/new?provider=woocommerce`);
      await snap(page, `${size}-integration-form`);
      await page.click('[data-testid=integration-submit]');
      await expect(page.locator('[data-testid=form-errors]')).toBeVisible();
      await snap(page, `${size}-integration-form-errors`);
      await page.goto(`${list}/${id}/edit`);
      await snap(page, `${size}-integration-edit`);
      await page.goto(`${list}/${id}/delete`);
      await snap(page, `${size}-integration-delete`);
    });

    test(`webhook pages (${size})`, async ({ page }) => {
      await demoSignIn(page, 'ada@acme.test');
      const list = `${DEMO}/teams/acme-robotics/settings/webhooks`;
      await page.goto(list);
      await snap(page, `${size}-webhooks`);
      const idOf = (url) => page.locator(`[data-testid=endpoint-row][data-endpoint-url="${url}"]`).getAttribute('data-endpoint-id');
      const alerts = await idOf('https://hooks.acme-robotics.example/latchkey');
      const crm = await idOf('https://crm.acme-robotics.example/webhooks/latchkey');
      await page.goto(`${list}/${alerts}`);
      await snap(page, `${size}-webhook-log`);
      await page.goto(`${list}/${crm}`);
      await expect(page.locator('[data-testid=disabled-banner]')).toBeVisible();
      await snap(page, `${size}-webhook-disabled`);
      await page.goto(`${list}/new`);
      await snap(page, `${size}-webhook-form`);
      await page.check('input[name=events][value=selected]');
      await page.click('[data-testid=endpoint-submit]');
      await expect(page.locator('[data-testid=form-errors]')).toBeVisible();
      await snap(page, `${size}-webhook-form-errors`);
      await page.goto(`${list}/${alerts}/rotate`);
      await snap(page, `${size}-webhook-rotate`);
      await page.goto(`${list}/${alerts}/delete`);
      await snap(page, `${size}-webhook-delete`);
      // The new secret is random: masked, like every data-volatile value.
      await page.goto(`${list}/${crm}/rotate`);
      await page.check('input[name=overlap][value="0"]');
      await page.click('[data-testid=rotate-submit]');
      await expect(page.locator('[data-testid=reveal-panel]')).toBeVisible();
      await snap(page, `${size}-webhook-secret`, [page.locator('[data-testid=reveal-panel] [data-volatile]')]);
    });

    test(`agency and brands (${size})`, async ({ page }) => {
      await demoSignIn(page, 'nora@northstar.test', BRANDED);
      await page.goto(`${BRANDED}/agencies/northstar-digital`);
      await snap(page, `${size}-agency-dashboard`);
      await page.goto(`${BRANDED}/agencies/northstar-digital/clients/harbor-coffee/suspend`);
      await snap(page, `${size}-suspend-client`);
      await page.goto(`${BRANDED}/teams/harbor-coffee/settings/api-keys`);
      await snap(page, `${size}-client-keys-agency-brand`);
      await page.goto(`${BRANDED}/agencies/northstar-digital/audit-log`);
      await snap(page, `${size}-agency-audit-log`);
      await page.goto(`${BRANDED}/teams/harbor-coffee/settings/integrations`);
      await snap(page, `${size}-client-integrations-agency-brand`);
      await page.goto(`${DEMO}/login`);
      await demoSignIn(page, 'hana@harbor.test');
      await page.goto(`${DEMO}/teams/harbor-coffee/settings/api-keys`);
      await snap(page, `${size}-client-keys-client-view`);
    });

    test(`error pages (${size})`, async ({ page }) => {
      await demoSignIn(page, 'dan@acme.test');
      await page.goto(`${DEMO}/teams/no-such-team/settings/api-keys`);
      await snap(page, `${size}-error-404`);
      await page.goto(`${DEMO}/teams/acme-robotics/settings/api-keys/new`);
      await snap(page, `${size}-error-403`);
      const ctx = await page.context().browser().newContext({ viewport });
      const fresh = await ctx.newPage();
      for (let i = 0; i < 6; i++) {
        await fresh.goto(`${DEMO}/login`);
        await fresh.fill('#email', `nobody-${size}@example.com`);
        await fresh.fill('#password', 'wrong password, again');
        await fresh.click('[data-testid=sign-in-submit]');
      }
      await expect(fresh.locator('[data-testid=error-page]')).toHaveAttribute('data-status', '429');
      await fresh.evaluate(() => document.fonts.ready);
      await expect(fresh).toHaveScreenshot(`${size}-error-429.png`, strict);
      await ctx.close();
    });
  });
}

// Last, after every read-only page: creating a key changes the lists above.
for (const [size, viewport] of Object.entries(SIZES)) {
  test.describe(`${size} reveal`, () => {
    test.use({ viewport });

    test(`reveal panel (${size})`, async ({ page }) => {
      // A new secret depends on how many ids and tokens the demo made before it (other specs
      // sign in too), so it is masked — as docs/testing-ui.md tells outside suites to do with
      // everything marked data-volatile.
      await demoSignIn(page, 'ada@acme.test');
      await page.goto(`${DEMO}/teams/acme-labs/settings/api-keys/new`);
      await page.fill('#name', `Reveal ${size}`);
      await page.click('[data-testid=create-key-form] button[type=submit]');
      await expect(page.locator('[data-testid=reveal-panel]')).toBeVisible();
      await snap(page, `${size}-reveal`, [page.locator('[data-testid=reveal-panel] [data-volatile]')]);
    });

    // Last: it turns two-factor on for an account no other page of this suite shows (one per
    // size, so the phone run starts from the same state as the desktop one).
    test(`account and two-factor pages (${size})`, async ({ page }) => {
      const who = size === 'desktop' ? 'ivan@harbor.test' : 'omar@northstar.test';
      const volatile = () => [page.locator('[data-volatile]')];
      await demoSignIn(page, who);
      await page.goto(`${DEMO}/account`);
      await snap(page, `${size}-account`);
      await page.click('[data-testid=two-factor-setup]');
      await expect(page.locator('[data-testid=two-factor-enrol]')).toBeVisible();
      await snap(page, `${size}-two-factor-enrol`, volatile());
      const secret = (await page.textContent('[data-testid=totp-secret]')).trim();
      await page.fill('#code', '000000');
      await page.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
      await expect(page.locator('#code-error')).toBeVisible();
      await snap(page, `${size}-two-factor-enrol-error`, volatile());
      await page.fill('#code', totp(secret));
      await page.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
      await expect(page.locator('[data-testid=recovery-codes]')).toBeVisible();
      await snap(page, `${size}-recovery-codes`, volatile());
      const recovery = (await page.locator('[data-testid=recovery-code]').first().textContent()).trim();
      await page.getByRole('link', { name: 'Done' }).click();
      await expect(page.locator('[data-testid=two-factor-on]')).toBeVisible();
      await page.click('[data-testid=sign-out]');
      await page.fill('#email', who);
      await page.fill('#password', 'latchkey-demo-password');
      await page.click('[data-testid=sign-in-submit]');
      await expect(page.locator('[data-testid=two-factor-step]')).toBeVisible();
      await snap(page, `${size}-two-factor-step`);
      await page.fill('#code', recovery);
      await page.getByRole('button', { name: 'Verify and sign in' }).click();
      await expect(page.locator('[data-testid=two-factor-step]')).toHaveCount(0);
      await page.goto(`${DEMO}/account`);
      await snap(page, `${size}-account-two-factor-on`);
      await page.click('[data-testid=sign-out]');
      await page.goto(`${DEMO}/password/forgot`);
      await snap(page, `${size}-forgot-password`);
      await page.goto(`${DEMO}/account/email/confirm?token=no-such-link`);
      await snap(page, `${size}-email-link-gone`);
    });
  });
}

// After every other golden (one test for both sizes: the policy is one state of the demo). A
// client's owner turns on two-factor, requires it of Harbor Coffee, and a member who joins
// afterwards lands on "Your account" being told to set it up before anything else.
test.describe('team policy', () => {
  test('a team that requires two-factor sign-in (desktop and phone)', async ({ browser }) => {
    const both = async (page, name) => {
      await page.setViewportSize(SIZES.desktop);
      await snap(page, `desktop-${name}`);
      await page.setViewportSize(SIZES.phone);
      await snap(page, `phone-${name}`);
      await page.setViewportSize(SIZES.desktop);
    };
    const ownerContext = await browser.newContext({ viewport: SIZES.desktop });
    const owner = await ownerContext.newPage();
    await demoSignIn(owner, 'hana@harbor.test');
    await owner.goto(`${DEMO}/account`);
    await owner.click('[data-testid=two-factor-setup]');
    const secret = (await owner.textContent('[data-testid=totp-secret]')).trim();
    await owner.fill('#code', totp(secret));
    await owner.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
    await expect(owner.locator('[data-testid=recovery-codes]')).toBeVisible();
    const members = `${DEMO}/teams/harbor-coffee/settings/members`;
    await owner.goto(members);
    await owner.getByRole('button', { name: 'Require two-factor sign-in' }).click();
    await expect(owner.getByRole('button', { name: 'Stop requiring two-factor sign-in' })).toBeVisible();
    await owner.goto(members);
    await both(owner, 'members-two-factor-required');

    await owner.getByLabel('E-mail').fill('nils@harbor.test');
    await owner.click('[data-testid=invite-submit]');
    const link = await owner.inputValue('[data-testid=invitation-link]');
    const context = await browser.newContext({ viewport: SIZES.desktop });
    const member = await context.newPage();
    await member.goto(link);
    await member.getByLabel('Your name').fill('Nils Berg');
    await member.getByLabel('Password').fill('a new member password');
    await member.click('[data-testid=accept-invitation]');
    // Sent to set it up first, whatever page was asked for.
    await expect(member.locator('[data-testid=two-factor-required]')).toBeVisible();
    await member.goto(`${DEMO}/teams/harbor-coffee/settings/api-keys`);
    await expect(member).toHaveURL(`${DEMO}/account`);
    const { default: AxeBuilder } = require('@axe-core/playwright');
    for (const p of [owner, member]) {
      const axe = await new AxeBuilder({ page: p }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
      expect(axe.violations.map((v) => v.id)).toEqual([]);
    }
    await both(member, 'account-two-factor-required');
    await context.close();
    await ownerContext.close();
  });
});
