"""Forecasting: windows and scalers (dataset), the LSTM (model), baselines, metrics, evaluation,
conformal intervals, training, model versions on disk (registry) and inference (predict)."""
