// Passkeys through Chromium's virtual authenticator (CDP WebAuthn domain): add one on "Your
// account", sign in with it alone (no e-mail typed), use it as the step after the password,
// rename it and remove it. On a server of its own whose public URL is http://localhost:18084: browsers
// refuse WebAuthn on an IP address, and the server takes forms only from its public origin. The
// same server asks "Confirm it's you" every time (LATCHKEY_REAUTH_AFTER_MINUTES=0), so that
// page is seen here too.
const { test, expect } = require('@playwright/test');
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { watchConsole } = require('./helpers');

const HOST = 'http://localhost:18084';
const OWNER = { email: 'pat@example.com', password: 'passkeys are nice to have' };
let server = null;

// The repository's SMTP sink (tests/mail/sink.py, aiosmtpd from the virtual environment .ci/run
// makes): each accepted mail becomes a JSON file in `dir`. Resolves to its port.
function startSink(dir) {
  const venv = process.env.LATCHKEY_VENV || '/var/tmp/latchkey-venv';
  const python = fs.existsSync(`${venv}/bin/python3`) ? `${venv}/bin/python3` : 'python3';
  const child = spawn(python, [path.join(__dirname, '..', '..', 'mail', 'sink.py'), dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve({ child, port: parseInt(String(d).trim(), 10) }));
    child.on('exit', (code) => reject(new Error(`the SMTP sink exited (${code}): aiosmtpd missing?`)));
  });
}

async function mailTo(dir, to) {
  for (let i = 0; i < 100; i++) {
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json'))) {
      const m = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
      if (m.to === to) return m;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail to ${to}`);
}

test.beforeAll(async ({ browser }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-passkeys-'));
  const mailDir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-passkeys-mail-'));
  const sink = await startSink(mailDir);
  const target = process.env.CARGO_TARGET_DIR || path.join(__dirname, '..', '..', '..', 'target');
  const child = spawn(process.env.LATCHKEY_BIN || path.join(target, 'debug', 'latchkey'), [], {
    env: { ...process.env, DATABASE_URL: `sqlite://${dir}/p.db`, LATCHKEY_DATA_DIR: dir, LATCHKEY_BIND: '127.0.0.1:18084', LATCHKEY_PUBLIC_URL: HOST, LATCHKEY_REAUTH_AFTER_MINUTES: '0', LATCHKEY_SMTP_URL: `smtp://127.0.0.1:${sink.port}`, RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  server = { child, dir, sink: sink.child, mailDir };
  const link = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => { out += d; const m = out.match(/(http:\S+setup\?token=\w+)/); if (m) resolve(m[1]); });
    child.on('exit', () => reject(new Error(out)));
  });
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch('http://127.0.0.1:18084/healthz')).ok) break; } catch (e) { /* starting */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  const page = await browser.newPage();
  await page.goto(link);
  await page.getByLabel('Your name').fill('Pat Passkey');
  await page.getByLabel('E-mail').fill(OWNER.email);
  await page.getByLabel('Password').fill(OWNER.password);
  await page.getByLabel('Team name').fill('Passkey Team');
  await page.click('[data-testid=setup-submit]');
  await expect(page.locator('h1')).toHaveText('API keys');
  await page.close();
});

test.afterAll(() => {
  if (!server) return;
  server.child.kill('SIGTERM');
  server.sink.kill('SIGTERM');
  fs.rmSync(server.dir, { recursive: true, force: true });
  fs.rmSync(server.mailDir, { recursive: true, force: true });
});

async function virtualAuthenticator(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

async function signOut(page) {
  await page.click('[data-testid=sign-out]');
  await expect(page.locator('[data-testid=sign-in]')).toBeVisible();
}

function strangerCredential() {
  const { privateKey } = require('crypto').generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    credentialId: Buffer.from('not-registered-here').toString('base64'),
    isResidentCredential: true, rpId: 'localhost', signCount: 1,
    userHandle: Buffer.from('0123456789abcdef').toString('base64'),
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
  };
}

