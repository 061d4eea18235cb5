"""The journal's SQLite storage (stdlib `sqlite3`, WAL mode): one file, many processes.

WAL lets readers and one writer work at once, so a notebook, a CLI and a batch can share a
journal; `synchronous=NORMAL` keeps every commit through a crash of the process (only a crash
of the machine can lose the last ones). The schema is versioned with `PRAGMA user_version`, and
an older journal is upgraded in place when opened.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ._exceptions import LumaError

__all__ = ["COLUMNS", "SCHEMA_VERSION", "JournalError", "SQLiteStore"]


class JournalError(LumaError):
    """The job journal cannot be opened or written."""

    default_hint = (
        "Check that LUMA_TOOLS_HOME (or the default data folder) is writable, or run without "
        "the journal (LUMA_TOOLS_JOURNAL=off, or journal=False)"
    )


# Each entry upgrades a journal from the version before it (index 0 creates version 1).
_MIGRATIONS: tuple[str, ...] = (
    # 1: jobs and their events.
    """
    CREATE TABLE jobs (
        number INTEGER PRIMARY KEY,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        operation TEXT NOT NULL,
        gateway TEXT NOT NULL,
        prompt TEXT NOT NULL,
        options TEXT NOT NULL,
        digest TEXT NOT NULL,
        extends TEXT,
        dest TEXT,
        status TEXT NOT NULL,
        task_id TEXT,
        state TEXT,
        raw_state TEXT,
        failure_reason TEXT,
        file TEXT,
        file_bytes INTEGER,
        file_sha256 TEXT,
        error TEXT
    );
    CREATE INDEX jobs_by_task ON jobs (task_id);
    CREATE TABLE events (
        number INTEGER PRIMARY KEY,
        job INTEGER NOT NULL REFERENCES jobs (number),
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX events_by_job ON events (job);
    """,
    # 2: batch runs (a run name and a key per item, attempts), and who sent a request.
    """
    ALTER TABLE jobs ADD COLUMN run TEXT;
    ALTER TABLE jobs ADD COLUMN item_key TEXT;
    ALTER TABLE jobs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE jobs ADD COLUMN pid INTEGER;
    ALTER TABLE jobs ADD COLUMN host TEXT;
    CREATE UNIQUE INDEX jobs_by_item ON jobs (run, item_key, attempt);
    """,
    # 3: a run's items are per gateway (the same run name against another gateway is new work).
    """
    DROP INDEX jobs_by_item;
    CREATE UNIQUE INDEX jobs_by_item ON jobs (gateway, run, item_key, attempt);
    """,
)
#: The schema version this code writes.
SCHEMA_VERSION = len(_MIGRATIONS)

#: Every column of `jobs`, in order.
COLUMNS = (
    "number",
    "created_at",
    "updated_at",
    "operation",
    "gateway",
    "prompt",
    "options",
    "digest",
    "extends",
    "dest",
    "status",
    "task_id",
    "state",
    "raw_state",
    "failure_reason",
    "file",
    "file_bytes",
    "file_sha256",
    "error",
    "run",
    "item_key",
    "attempt",
    "pid",
    "host",
)
_WRITABLE = frozenset(COLUMNS) - {"number"}


class SQLiteStore:
    """Rows of jobs in one SQLite file (the `JournalStore` a `Journal` uses by default).

    Safe for several threads (one connection, a lock) and several processes (WAL, a busy
    timeout). Every method is one transaction.
    """

    def __init__(self, path: Path, *, busy_timeout: float = 30.0) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, timeout=busy_timeout, check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._upgrade()
        except (OSError, sqlite3.Error) as exc:
            raise JournalError(f"Cannot open the job journal {path}: {exc}") from None

    def _upgrade(self) -> None:
        with self._transaction() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise JournalError(
                    f"The job journal {self.path} was written by a newer luma-tools (schema "
                    f"{version}; this one knows {SCHEMA_VERSION})",
                    hint="Upgrade luma-tools, or point LUMA_TOOLS_HOME at another folder",
                )
            for step in range(version, SCHEMA_VERSION):
                for statement in _MIGRATIONS[step].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {step + 1}")

    @contextlib.contextmanager
    def _transaction(self) -> Any:
        with self._lock:
            # IMMEDIATE takes the write lock at once, so two processes never deadlock upgrading.
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- the JournalStore interface ----------------------------------------------------------

    def insert(self, fields: Mapping[str, Any], event: tuple[float, str, str | None]) -> int:
        """Add a job (and its first event); return its number."""
        names = [name for name in fields if name in _WRITABLE]
        try:
            with self._transaction() as db:
                cursor = db.execute(
                    f"INSERT INTO jobs ({', '.join(names)}) "
                    f"VALUES ({', '.join('?' for _ in names)})",
                    [fields[name] for name in names],
                )
                number = int(cursor.lastrowid or 0)
                db.execute(
                    "INSERT INTO events (job, at, kind, detail) VALUES (?, ?, ?, ?)",
                    (number, *event),
                )
                return number
        except sqlite3.Error as exc:
            raise JournalError(f"Cannot write the job journal {self.path}: {exc}") from None

    def update(
        self,
        fields: Mapping[str, Any],
        event: tuple[float, str, str | None] | None,
        *,
        number: int | None = None,
        task_id: str | None = None,
    ) -> int:
        """Change the job `number` (or every job of `task_id`); return how many changed."""
        names = [name for name in fields if name in _WRITABLE]
        where, key = ("number = ?", number) if number is not None else ("task_id = ?", task_id)
        try:
            with self._transaction() as db:
                cursor = db.execute(
                    f"UPDATE jobs SET {', '.join(f'{n} = ?' for n in names)} WHERE {where}",
                    [*(fields[n] for n in names), key],
                )
                changed = cursor.rowcount
                if event is not None and changed:
                    db.execute(
                        f"INSERT INTO events (job, at, kind, detail) "
                        f"SELECT number, ?, ?, ? FROM jobs WHERE {where}",
                        (*event, key),
                    )
                return int(changed)
        except sqlite3.Error as exc:
            raise JournalError(f"Cannot write the job journal {self.path}: {exc}") from None

    def select(
        self,
        *,
        number: int | None = None,
        task_id: str | None = None,
        run: str | None = None,
        item_key: str | None = None,
        gateway: str | None = None,
        statuses: Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Jobs matching every given filter, newest first."""
        clauses, values = [], []
        for column, value in (
            ("number", number),
            ("task_id", task_id),
            ("run", run),
            ("item_key", item_key),
            ("gateway", gateway),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                values.append(value)
        if statuses is not None:
            wanted = list(statuses)
            clauses.append(f"status IN ({', '.join('?' for _ in wanted)})")
            values.extend(wanted)
        sql = f"SELECT {', '.join(COLUMNS)} FROM jobs"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY number DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        try:
            with self._lock:
                rows = self._db.execute(sql, values).fetchall()
        except sqlite3.Error as exc:
            raise JournalError(f"Cannot read the job journal {self.path}: {exc}") from None
        return [dict(zip(COLUMNS, row, strict=True)) for row in rows]

    def events(self, number: int) -> list[tuple[float, str, str | None]]:
        """A job's events, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT at, kind, detail FROM events WHERE job = ? ORDER BY number", (number,)
            ).fetchall()
        return [(float(at), str(kind), detail) for at, kind, detail in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
