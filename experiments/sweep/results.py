"""The results store of a sweep: one SQLite file per run directory, one row per (store, decoder config) decoded.

`RUN_DIR/results.sqlite` holds

    stores    the utterance ids and references of each store decoded here, once per store fingerprint
    results   one row per decoded point: scores, timing, provenance and every hypothesis (a JSON list, store order)
    runs      one row per sweep invocation: its command, its grid (the result keys it asked for), start and finish
    rescored  the figures of a rescoring sweep's grid points (`--method rescore`): estimates from re-ranking N-best
              lists, one row per (run, point), never mixed with the decoded results above

A result is keyed by the store's content fingerprint and the digest of the decoder config in which the LM path is
replaced by the LM's content fingerprint, so a moved LM keeps its results and an edited one gets new rows.

The file is in WAL mode with a busy timeout: several sweeps may write into one run directory at once, each point
is committed in its own short transaction, and a point two sweeps both computed is stored once (INSERT OR IGNORE).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from decoders.config import DecoderConfig
from decoders.constants import LATER_PARAMS
from logits.errors import LabError
from logits.files import atomic_write
from logits.scoring import rank_key
from logits.store import LogitsStore

DB_FILE = "results.sqlite"
SCHEMA_VERSION = 1
# Long enough to outwait another sweep's commit (milliseconds each) or a checkpoint, short enough to report a
# stuck lock (a process paused in a debugger holding a write transaction) instead of hanging forever.
BUSY_TIMEOUT_S = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS stores (
    fingerprint TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    ids TEXT NOT NULL,
    refs TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    store_fingerprint TEXT NOT NULL REFERENCES stores (fingerprint),
    config_digest TEXT NOT NULL,
    store_path TEXT NOT NULL,
    decoder TEXT NOT NULL,
    config TEXT NOT NULL,
    lm_path TEXT,
    lm_fingerprint TEXT,
    alpha REAL,
    beta REAL,
    wer REAL,
    cer REAL,
    utterances INTEGER NOT NULL,
    seconds REAL NOT NULL,
    created TEXT NOT NULL,
    versions TEXT NOT NULL,
    hypotheses TEXT NOT NULL,
    host TEXT,
    UNIQUE (store_fingerprint, config_digest)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    command TEXT NOT NULL,
    plan TEXT NOT NULL,
    store_fingerprint TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL,
    reused INTEGER,
    computed INTEGER,
    pid INTEGER
);
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    claimed TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rescored (
    run_id INTEGER NOT NULL REFERENCES runs (id),
    key TEXT NOT NULL,
    alpha REAL NOT NULL,
    beta REAL NOT NULL,
    wer REAL,
    cer REAL,
    PRIMARY KEY (run_id, key)
);
"""

# Columns of `results` shown in tables and data frames; the hypotheses blob is left out (fetch it by key).
RESULT_COLUMNS = (
    "key", "store_fingerprint", "config_digest", "store_path", "decoder", "config", "lm_path", "lm_fingerprint",
    "alpha", "beta", "wer", "cer", "utterances", "seconds", "created", "versions", "host",
)
# Added after the first files were written: a file without them is upgraded when opened (see ResultsDB._connect).
_ADDED_TABLES = ("claims", "rescored")
_ADDED_COLUMNS = {"results": ("host",)}


class ResultsError(LabError):
    """A run directory without results, or a results file this version cannot read."""


