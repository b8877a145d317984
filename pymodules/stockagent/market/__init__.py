"""Market data: daily prices (bundled files, the user's folder, Yahoo Finance), the NYSE trading
calendar, and the per-day features the model reads."""
