#!/usr/bin/env bash
# Brings the whole system up on this machine: installs and starts PostgreSQL and a
# JetStream-enabled nats-server (locked down: deploy/nats/permissions.conf) where absent,
# builds the binaries, applies migrations,
# starts the ingress and the worker in the background, creates a demo directory and
# prints its SCIM base URL and bearer token. Stop everything with scripts/down.sh.
#
#   SCIM_PROFILE   release (default) or debug
#   LISTEN_ADDR        ingress SCIM address (default 127.0.0.1:8080)
#   ADMIN_LISTEN_ADDR  admin API address (default 127.0.0.1:8090)
#   ADMIN_TOKEN        operator token for the admin API (default: generated once and
#                      kept in .run/admin.env, which also sets ADMIN_URL for scimctl)
#   DATABASE_URL       default postgres://postgres:postgres@127.0.0.1:5432/scim?sslmode=disable
#   NATS_STORE_DIR     JetStream's store (default .run/nats)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh

PROFILE=${SCIM_PROFILE:-release}
RUN=$PWD/.run
mkdir -p "$RUN/logs"
scripts/down.sh >/dev/null 2>&1 || true

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# NATS: our pinned server, on 4222 or the next free port (a system nats-server may hold
# 4222, another checkout's up.sh the next).
if [ -n "${SCIM_NATS_PORT:-}" ]; then
  NATS_PORT=$SCIM_NATS_PORT
  port_free "$NATS_PORT" || { echo "SCIM_NATS_PORT $NATS_PORT is taken" >&2; exit 1; }
else
  for NATS_PORT in $(seq 4222 4299); do port_free "$NATS_PORT" && break; done
  port_free "$NATS_PORT" || { echo "no free port in 4222-4299; set SCIM_NATS_PORT" >&2; exit 1; }
fi
# Locked down as in production (deploy/nats/permissions.conf): a user per service, and
# one for a subscribing service, with passwords generated once and kept in
# .run/nats.env.
if [ ! -f "$RUN/nats.env" ]; then
  (umask 077
   for who in INGRESS WORKER SUBSCRIBER; do
     printf 'SCIM_NATS_%s_PASSWORD=%s\n' "$who" "$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
   done >"$RUN/nats.env")
fi
. "$RUN/nats.env"
cp deploy/nats/permissions.conf "$RUN/permissions.conf"
printf 'include permissions.conf\n' >"$RUN/nats.conf"
SCIM_NATS_INGRESS_PASSWORD=$SCIM_NATS_INGRESS_PASSWORD SCIM_NATS_WORKER_PASSWORD=$SCIM_NATS_WORKER_PASSWORD \
  SCIM_NATS_SUBSCRIBER_PASSWORD=$SCIM_NATS_SUBSCRIBER_PASSWORD \
  nohup "$NATS_SERVER_BIN" -c "$RUN/nats.conf" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "${NATS_STORE_DIR:-$RUN/nats}" >"$RUN/logs/nats.log" 2>&1 &
echo $! >"$RUN/nats.pid"
export NATS_URL=nats://127.0.0.1:$NATS_PORT
# What a subscribing service on this machine logs in with (the example of
# docs/events.md: source .run/subscriber.env).
(umask 077; printf 'export NATS_URL=%s\nexport NATS_USER=scim-subscriber\nexport NATS_PASSWORD=%s\n' \
  "$NATS_URL" "$SCIM_NATS_SUBSCRIBER_PASSWORD" >"$RUN/subscriber.env")

# PostgreSQL: the service database.
export DATABASE_URL=${DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/scim?sslmode=disable}
create_database "$DATABASE_URL"

if [ "$PROFILE" = release ]; then cargo build --release --bins; BIN=target/release; else cargo build --bins; BIN=target/debug; fi
"$BIN/scimctl" migrate

