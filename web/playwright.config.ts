// The end-to-end tests (npm run e2e): the real server binary, started by the fixture in
// e2e/fixtures.ts, driven by Debian's Chromium. Playwright never downloads a browser here.
//
//   STOCKAGENT_SERVER_BIN  the server binary (default .build/stockagent-server)
//   CHROMIUM               the browser (default: chromium on PATH)
//   CI                     set: a failed test is retried once
import { defineConfig } from '@playwright/test'
import { accessSync, constants } from 'node:fs'
import { delimiter, isAbsolute, join, resolve } from 'node:path'

const repo = resolve(import.meta.dirname, '..')

// The browser's path: a name is looked up on PATH. Without one the run stops at once with one
// line that says how to install it (never a skip).
function findBrowser(name: string): string {
  const candidates = isAbsolute(name) ? [name] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, name))
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK)
      return path
    } catch {
      // not there: the next candidate
    }
  }
  console.error(`FAIL no ${name} to drive: install it with: apt-get install -y chromium (or set CHROMIUM=/path/to/chromium)`)
  process.exit(1)
}

export default defineConfig({
  testDir: 'e2e',
  // One server, one browser, the tests in order: the trainings are what takes the time.
  workers: 1,
  forbidOnly: Boolean(process.env.CI),
  retries: process.env.CI ? 1 : 0,
  // The first analysis trains two models on two cores (about a minute); the training test sets
  // its own, longer limit. These only stop a hung run.
  timeout: 3 * 60_000,
  expect: { timeout: 60_000 },
  outputDir: join(repo, '.build/e2e/results'),
  reporter: [['list'], ['html', { outputFolder: join(repo, '.build/e2e/report'), open: 'never' }]],
  use: {
    browserName: 'chromium',
    viewport: { width: 1280, height: 900 },
    actionTimeout: 60_000,
    navigationTimeout: 60_000,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: findBrowser(process.env.CHROMIUM ?? 'chromium'),
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    },
  },
})
