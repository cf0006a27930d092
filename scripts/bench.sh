#!/usr/bin/env bash
# Runs scim-bench's users workload RUNS times, each on an empty system: its own database
# (dropped and created again) and an empty JetStream store, brought up by scripts/up.sh
# (release build). Before each run it measures the machine with pgbench, because a shared
# 2-core machine's speed moves by a third within an hour and the figures move with it
# (docs/benchmarks-history.md). It replaces whatever scripts/up.sh had started and stops the
# system at the end; the demo's database and JetStream store are left as they were.
#
#   RUNS          runs (default 3)
#   USERS         users per run (default 100000)
#   CONCURRENCY   requests in flight (default 32)
#   CATCH_UP      set (to anything): stop the worker for each run's lifecycle and start the subscriber
#                 after it; both catch up on the backlog and the run prints how fast
#   BENCH_ROLES   on: with roles mapped (scim-bench --roles: groups mapped to roles, every other
#                 user created with an app role); alternate: odd runs without, even runs with,
#                 to compare the two in the same hour; off (default): without
#   BENCH_DATABASE_URL  default postgres://postgres:postgres@127.0.0.1:5432/scim_bench?sslmode=disable
#
# scripts/bench.sh --scale runs the scale workload instead (scim-bench --workload scale):
# Okta's import, page by page, through a directory of SCALE_USERS (default 1000000)
# users, built once in its own database (SCALE_DATABASE_URL, default …/scim_scale),
# which later runs reuse. scripts/bench.sh --groups runs the groups workload RUNS times
# (Okta's group push of USERS users into BENCH_GROUPS (default 1000) groups, then one group
# of every user: its renames, one-member changes and reads, with and without members).
# scripts/bench.sh --group-pages runs the group-pages workload RUNS times: pages of 100
# groups of 500 members with 4 KB names, four at once, and the ingress's peak memory.
# The ingress reads the environment, so RELAY_LANES=1 scripts/bench.sh measures one
# relay lane against the default two.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh


RUNS=${RUNS:-3}
USERS=${USERS:-100000}
CONCURRENCY=${CONCURRENCY:-32}
export DATABASE_URL=${BENCH_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/scim_bench?sslmode=disable}
export NATS_STORE_DIR=$PWD/.run/bench-nats
# One directory driven as hard as the machine allows, far past what an identity
# provider sends: thousands of lookups a second, 32 at once. The per-directory quotas
# that keep one directory from hurting others would throttle it; lift them for the run
# (the neighbours workload measures them: scim-bench --workload neighbours).
export DIRECTORY_LIST_CONCURRENCY=${DIRECTORY_LIST_CONCURRENCY:-64}
export DIRECTORY_LIST_SHARE=${DIRECTORY_LIST_SHARE:-1000}
gauge_url=${DATABASE_URL%/*}/scim_bench_gauge
trap 'scripts/down.sh >/dev/null 2>&1 || true; rm -rf "$NATS_STORE_DIR"' EXIT
mkdir -p .run/logs

# The gauge: read-only pgbench on a small table (about 40,000/s on the machine of
# docs/benchmarks-history.md at full speed).
gauge() {
  command -v pgbench >/dev/null || { echo "no pgbench: no machine gauge"; return; }
  create_database "$gauge_url"
  if [ -z "$(psql "$gauge_url" -tAc "SELECT to_regclass('pgbench_accounts')")" ]; then
    pgbench -q -i -s 10 "$gauge_url" >/dev/null 2>&1
  fi
  # The kernel pages out what nobody touched for a minute: read the table back into
  # memory first, or the gauge measures the disk (137 reads/s once).
  PGOPTIONS="-c client_min_messages=warning" psql "$gauge_url" -qtAc "CREATE EXTENSION IF NOT EXISTS pg_prewarm" \
    -c "SELECT pg_prewarm('pgbench_accounts') + pg_prewarm('pgbench_accounts_pkey')" >/dev/null ||
    echo "no pg_prewarm: the gauge may read from disk"
  pgbench -S -M prepared -c 4 -j 2 -T 5 "$gauge_url" 2>/dev/null |
    awk '/^tps/ { printf "machine: pgbench -S %.0f reads/s\n", $3 }'
}

if [ "${1:-}" = --scale ]; then
  export DATABASE_URL=${SCALE_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/scim_scale?sslmode=disable}
  scripts/down.sh >/dev/null 2>&1 || true
  scripts/up.sh >.run/logs/bench-up.log 2>&1 ||
    { echo "scripts/up.sh failed; see .run/logs/bench-up.log" >&2; exit 1; }
  echo "== scale, $(date -u +%H:%M:%S) UTC"
  gauge
  target/release/scim-bench --workload scale --users "${SCALE_USERS:-1000000}"
  exit
fi

workload=users
[ "${1:-}" = --groups ] && workload=groups
[ "${1:-}" = --group-pages ] && workload=group-pages
for run in $(seq 1 "$RUNS"); do
  scripts/down.sh >/dev/null 2>&1 || true
  rm -rf "$NATS_STORE_DIR"
  psql "$(server_url "$DATABASE_URL")" -qc "DROP DATABASE IF EXISTS \"$(database_name "$DATABASE_URL")\" WITH (FORCE)"
  scripts/up.sh >.run/logs/bench-up.log 2>&1 ||
    { echo "scripts/up.sh failed; see .run/logs/bench-up.log" >&2; exit 1; }
  psql "$DATABASE_URL" -qc "CHECKPOINT"
  echo "== $workload, run $run of $RUNS, $(date -u +%H:%M:%S) UTC"
  gauge
  if [ "$workload" = group-pages ]; then
    target/release/scim-bench --workload group-pages
    continue
  fi
  if [ "$workload" = groups ]; then
    target/release/scim-bench --workload groups --users "$USERS" --groups "${BENCH_GROUPS:-1000}" \
      --memberships "$USERS" --concurrency "$CONCURRENCY"
    continue
  fi
  roles=
  case "${BENCH_ROLES:-off}" in
    on) roles=--roles ;;
    alternate) [ $((run % 2)) -eq 0 ] && roles=--roles ;;
  esac
  echo "roles mapped: ${roles:+yes}${roles:-no}"
  # A subscriber on the event crate, and the admin API for the snapshot's rate.
  (source .run/subscriber.env && source .run/admin.env &&
    target/release/scim-bench --users "$USERS" --concurrency "$CONCURRENCY" $roles \
      ${CATCH_UP:+--catch-up-worker "$(cat .run/worker.pid)"})
done