export LISTEN_ADDR=${LISTEN_ADDR:-127.0.0.1:8080}
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://$LISTEN_ADDR}
export ADMIN_LISTEN_ADDR=${ADMIN_LISTEN_ADDR:-127.0.0.1:8090}
if [ -z "${ADMIN_TOKEN:-}" ]; then
  # Keep the generated operator token across restarts, so scimctl sessions keep working.
  [ -f "$RUN/admin.env" ] && ADMIN_TOKEN=$(. "$RUN/admin.env"; echo "$ADMIN_TOKEN")
  ADMIN_TOKEN=${ADMIN_TOKEN:-$(python3 -c 'import secrets; print(secrets.token_hex(24))')}
fi
export ADMIN_TOKEN
export ADMIN_URL=http://$ADMIN_LISTEN_ADDR
(umask 077; printf 'export ADMIN_URL=%s\nexport ADMIN_TOKEN=%s\n' "$ADMIN_URL" "$ADMIN_TOKEN" >"$RUN/admin.env")
NATS_USER=scim-ingress NATS_PASSWORD=$SCIM_NATS_INGRESS_PASSWORD nohup "$BIN/ingress" >"$RUN/logs/ingress.log" 2>&1 &
echo $! >"$RUN/ingress.pid"
NATS_USER=scim-worker NATS_PASSWORD=$SCIM_NATS_WORKER_PASSWORD nohup "$BIN/worker" >"$RUN/logs/worker.log" 2>&1 &
echo $! >"$RUN/worker.pid"

# Wait until the ingress is ready (database and NATS reachable).
host=${LISTEN_ADDR%:*} port=${LISTEN_ADDR##*:}
for _ in $(seq 1 150); do
  if { exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null; then
    printf 'GET /readyz HTTP/1.0\r\n\r\n' >&3
    if head -1 <&3 | grep -q ' 200 '; then exec 3>&-; ready=1; break; fi
    exec 3>&-
  fi
  sleep 0.2
done
[ -n "${ready:-}" ] || { echo "the ingress did not become ready; see $RUN/logs/ingress.log" >&2; exit 1; }

# Directory names are unique: each bring-up makes a demo directory of its own.
SCIMCTL_ACTOR=up.sh "$BIN/scimctl" directory create --name "Demo $(date -u +'%Y-%m-%d %H:%M:%S')" --idp okta --json >"$RUN/demo.json"
demo=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$RUN/demo.json")
SCIMCTL_ACTOR=up.sh "$BIN/scimctl" directory setup-link --directory "$demo" --json >"$RUN/setup-link.json"
python3 - "$RUN/demo.json" "$BIN" "$NATS_URL" "$SCIM_NATS_SUBSCRIBER_PASSWORD" "$RUN/setup-link.json" "$ADMIN_URL" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
nats_url, subscriber_password = sys.argv[3], sys.argv[4]
link = json.load(open(sys.argv[5]))
admin_url = sys.argv[6]
print(f"""
SCIM provisioning is up.
  ingress   {d['scim_base_url'].split('/scim/')[0]}   (logs: .run/logs/ingress.log)
  worker    running                  (logs: .run/logs/worker.log)

Demo directory {d['id']}
  SCIM base URL:  {d['scim_base_url']}
  Bearer token:   {d['token']['token']}

Setup page for the demo directory's IT admin (expires {link['expires_at']}):
  {link['url']}

Try it:
  curl -H 'Authorization: Bearer {d['token']['token']}' '{d['scim_base_url']}/Users?startIndex=1&count=2'
Administer it (directories, tokens, teams, request log):
  source .run/admin.env && {sys.argv[2]}/scimctl directory list
  or the operator console, {admin_url}/console (sign in with ADMIN_TOKEN from .run/admin.env)
Subscribe to the events (docs/events.md): NATS {nats_url}, user scim-subscriber,
password {subscriber_password}; for example
  source .run/subscriber.env && cargo run -p scim-events --example directory_copy
Stop everything: scripts/down.sh""")
PY
