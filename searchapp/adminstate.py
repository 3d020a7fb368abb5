"""Admin state shared by every server process: login attempts and server-side sessions.

Both live in one SQLite file in the data folder (``admin.sqlite3``), so they hold
across gunicorn workers and restarts:

* **Login attempts.**  A wrong-password limit is only a limit when checking it and
  recording the attempt are one step: :meth:`AdminState.reserve_attempt` counts the
  client's attempts in the window and records this one inside a single
  ``BEGIN IMMEDIATE`` transaction, *before* the slow password hash runs.  A correct
  password then clears the client's record (:meth:`AdminState.clear_attempts`).  200
  parallel guesses therefore get at most ``attempts`` real password checks per window,
  whichever process they reach.
* **Sessions.**  The signed cookie carries a random session id; the row here says the
  id is live.  Logout deletes the row, so a cookie saved before logout opens nothing.

Flask-Limiter was considered: it limits requests per route, while this limit counts
*failed* logins and must be reserved before the hash check; its file-less storages are
in-memory (per process) or need a server.  SQLite is in the standard library,
embedded, and gives the atomic check-and-record across processes in a dozen lines.
"""
from __future__ import annotations

import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

STATE_FILE = "admin.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (client TEXT NOT NULL, t REAL NOT NULL);
CREATE INDEX IF NOT EXISTS attempts_client ON attempts (client, t);
CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, fp TEXT NOT NULL, created REAL NOT NULL);
"""


class AdminState:
    """Login attempts and admin sessions in one SQLite file (or in memory when ``path`` is None)."""

    def __init__(self, path: Path | None, attempts: int = 5, window: float = 300.0,
                 session_seconds: float = 8 * 3600):
        self.path = path
        self.attempts = attempts
        self.window = window
        self.session_seconds = session_seconds
        self._lock = threading.Lock()  # serialises the shared in-memory connection
        self._memory: sqlite3.Connection | None = None
        if path is None:
            self._memory = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            self._memory.executescript(_SCHEMA)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = self._connect()
            try:
                db.executescript(_SCHEMA)
            finally:
                db.close()

    def _connect(self) -> sqlite3.Connection:
        """A connection in SQLite's default rollback-journal mode.

        Not WAL: WAL needs shared memory beside the file (``-shm``), which fails or is unsafe on
        network and some container or VM-shared file systems, and its ``PRAGMA`` must itself win a
        lock when several workers start at once.  Every write here is a tiny ``BEGIN IMMEDIATE``
        transaction, so WAL's concurrent readers would buy nothing.  The file holds live session
        ids: it is created readable by its owner only (SQLite gives its journal the same mode).
        """
        assert self.path is not None
        created = not self.path.exists()
        if created:  # first start, or the data folder was cleared while the server runs
            os.close(os.open(str(self.path), os.O_WRONLY | os.O_CREAT, 0o600))
        db = sqlite3.connect(str(self.path), timeout=10.0, isolation_level=None)
        if created:
            db.executescript(_SCHEMA)
        return db

    def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(db)`` inside ``BEGIN IMMEDIATE`` … ``COMMIT`` (one writer at a time, across processes)."""
        if self._memory is not None:
            with self._lock:
                return self._transaction(self._memory, fn)
        db = self._connect()
        try:
            return self._transaction(db, fn)
        finally:
            db.close()

    @staticmethod
    def _transaction(db: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
        db.execute("BEGIN IMMEDIATE")
        try:
            out = fn(db)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return out

    # -- login attempts ------------------------------------------------------------------------

    def reserve_attempt(self, client: str, now: float | None = None) -> int:
        """Record an attempt for ``client`` if the window allows one: 0, or seconds to wait (nothing recorded)."""
        now = time.time() if now is None else now

        def step(db: sqlite3.Connection) -> int:
            db.execute("DELETE FROM attempts WHERE t < ?", (now - self.window,))
            rows = db.execute("SELECT t FROM attempts WHERE client = ? ORDER BY t", (client,)).fetchall()
            if len(rows) >= self.attempts:
                return max(1, int(self.window - (now - rows[0][0])) + 1)
            db.execute("INSERT INTO attempts (client, t) VALUES (?, ?)", (client, now))
            return 0

        return self._run(step)

    def clear_attempts(self, client: str) -> None:
        """A correct password: the client's record starts afresh."""
        self._run(lambda db: db.execute("DELETE FROM attempts WHERE client = ?", (client,)))

    def retry_after(self, client: str, now: float | None = None) -> int:
        """Seconds until ``client`` may try again (0: allowed now); records nothing."""
        now = time.time() if now is None else now

        def step(db: sqlite3.Connection) -> int:
            rows = db.execute("SELECT t FROM attempts WHERE client = ? AND t >= ? ORDER BY t",
                              (client, now - self.window)).fetchall()
            if len(rows) < self.attempts:
                return 0
            return max(1, int(self.window - (now - rows[0][0])) + 1)

        return self._run(step)

    # -- sessions ------------------------------------------------------------------------------

    def new_session(self, fingerprint: str) -> str:
        """A fresh session id bound to the password's fingerprint."""
        sid = secrets.token_urlsafe(32)
        now = time.time()

        def step(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM sessions WHERE created < ?", (now - self.session_seconds,))
            db.execute("INSERT INTO sessions (id, fp, created) VALUES (?, ?, ?)", (sid, fingerprint, now))

        self._run(step)
        return sid

    def session_live(self, sid: str, fingerprint: str) -> bool:
        """True while ``sid`` exists, is bound to ``fingerprint`` and has not expired."""
        now = time.time()
        row = self._run(lambda db: db.execute("SELECT fp, created FROM sessions WHERE id = ?", (sid,)).fetchone())
        return bool(row) and secrets.compare_digest(row[0], fingerprint) and 0 <= now - row[1] <= self.session_seconds

    def end_session(self, sid: str) -> None:
        """Logout: the id stops opening anything, in every process."""
        self._run(lambda db: db.execute("DELETE FROM sessions WHERE id = ?", (sid,)))
