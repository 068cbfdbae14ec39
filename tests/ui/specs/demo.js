// Shared by the screenshot and accessibility suites: the `latchkey demo` server started by
// global-setup.js (seeded data, fixed clock 2026-01-15T10:00:00Z).
const { expect } = require('@playwright/test');
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

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

/** A throwaway first-run server, for the set-up page (the demo has its accounts already). */
async function withSetupLink(fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-setup-'));
  const target = process.env.CARGO_TARGET_DIR || path.join(__dirname, '..', '..', '..', 'target');
  const child = spawn(process.env.LATCHKEY_BIN || path.join(target, 'debug', 'latchkey'), [], {
    env: { ...process.env, DATABASE_URL: `sqlite://${dir}/s.db`, LATCHKEY_DATA_DIR: dir, LATCHKEY_BIND: '127.0.0.1:18083', LATCHKEY_PUBLIC_URL: 'http://127.0.0.1:18083', RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  try {
    const link = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => { out += d; const m = out.match(/(http:\S+setup\?token=\w+)/); if (m) resolve(m[1]); });
      child.on('exit', () => reject(new Error(out)));
    });
    for (let i = 0; i < 300; i++) {
      try { if ((await fetch('http://127.0.0.1:18083/healthz')).ok) break; } catch (e) { /* starting */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    await fn(link);
  } finally {
    child.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// The demo's fixed clock (2026-01-15T10:00:00Z), for authenticator codes.
const DEMO_NOW = 1768471200;

/** The RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 `secret` at Unix time `at`. */
function totp(secret, at = DEMO_NOW) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30)));
  const mac = require('crypto').createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1000000).padStart(6, '0');
}

module.exports = { DEMO, BRANDED, PASSWORD, demoSignIn, withSetupLink, totp };