@dataclass(frozen=True)
class PointResult:
    """One decoded (store, decoder config): the record a sweep stores per grid point, and greedy's too.

    The config is the one place its weights live; `decoder`, `alpha`, `beta` and `lm_path` are read from it (the
    results table keeps them as columns too, for queries and data frames).
    """

    key: str
    store_fingerprint: str
    config_digest: str
    store_path: str
    config: DecoderConfig  # the effective config (real LM path): enough to rebuild the decoder
    lm_fingerprint: str | None
    wer: float | None
    cer: float | None
    utterances: int
    seconds: float
    created: str
    versions: str  # JSON: python, numpy, pyctcdecode, kenlm, ctc-decoding-lab
    hypotheses: tuple[str, ...] = field(default=(), repr=False, compare=False)
    host: str | None = field(default=None, compare=False)  # the machine that decoded it (None: before it was kept)

    @property
    def decoder(self) -> str:
        return self.config.name

    @property
    def alpha(self) -> float | None:
        return self.config.get("alpha")

    @property
    def beta(self) -> float | None:
        return self.config.get("beta")

    @property
    def lm_path(self) -> str | None:
        return self.config.get("lm")

    def columns(self) -> dict[str, Any]:
        """The row of the results table (RESULT_COLUMNS), the config as canonical JSON."""
        row = {name: getattr(self, name) for name in RESULT_COLUMNS}
        row["config"] = json.dumps(self.config.to_dict(), sort_keys=True)
        return row

    def label(self) -> str:
        return self.decoder if self.alpha is None else f"{self.decoder} a={self.alpha:g} b={self.beta:g}"

    def sort_key(self) -> tuple:
        """Best first, by logits.scoring.rank_key."""
        return rank_key(self.wer, self.cer, self.alpha, self.beta, self.key)


@dataclass(frozen=True)
class RescoredResult:
    """A grid point of a rescoring sweep as re-ranking its N-best lists scored it: an estimate, not a decode."""

    key: str  # the result key a decode of this point is (or would be) stored under
    alpha: float
    beta: float
    wer: float | None
    cer: float | None

    def sort_key(self) -> tuple:
        """Best first, by logits.scoring.rank_key (the ranking of decoded points too)."""
        return rank_key(self.wer, self.cer, self.alpha, self.beta, self.key)


@dataclass(frozen=True)
class RunRecord:
    """One sweep invocation. `finished` is None while it runs or if it stopped early; `status` is running, done,
    failed or interrupted (Ctrl-C, or its process is gone: killed, crashed)."""

    id: int
    command: tuple[str, ...]
    store_fingerprint: str
    alphas: tuple[float, ...]
    betas: tuple[float, ...]
    keys: tuple[str, ...]  # the result keys of its grid points, alpha-major
    greedy_key: str | None
    test_key: str | None  # the test set decoded at the dev set's best point (`--test`), if any
    started: str
    finished: str | None
    status: str
    reused: int | None
    computed: int | None
    method: str = "grid"  # grid: every point decoded; rescore: N-best lists re-ranked, the best few decoded
    rescore: dict[str, Any] | None = field(default=None, compare=False)  # nbest, anchors, exact keys, seconds


