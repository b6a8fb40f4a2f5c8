"""The SQLite store of human feedback: generated pairs, raters and their judgements (WAL mode).

Each request opens its own short transaction, so several raters and the background pair
generator write at once. A judgement carries a client-chosen ``uid``: a retried request
(after a timeout or a server restart) is stored exactly once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["CHOICES", "Store", "StoreError"]

CHOICES = ("a", "b", "tie", "both_bad")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pairs (
    id INTEGER PRIMARY KEY, prompt TEXT NOT NULL, prompt_text TEXT NOT NULL,
    completion_a TEXT NOT NULL, completion_b TEXT NOT NULL, model_a TEXT NOT NULL, model_b TEXT NOT NULL,
    reward_a REAL, reward_b REAL, columns TEXT NOT NULL DEFAULT '{}', task TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS raters (name TEXT PRIMARY KEY, key_hash TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS judgements (
    id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, pair_id INTEGER NOT NULL REFERENCES pairs(id),
    rater TEXT NOT NULL REFERENCES raters(name),
    choice TEXT NOT NULL CHECK (choice IN ('a', 'b', 'tie', 'both_bad')),
    rating INTEGER CHECK (rating IS NULL OR rating BETWEEN 1 AND 5), correction TEXT, created REAL NOT NULL,
    UNIQUE (pair_id, rater));
CREATE INDEX IF NOT EXISTS judgements_rater ON judgements (rater, id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class StoreError(ValueError):
    """A request the store refuses: unknown pair, wrong rater key, nothing to undo..."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class Store:
    """Pairs and judgements in one SQLite file; safe to share between threads (one connection each)."""

    def __init__(self, path: str | Path, overlap: int = 2) -> None:
        self.path = str(path)
        self.overlap = overlap
        self._local = threading.local()
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conn().db.executescript(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a committed row survives a process kill
            db.execute("PRAGMA foreign_keys=ON")
            self._local.db = db
        return _Tx(db)

    # -- pairs ---------------------------------------------------------------------------------
    def add_pairs(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert generated pairs (prompt, completion_a/b, model_a/b, reward_a/b, columns, task); return ids."""
        ids = []
        with self._conn() as db:
            for r in rows:
                cur = db.execute(
                    "INSERT INTO pairs (prompt, prompt_text, completion_a, completion_b, model_a, model_b, reward_a,"
                    " reward_b, columns, task, created) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (json.dumps(r["prompt"]), r["prompt_text"], r["completion_a"], r["completion_b"], r["model_a"],
                     r["model_b"], r.get("reward_a"), r.get("reward_b"), json.dumps(r.get("columns", {}), default=str),
                     r.get("task", ""), time.time()))
                ids.append(cur.lastrowid)
        return ids

    def pair(self, pair_id: int) -> dict[str, Any]:
        """One pair as a dict, or :class:`StoreError` (404) if there is none."""
        row = self._conn().db.execute("SELECT * FROM pairs WHERE id = ?", (pair_id,)).fetchone()
        if row is None:
            raise StoreError(f"unknown pair id {pair_id}", 404)
        return _pair(row)

    def next_pair(self, rater: str, overlap: int | None = None) -> dict[str, Any] | None:
        """The oldest pair this rater has not judged and fewer than ``overlap`` raters have
        (default: the store's ``overlap``; a simulated rater passes a larger one to judge every pair)."""
        row = self._conn().db.execute(
            "SELECT p.* FROM pairs p WHERE NOT EXISTS (SELECT 1 FROM judgements j WHERE j.pair_id = p.id AND j.rater = ?)"
            " AND (SELECT COUNT(*) FROM judgements j WHERE j.pair_id = p.id) < ? ORDER BY p.id LIMIT 1",
            (rater, self.overlap if overlap is None else overlap)).fetchone()
        return _pair(row) if row else None

    def tasks(self) -> list[str]:
        """The distinct task names of the stored pairs."""
        return [r[0] for r in self._conn().db.execute("SELECT DISTINCT task FROM pairs WHERE task != '' ORDER BY task")]

    # -- raters --------------------------------------------------------------------------------
    def login(self, name: str, key: str | None) -> str:
        """Claim a rater name (returns a new secret key) or prove it (returns the same key)."""
        with self._conn() as db:
            row = db.execute("SELECT key_hash FROM raters WHERE name = ?", (name,)).fetchone()
            if row is None:
                key = secrets.token_urlsafe(18)
                db.execute("INSERT INTO raters (name, key_hash, created) VALUES (?,?,?)", (name, _hash(key), time.time()))
                return key
        if key is None or not secrets.compare_digest(row["key_hash"], _hash(key)):
            raise StoreError(f"rater name {name!r} is taken; pick another name or use its key", 403)
        return key

    def ensure_rater(self, name: str) -> None:
        """Create rater ``name`` with an unusable key if it does not exist (simulated and scripted raters)."""
        with self._conn() as db:
            db.execute("INSERT OR IGNORE INTO raters (name, key_hash, created) VALUES (?,?,?)",
                       (name, "-", time.time()))

    def check_rater(self, name: str, key: str | None) -> None:
        """Raise (403) unless ``key`` belongs to rater ``name``."""
        row = self._conn().db.execute("SELECT key_hash FROM raters WHERE name = ?", (name,)).fetchone()
        if row is None or key is None or not secrets.compare_digest(row["key_hash"], _hash(key)):
            raise StoreError(f"rater {name!r}: unknown rater or wrong rater key", 403)

    # -- judgements ----------------------------------------------------------------------------
    def judge(self, uid: str, pair_id: int, rater: str, choice: str, rating: int | None = None,
              correction: str | None = None) -> tuple[int, bool]:
        """Store one judgement; returns ``(judgement id, created)``. A repeated ``uid`` returns the
        stored one unchanged (``created=False``); judging the same pair twice is a 409."""
        if choice not in CHOICES:
            raise StoreError(f"choice {choice!r} is not one of {', '.join(CHOICES)}")
        with self._conn() as db:
            old = db.execute("SELECT id, rater, pair_id FROM judgements WHERE uid = ?", (uid,)).fetchone()
            if old is not None:
                if old["rater"] != rater or old["pair_id"] != pair_id:
                    raise StoreError(f"judgement uid {uid!r} was already used for another pair or rater", 409)
                return old["id"], False
            if db.execute("SELECT 1 FROM pairs WHERE id = ?", (pair_id,)).fetchone() is None:
                raise StoreError(f"unknown pair id {pair_id}", 404)
            if db.execute("SELECT 1 FROM judgements WHERE pair_id = ? AND rater = ?", (pair_id, rater)).fetchone():
                raise StoreError(f"rater {rater!r} already judged pair {pair_id}", 409)
            cur = db.execute("INSERT INTO judgements (uid, pair_id, rater, choice, rating, correction, created)"
                             " VALUES (?,?,?,?,?,?,?)", (uid, pair_id, rater, choice, rating, correction, time.time()))
            return cur.lastrowid, True

    def undo_last(self, rater: str) -> dict[str, Any]:
        """Delete this rater's most recent judgement and return it (404 if they have none)."""
        with self._conn() as db:
            row = db.execute("SELECT * FROM judgements WHERE rater = ? ORDER BY id DESC LIMIT 1", (rater,)).fetchone()
            if row is None:
                raise StoreError(f"rater {rater!r} has no judgement to undo", 404)
            db.execute("DELETE FROM judgements WHERE id = ?", (row["id"],))
            return dict(row)

    def judgements(self) -> list[dict[str, Any]]:
        """Every judgement joined with its pair (prompt, completions, models, automatic rewards)."""
        rows = self._conn().db.execute(
            "SELECT j.id, j.uid, j.rater, j.choice, j.rating, j.correction, j.created, p.id AS pair_id, p.prompt,"
            " p.prompt_text, p.completion_a, p.completion_b, p.model_a, p.model_b, p.reward_a, p.reward_b, p.columns,"
            " p.task FROM judgements j JOIN pairs p ON p.id = j.pair_id ORDER BY j.id").fetchall()
        return [{**dict(r), "prompt": json.loads(r["prompt"]), "columns": json.loads(r["columns"])} for r in rows]

    def progress(self, rater: str | None = None) -> dict[str, Any]:
        """Counts: pairs, judgements, per rater, this rater's done and remaining, generation progress."""
        db = self._conn().db
        per_rater = {r[0]: r[1] for r in db.execute("SELECT rater, COUNT(*) FROM judgements GROUP BY rater")}
        meta = {r[0]: r[1] for r in db.execute("SELECT key, value FROM meta")}
        out = {"pairs": db.execute("SELECT COUNT(*) FROM pairs").fetchone()[0], "judgements": sum(per_rater.values()),
               "per_rater": per_rater, "generation": json.loads(meta.get("generation", "{}"))}
        if rater is not None:
            out["mine"] = per_rater.get(rater, 0)
            out["queued"] = db.execute(
                "SELECT COUNT(*) FROM pairs p WHERE NOT EXISTS (SELECT 1 FROM judgements j WHERE j.pair_id = p.id"
                " AND j.rater = ?) AND (SELECT COUNT(*) FROM judgements j WHERE j.pair_id = p.id) < ?",
                (rater, self.overlap)).fetchone()[0]
        return out

    def set_meta(self, key: str, value: Any) -> None:
        """Store a JSON value under ``key`` (e.g. the generation progress)."""
        with self._conn() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))


class _Tx:
    """``with store._conn() as db:`` runs one IMMEDIATE transaction; ``.db`` is the bare connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def _pair(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    out["prompt"] = json.loads(out["prompt"])
    out["columns"] = json.loads(out["columns"])
    return out