async function passwordStep(page) {
  await page.goto(`${HOST}/login`);
  await page.getByLabel('E-mail').fill(OWNER.email);
  await page.getByLabel('Password').fill(OWNER.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

test('a passkey is added, signs in on its own and as the second step, is renamed, and is removed', async ({ page }) => {
  const problems = watchConsole(page);
  const { cdp, authenticatorId } = await virtualAuthenticator(page);

  // A passkey the server does not know (made elsewhere) is refused with a message.
  await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: strangerCredential() });
  await page.goto(`${HOST}/login`);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.locator('[data-passkey-status]')).toHaveText('The passkey was not accepted. Try again.');
  await expect(page.locator('[data-testid=sign-in]')).toBeVisible();
  await cdp.send('WebAuthn.clearCredentials', { authenticatorId });

  await passwordStep(page);
  await expect(page.locator('h1')).toHaveText('API keys');

  // Add one, named.
  await page.goto(`${HOST}/account`);
  await page.getByLabel('Passkey name').fill('Test laptop');
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await expect(page.locator('.flash')).toHaveText('Passkey “Test laptop” added.');
  const row = page.locator('[data-testid=passkey-row]');
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('Test laptop');
  await expect(row).toContainText('on localhost');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  expect(credentials).toHaveLength(1);
  expect(credentials[0].isResidentCredential).toBe(true);
  await expect(page.locator('[data-testid=security-activity]')).toContainText('Passkey added');
  // The listed passkey (its times masked: this server runs on the real clock).
  await page.setViewportSize({ width: 1280, height: 800 });
  await expect(page.locator('[data-testid=passkeys]')).toHaveScreenshot('desktop-passkey-listed.png', {
    mask: [page.locator('[data-testid=passkeys] [data-volatile]')], maxDiffPixels: 0, threshold: 0, animations: 'disabled', caret: 'hide',
  });

  // Signed out, the passkey alone signs in: no e-mail, no password.
  await signOut(page);
  await page.goto(`${HOST}/login`);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.locator('h1')).toHaveText('API keys');
  await page.goto(`${HOST}/account`);
  await expect(page.locator('[data-testid=security-activity]')).toContainText('Signed in with a passkey');

  // With a passkey, the password is followed by the passkey step.
  await signOut(page);
  await passwordStep(page);
  await expect(page).toHaveURL(/\/login\/two-factor$/);
  await expect(page.locator('h1')).toHaveText('Two-factor sign-in');
  await page.getByRole('button', { name: 'Use a passkey' }).click();
  await expect(page.locator('h1')).toHaveText('API keys');

  // "Confirm it's you" (asked every time on this server): an account whose second factor is a
  // passkey answers with it, not with a password alone, and the admin key is made in that step.
  await page.goto(`${HOST}/teams/passkey-team/settings/api-keys/new`);
  await page.fill('#name', 'Passkey root');
  await page.check('input[name=scopes][value=admin]');
  await page.click('[data-testid=create-key-form] button[type=submit]');
  await expect(page.locator('h1')).toHaveText("Confirm it's you");
  await expect(page.getByLabel('Password')).toHaveCount(0);
  await page.setViewportSize({ width: 1280, height: 800 });
  await expect(page).toHaveScreenshot('desktop-confirm-with-passkey.png', { fullPage: true, maxDiffPixels: 0, threshold: 0, animations: 'disabled', caret: 'hide' });
  await page.getByRole('button', { name: 'Confirm with your passkey' }).click();
  await expect(page.locator('[data-testid=reveal-panel]')).toBeVisible();
  await expect(page.locator('[data-testid=revealed-key]')).toHaveValue(/^sk_(live|test)_/);

  // Renamed on a page of its own (which passes axe); an empty name is refused beside the field.
  await page.goto(`${HOST}/account`);
  await page.getByRole('link', { name: 'Rename passkey Test laptop' }).click();
  await expect(page.locator('h1')).toHaveText('Rename passkey');
  await expect(page.getByLabel('Name')).toHaveValue('Test laptop');
  const { default: AxeBuilder } = require('@axe-core/playwright');
  const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(axe.violations.filter((v) => ['serious', 'critical'].includes(v.impact)).map((v) => v.id)).toEqual([]);
  await page.getByLabel('Name').fill(' ');
  await page.getByRole('button', { name: 'Save name' }).click();
  await expect(page.locator('.field-error')).toHaveText('Enter a name.');
  await page.getByLabel('Name').fill('Work laptop');
  await page.getByRole('button', { name: 'Save name' }).click();
  await expect(page.locator('.flash')).toHaveText('Passkey renamed “Work laptop”.');
  await expect(row).toContainText('Work laptop');
  await expect(page.locator('[data-testid=security-activity]')).toContainText('Passkey renamed');

  // Removed, it no longer signs in, and the password alone does again.
  await page.getByRole('button', { name: 'Remove passkey Work laptop' }).click();
  await expect(page.locator('.flash')).toHaveText('Passkey removed: it no longer signs you in.');
  await expect(row).toHaveCount(0);
  await signOut(page);
  await page.goto(`${HOST}/login`);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.locator('[data-passkey-status]')).toHaveText('The passkey was not accepted. Try again.');
  await passwordStep(page);
  await expect(page.locator('h1')).toHaveText('API keys');
  await signOut(page);
  await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
  // The two refused passkeys were 400 answers, "Confirm it's you" a 403 and the empty name a 422
  // (the console notes each); nothing else went wrong.
  const refused = problems.filter((p) => p.includes('status of 400'));
  expect(refused).toHaveLength(2);
  const asked = problems.filter((p) => p.includes('status of 403'));
  expect(asked).toHaveLength(1);
  const invalid = problems.filter((p) => p.includes('status of 422'));
  expect(invalid).toHaveLength(1);
  expect(problems.filter((p) => ![...refused, ...asked, ...invalid].includes(p))).toEqual([]);
});