@dataclass(frozen=True)
class RunResults:
    """A run and the results it asked for (those stored so far, if it was killed): what `report` shows."""

    run_dir: Path
    run: RunRecord
    points: tuple[PointResult, ...]  # in grid order; missing points left out
    greedy: PointResult | None
    test: PointResult | None = None  # the test set at the best point, when the sweep was given one
    tied: frozenset[str] = frozenset()  # keys of points not significantly worse than the best (report() fills it)
    rescored: tuple[RescoredResult, ...] = ()  # a rescoring run's estimates of every grid point, in grid order

    @property
    def exact_keys(self) -> frozenset[str]:
        """The grid points decoded exactly: all of a grid run's, the anchors and best few of a rescoring run."""
        if self.run.method != "rescore":
            return frozenset(self.run.keys)
        return frozenset((self.run.rescore or {}).get("exact", ()))

    @property
    def best_rescored(self) -> RescoredResult | None:
        """A rescoring run's best point by its re-ranked WER (ranked as decoded points are), else None."""
        scored = [r for r in self.rescored if r.wer is not None]
        return min(scored, key=RescoredResult.sort_key) if scored else None

    @property
    def ranked(self) -> list[PointResult]:
        return sorted(self.points, key=PointResult.sort_key)

    @property
    def best(self) -> PointResult | None:
        ranked = [p for p in self.ranked if p.wer is not None]
        return ranked[0] if ranked else None

    @property
    def edges(self) -> list[str]:
        """Where the best point sits on the grid's edge (an optimum that may lie outside the grid), e.g.
        ["beta 3 is the largest swept"]; empty when it is inside or the grid has one value on that axis."""
        best, found = self.best, []
        if best is None:
            return found
        for name, value, values in (("alpha", best.alpha, self.run.alphas), ("beta", best.beta, self.run.betas)):
            if len(values) > 1 and value == max(values):
                found.append(f"{name} {value:g} is the largest swept")
            elif len(values) > 1 and value == min(values):
                found.append(f"{name} {value:g} is the smallest swept")
        return found

    @property
    def missing(self) -> int:
        """Points the run meant to decode and has no result for (a rescoring run decodes only its exact points)."""
        if self.run.method == "rescore":
            return len(self.exact_keys - {p.key for p in self.points})
        return len(self.run.keys) - len(self.points)

    def to_dataframe(self):
        return _frame([p for p in self.points] + ([self.greedy] if self.greedy else []))


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def keyed_config(config: DecoderConfig, lm_fingerprint: str | None, words_fingerprint: str | None) -> DecoderConfig:
    """The config as results are keyed: the LM file by its content, its word list by the words themselves.

    Paths are left out, so a moved LM or unigram list keeps its results and an edited one gets new rows. Parameters
    added since results were first recorded are left out at their old implicit value (LATER_PARAMS), so older
    records keep their keys.
    """
    kept = {k: v for k, v in config.params if not (k in LATER_PARAMS and LATER_PARAMS[k] == v)}
    if len(kept) != len(config.params):
        config = DecoderConfig(config.name, kept)
    if config.get("lm") is None:
        return config
    return config.replace(lm=f"sha256:{lm_fingerprint}", unigrams=f"sha256:{words_fingerprint}")


def result_key(store_fingerprint: str, config_digest: str) -> str:
    return hashlib.sha256(f"{store_fingerprint}\n{config_digest}".encode()).hexdigest()


