#!/usr/bin/env bash
# Writes the offline data of sqlx's query macros (.sqlx/, committed): every static SQL
# statement, checked against a scratch database migrated to the current schema. Run it
# after changing a statement or a migration. With --check, fails instead when .sqlx/
# does not match the code (CI runs it so).
#   SQLX_PREPARE_DATABASE_URL  default postgres://postgres:postgres@127.0.0.1:5432/scim_sqlx_prepare?sslmode=disable
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh

SQLX_CLI_VERSION=0.9.0
if [ "$(cargo sqlx --version 2>/dev/null | awk '{print $2}')" != "$SQLX_CLI_VERSION" ]; then
  echo "installing sqlx-cli $SQLX_CLI_VERSION" >&2
  cargo install sqlx-cli --version "$SQLX_CLI_VERSION" --locked --no-default-features \
    --features postgres,rustls --quiet
fi

url=${SQLX_PREPARE_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/scim_sqlx_prepare?sslmode=disable}
export DATABASE_URL=$url
sqlx database drop -y >/dev/null 2>&1 || true
sqlx database create
trap 'sqlx database drop -y >/dev/null 2>&1 || true' EXIT
sqlx migrate run --source shared/store/migrations >/dev/null
SQLX_OFFLINE=false cargo sqlx prepare --workspace "$@" -- --all-targets
