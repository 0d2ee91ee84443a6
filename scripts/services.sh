#!/usr/bin/env bash
# What the tests need on this machine: a PostgreSQL server to make their own databases in, and the
# redis-server program (the tests start their own Redis on a free port; a running Redis is left alone).
set -uo pipefail
if command -v pg_isready >/dev/null && ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || echo "could not start PostgreSQL" >&2
fi
if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server >/dev/null; } \
      || echo "could not install redis-server" >&2
  else
    echo "redis-server is missing: install it (Debian: apt-get install redis-server) to run the broker tests" >&2
  fi
fi
exit 0
