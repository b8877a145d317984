// End to end: the real server binary (embedded interpreter, bundled data, this app built into
// it) driven by headless Chromium. A ticker with no model is analyzed, so the market model and
// the ticker's model train first (tiny settings through the server-wide training defaults); the
// progress, then the chart, then the report must appear; Monitor must show that model's drift.
// Screenshots go to .build/screenshots/ for a person to look at; the time to first render and
// the bytes the browser loads are printed as benchmarks (measured, never asserted).
//
//   STOCKAGENT_SERVER_BIN  the server binary (default .build/stockagent-server)
//   CHROMIUM               the browser (default: chromium on PATH)

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const serverBin = process.env.STOCKAGENT_SERVER_BIN || join(repo, '.build/stockagent-server')
const browserBin = findBrowser(process.env.CHROMIUM || 'chromium')
const shots = join(repo, '.build/screenshots')
const ticker = 'MSFT'

// Training both models and one analyst run take about a minute on two cores; the limits
// only stop a hung run.
const trainAndReport = 8 * 60_000
const pageReady = 60_000

// The analyst's report, rendered: there once the answer and the markdown renderer both are.
const reportOf = (page) => page.locator('.report')

// The browser's path: a name is looked up on PATH. Without one the run fails at once with one
// line that says how to install it (never a skip).
function findBrowser(name) {
  const candidates = isAbsolute(name) ? [name] : (process.env.PATH || '').split(delimiter).filter(Boolean).map((dir) => join(dir, name))
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK)
      return path
    } catch {
      // not there: the next candidate
    }
  }
  console.log(`FAIL no ${name} to drive: install it with: apt-get install -y chromium (or set CHROMIUM=/path/to/chromium)`)
  process.exit(1)
}

function freePort() {
  return new Promise((done, fail) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => done(port))
    }).on('error', fail)
  })
}

