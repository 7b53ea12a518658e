"""Holds a SQLite file's write lock from another process, on cue: the fault the journal tests
use to make a write wait out its deadline (bindings-python/tests/test_journal_flush.py,
bindings-node/test/journal-flush.test.js).

    python3 tests/faults/sqlite_lock.py FILE

Prints "ready" once the file is open; at its first line on stdin takes the write lock
(`BEGIN IMMEDIATE`) and prints "locked"; at the next line, or when stdin closes, lets it go and
exits. Started ahead, so that the lock is taken at once when asked for.
"""

import sqlite3
import sys

db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
print("ready", flush=True)
sys.stdin.readline()
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
