// Starts `latchkey` on a fresh database, completes first-run set-up through the real pages
// (the one-time link is read from the server's console), and leaves the owner signed out.
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const PORT = 18080;
const BASE = `http://127.0.0.1:${PORT}`;
const OWNER = { name: 'Ada Lovelace', email: 'ada@example.com', password: 'correct horse battery staple', team: 'Acme Support' };

function binaryPath() {
  const target = process.env.CARGO_TARGET_DIR || path.join(__dirname, '..', '..', 'target');
  return process.env.LATCHKEY_BIN || path.join(target, 'debug', 'latchkey');
}

async function waitForSetupLink(child) {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no set-up link within 30 s; output:\n${out}`)), 30000);
    const onData = (chunk) => {
      out += chunk.toString();
      const m = out.match(/(http:\/\/\S+\/setup\?token=[A-Za-z0-9]+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`latchkey exited with ${code}:\n${out}`)); });
    child.on('error', (e) => { clearTimeout(timer); reject(new Error(`cannot start ${binaryPath()}: ${e.message}`)); });
  });
}

function cookieFrom(res) {
  const raw = res.headers.get('set-cookie') || '';
  return raw.split(';')[0];
}

// `latchkey demo` for the screenshot and accessibility suites: seeded, fixed clock, same
// pixels on every run.
const DEMO_PORT = 18082;
async function startDemo() {
  const base = `http://127.0.0.1:${DEMO_PORT}`;
  const stale = await fetch(`${base}/healthz`).then(() => true, () => false);
  if (stale) throw new Error(`port ${DEMO_PORT} is already in use; stop the old latchkey first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-demo-'));
  const child = spawn(binaryPath(), ['demo'], {
    env: { ...process.env, LATCHKEY_DATA_DIR: dir, LATCHKEY_BIND: `127.0.0.1:${DEMO_PORT}`, LATCHKEY_PUBLIC_URL: base, RUST_LOG: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${base}/healthz`)).ok) break; } catch (e) { /* not up yet */ }
    if (i > 300) throw new Error('latchkey demo did not answer /healthz within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pid: child.pid, dir };
}

module.exports = async () => {
  // A server left over from an interrupted run would answer with another database.
  const stale = await fetch(`${BASE}/healthz`).then(() => true, () => false);
  if (stale) throw new Error(`port ${PORT} is already in use; stop the old latchkey first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-ui-'));
  const child = spawn(binaryPath(), [], {
    env: {
      ...process.env,
      DATABASE_URL: `sqlite://${dir}/ui.db`,
      LATCHKEY_DATA_DIR: dir,
      LATCHKEY_BIND: `127.0.0.1:${PORT}`,
      LATCHKEY_PUBLIC_URL: BASE,
      // The integrations journey calls a receiver on loopback.
      LATCHKEY_OUTBOUND_ALLOW_CIDRS: '127.0.0.1/32',
      RUST_LOG: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const link = await waitForSetupLink(child);
  // The link is printed before the listener binds: wait until it answers.
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${BASE}/healthz`)).ok) break; } catch (e) { /* not up yet */ }
    if (i > 300) throw new Error('latchkey did not answer /healthz within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  child.stdout.removeAllListeners('data');
  child.stderr.removeAllListeners('data');
  child.removeAllListeners('exit');
  const demo = await startDemo();
  fs.writeFileSync(path.join(__dirname, '.server.json'), JSON.stringify([{ pid: child.pid, dir }, demo]));

  // Set-up through the real form.
  const page = await fetch(link);
  const html = await page.text();
  const csrf = html.match(/name="csrf_token" value="([^"]+)"/)[1];
  const token = new URL(link).searchParams.get('token');
  const body = new URLSearchParams({ csrf_token: csrf, token, name: OWNER.name, email: OWNER.email, password: OWNER.password, team: OWNER.team });
  const res = await fetch(`${BASE}/setup`, {
    method: 'POST', redirect: 'manual', body,
    headers: { cookie: cookieFrom(page), 'content-type': 'application/x-www-form-urlencoded', origin: BASE },
  });
  if (res.status !== 303) throw new Error(`set-up failed: ${res.status} ${await res.text()}`);
  process.env.LATCHKEY_UI_TEAM_URL = res.headers.get('location');
};
