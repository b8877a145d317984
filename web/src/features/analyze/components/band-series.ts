import {
  customSeriesDefaultOptions,
  type CustomData,
  type CustomSeriesOptions,
  type CustomSeriesWhitespaceData,
  type ICustomSeriesPaneRenderer,
  type ICustomSeriesPaneView,
  type PaneRendererCustomData,
  type PriceToCoordinateConverter,
  type Time,
} from 'lightweight-charts'

// A shaded band between two prices per day (the forecast's interval). lightweight-charts has
// no such series, so this one draws the band itself as a custom series.

export type BandData = CustomData<Time> & { low: number, high: number }
export type BandOptions = CustomSeriesOptions & { fillColor: string }

type Target = Parameters<ICustomSeriesPaneRenderer['draw']>[0]

export class BandSeries implements ICustomSeriesPaneView<Time, BandData, BandOptions> {
  private data: PaneRendererCustomData<Time, BandData> | undefined
  private options: BandOptions | undefined

  renderer(): ICustomSeriesPaneRenderer {
    return { draw: (target, toY) => this.draw(target, toY) }
  }

  update(data: PaneRendererCustomData<Time, BandData>, options: BandOptions): void {
    this.data = data
    this.options = options
  }

  // Low and high set the price scale's range; the last value is the crosshair's.
  priceValueBuilder(row: BandData): number[] {
    return [row.low, row.high, (row.low + row.high) / 2]
  }

  isWhitespace(row: BandData | CustomSeriesWhitespaceData<Time>): row is CustomSeriesWhitespaceData<Time> {
    return (row as Partial<BandData>).low === undefined || (row as Partial<BandData>).high === undefined
  }

  defaultOptions(): BandOptions {
    return { ...customSeriesDefaultOptions, fillColor: 'rgba(124, 58, 237, 0.15)' }
  }

  private draw(target: Target, toY: PriceToCoordinateConverter): void {
    const bars = this.data?.bars ?? []
    const fill = this.options?.fillColor
    if (bars.length < 2 || fill === undefined) return
    target.useBitmapCoordinateSpace(({ context: ctx, horizontalPixelRatio: hr, verticalPixelRatio: vr }) => {
      const edge: { x: number, hi: number, lo: number }[] = []
      for (const b of bars) {
        const hi = toY(b.originalData.high)
        const lo = toY(b.originalData.low)
        if (hi !== null && lo !== null) edge.push({ x: b.x * hr, hi: hi * vr, lo: lo * vr })
      }
      if (edge.length < 2) return
      ctx.beginPath()
      edge.forEach((p, i) => (i === 0 ? ctx.moveTo(p.x, p.hi) : ctx.lineTo(p.x, p.hi)))
      for (let i = edge.length - 1; i >= 0; i--) ctx.lineTo(edge[i]!.x, edge[i]!.lo)
      ctx.closePath()
      ctx.fillStyle = fill
      ctx.fill()
    })
  }
}
