import { screen, within } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { describe, expect, it, vi } from 'vitest'
import { analysis } from '../../../testing/fixtures'
import { renderApp } from '../../../testing/render'
import { AnalysisView } from './analysis-view'

// The chart draws on a canvas, which jsdom has not; its data is tested in chart-data.test.ts
// and the real chart in the browser (e2e).
vi.mock('./forecast-chart', () => ({
  default: ({ label }: { label: string }) => <div role="img" aria-label={label} />,
}))

function kpi(name: string): HTMLElement {
  return screen.getByText(name, { selector: 'dt' }).parentElement as HTMLElement
}

describe('AnalysisView', () => {
  it('shows the KPIs, NEUTRAL styled neutral', async () => {
    renderApp(<AnalysisView analysis={analysis()} />)
    expect(within(kpi('Last close')).getByText('416.56')).toBeInTheDocument()
    const stance = within(kpi("Analyst's stance")).getByText('NEUTRAL').closest('[data-tone]')
    expect(stance).toHaveAttribute('data-tone', 'flat')
    expect(within(kpi("Analyst's confidence")).getByText('Medium')).toBeInTheDocument()
    // 21 days of +0.1% a day from 416.56.
    expect(within(kpi('Forecast in 21 trading days')).getByText('+2.1%')).toHaveAttribute('data-tone', 'up')
    expect(await screen.findByRole('img', { name: /forecast .* by/ })).toBeInTheDocument()
  })

  it.each([
    ['BULLISH', 'up'],
    ['BEARISH', 'down'],
  ] as const)('styles %s as %s', (recommendation, tone) => {
    renderApp(<AnalysisView analysis={analysis({ recommendation })} />)
    expect(within(kpi("Analyst's stance")).getByText(recommendation).closest('[data-tone]')).toHaveAttribute('data-tone', tone)
  })

  it('follows the chosen horizon', async () => {
    renderApp(<AnalysisView analysis={analysis()} />)
    await userEvent.click(screen.getByRole('radio', { name: /63 days/ }))
    expect(kpi('Forecast in 63 trading days')).toHaveTextContent('+6.3%')
    expect(screen.getByText(/its 63-day forecasts missed/)).toBeInTheDocument()
  })

  it('says plainly how old the data is', () => {
    renderApp(<AnalysisView analysis={analysis()} />)
    expect(screen.getByText(/Prices up to Tue, 31 Dec 2024/)).toBeInTheDocument()
    expect(screen.getByText(/days old: this is the forecast as of that date, not from today/)).toBeInTheDocument()
  })

  it('compares the model with the naive forecast in words', () => {
    renderApp(<AnalysisView analysis={analysis()} />)
    expect(screen.getByText(/Tested on 873 forecasts/)).toHaveTextContent('missed the real closing price by 15.00 on average')
    expect(screen.getByText(/10% more accurate than “no change”/)).toBeInTheDocument()
    expect(screen.getByText(/held the real price 73% of the time/)).toBeInTheDocument()
  })

  it('warns when the model has done worse than no change', () => {
    const a = analysis()
    a.predictions.evaluation!.mae!.lstm!['21'] = 20
    renderApp(<AnalysisView analysis={a} />)
    expect(screen.getByText(/less accurate than “no change”/)).toBeInTheDocument()
    expect(screen.getByText(/Give this forecast little weight/)).toBeInTheDocument()
  })

  it('renders the report as markdown, never its raw HTML', async () => {
    const report = '## Outlook\nSteady.\n<script>window.hacked = true</script><img src=x onerror="window.hacked = true">\n[bad](javascript:alert(1))'
    const { container } = renderApp(<AnalysisView analysis={analysis({ final_report: report })} />)
    expect(await screen.findByRole('heading', { name: 'Outlook' })).toBeInTheDocument()
    expect(container.querySelector('script, img, [onerror]')).toBeNull()
    expect(screen.getByText('bad').closest('a')?.getAttribute('href') ?? '').not.toMatch(/javascript/i)
  })

  it('keeps the analyst\'s lines apart', async () => {
    renderApp(<AnalysisView analysis={analysis()} />)
    const para = await screen.findByText(/Market Stance: NEUTRAL/)
    expect(para.innerHTML).toMatch(/Market Stance: NEUTRAL<br>\s*Confidence: Medium/)
  })

  it('lists the news with their sources, linking only to web pages', () => {
    renderApp(<AnalysisView analysis={analysis()} />)
    expect(screen.getByRole('link', { name: 'Microsoft beats estimates' })).toHaveAttribute('href', 'https://example.com/msft')
    expect(screen.getByText(/Reuters/)).toBeInTheDocument()
    expect(screen.queryByRole('link', { name: 'Cloud growth slows' })).toBeNull()
    expect(screen.getByText('Source: finnhub')).toBeInTheDocument()
  })

  it('says when the stance came from a fallback', () => {
    renderApp(<AnalysisView analysis={analysis({ parse_status: 'fallback: model output had no Market Stance line' })} />)
    expect(screen.getByText(/read by a fallback: fallback: model output had no Market Stance line/)).toBeInTheDocument()
  })

  it('carries the not-investment-advice note', () => {
    renderApp(<AnalysisView analysis={analysis()} />)
    expect(screen.getByText('Not investment advice.', { selector: 'strong' })).toBeVisible()
  })
})
