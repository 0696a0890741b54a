#!/usr/bin/env python3
"""SQLite alone, as a reference for the server's writer (bench-http.sh prints it beside the POST figures).

Usage: sqlite-floor.py DATABASE [MESSAGES] [BATCH]

Copies the schema of DATABASE (one the server made: its tables, indexes and triggers) into a new file beside it,
then inserts MESSAGES of DATABASE's own messages (bodies and breakdowns as the server stored them; 100,000 by
default) in transactions of BATCH (22 by default: what one commit of the server's writer holds at 64 connections),
each as the server's writer does: the customer, then the message. WAL, synchronous=NORMAL, foreign keys on, as
the server. Prints the CPU time (user + system) of the inserts per message, less the cost of Python's calls
(the same calls with a statement that does nothing), and the bytes written per message.
"""
import os
import resource
import sqlite3
import sys


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def written_bytes():
    with open("/proc/self/io") as io:
        return next(int(line.split()[1]) for line in io if line.startswith("wchar"))


def main():
    source_path = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 22
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    statements = [sql for (sql,) in source.execute(
        "SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
        "ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, rowid")]
    rows = source.execute("SELECT customer_id, body, created_at, urgency, rules_version, breakdown, first_response_due "
                          "FROM messages ORDER BY id LIMIT 20000").fetchall()
    if not rows:
        sys.exit("sqlite-floor: the database holds no messages")

    path = source_path + ".floor"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    target = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON", "cache_size = -8192"):
        target.execute("PRAGMA " + pragma)
    for sql in statements:
        target.execute(sql)
    target.execute("INSERT OR IGNORE INTO counters VALUES ('open', 0), ('resolved', 0)")

    def run(connection, customer_sql, message_sql):
        cpu, written = cpu_seconds(), written_bytes()
        done = 0
        while done < count:
            connection.execute("BEGIN IMMEDIATE")
            for offset in range(batch):
                customer, body, created, urgency, version, breakdown, due = rows[(done + offset) % len(rows)]
                connection.execute(customer_sql, (customer,))
                connection.execute(message_sql, (customer, body, created + done + offset, urgency, version, breakdown,
                                                 None, due))
            connection.execute("COMMIT")
            done += batch
        return cpu_seconds() - cpu, written_bytes() - written

    calls, _ = run(sqlite3.connect(":memory:", isolation_level=None), "SELECT ?", "SELECT ?, ?, ?, ?, ?, ?, ?, ?")
    inserts, written = run(target, "INSERT OR IGNORE INTO customers(id) VALUES (?)",
                           "INSERT OR IGNORE INTO messages(customer_id, body, created_at, urgency, rules_version, "
                           "breakdown, import_key, first_response_due) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    target.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    print(f"{(inserts - calls) * 1e6 / count:.1f} µs CPU a message ({calls * 1e6 / count:.1f} µs of Python's calls "
          f"taken off), {written // count} bytes written a message, {count} messages in transactions of {batch}")


if __name__ == "__main__":
    main()
