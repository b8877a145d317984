// The fixtures of the end-to-end tests: the real server binary (embedded interpreter, bundled
// data, this app built into it), started once per worker on a free port with its own data folder
// and tiny training settings, and pages that record what a test checks afterwards: the training
// progress they showed, CSP violations and errors.
import { test as base, expect, type BrowserContext, type BrowserContextOptions, type Page } from '@playwright/test'
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const repo = resolve(import.meta.dirname, '../..')

// Screenshots for a person to look at (README, "Charts"); the runner's own, of failures, go to
// its output folder.
export const shots = join(repo, '.build/screenshots')
mkdirSync(shots, { recursive: true })

declare global {
  interface Window {
    __progress: string[]
    __violations: string[]
    __chartWhileWriting: boolean
    __stagesBeforeReport: string[]
    __liveLoss: boolean
    __firstRender: number | undefined
  }
}

// Runs inside each page before its scripts: every text the training progress showed, whether the
// chart was drawn while the analyst was still writing, the analysis steps streamed before the
// report, whether a live loss curve was drawn, when
// the page's heading first rendered, and any violation of the page's Content-Security-Policy.
function watchPage() {
  // A long training polls its status hundreds of times; the default buffer of 250 resource
  // entries would drop the chunks loaded after it, whose bytes the analysis test measures.
  performance.setResourceTimingBufferSize(10_000)
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
  // The analysis steps the stream showed before the report was there (data-stage, in order).
  window.__stagesBeforeReport = []
  new MutationObserver((_, obs) => {
    if (document.querySelector('.report')) {
      obs.disconnect()
      return
    }
    for (const el of document.querySelectorAll<HTMLElement>('[data-stage]')) {
      const stage = el.dataset.stage ?? ''
      if (!window.__stagesBeforeReport.includes(stage)) window.__stagesBeforeReport.push(stage)
    }
  }).observe(document, { subtree: true, childList: true })
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

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo
      s.close(() => done(port))
    }).on('error', fail)
  })
}

type Server = { base: string }
// How the server's process ended: its exit code, the signal that ended it, or why it did not start.
type Exit = number | string | null

// Waits for the process to exit; after `ms` its whole group is killed.
function stop(proc: ChildProcess, exited: Promise<Exit>, ms: number) {
  const pid = proc.pid
  if (pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return exited
  process.kill(-pid, 'SIGTERM')
  const kill = setTimeout(() => {
    console.error(`the server did not stop within ${ms / 1000} s of SIGTERM: killing its process group`)
    process.kill(-pid, 'SIGKILL')
  }, ms)
  return exited.finally(() => clearTimeout(kill))
}

async function startServer(dataDir: string): Promise<Server & { proc: ChildProcess, exited: Promise<Exit> }> {
  const bin = process.env.STOCKAGENT_SERVER_BIN || join(repo, '.build/stockagent-server')
  try {
    accessSync(bin, constants.X_OK)
  } catch {
    throw new Error(`no server binary at ${bin}: build it with make .build/stockagent-server (or set STOCKAGENT_SERVER_BIN)`)
  }
  const port = await freePort()
  const proc = spawn(bin, [], {
    env: {
      ...process.env, HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir,
      // Two parent epochs: an epoch's event comes at its end, so "Epoch 1 of 2" stays up for the
      // whole second epoch (seconds), where the last epoch's lasts only its evaluation.
      PARENT_EPOCHS: '2', CHILD_EPOCHS: '1', PARENT_START_DATE: '2016-01-01',
      NEWS_SOURCE: 'none', RATE_LIMITS: 'off', LOG_LEVEL: 'warn',
    },
    // Its own process group, so that stopping it stops whatever it started.
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const exited = new Promise<Exit>((done) => {
    proc.on('exit', (code, signal) => done(code ?? signal))
    proc.on('error', (err) => done(err.message))
  })
  const base = `http://127.0.0.1:${port}`
  for (const deadline = Date.now() + 120_000; Date.now() < deadline;) {
    const code = await Promise.race([exited, new Promise<undefined>((done) => setTimeout(() => done(undefined), 500))])
    if (code !== undefined) throw new Error(`${bin} exited (${String(code)}) before it was healthy`)
    try {
      if ((await fetch(`${base}/health`)).ok) return { base, proc, exited }
    } catch {
      // not listening yet
    }
  }
  await stop(proc, exited, 10_000)
  throw new Error(`${bin} was not healthy within 120 s`)
}

// The errors each page of a test met, to check once the test is done with it.
const pageErrors = new WeakMap<Page, string[]>()

// No Content-Security-Policy violation and no uncaught error in the page.
export async function expectClean(page: Page) {
  expect(await page.evaluate(() => window.__violations), 'Content-Security-Policy violations').toEqual([])
  expect(pageErrors.get(page), 'errors in the page').toEqual([])
}

export const test = base.extend<{ openPage: (options?: BrowserContextOptions) => Promise<Page> }, { server: Server }>({
  // eslint-disable-next-line no-empty-pattern -- the runner reads a fixture's needs from this pattern
  server: [async ({}, provide) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'stockagent-e2e-'))
    try {
      const { proc, exited, ...server } = await startServer(dataDir)
      try {
        // In the log: a retry's new worker starts a new server.
        console.log(`server: ${server.base}, data folder ${dataDir}`)
        await provide(server)
      } finally {
        await stop(proc, exited, 30_000)
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  }, { scope: 'worker', timeout: 150_000 }],
  baseURL: async ({ server }, provide) => provide(server.base),
  // A watched page in a new context (a cold cache); the configured options apply where these
  // leave them out. What is still open closes with the test.
  openPage: async ({ browser }, provide) => {
    const contexts: BrowserContext[] = []
    await provide(async (options = {}) => {
      const context = await browser.newContext(options)
      contexts.push(context)
      await context.addInitScript(watchPage)
      const page = await context.newPage()
      const errors: string[] = []
      page.on('pageerror', (e) => errors.push(`page error: ${e.message}`))
      pageErrors.set(page, errors)
      return page
    })
    await Promise.all(contexts.map((c) => c.close()))
  },
})

export { expect }