class ResultsDB:
    """`ResultsDB(run_dir)`: the results of the sweeps run into `run_dir`. One connection per process.

    `create=False` (what `report` uses) fails with a clear message when the directory holds no results yet.
    """

    def __init__(self, run_dir: str | Path, create: bool = True) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / DB_FILE
        if not self.path.is_file():
            if not create:
                what = "does not exist" if not self.run_dir.exists() else f"has no {DB_FILE}"
                raise ResultsError(
                    f"{self.run_dir} {what}: expected a run directory written by `decode sweep`; "
                    f"run `decode sweep STORE --lm LM ... --out {self.run_dir}` first"
                )
            self.run_dir.mkdir(parents=True, exist_ok=True)
        else:
            _check_sqlite_header(self.path)
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._connect()

    # -- connection ---------------------------------------------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        # A connection must not cross a fork (both processes would share one file lock state): reopen in a child.
        if self._conn is None or self._pid != os.getpid():
            self._connect()
        return self._conn

    def _connect(self) -> None:
        existed = self.path.is_file() and self.path.stat().st_size > 0
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.text_factory = functools.partial(_text, self.path)
            _retry_locked(lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone())
            # NORMAL is durable against a killed process in WAL mode (only power loss may drop the last commits).
            conn.execute("PRAGMA synchronous=NORMAL")
            if existed:  # damage would otherwise surface in whichever query first reads the damaged page
                problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
                if problems != ["ok"]:
                    raise sqlite3.DatabaseError(f"its integrity check finds: {problems[0]}")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise ResultsError(
                    f"{self.path} has results schema version {version}, this version reads {SCHEMA_VERSION}; "
                    "use the ctc-decoding-lab version that wrote it, or sweep into a new --out directory"
                )
            if version == 0 or _missing_parts(conn):  # new, or from before a table or column was added
                _retry_locked(lambda: self._create_schema(conn))
            _check_columns(conn)
        except sqlite3.OperationalError as exc:  # the file may be fine: the disk, the folder or the lock is not
            raise ResultsError(_describe(exc, self.path)) from exc
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:  # a damaged schema garbles SQLite's own message
            raise ResultsError(
                f"{self.path} is not a readable results database ({exc}); move it away and rerun the sweep"
            ) from exc
        self._conn, self._pid = conn, os.getpid()

    @staticmethod
    def _create_schema(conn: sqlite3.Connection) -> None:
        # Two sweeps starting at once both get here; IMMEDIATE serialises them and IF NOT EXISTS makes it idempotent.
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            for table, columns in _ADDED_COLUMNS.items():  # CREATE TABLE IF NOT EXISTS left an older table as it was
                present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
                for column in columns:
                    if column not in present:
                        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None

    def __enter__(self) -> "ResultsDB":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- writing ------------------------------------------------------------------------------------------------

    def add_store(self, store: LogitsStore) -> None:
        """Record the store's ids and references once, so hypotheses can be exported without the store."""
        self._write(
            "INSERT OR IGNORE INTO stores (fingerprint, path, ids, refs) VALUES (?, ?, ?, ?)",
            (store.fingerprint, str(store.path), json.dumps(store.ids), json.dumps(store.references)),
        )

    def insert(self, result: PointResult) -> bool:
        """Store one result in its own transaction; False if that key was stored already (by another sweep)."""
        row = result.columns()
        row["hypotheses"] = json.dumps(list(result.hypotheses))
        names = ", ".join(row)
        cursor = self._write(
            f"INSERT OR IGNORE INTO results ({names}) VALUES ({', '.join('?' * len(row))})", tuple(row.values())
        )
        return cursor.rowcount == 1

    def _write(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Cursor:
        """One write statement; a full disk or a read-only file becomes a ResultsError naming the file (the rows
        committed before are intact)."""
        try:
            return self.conn.execute(sql, parameters)
        except sqlite3.OperationalError as exc:
            raise ResultsError(_describe(exc, self.path)) from exc

    def claim(self, key: str) -> bool:
        """Take the point `key` for this process, so that two sweeps into one run directory never both decode it.
        False when another live process holds it; a claim whose process is gone (killed, crashed) is taken over."""
        pid = os.getpid()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                row = self.conn.execute("SELECT pid FROM claims WHERE key = ?", (key,)).fetchone()
                if row is not None and row["pid"] != pid and _alive(row["pid"]):
                    self.conn.execute("COMMIT")
                    return False
                self.conn.execute("INSERT OR REPLACE INTO claims (key, pid, claimed) VALUES (?, ?, ?)",
                                  (key, pid, now()))
                self.conn.execute("COMMIT")
                return True
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            raise ResultsError(_describe(exc, self.path)) from exc

    def held_elsewhere(self, keys: Iterable[str]) -> set[str]:
        """Of the points `keys`, those another live process has claimed (and may be decoding now)."""
        keys, pid, found = list(keys), os.getpid(), set()
        for start in range(0, len(keys), 500):  # stay under SQLite's limit on bound parameters
            chunk = keys[start : start + 500]
            rows = self.conn.execute(
                f"SELECT key, pid FROM claims WHERE key IN ({', '.join('?' * len(chunk))})", chunk).fetchall()
            found.update(row["key"] for row in rows if row["pid"] != pid and _alive(row["pid"]))
        return found

    def start_run(self, command: Sequence[str], store_fingerprint: str, alphas: Sequence[float],
                  betas: Sequence[float], keys: Sequence[str], greedy_key: str | None,
                  rescore: Mapping[str, Any] | None = None) -> int:
        """Record a sweep of the alphas x betas grid whose points are stored under `keys` (alpha-major); `rescore`
        (nbest, anchors, ...) marks a rescoring sweep."""
        plan = {"alphas": list(alphas), "betas": list(betas), "greedy": greedy_key, "keys": list(keys)}
        if rescore is not None:
            plan |= {"method": "rescore", "rescore": dict(rescore)}
        cursor = self._write(
            "INSERT INTO runs (command, plan, store_fingerprint, started, status, pid) VALUES (?, ?, ?, ?, ?, ?)",
            (json.dumps(list(command)), json.dumps(plan), store_fingerprint, now(), "running", os.getpid()),
        )
        return int(cursor.lastrowid)

    def set_rescored(self, run_id: int, points: Sequence[RescoredResult], exact: Sequence[str],
                     seconds: float, hypotheses: int) -> None:
        """Store a rescoring run's estimates of its grid points, which of them it decoded exactly, its seconds and
        the hypotheses it re-ranked, at once."""
        plan = _stored_json(self.conn.execute("SELECT plan FROM runs WHERE id = ?", (run_id,)).fetchone(), "plan")
        plan["rescore"] = plan.get("rescore", {}) | {"exact": list(exact), "seconds": round(seconds, 4),
                                                     "hypotheses": hypotheses}
        try:
            self.conn.execute("BEGIN IMMEDIATE")  # one transaction: a reader sees all of a run's estimates or none
            try:
                self.conn.executemany(
                    "INSERT OR REPLACE INTO rescored (run_id, key, alpha, beta, wer, cer) VALUES (?, ?, ?, ?, ?, ?)",
                    [(run_id, p.key, p.alpha, p.beta, p.wer, p.cer) for p in points])
                self.conn.execute("UPDATE runs SET plan = ? WHERE id = ?", (json.dumps(plan), run_id))
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            raise ResultsError(_describe(exc, self.path)) from exc

    def rescored(self, run_id: int) -> list[RescoredResult]:
        rows = self.conn.execute("SELECT key, alpha, beta, wer, cer FROM rescored WHERE run_id = ?", (run_id,))
        return [RescoredResult(r["key"], r["alpha"], r["beta"], r["wer"], r["cer"]) for r in rows]

    def finish_run(self, run_id: int, status: str, reused: int, computed: int) -> None:
        self._write(
            "UPDATE runs SET finished = ?, status = ?, reused = ?, computed = ? WHERE id = ?",
            (now() if status == "done" else None, status, reused, computed, run_id),
        )

    # -- reading ------------------------------------------------------------------------------------------------

    def existing(self, keys: Iterable[str]) -> set[str]:
        keys = list(keys)
        found: set[str] = set()
        for start in range(0, len(keys), 500):  # stay under SQLite's limit on bound parameters
            chunk = keys[start : start + 500]
            rows = self.conn.execute(
                f"SELECT key FROM results WHERE key IN ({', '.join('?' * len(chunk))})", chunk
            ).fetchall()
            found.update(row["key"] for row in rows)
        return found

    def has(self, key: str) -> bool:
        return self.conn.execute("SELECT 1 FROM results WHERE key = ?", (key,)).fetchone() is not None

    def get(self, key: str, hypotheses: bool = False) -> PointResult | None:
        columns = ", ".join(RESULT_COLUMNS + (("hypotheses",) if hypotheses else ()))
        row = self.conn.execute(f"SELECT {columns} FROM results WHERE key = ?", (key,)).fetchone()
        return None if row is None else _point(row)

    def results(self, keys: Sequence[str] | None = None) -> list[PointResult]:
        """Results in `keys` order (missing keys skipped), or all of them oldest first."""
        columns = ", ".join(RESULT_COLUMNS)
        if keys is None:
            rows = self.conn.execute(f"SELECT {columns} FROM results ORDER BY created, key").fetchall()
            return [_point(row) for row in rows]
        found = {}
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            for row in self.conn.execute(
                f"SELECT {columns} FROM results WHERE key IN ({', '.join('?' * len(chunk))})", chunk
            ):
                found[row["key"]] = _point(row)
        return [found[k] for k in keys if k in found]

    def hypotheses(self, key: str) -> list[dict]:
        """id, reference, hypothesis of every utterance of one result, in store order."""
        row = self.conn.execute(
            "SELECT r.hypotheses, s.ids, s.refs FROM results r JOIN stores s ON s.fingerprint = r.store_fingerprint "
            "WHERE r.key = ?", (key,),
        ).fetchone()
        if row is None:
            raise ResultsError(f"{self.path} holds no result with key {key}")
        ids, refs, hyps = _stored_json(row, "ids"), _stored_json(row, "refs"), _stored_json(row, "hypotheses")
        return [{"id": i, "reference": r, "hypothesis": h} for i, r, h in zip(ids, refs, hyps, strict=True)]

    def runs(self) -> list[RunRecord]:
        return [_run(row) for row in self.conn.execute("SELECT * FROM runs ORDER BY id").fetchall()]

    def run(self, run_id: int | None = None) -> RunRecord:
        """One run by id, or the latest."""
        if run_id is None:
            row = self.conn.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        else:
            row = self.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            which = "no sweep runs" if run_id is None else f"no run {run_id}"
            raise ResultsError(f"{self.path} records {which}; run `decode sweep ... --out {self.run_dir}` first")
        return _run(row)

    def run_results(self, run_id: int | None = None) -> RunResults:
        """A run (default: the latest) with the results of the points it asked for."""
        run = self.run(run_id)
        points = self.results(list(run.keys))
        greedy = self.get(run.greedy_key) if run.greedy_key else None
        test = self.get(run.test_key) if run.test_key else None
        rescored: tuple[RescoredResult, ...] = ()
        if run.method == "rescore":
            found = {r.key: r for r in self.rescored(run.id)}
            rescored = tuple(found[k] for k in run.keys if k in found)
        return RunResults(run_dir=self.run_dir, run=run, points=tuple(points), greedy=greedy, test=test,
                          rescored=rescored)

    def set_test(self, run_id: int, key: str) -> None:
        """Record that run `run_id` decoded its test set at its best point, under `key`."""
        plan = _stored_json(self.conn.execute("SELECT plan FROM runs WHERE id = ?", (run_id,)).fetchone(), "plan")
        self._write("UPDATE runs SET plan = ? WHERE id = ?", (json.dumps(plan | {"test": key}), run_id))

    def to_dataframe(self):
        """Every result in the file (all runs, stores and configs), without hypotheses: a pandas DataFrame."""
        return _frame(self.results())

    def to_csv(self, path: str | Path) -> Path:
        """Write `to_dataframe()` as CSV, atomically (a reader never sees half a file)."""
        with atomic_write(path) as handle:
            self.to_dataframe().to_csv(handle, index=False)
        return Path(path)

    def __len__(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM results").fetchone()[0])


def _missing_parts(conn: sqlite3.Connection) -> bool:
    """Whether a results file lacks a table or column added since the first version of the schema."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if any(table not in tables for table in _ADDED_TABLES):
        return True
    return any(column not in {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
               for table, columns in _ADDED_COLUMNS.items() for column in columns)


def _point(row: sqlite3.Row) -> PointResult:
    derived = {"decoder", "alpha", "beta", "lm_path"}  # columns the config holds
    values = {name: row[name] for name in RESULT_COLUMNS if name not in derived}
    values["config"] = DecoderConfig.from_dict(_stored_json(row, "config"))
    hyps = tuple(_stored_json(row, "hypotheses")) if "hypotheses" in row.keys() else ()
    return PointResult(**values, hypotheses=hyps)


def _run(row: sqlite3.Row) -> RunRecord:
    plan = _stored_json(row, "plan")
    return RunRecord(
        id=int(row["id"]),
        command=tuple(_stored_json(row, "command")),
        store_fingerprint=row["store_fingerprint"],
        alphas=tuple(plan["alphas"]),
        betas=tuple(plan["betas"]),
        # Runs recorded before keys were stored on their own listed [alpha, beta, key] per point.
        keys=tuple(plan["keys"]) if "keys" in plan else tuple(k for _, _, k in plan["points"]),
        greedy_key=plan.get("greedy"),
        test_key=plan.get("test"),
        started=row["started"],
        finished=row["finished"],
        status=_status(row["status"], row["pid"]),
        reused=row["reused"],
        computed=row["computed"],
        method=plan.get("method", "grid"),
        rescore=plan.get("rescore"),
    )


def _frame(points: Sequence[PointResult]):
    import pandas as pd

    return pd.DataFrame([p.columns() for p in points], columns=list(RESULT_COLUMNS))


def _status(recorded: str, pid: int | None) -> str:
    """A run recorded as running whose process is gone was killed (kill -9, a crash, a power cut): `interrupted`."""
    if recorded == "running" and pid is not None and not _alive(pid):
        return "interrupted"
    return recorded


def _alive(pid: int) -> bool:
    """Whether process `pid` exists on this machine (run directories are written by processes of one machine)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    try:  # a killed process that nobody has reaped yet (a zombie) still answers signal 0
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _describe(exc: sqlite3.OperationalError, path: Path) -> str:
    """What an SQLite operational error means for the user, without blaming a database that may be fine."""
    text = str(exc)
    if "full" in text or ("disk I/O error" in text and _nearly_full(path.parent)):
        return (f"the disk holding {path} is full ({text}); free some space and run the command again: the results "
                "stored so far are intact and a sweep resumes")
    if "readonly" in text or "read-only" in text:
        return f"{path} cannot be written ({text}): the file or its folder is read-only"
    if "unable to open" in text:
        return f"cannot open {path} ({text}): check that its folder exists and that it may be written"
    return f"{path}: {text}"


def _nearly_full(folder: Path, margin: int = 1 << 20) -> bool:
    """SQLite reports a disk that fills while it creates its WAL files as a mere "disk I/O error"."""
    import shutil

    try:
        return shutil.disk_usage(folder).free < margin
    except OSError:
        return False


def _check_columns(conn: sqlite3.Connection) -> None:
    """Every table and column of the schema is there: a damaged schema text that still parses (a renamed column, found
    by the file fuzzer) would otherwise fail in some later query. The expected schema is a fresh one in memory."""
    expected = sqlite3.connect(":memory:", isolation_level=None)
    try:
        ResultsDB._create_schema(expected)
        for (table,) in expected.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
            found = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            lacking = [row[1] for row in expected.execute(f"PRAGMA table_info({table})") if row[1] not in found]
            if lacking:
                raise sqlite3.DatabaseError(f"its table {table!r} has no column {lacking[0]!r}: the schema is damaged")
    finally:
        expected.close()


def _stored_json(row: sqlite3.Row, column: str):
    """A JSON column's value; text that is not JSON is damage to the file (SQLite has no checksums to catch it)."""
    value = row[column] if row is not None else None
    try:
        return json.loads(value)
    except (json.JSONDecodeError, TypeError) as exc:
        raise ResultsError(f"the results database is damaged: its {column!r} value {str(value)[:30]!r} is not "
                           "JSON; move results.sqlite away and rerun the sweep") from exc


def _text(path: Path, data: bytes) -> str:
    """A TEXT value as str; bytes that are not UTF-8 are damage to the file, said as such (SQLite's own error names
    neither the file nor what to do)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ResultsError(f"{path} is not a readable results database (a text value in it is not UTF-8: "
                           f"{data[:24]!r}...); move it away and rerun the sweep") from exc


def _check_sqlite_header(path: Path) -> None:
    """Refuse a file that is not SQLite before SQLite parses it (an empty file is a new database to SQLite)."""
    with open(path, "rb") as handle:
        head = handle.read(len(_SQLITE_MAGIC))
    if head and head != _SQLITE_MAGIC:
        raise ResultsError(f"{path} is not a readable results database (not SQLite: it starts with {head[:8]!r}); "
                           "move it away and rerun the sweep")


_SQLITE_MAGIC = b"SQLite format 3\0"


def _retry_locked(action, attempts: int = 50):
    """Run `action`, retrying while another process holds the lock.

    Switching to WAL and creating the schema need a moment of exclusive access; SQLite's busy handler does not
    cover every such case (it returns "database is locked" at once when a journal-mode change races), so wait here.
    """
    for attempt in range(attempts):
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05 + 0.01 * attempt)
