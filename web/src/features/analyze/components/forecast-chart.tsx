import { ColorType, createChart, LineSeries, LineStyle } from 'lightweight-charts'
import { useEffect, useMemo, useRef } from 'react'
import { formatPrice } from '../../../lib/format'
import { useTheme } from '../../../lib/theme'
import type { Prediction } from '../../../types/api'
import { BandSeries } from './band-series'
import { toChartData, type ChartHorizon } from './chart-data'

// The theme's colours, as the style sheet defines them.
function palette() {
  const css = getComputedStyle(document.documentElement)
  const v = (name: string) => css.getPropertyValue(name).trim()
  return {
    surface: v('--c-surface'), muted: v('--c-muted'), line: v('--c-line'),
    history: v('--c-accent'), forecast: v('--c-forecast'), band: v('--c-band'),
  }
}

// Price history (line) and the forecast for the chosen horizon (dashed) with its 80% interval
// (shaded). Loaded on its own, as the chart library is the app's largest part.
export default function ForecastChart({ prediction, horizon, label }: {
  prediction: Prediction
  horizon: ChartHorizon
  label: string
}) {
  const box = useRef<HTMLDivElement>(null)
  const theme = useTheme()
  const data = useMemo(() => toChartData(prediction, horizon), [prediction, horizon])

  useEffect(() => {
    const el = box.current
    if (!el) return
    const c = palette()
    const chart = createChart(el, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: c.surface },
        textColor: c.muted,
        fontFamily: getComputedStyle(document.body).fontFamily,
        // The library's logo brings an inline style element, which the page's policy refuses;
        // the caption below carries the attribution and link its licence asks for.
        attributionLogo: false,
      },
      grid: { vertLines: { color: c.line }, horzLines: { color: c.line } },
      rightPriceScale: { borderColor: c.line },
      // A little room after the last day, so its date label is not cut at the edge.
      timeScale: { borderColor: c.line, rightOffset: 2 },
      localization: { priceFormatter: formatPrice },
      // A vertical swipe scrolls the page on a phone rather than the chart.
      handleScroll: { vertTouchDrag: false },
    })
    if (data.band.length > 0) {
      chart.addCustomSeries(new BandSeries(), { fillColor: c.band, priceLineVisible: false, lastValueVisible: false })
        .setData(data.band)
    }
    chart.addSeries(LineSeries, { color: c.history, lineWidth: 2, priceLineVisible: false }).setData(data.history)
    chart.addSeries(LineSeries, { color: c.forecast, lineWidth: 2, lineStyle: LineStyle.Dashed, priceLineVisible: false })
      .setData(data.forecast)
    chart.timeScale().fitContent()
    return () => chart.remove()
  }, [data, theme])

  return (
    <figure>
      <div ref={box} role="img" aria-label={label} className="h-72 w-full sm:h-96" data-testid="forecast-chart" />
      <figcaption className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-sm text-muted">
        <Key className="border-t-2 border-accent">Price history (close)</Key>
        <Key className="border-t-2 border-dashed border-forecast">Forecast (close)</Key>
        {data.band.length > 0 && <Key className="h-3 bg-forecast/20">80% range: where the model expects the price 8 times in 10</Key>}
        <span className="ml-auto text-xs">
          Chart by <a href="https://www.tradingview.com/" target="_blank" rel="noopener noreferrer" className="underline">TradingView Lightweight Charts™</a>, © TradingView, Inc.
        </span>
      </figcaption>
    </figure>
  )
}

function Key({ className, children }: { className: string, children: string }) {
  return (
    <span className="inline-flex items-center gap-2">
      <span aria-hidden="true" className={`inline-block w-6 ${className}`} />
      {children}
    </span>
  )
}
