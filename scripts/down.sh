#!/usr/bin/env bash
# Stops what scripts/up.sh started (ingress, worker, nats-server). PostgreSQL keeps running.
set -uo pipefail
cd "$(dirname "$0")/.."
for name in ingress worker nats; do
  pidfile=.run/$name.pid
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -TERM "$pid" 2>/dev/null; then
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    echo "stopped $name"
  fi
  rm -f "$pidfile"
done
