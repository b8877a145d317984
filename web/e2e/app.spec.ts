// End to end: the real server binary driven by headless Chromium. A ticker with no model is
// analyzed, so the market model and the ticker's model train first (tiny settings through the
// server-wide training defaults, e2e/fixtures.ts); the progress, then the chart, then the report
// must appear; Monitor must show that model's drift and draw its charts from its real figures.
// Screenshots go to .build/screenshots/ for a person to look at; the time to first render and the
// bytes the browser loads are benchmarks: measured, printed and annotated, never asserted.
import { join } from 'node:path'
import { expect, expectClean, shots, test } from './fixtures'

const ticker = 'MSFT'

// Training both models and one analyst run take about a minute on two cores; the limit only
// stops a hung run.
const trainAndReport = 8 * 60_000

// Each test builds on the ones before it: the first analysis trains the models the later ones
// show. A failed test ends the run (and a retry starts again on a fresh server).
test.describe.configure({ mode: 'serial' })

function median(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? NaN
}

// A figure measured by the run: in the log and in the report, never asserted.
function benchmark(text: string) {
  console.log(`benchmark: ${text}`)
  test.info().annotations.push({ type: 'benchmark', description: text })
}

test('Analyze page: time to first render (benchmark)', async ({ openPage }) => {
  const fcp: number[] = []
  const rendered: number[] = []
  let initialBytes = 0
  for (let i = 0; i < 5; i++) {
    const page = await openPage() // a new context: a cold cache each time
    await page.goto('/')
    await expect(page.getByRole('heading', { level: 1, name: 'Analyze' })).toBeVisible()
    await expect(page.getByLabel('Ticker symbol')).toBeVisible()
    // Chromium records the paint entry a moment after the frame: wait for it, not for a clock.
    await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint').length > 0 && (window.__firstRender ?? 0) > 0)
    const m = await page.evaluate(() => ({
      fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? 0,
      rendered: window.__firstRender ?? 0,
      bytes: [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
        .filter((e) => /^\/($|assets\/)/.test(new URL(e.name).pathname))
        .reduce((sum, e) => sum + (e as PerformanceResourceTiming).transferSize, 0),
    }))
    expect(m.fcp > 0 && m.rendered > 0, `paint timings missing: ${JSON.stringify(m)}`).toBe(true)
    fcp.push(m.fcp)
    rendered.push(m.rendered)
    initialBytes = m.bytes
    await expectClean(page)
    await page.context().close()
  }
  benchmark(`first contentful paint ${median(fcp).toFixed(0)} ms, Analyze page rendered ${median(rendered).toFixed(0)} ms (median of 5 cold loads; runs ${rendered.map((r) => r.toFixed(0)).join(', ')} ms)`)
  benchmark(`the page, its script and its styles: ${(initialBytes / 1024).toFixed(1)} kB transferred (gzip)`)
})

test('a bad ticker is refused in the form, before any request', async ({ openPage }) => {
  const page = await openPage()
  const asked: string[] = []
  page.on('request', (r) => { if (new URL(r.url()).pathname === '/analyze') asked.push(r.url()) })
  await page.goto('/')
  await page.getByLabel('Ticker symbol').fill('../etc')
  await page.getByRole('button', { name: 'Analyze', exact: true }).click()
  await expect(page.getByRole('alert').filter({ hasText: 'Use only letters, digits' })).toBeVisible()
  expect(asked).toEqual([])
  await expectClean(page)
})

test(`analyze ${ticker}: the models train with visible progress, then the chart, then the report appear`, async ({ openPage, baseURL }) => {
  test.setTimeout(trainAndReport + 60_000)
  const page = await openPage({ colorScheme: 'light' })
  await page.goto('/')
  await page.getByLabel('Ticker symbol').fill(ticker.toLowerCase())
  await page.keyboard.press('Enter')
  await page.waitForURL(`${baseURL}/analyze/${ticker}`)
  await expect(page.getByText(`There is no model for ${ticker} yet`)).toBeVisible()
  await expect(page.getByRole('region', { name: `Training ${ticker}` })).toBeVisible()
  // For the screenshot, an epoch in progress if one shows before the chart does.
  const chart = page.getByTestId('forecast-chart')
  await expect(page.getByText(/^Epoch \d+ of \d+$/).or(chart).first()).toBeVisible({ timeout: trainAndReport })
  await page.screenshot({ path: join(shots, 'analyze-training.png') })
  const live = page.getByTestId('live-loss-chart').first()
  if (await live.isVisible()) await live.screenshot({ path: join(shots, 'chart-loss-live.png') })

  // The forecast comes in milliseconds, the report after the analyst's run: the chart is drawn
  // while the report's card still says the analyst is writing.
  await expect(chart.locator('canvas').first()).toBeVisible({ timeout: trainAndReport })
  // The report streams (docs/api.md, "The analysis stream"): the steps show as the run
  // advances, then the model's draft or the parts that passed their checks.
  const steps = page.getByRole('list', { name: 'Steps of the analysis' })
  await expect(steps.locator('[data-stage="agent"]').or(page.locator('.report')).first()).toBeVisible({ timeout: trainAndReport })
  const part = page.getByRole('figure', { name: 'Draft' }).or(page.locator('.report-part'))
  await expect(part.or(page.locator('.report')).first()).toBeVisible({ timeout: trainAndReport })
  if (await part.first().isVisible()) await page.screenshot({ path: join(shots, 'analyze-streaming.png'), fullPage: true })
  if (await page.getByRole('status').filter({ hasText: 'The analyst is writing' }).isVisible()) {
    await page.screenshot({ path: join(shots, 'analyze-writing.png'), fullPage: true })
  }
  await expect(page.locator('.report')).toBeVisible({ timeout: trainAndReport })
  expect(await page.evaluate(() => window.__chartWhileWriting), 'the chart was drawn while the analyst was writing').toBe(true)
  const stages = await page.evaluate(() => window.__stagesBeforeReport)
  console.log(`stages streamed before the report: ${stages.join(', ')}`)
  expect(stages, 'the stages streamed before the report, in order').toEqual(expect.arrayContaining(['forecast', 'news', 'agent', 'performance_analyst', 'writer']))
  expect(stages.indexOf('agent')).toBeLessThan(stages.indexOf('writer'))
  await expect(steps).toBeHidden() // the report replaced its making
  const progress = await page.evaluate(() => window.__progress)
  console.log(`progress shown: ${progress.join(' | ')}`)
  expect(progress, 'the market model\'s "Epoch 1 of 2" was shown').toContain('Epoch 1 of 2')
  expect(progress.some((t) => t.startsWith('Trained')), 'the finished training was shown').toBe(true)
  expect(await page.evaluate(() => window.__liveLoss), 'a live loss curve was drawn while the models trained').toBe(true)

  const box = await chart.boundingBox()
  expect(box && box.width > 300 && box.height > 200, `chart box ${JSON.stringify(box)}`).toBe(true)
  await expect(page.getByText('Prices up to Tue, 31 Dec 2024')).toBeVisible()
  await expect(page.getByText("Analyst's stance")).toBeVisible()
  await expect(page.getByText('Not investment advice.').first()).toBeVisible()
  await expect(page.getByText(/Tested on [\d,]+ forecasts/)).toBeVisible()
  // The chart and the markdown renderer load on their own, with the first analysis.
  const lazyBytes = await page.evaluate(() => performance.getEntriesByType('resource')
    .filter((e) => /\/assets\/(forecast-chart|report-markdown)-/.test(e.name))
    .reduce((sum, e) => sum + (e as PerformanceResourceTiming).transferSize, 0))
  expect(lazyBytes, 'the chart and markdown chunks were loaded').toBeGreaterThan(0)
  benchmark(`the chart and markdown chunks, loaded with the first analysis: ${(lazyBytes / 1024).toFixed(1)} kB transferred (gzip)`)
  await page.screenshot({ path: join(shots, 'analyze-desktop-light.png'), fullPage: true })
  await expectClean(page)
})

test('dark theme', async ({ openPage }) => {
  test.setTimeout(trainAndReport)
  const page = await openPage({ colorScheme: 'dark' })
  await page.goto(`/analyze/${ticker}`)
  await expect(page.locator('.report')).toBeVisible({ timeout: trainAndReport })
  await expect(page.getByTestId('forecast-chart').locator('canvas').first()).toBeVisible()
  expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark')
  await page.screenshot({ path: join(shots, 'analyze-desktop-dark.png'), fullPage: true })
  await expectClean(page)
})

test('phone width', async ({ openPage }) => {
  test.setTimeout(trainAndReport)
  const page = await openPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 })
  await page.goto(`/analyze/${ticker}`)
  await expect(page.locator('.report')).toBeVisible({ timeout: trainAndReport })
  await expect(page.getByTestId('forecast-chart').locator('canvas').first()).toBeVisible()
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
  expect(overflow, 'how much wider than the phone the page is').toBeLessThanOrEqual(0)
  await page.screenshot({ path: join(shots, 'analyze-phone.png'), fullPage: true })
  await expectClean(page)
})