test('on an IP address the account page says where passkeys work, and there is no passkey button', async ({ page }) => {
  const { OWNER: owner } = require('./helpers');
  await page.goto('/login');
  await expect(page.getByRole('button', { name: 'Sign in with a passkey' })).toHaveCount(0);
  await page.getByLabel('E-mail').fill(owner.email);
  await page.getByLabel('Password').fill(owner.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.goto('/account');
  await expect(page.locator('[data-testid=passkeys-unavailable]')).toContainText('not an IP address');
  await expect(page.getByRole('button', { name: 'Add a passkey' })).toHaveCount(0);
});

test("'Confirm it's you' asks for the password before an admin key, passes axe, and the key is made in one step", async ({ page }) => {
  const { default: AxeBuilder } = require('@axe-core/playwright');
  await page.setViewportSize({ width: 1280, height: 800 });
  await passwordStep(page);
  await page.goto(`${HOST}/teams/passkey-team/settings/api-keys/new`);
  await page.fill('#name', 'Root key');
  await page.check('input[name=scopes][value=admin]');
  await page.click('[data-testid=create-key-form] button[type=submit]');
  await expect(page.locator('h1')).toHaveText("Confirm it's you");
  const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(axe.violations.filter((v) => ['serious', 'critical'].includes(v.impact)).map((v) => v.id)).toEqual([]);
  await expect(page).toHaveScreenshot('desktop-confirm-its-you.png', { fullPage: true, maxDiffPixels: 0, threshold: 0, animations: 'disabled', caret: 'hide' });
  await page.getByLabel('Password').fill('not my password at all');
  await page.getByRole('button', { name: 'Confirm and continue' }).click();
  await expect(page.locator('#confirm_password-error')).toHaveText('That is not your password.');
  await page.getByLabel('Password').fill(OWNER.password);
  await page.getByRole('button', { name: 'Confirm and continue' }).click();
  await expect(page.locator('[data-testid=reveal-panel]')).toBeVisible();
  await expect(page.locator('[data-testid=revealed-key]')).toHaveValue(/^sk_(live|test)_/);
  await signOut(page);
});

// Last: it moves the owner to a new address. With e-mail on, the change waits for the link
// mailed to the new address; its page changes nothing until its button is pressed.
test('the e-mail address changes through a link mailed to the new address', async ({ page }) => {
  const { default: AxeBuilder } = require('@axe-core/playwright');
  const exact = { fullPage: true, maxDiffPixels: 0, threshold: 0, animations: 'disabled', caret: 'hide' };
  await page.setViewportSize({ width: 1280, height: 800 });
  await passwordStep(page);
  await page.goto(`${HOST}/account`);
  await page.getByLabel('New e-mail address').fill('pat@new.example');
  await page.getByLabel('Confirm with your password').fill(OWNER.password);
  await page.getByRole('button', { name: 'Change e-mail address' }).click();
  await expect(page.locator('.flash')).toContainText('pat@new.example');
  const mail = await mailTo(server.mailDir, 'pat@new.example');
  const link = mail.text.split(/\s+/).find((w) => w.includes('/account/email/confirm?token='));
  await page.goto(link);
  await expect(page.locator('h1')).toHaveText('Confirm your new e-mail address');
  const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(axe.violations.filter((v) => ['serious', 'critical'].includes(v.impact)).map((v) => v.id)).toEqual([]);
  await expect(page).toHaveScreenshot('desktop-email-confirm.png', exact);
  await page.getByRole('button', { name: 'Use this address' }).click();
  await expect(page.locator('[data-testid=email-change-done]')).toContainText('pat@new.example');
  await expect(page).toHaveScreenshot('desktop-email-confirmed.png', exact);
  // The old address hears of it.
  const notice = await mailTo(server.mailDir, OWNER.email);
  expect(notice.text).toContain('signs in with pat@new.example');
});
