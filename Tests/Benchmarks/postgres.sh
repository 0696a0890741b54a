#!/usr/bin/env bash
# A throwaway PostgreSQL for benchmarks: postgres.sh start DIR PORT | stop DIR | createdb|dropdb NAME PORT [if-exists]
# | checkpoint PORT.
# Production-like settings (fsync and synchronous_commit on); runs as the postgres user when invoked as root.
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$1" in
  start)
    dir=$2 port=$3
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir/data" -U urgencyiq -A trust -E UTF8 --locale=C >/dev/null
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 && exit 0  # already running
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 120 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c shared_buffers=256MB -c max_connections=200 -c max_wal_size=2GB" start >/dev/null
    ;;
  stop)
    as_owner "$bin/pg_ctl" -D "$2/data" -w -m fast stop >/dev/null
    ;;
  checkpoint)  # write out what is dirty now, so that it does not happen in the middle of the next measurement
    as_owner "$bin/psql" -h 127.0.0.1 -p "$2" -U urgencyiq -d postgres -qc CHECKPOINT >/dev/null
    ;;
  createdb|dropdb)
    as_owner "$bin/$1" -h 127.0.0.1 -p "$3" -U urgencyiq ${4:+--if-exists} "$2" 2>/dev/null || true
    ;;
esac