async function startServer(dataDir) {
  const port = await freePort()
  const proc = spawn(serverBin, [], {
    env: {
      ...process.env, HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir,
      // Two parent epochs: an epoch's event comes at its end, so "Epoch 1 of 2" stays up for the
      // whole second epoch (seconds), where the last epoch's lasts only its evaluation.
      PARENT_EPOCHS: '2', CHILD_EPOCHS: '1', PARENT_START_DATE: '2016-01-01',
      NEWS_SOURCE: 'none', RATE_LIMITS: 'off', LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const exited = new Promise((done) => proc.on('exit', (code) => done(code)))
  const base = `http://127.0.0.1:${port}`
  for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
    const code = await Promise.race([exited, new Promise((done) => setTimeout(() => done(undefined), 500))])
    if (code !== undefined) throw new Error(`${serverBin} exited with ${code} before it was healthy`)
    try {
      if ((await fetch(`${base}/health`)).ok) return { base, proc, exited }
    } catch { /* not listening yet */ }
  }
  throw new Error(`${serverBin} was not healthy within 120 s`)
}

// Collected inside each page: every text the training progress showed, whether the chart was
// drawn while the analyst was still writing, and any violation of the page's
// Content-Security-Policy.
function watchPage() {
  window.__progress = []
  window.__violations = []
  document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(`${e.violatedDirective}: ${e.blockedURI}`))
  new MutationObserver(() => {
    for (const el of document.querySelectorAll('section[aria-label^="Training"] [role="status"]')) {
      const t = el.textContent.trim()
      if (t && window.__progress.at(-1) !== t) window.__progress.push(t)
    }
  }).observe(document, { subtree: true, childList: true, characterData: true })
  window.__chartWhileWriting = false
  new MutationObserver((_, obs) => {
    const writing = [...document.querySelectorAll('[role="status"]')].some((el) => el.textContent.includes('The analyst is writing'))
    if (writing && document.querySelector('[data-testid="forecast-chart"] canvas')) {
      window.__chartWhileWriting = true
      obs.disconnect()
    }
  }).observe(document, { subtree: true, childList: true, characterData: true })
  // The live loss curves: drawn once an epoch's losses arrive.
  window.__liveLoss = false
  new MutationObserver((_, obs) => {
    if (document.querySelector('[data-testid="live-loss-chart"] path[data-series]')) {
      window.__liveLoss = true
      obs.disconnect()
    }
  }).observe(document, { subtree: true, childList: true })
  window.__firstRender = undefined
  new MutationObserver((_, obs) => {
    if (document.querySelector('main h1')) {
      window.__firstRender = performance.now()
      obs.disconnect()
    }
  }).observe(document, { subtree: true, childList: true })
}

async function newPage(browser, options, errors) {
  const context = await browser.newContext(options)
  await context.addInitScript(watchPage)
  const page = await context.newPage()
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`))
  page.setDefaultTimeout(pageReady)
  return page
}

async function checkClean(page, errors) {
  const violations = await page.evaluate(() => window.__violations)
  assert.deepEqual(violations, [], 'Content-Security-Policy violations')
  assert.deepEqual(errors, [], 'errors in the page')
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

const results = []
async function step(name, fn) {
  const start = Date.now()
  try {
    await fn()
    results.push(true)
    console.log(`ok   ${name} (${((Date.now() - start) / 1000).toFixed(1)} s)`)
  } catch (err) {
    results.push(false)
    console.log(`FAIL ${name}\n     ${String(err?.stack ?? err).split('\n').join('\n     ')}`)
    throw err
  }
}

const dataDir = mkdtempSync(join(tmpdir(), 'stockagent-e2e-'))
mkdirSync(shots, { recursive: true })
let server
let browser
try {
  server = await startServer(dataDir)
  browser = await chromium.launch({
    executablePath: browserBin,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  })
  const { base } = server
  const desktop = { viewport: { width: 1280, height: 900 } }

  await step('Analyze page: time to first render (benchmark)', async () => {
    const fcp = []
    const rendered = []
    let initialBytes = 0
    for (let i = 0; i < 5; i++) {
      const errors = []
      const page = await newPage(browser, desktop, errors) // a new context: a cold cache each time
      await page.goto(`${base}/`)
      await page.getByRole('heading', { level: 1, name: 'Analyze' }).waitFor()
      await page.getByLabel('Ticker symbol').waitFor()
      // Chromium records the paint entry a moment after the frame: wait for it, not for a clock.
      await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint').length > 0 && window.__firstRender > 0)
      const m = await page.evaluate(() => ({
        fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime,
        rendered: window.__firstRender,
        bytes: [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
          .filter((e) => new URL(e.name).pathname.match(/^\/($|assets\/)/))
          .reduce((sum, e) => sum + e.transferSize, 0),
      }))
      assert.ok(m.fcp > 0 && m.rendered > 0, `paint timings missing: ${JSON.stringify(m)}`)
      fcp.push(m.fcp)
      rendered.push(m.rendered)
      initialBytes = m.bytes
      await checkClean(page, errors)
      await page.context().close()
    }
    console.log(`     benchmark: first contentful paint ${median(fcp).toFixed(0)} ms, Analyze page rendered ${median(rendered).toFixed(0)} ms (median of 5 cold loads; runs ${rendered.map((r) => r.toFixed(0)).join(', ')} ms)`)
    console.log(`     benchmark: the page, its script and its styles: ${(initialBytes / 1024).toFixed(1)} kB transferred (gzip)`)
  })

  await step('a bad ticker is refused in the form, before any request', async () => {
    const errors = []
    const page = await newPage(browser, desktop, errors)
    const asked = []
    page.on('request', (r) => { if (new URL(r.url()).pathname === '/analyze') asked.push(r.url()) })
    await page.goto(`${base}/`)
    await page.getByLabel('Ticker symbol').fill('../etc')
    await page.getByRole('button', { name: 'Analyze', exact: true }).click()
    await page.getByRole('alert').filter({ hasText: 'Use only letters, digits' }).waitFor()
    assert.deepEqual(asked, [])
    await checkClean(page, errors)
    await page.context().close()
  })

  await step(`analyze ${ticker}: the models train with visible progress, then the chart, then the report appear`, async () => {
    const errors = []
    const page = await newPage(browser, { ...desktop, colorScheme: 'light' }, errors)
    await page.goto(`${base}/`)
    await page.getByLabel('Ticker symbol').fill(ticker.toLowerCase())
    await page.keyboard.press('Enter')
    await page.waitForURL(`${base}/analyze/${ticker}`)
    await page.getByText(`There is no model for ${ticker} yet`).waitFor()
    await page.getByRole('region', { name: `Training ${ticker}` }).waitFor()
    // For the screenshot, an epoch in progress if one shows before the chart does.
    const chart = page.getByTestId('forecast-chart')
    await Promise.race([
      page.getByText(/^Epoch \d+ of \d+$/).first().waitFor({ timeout: trainAndReport }),
      chart.waitFor({ timeout: trainAndReport }),
    ])
    await page.screenshot({ path: join(shots, 'analyze-training.png') })
    const live = page.getByTestId('live-loss-chart').first()
    if (await live.isVisible()) await live.screenshot({ path: join(shots, 'chart-loss-live.png') })

    // The forecast comes in milliseconds, the report after the analyst's run: the chart is drawn
    // while the report's card still says the analyst is writing.
    await chart.locator('canvas').first().waitFor({ timeout: trainAndReport })
    if (await page.getByRole('status').filter({ hasText: 'The analyst is writing' }).isVisible()) {
      await page.screenshot({ path: join(shots, 'analyze-writing.png'), fullPage: true })
    }
    await reportOf(page).waitFor({ timeout: trainAndReport })
    assert.ok(await page.evaluate(() => window.__chartWhileWriting), 'the chart was not drawn while the analyst was writing')
    const progress = await page.evaluate(() => window.__progress)
    console.log(`     progress shown: ${progress.join(' | ')}`)
    assert.ok(progress.includes('Epoch 1 of 2'), 'the market model\'s "Epoch 1 of 2" was not shown')
    assert.ok(progress.some((t) => t.startsWith('Trained')), 'the finished training was not shown')
    assert.ok(await page.evaluate(() => window.__liveLoss), 'no live loss curve was drawn while the models trained')

    const box = await chart.boundingBox()
    assert.ok(box && box.width > 300 && box.height > 200, `chart box ${JSON.stringify(box)}`)
    await page.getByText('Prices up to Tue, 31 Dec 2024').waitFor()
    await page.getByText("Analyst's stance").waitFor()
    await page.getByText('Not investment advice.').first().waitFor()
    await page.getByText(/Tested on [\d,]+ forecasts/).waitFor()
    // The chart and the markdown renderer load on their own, with the first analysis.
    const lazyBytes = await page.evaluate(() => performance.getEntriesByType('resource')
      .filter((e) => /\/assets\/(forecast-chart|report-markdown)-/.test(e.name))
      .reduce((sum, e) => sum + e.transferSize, 0))
    assert.ok(lazyBytes > 0, 'the chart and markdown chunks were not loaded')
    console.log(`     benchmark: the chart and markdown chunks, loaded with the first analysis: ${(lazyBytes / 1024).toFixed(1)} kB transferred (gzip)`)
    await page.screenshot({ path: join(shots, 'analyze-desktop-light.png'), fullPage: true })
    await checkClean(page, errors)
    await page.context().close()
  })

  await step('dark theme and phone width', async () => {
    const errors = []
    const dark = await newPage(browser, { ...desktop, colorScheme: 'dark' }, errors)
    await dark.goto(`${base}/analyze/${ticker}`)
    await reportOf(dark).waitFor({ timeout: trainAndReport })
    await dark.getByTestId('forecast-chart').locator('canvas').first().waitFor()
    assert.equal(await dark.evaluate(() => document.documentElement.dataset.theme), 'dark')
    await dark.screenshot({ path: join(shots, 'analyze-desktop-dark.png'), fullPage: true })
    await checkClean(dark, errors)
    await dark.context().close()

    const phone = await newPage(browser, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }, errors)
    await phone.goto(`${base}/analyze/${ticker}`)
    await reportOf(phone).waitFor({ timeout: trainAndReport })
    await phone.getByTestId('forecast-chart').locator('canvas').first().waitFor()
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`)
    await phone.screenshot({ path: join(shots, 'analyze-phone.png'), fullPage: true })
    await checkClean(phone, errors)
    await phone.context().close()
  })

  await step(`Monitor shows ${ticker}'s drift`, async () => {
    const errors = []
    const page = await newPage(browser, desktop, errors)
    await page.goto(`${base}/monitor`)
    const model = page.getByRole('article', { name: new RegExp(`^${ticker}\\b`) })
    await model.waitFor()
    // Drift runs after each training; if it has not yet, the button runs it now.
    const report = model.locator('[data-health]')
    await Promise.race([report.waitFor(), model.getByText(/No drift report yet/).waitFor()])
    if (!(await report.isVisible())) {
      await model.getByRole('button', { name: `Check drift and evaluation of ${ticker} now` }).click()
    }
    await report.waitFor({ timeout: trainAndReport })
    const health = await report.getAttribute('data-health')
    assert.ok(['Healthy', 'Degraded (Warning)', 'Critical (Drift Detected)'].includes(health), `drift health ${health}`)
    assert.match(await report.locator('[data-tone]').first().textContent(), new RegExp(health.replace(/[()]/g, '\\$&')))
    await model.getByText(/Drift score [\d.]+/).waitFor()
    await page.getByRole('row', { name: /msft/ }).first().waitFor()
    await page.screenshot({ path: join(shots, 'monitor.png'), fullPage: true })
    await checkClean(page, errors)
    await page.context().close()
  })

  await step(`the charts of ${ticker}'s model draw its real figures`, async () => {
    const errors = []
    const page = await newPage(browser, desktop, errors)
    await page.goto(`${base}/monitor`)
    const model = page.getByRole('article', { name: new RegExp(`^${ticker}\\b`) })
    // One more drift check, so the drift chart draws a line through real checks.
    const drift = model.getByTestId('drift-history-chart')
    const checks = Number((await drift.getByRole('img').getAttribute('aria-label')).match(/^Drift over time, (\d+) check/)[1])
    await model.getByRole('button', { name: `Check drift and evaluation of ${ticker} now` }).click()
    await drift.getByRole('img', { name: new RegExp(`^Drift over time, ${checks + 1} checks\\.`) }).waitFor({ timeout: trainAndReport })
    // Each chart's picture names what it shows; its table holds the figures drawn.
    const charts = {
      'loss-chart': /^Loss per epoch, version \S+\. 1 epoch; the lowest validation loss, [\d.]+, came at epoch 1\.$/,
      'comparison-chart': /^Held-out error by horizon, version \S+\. Mean absolute error/,
      'drift-history-chart': /^Drift over time, \d+ checks?\. .*the latest check scored [\d.]+/,
      'past-forecasts-chart': /^Past forecasts against what followed, version \S+\. 6 forecasts made on held-out dates .*inside the 80% band on \d+ of 378 days\.$/,
    }
    for (const [id, name] of Object.entries(charts)) {
      const chart = model.getByTestId(id)
      await chart.waitFor()
      const label = await chart.getByRole('img').getAttribute('aria-label')
      assert.match(label, name, `${id}: ${label}`)
      const box = await chart.locator('svg').first().boundingBox()
      assert.ok(box && box.width > 250 && box.height > 90, `${id} box ${JSON.stringify(box)}`)
      await chart.screenshot({ path: join(shots, `chart-${id.replace(/-chart$/, '')}.png`) })
    }
    const comparison = model.getByTestId('comparison-chart')
    for (const name of ['This model', '“No change” (persistence)', 'Trend carried on (drift)']) {
      assert.ok(await comparison.locator(`rect[data-bar^="${name} "]`).count() >= 3, `the comparison lacks the bars of ${name}`)
    }
    assert.ok(await model.getByTestId('loss-chart').locator('path[data-series="validation"]').count() === 1, 'no validation loss line')
    assert.equal(await drift.locator('circle[data-mark]').count(), 2 * (checks + 1), 'each check marked on both panels')
    assert.match(await drift.locator('path[data-series="drift score"]').getAttribute('d'), /^M[\d.]+,[\d.]+(L[\d.]+,[\d.]+)+$/, 'a line through the checks')
    const past = model.getByTestId('past-forecasts-chart')
    assert.equal(await past.locator('path[data-band]').count(), 6, 'a band per held-out forecast')
    assert.equal(await past.locator('path[data-series="actual"]').count(), 1, 'the real closes')
    await checkClean(page, errors)
    await page.context().close()
  })

  await step('System shows each component', async () => {
    const errors = []
    const page = await newPage(browser, desktop, errors)
    await page.goto(`${base}/system`)
    for (const name of ['Interpreter (embedded CPython)', 'Store (task records, leases)', 'Cache store (forecasts, rate limits)', 'Vector store (semantic cache)', 'Language model (analyst)']) {
      await page.getByText(name).waitFor()
    }
    await page.getByRole('link', { name: 'API documentation' }).waitFor()
    await page.screenshot({ path: join(shots, 'system.png'), fullPage: true })
    await checkClean(page, errors)
    await page.context().close()
  })
} finally {
  await browser?.close()
  if (server) {
    server.proc.kill('SIGTERM')
    await server.exited
  }
  rmSync(dataDir, { recursive: true, force: true })
  const passed = results.filter(Boolean).length
  console.log(`screenshots: ${shots}`)
  console.log(`${passed} passed, ${results.length - passed} failed`)
}