test(`Monitor shows ${ticker}'s drift`, async ({ openPage }) => {
  test.setTimeout(trainAndReport)
  const page = await openPage()
  await page.goto('/monitor')
  const model = page.getByRole('article', { name: new RegExp(`^${ticker}\\b`) })
  await expect(model).toBeVisible()
  // Drift runs after each training; if it has not yet, the button runs it now.
  const report = model.locator('[data-health]')
  await expect(report.or(model.getByText(/No drift report yet/)).first()).toBeVisible()
  if (!(await report.isVisible())) {
    await model.getByRole('button', { name: `Check drift and evaluation of ${ticker} now` }).click()
  }
  await expect(report).toBeVisible({ timeout: trainAndReport })
  const health = await report.getAttribute('data-health')
  expect(['Healthy', 'Degraded (Warning)', 'Critical (Drift Detected)'], `drift health ${health}`).toContain(health)
  await expect(report.locator('[data-tone]').first()).toContainText(health ?? '')
  await expect(model.getByText(/Drift score [\d.]+/)).toBeVisible()
  await expect(page.getByRole('row', { name: /msft/ }).first()).toBeVisible()
  await page.screenshot({ path: join(shots, 'monitor.png'), fullPage: true })
  await expectClean(page)
})

test(`the charts of ${ticker}'s model draw its real figures`, async ({ openPage }) => {
  test.setTimeout(trainAndReport)
  const page = await openPage()
  await page.goto('/monitor')
  const model = page.getByRole('article', { name: new RegExp(`^${ticker}\\b`) })
  // One more drift check, so the drift chart draws a line through real checks.
  const drift = model.getByTestId('drift-history-chart')
  const before = /^Drift over time, (\d+) check/.exec(await drift.getByRole('img').getAttribute('aria-label') ?? '')
  expect(before, 'the drift chart names its number of checks').not.toBeNull()
  const checks = Number(before?.[1])
  // The evaluation chart: its empty state until the report has been evaluated once.
  const evals = model.getByTestId('eval-history-chart')
  await expect(evals.or(model.getByText(/No evaluation is stored yet/)).first()).toBeVisible()
  const evalLabel = (await evals.count()) > 0 ? await evals.getByRole('img').getAttribute('aria-label') : ''
  const evaluated = Number(/^Evaluations over time, (\d+) evaluation/.exec(evalLabel ?? '')?.[1] ?? 0)
  await model.getByRole('button', { name: `Check drift and evaluation of ${ticker} now` }).click()
  await expect(drift.getByRole('img', { name: new RegExp(`^Drift over time, ${checks + 1} checks\\.`) })).toBeVisible({ timeout: trainAndReport })
  await expect(evals.getByRole('img', { name: new RegExp(`^Evaluations over time, ${evaluated + 1} evaluations?\\.`) })).toBeVisible({ timeout: trainAndReport })
  // Each chart's picture names what it shows; its table holds the figures drawn.
  const charts = {
    'loss-chart': /^Loss per epoch, version \S+\. 1 epoch; the lowest validation loss, [\d.]+, came at epoch 1\.$/,
    'comparison-chart': /^Held-out error by horizon, version \S+\. Mean absolute error/,
    'drift-history-chart': /^Drift over time, \d+ checks?\. .*the latest check scored [\d.]+/,
    'eval-history-chart': /^Evaluations over time, \d+ evaluations?\. From .+; \d+ of \d+ passed; the latest scored \d+%, (Trustworthy|Questionable)\.$/,
    'past-forecasts-chart': /^Past forecasts against what followed, version \S+\. 6 forecasts made on held-out dates .*inside the 80% band on \d+ of 378 days\.$/,
  }
  for (const [id, name] of Object.entries(charts)) {
    const chart = model.getByTestId(id)
    await expect(chart).toBeVisible()
    await expect(chart.getByRole('img'), id).toHaveAttribute('aria-label', name)
    const box = await chart.locator('svg').first().boundingBox()
    expect(box && box.width > 250 && box.height > 90, `${id} box ${JSON.stringify(box)}`).toBe(true)
    await chart.screenshot({ path: join(shots, `chart-${id.replace(/-chart$/, '')}.png`) })
  }
  const comparison = model.getByTestId('comparison-chart')
  for (const name of ['This model', '“No change” (persistence)', 'Trend carried on (drift)']) {
    expect(await comparison.locator(`rect[data-bar^="${name} "]`).count(), `the bars of ${name}`).toBeGreaterThanOrEqual(3)
  }
  await expect(model.getByTestId('loss-chart').locator('path[data-series="validation"]'), 'a validation loss line').toHaveCount(1)
  await expect(drift.locator('circle[data-mark]'), 'each check marked on both panels').toHaveCount(2 * (checks + 1))
  await expect(drift.locator('path[data-series="drift score"]'), 'a line through the checks').toHaveAttribute('d', /^M[\d.]+,[\d.]+(L[\d.]+,[\d.]+)+$/)
  await expect(evals.locator('circle[data-mark]'), 'each evaluation marked').toHaveCount(evaluated + 1)
  await expect(evals.locator('[data-rule="passes above 60%"]'), 'the pass mark').toHaveCount(1)
  // The whole stored history: at least as many checks and evaluations as the newest 100.
  await model.getByLabel('History shown').selectOption({ label: 'All stored' })
  await expect(drift.getByRole('img', { name: new RegExp(`^Drift over time, ${checks + 1} checks\\.`) })).toBeVisible()
  await expect(evals.locator('circle[data-mark]')).toHaveCount(evaluated + 1)
  const past = model.getByTestId('past-forecasts-chart')
  await expect(past.locator('path[data-band]'), 'a band per held-out forecast').toHaveCount(6)
  await expect(past.locator('path[data-series="actual"]'), 'the real closes').toHaveCount(1)
  await expectClean(page)
})

