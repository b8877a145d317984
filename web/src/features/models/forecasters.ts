// The forecasters the evaluation (forecast/evaluation.py) and the backtest (forecast/backtest.py)
// score, in the order charts and tables list them, with their colours. "served" is the LSTM
// shrunk toward "no change" by weights chosen on validation dates, as a trained model serves it.
export const forecasters = [
  { key: 'lstm', name: 'LSTM', fill: 'fill-accent', stroke: 'stroke-accent' },
  { key: 'served', name: 'Served (shrunk toward “no change”)', fill: 'fill-up', stroke: 'stroke-up' },
  { key: 'naive', name: '“No change” (persistence)', fill: 'fill-flat', stroke: 'stroke-flat' },
  { key: 'drift', name: 'Trend carried on (drift)', fill: 'fill-forecast', stroke: 'stroke-forecast' },
  { key: 'ets', name: 'Exponential smoothing (ETS)', fill: 'fill-warn', stroke: 'stroke-warn' },
  { key: 'theta', name: 'Theta', fill: 'fill-down', stroke: 'stroke-down' },
  { key: 'arima', name: 'ARIMA', fill: 'fill-muted', stroke: 'stroke-muted' },
]
