#!/usr/bin/env bash
# Start a throwaway PostgreSQL 15 cluster on 127.0.0.1 and export its URL for the tests.
# Sourced by .ci/run.
PGBIN=/usr/lib/postgresql/15/bin
PGPORT="${EVOLVE_PGPORT:-54329}"
PGDATA="$(mktemp -d /tmp/evolve-pg.XXXXXX)"
chown postgres:postgres "$PGDATA"
runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA" -A trust -U postgres >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
  -o "-p $PGPORT -k $PGDATA -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null
export EVOLVE_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$PGPORT/postgres"
trap 'runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true' EXIT
echo "PostgreSQL ready at $EVOLVE_TEST_POSTGRES_URL"
