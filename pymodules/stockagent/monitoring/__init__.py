"""Monitoring: data drift of every model (drift.py), scores of the analyst's reports (evaluation.py),
both kept in the data folder (store.py), and the functions Go calls for them (api.py).

Layout under ``DATA_DIR/monitoring/<model id>/`` (id: ``parent`` or a symbol's file stem)::

    drift_latest.json     the latest drift report (atomic replace)
    drift_history.jsonl   one report per line, oldest first, the last MONITOR_HISTORY_KEEP kept
    eval_latest.json      the latest agent evaluation
    eval_history.jsonl    one evaluation per line, as above
"""