test(`a backtest of ${ticker} draws its equity curves and errors`, async ({ openPage, request }) => {
  test.setTimeout(trainAndReport)
  // Through the API with the two fast forecasters (the form's LSTM takes minutes on two cores);
  // the page then shows the stored result.
  const started = await request.post('/backtest', {
    data: { ticker, start_date: '2024-01-02', end_date: '2024-06-28', forecasters: ['naive', 'drift'] },
  })
  expect(started.status(), await started.text()).toBe(202)
  const { task_id: taskId } = (await started.json()) as { task_id: string }
  await expect.poll(async () => ((await (await request.get(`/status/${taskId}`)).json()) as { status: string }).status, {
    timeout: trainAndReport,
  }).toBe('completed')

  const page = await openPage()
  await page.goto('/monitor')
  const model = page.getByRole('article', { name: new RegExp(`^${ticker}\\b`) })
  const panel = model.getByTestId('backtest-panel')
  await expect(panel.getByRole('button', { name: 'Run backtest' })).toBeVisible()
  const result = panel.getByTestId('backtest-result')
  await expect(result).toBeVisible()
  const equity = result.getByTestId('backtest-equity-chart')
  for (const series of ['strategy', 'buy and hold']) {
    await expect(equity.locator(`path[data-series="${series}"]`), `the ${series} curve`).toHaveAttribute('d', /^M[\d.]+,[\d.]+(L[\d.]+,[\d.]+){100,}$/)
  }
  // Persistence and drift at horizons 1, 5 and 21.
  await expect(result.getByTestId('backtest-mase-chart').locator('rect[data-bar]')).toHaveCount(6)
  await expect(result.getByTestId('backtest-coverage-table').getByRole('row')).toHaveCount(7)
  await expect(result.getByTestId('backtest-strategy-table').getByRole('row', { name: /Total return/ })).toBeVisible()
  await panel.screenshot({ path: join(shots, 'chart-backtest.png') })
  await expectClean(page)
})

test('System shows each component', async ({ openPage }) => {
  const page = await openPage()
  await page.goto('/system')
  for (const name of ['Interpreter (embedded CPython)', 'Store (task records, leases)', 'Cache store (forecasts, rate limits)', 'Vector store (semantic cache)', 'Language model (analyst)']) {
    await expect(page.getByText(name)).toBeVisible()
  }
  await expect(page.getByRole('link', { name: 'API documentation' })).toBeVisible()
  await page.screenshot({ path: join(shots, 'system.png'), fullPage: true })
  await expectClean(page)
})
