"""Human feedback: rate model outputs in a local web app, export preferences, train a reward model or DPO.

    python -m core.feedback serve task=qa                  # web app on http://127.0.0.1:8765
    python -m core.feedback export --out prefs             # prefs.jsonl + prefs.parquet (TRL format)
    python -m core.feedback train-rm --preferences prefs.jsonl --out rm
    python -m core.feedback --simulate qa_f1 task=qa --pairs 200            # a rater from a reward

Modules: ``store`` (SQLite), ``app`` (FastAPI + page), ``pairs`` (background generation),
``export`` (TRL preference format, agreement), ``rm`` (reward model, ``human_rm``), ``simulate``,
``cost`` (the judgements a run learned from).
"""

__all__: list[str] = []
