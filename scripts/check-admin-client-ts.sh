#!/usr/bin/env bash
# The TypeScript client of the admin API (examples/admin-client-ts): generated from
# docs/admin-api.openapi.json with openapi-typescript, compiled with tsc (strict), and
# run against the system scripts/up.sh started: it creates a directory and a setup link.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_node
source .run/admin.env
cd examples/admin-client-ts
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
ADMIN_URL=$ADMIN_URL ADMIN_TOKEN=$ADMIN_TOKEN node dist/main.js "TypeScript client $(date +%s)"
