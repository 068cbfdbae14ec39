// Browser suite. Runs against a real `latchkey` binary on a fresh SQLite database started by
// global-setup.js. Uses Debian's Chromium: Playwright's own browser download is not possible.
const { defineConfig } = require('@playwright/test');

module.exports = defineConfig({
  testDir: './specs',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: true,
  reporter: [['list']],
  // Goldens are per page, not per platform: the demo renders the same pixels everywhere
  // Debian's Chromium runs (bundled fonts, no animation, fixed clock).
  snapshotPathTemplate: '{testDir}/__screenshots__/{arg}{ext}',
  globalSetup: require.resolve('./global-setup.js'),
  globalTeardown: require.resolve('./global-teardown.js'),
  use: {
    baseURL: process.env.LATCHKEY_UI_BASE_URL || 'http://127.0.0.1:18080',
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run', '--disable-quic',
        // Every tile painted whole: a tile repainted in part once gave rounded corners a shade off.
        '--disable-partial-raster'],
    },
  },
});
