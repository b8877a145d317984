import { screen, waitFor, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { http, HttpResponse } from 'msw'
import { describe, expect, it, vi } from 'vitest'
import { analysis } from '../../../testing/fixtures'
import { apiError } from '../../../testing/handlers'
import { renderApp } from '../../../testing/render'
import { server } from '../../../testing/server'
import type { Analysis } from '../../../types/api'
import { forecastOf } from '../api/analyze'
import { AnalysisView } from './analysis-view'

// The chart draws on a canvas, which jsdom has not; its data is tested in chart-data.test.ts
// and the real chart in the browser (e2e).
vi.mock('./forecast-chart', () => ({
  default: ({ label }: { label: string }) => <div role="img" aria-label={label} />,
}))

function kpi(name: string): HTMLElement {
  return screen.getByText(name, { selector: 'dt' }).parentElement as HTMLElement
}

// The view of a's forecast, with a as the analyst's answer.
function renderView(a: Analysis = analysis()) {
  server.use(http.post('/analyze', () => HttpResponse.json(a)))
  return renderApp(<AnalysisView ticker="MSFT" prediction={forecastOf(a)} />)
}

describe('AnalysisView', () => {
  it('shows the KPIs, NEUTRAL styled neutral', async () => {
    renderView()
    expect(within(kpi('Last close')).getByText('416.56')).toBeInTheDocument()
    const stance = (await within(kpi("Analyst's stance")).findByText('NEUTRAL')).closest('[data-tone]')
    expect(stance).toHaveAttribute('data-tone', 'flat')
    expect(within(kpi("Analyst's confidence")).getByText('Medium')).toBeInTheDocument()
    // 21 days of +0.1% a day from 416.56.
    expect(within(kpi('Forecast in 21 trading days')).getByText('+2.1%')).toHaveAttribute('data-tone', 'up')
    expect(await screen.findByRole('img', { name: /forecast .* by/ })).toBeInTheDocument()
  })

  it('shows the forecast while the analyst writes, each analyst part saying it waits', async () => {
    server.use(http.post('/analyze', () => new Promise<never>(() => {})))
    renderApp(<AnalysisView ticker="MSFT" prediction={forecastOf(analysis())} />)
    expect(kpi('Forecast in 21 trading days')).toHaveTextContent('+2.1%')
    expect(await screen.findByRole('img', { name: /forecast .* by/ })).toBeInTheDocument()
    expect(kpi("Analyst's stance")).toHaveTextContent('comes with the report')
    expect(kpi("Analyst's confidence")).toHaveTextContent('comes with the report')
    expect(screen.getByText("The headlines come with the analyst's report.")).toBeInTheDocument()
    expect(screen.getByRole('status')).toHaveTextContent('The analyst is writing the report')
  })

  it('keeps the forecast when the analyst fails, and says so in each analyst part', async () => {
    server.use(http.post('/analyze', () => apiError(503, 'no LLM configured (LLM_PROVIDER=none)')))
    renderApp(<AnalysisView ticker="MSFT" prediction={forecastOf(analysis())} />)
    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('no LLM configured')
    expect(within(alert).getByRole('button', { name: 'Try again' })).toBeEnabled()
    expect(kpi("Analyst's stance")).toHaveTextContent('no report')
    expect(screen.getByText(/No headlines: they come with the analyst's report, which failed/)).toBeInTheDocument()
    expect(kpi('Last close')).toHaveTextContent('416.56')
    expect(screen.getByText(/Tested on 873 forecasts/)).toBeInTheDocument()
  })

  it('writes again when asked after a failure, saying so while it does', async () => {
    let calls = 0
    let writeReport!: () => void
    const reportWritten = new Promise<void>((done) => { writeReport = done })
    server.use(http.post('/analyze', async () => {
      if (++calls === 1) return apiError(503, 'the analyst is busy')
      await reportWritten
      return HttpResponse.json(analysis())
    }))
    renderApp(<AnalysisView ticker="MSFT" prediction={forecastOf(analysis())} />)
    await userEvent.click(within(await screen.findByRole('alert')).getByRole('button', { name: 'Try again' }))
    expect(await screen.findByText(/The analyst is writing the report/)).toBeInTheDocument()
    expect(screen.queryByRole('alert')).toBeNull()
    expect(kpi("Analyst's stance")).toHaveTextContent('comes with the report')
    writeReport()
    expect(await screen.findByRole('heading', { name: 'Outlook' })).toBeInTheDocument()
  })

  it.each([
    ['BULLISH', 'up'],
    ['BEARISH', 'down'],
  ] as const)('styles %s as %s', async (recommendation, tone) => {
    renderView(analysis({ recommendation }))
    expect((await within(kpi("Analyst's stance")).findByText(recommendation)).closest('[data-tone]')).toHaveAttribute('data-tone', tone)
  })

  it('follows the chosen horizon', async () => {
    renderView()
    await userEvent.click(screen.getByRole('radio', { name: /63 days/ }))
    expect(kpi('Forecast in 63 trading days')).toHaveTextContent('+6.3%')
    expect(screen.getByText(/its 63-day forecasts missed/)).toBeInTheDocument()
  })

  it('says plainly how old the data is', () => {
    renderView()
    expect(screen.getByText(/Prices up to Tue, 31 Dec 2024/)).toBeInTheDocument()
    expect(screen.getByText(/days old: this is the forecast as of that date, not from today/)).toBeInTheDocument()
  })

  it('compares the model with the naive forecast in words', () => {
    renderView()
    expect(screen.getByText(/Tested on 873 forecasts/)).toHaveTextContent('missed the real closing price by 15.00 on average')
    expect(screen.getByText(/10% more accurate than “no change”/)).toBeInTheDocument()
    expect(screen.getByText(/held the real price 73% of the time/)).toBeInTheDocument()
  })

  it('leads with the one-line summary and says which weights serve', () => {
    renderView()
    expect(screen.getByText(/^Held-out error vs 'no change': 0.95× \(5% better\)/)).toBeInTheDocument()
    expect(screen.getByText(/figures are of the model trained without those dates/)).toBeInTheDocument()
  })

  it('scores the served forecast when the model serves a shrunk one', () => {
    const a = analysis()
    a.predictions.evaluation!.mae!.served = { 1: 3.7, 5: 8.0, 21: 16.75, 63: 29.1 }
    renderView(a)
    expect(screen.getByText(/Tested on 873 forecasts/)).toHaveTextContent('missed the real closing price by 16.75 on average')
    expect(screen.getByText(/As accurate as “no change”/)).toBeInTheDocument()
  })

  it('warns when the model has done worse than no change', () => {
    const a = analysis()
    a.predictions.evaluation!.mae!.lstm!['21'] = 20
    renderView(a)
    expect(screen.getByText(/less accurate than “no change”/)).toBeInTheDocument()
    expect(screen.getByText(/Give this forecast little weight/)).toBeInTheDocument()
  })

  it('renders the report as markdown, never its raw HTML', async () => {
    const report = '## Outlook\nSteady.\n<script>window.hacked = true</script><img src=x onerror="window.hacked = true">\n[bad](javascript:alert(1))'
    const { container } = renderView(analysis({ final_report: report }))
    expect(await screen.findByRole('heading', { name: 'Outlook' })).toBeInTheDocument()
    expect(container.querySelector('script, img, [onerror]')).toBeNull()
    expect(screen.getByText('bad').closest('a')?.getAttribute('href') ?? '').not.toMatch(/javascript/i)
  })

  it('keeps the analyst\'s lines apart', async () => {
    renderView()
    const para = await screen.findByText(/Market Stance: NEUTRAL/)
    expect(para.innerHTML).toMatch(/Market Stance: NEUTRAL<br>\s*Confidence: Medium/)
  })

  it('lists the news with their sources, linking only to web pages', async () => {
    renderView()
    expect(await screen.findByRole('link', { name: 'Microsoft beats estimates' })).toHaveAttribute('href', 'https://example.com/msft')
    expect(screen.getByText(/Reuters/)).toBeInTheDocument()
    expect(screen.queryByRole('link', { name: 'Cloud growth slows' })).toBeNull()
    expect(screen.getByText('Source: finnhub')).toBeInTheDocument()
  })

  it('says when the stance came from a fallback', async () => {
    renderView(analysis({ parse_status: 'fallback: model output had no Market Stance line' }))
    expect(await screen.findByText(/read by a fallback: fallback: model output had no Market Stance line/)).toBeInTheDocument()
  })

  it('says nothing of a fallback when the stance was read', async () => {
    renderView(analysis({ parse_status: 'ok' }))
    await screen.findByText(/Market Stance: NEUTRAL/)
    expect(screen.queryByText(/read by a fallback/)).toBeNull()
  })

  it('labels what came from the data and what from the model, and what was left out', async () => {
    const report = '### From the data\nLast close $10.00.\n\n### From the language model\n- It may fall.'
    renderView(analysis({ final_report: report, left_out: ['reason 2: it repeats a sentence'] }))
    expect(await screen.findByRole('heading', { name: 'From the data' })).toHaveClass('report-source-data')
    expect(screen.getByRole('heading', { name: 'From the language model' })).toHaveClass('report-source-model')
    expect(screen.getByText(/Left out after their checks: reason 2: it repeats a sentence/)).toBeInTheDocument()
  })

  // The stream of POST /analyze (docs/api.md): events the test sends one by one.
  function streamAnswer(signals: { aborted?: boolean } = {}) {
    let send!: (text: string) => void
    let end!: () => void
    let open!: () => void
    const opened = new Promise<void>((done) => { open = done })
    server.use(http.post('/analyze', ({ request }) => {
      expect(request.headers.get('Accept')).toMatch(/text\/event-stream/)
      request.signal.addEventListener('abort', () => { signals.aborted = true })
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          send = (text) => c.enqueue(new TextEncoder().encode(text))
          end = () => c.close()
          open()
        },
      })
      return new HttpResponse(body, { headers: { 'Content-Type': 'text/event-stream' } })
    }))
    const event = (name: string, data: object) => send(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`)
    return { opened, event, end: () => end() }
  }

  it('shows the report\'s making as it streams: steps, the greyed draft, each checked part, then the report', async () => {
    const s = streamAnswer()
    renderApp(<AnalysisView ticker="MSFT" prediction={forecastOf(analysis())} />)
    await s.opened
    s.event('stage', { stage: 'forecast', elapsed_ms: 2 })
    const steps = await screen.findByRole('list', { name: 'Steps of the analysis' })
    s.event('stage', { stage: 'agent', elapsed_ms: 30 })
    s.event('field', { field: 'data', text: '### From the data\nMSFT last closed at $416.56.', provisional: false })
    s.event('stage', { stage: 'writer', elapsed_ms: 900 })
    s.event('token', { node: 'writer', text: '{"stance": "NEU', provisional: true })
    expect(await screen.findByRole('figure', { name: 'Draft' })).toHaveTextContent('{"stance": "NEU')
    expect(within(steps).getAllByRole('listitem').map((li) => li.dataset.stage)).toEqual(['forecast', 'agent', 'writer'])
    expect(await screen.findByRole('heading', { name: 'From the data' })).toBeInTheDocument()
    expect(document.querySelector('.report')).toBeNull() // a part, not the report
    expect(kpi("Analyst's stance")).toHaveTextContent('comes with the report')
    s.event('field', { field: 'stance', text: 'NEUTRAL', provisional: false })
    s.event('field', { field: 'reasons', text: 'The forecast moves little.', provisional: false })
    const checked = await screen.findByRole('list', { name: 'Checked fields' })
    expect(checked).toHaveTextContent('Stance: NEUTRAL')
    expect(checked).toHaveTextContent('Reasons: The forecast moves little.')
    expect(screen.queryByRole('figure', { name: 'Draft' })).toBeNull() // the checked fields replace it
    s.event('report', analysis())
    s.end()
    expect(await screen.findByText(/Market Stance: NEUTRAL/)).toBeInTheDocument()
    expect(screen.queryByRole('list', { name: 'Steps of the analysis' })).toBeNull()
  })

  it('cancels: the request is aborted, and the report can be asked for again', async () => {
    const signals: { aborted?: boolean } = {}
    streamAnswer(signals)
    renderApp(<AnalysisView ticker="MSFT" prediction={forecastOf(analysis())} />)
    await userEvent.click(await screen.findByRole('button', { name: 'Cancel' }))
    expect(await screen.findByText(/Cancelled: the analyst stopped/)).toBeInTheDocument()
    await waitFor(() => expect(signals.aborted).toBe(true))
    const again = streamAnswer()
    await userEvent.click(screen.getByRole('button', { name: 'Write the report' }))
    expect(await screen.findByText(/The analyst is writing the report/)).toBeInTheDocument()
    await again.opened
    again.event('report', analysis())
    again.end()
    expect(await screen.findByText(/Market Stance: NEUTRAL/)).toBeInTheDocument()
  })

  it('shows an error event as the failure it is', async () => {
    const s = streamAnswer()
    renderApp(<AnalysisView ticker="MSFT" prediction={forecastOf(analysis())} />)
    await s.opened
    s.event('stage', { stage: 'agent', elapsed_ms: 30 })
    s.event('error', { detail: 'the analysis did not finish within ANALYZE_TIMEOUT (5m0s)', status: 504 })
    s.end()
    expect(await screen.findByRole('alert')).toHaveTextContent('ANALYZE_TIMEOUT')
  })

  it('carries the not-investment-advice note', () => {
    renderView()
    expect(screen.getByText('Not investment advice.', { selector: 'strong' })).toBeVisible()
  })
})
