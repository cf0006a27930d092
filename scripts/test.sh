#!/usr/bin/env bash
# Runs every test: unit tests, the ingress and worker against real Postgres and NATS,
# and the end-to-end tests that start the real binaries. Installs and starts what it
# needs first (scripts/deps.sh), Chromium for the setup page's browser test among them.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_browser
# The subscribers in other languages that the end-to-end tests run.
ensure_python_subscriber
ensure_typescript_subscriber

# The end-to-end tests start target/debug/{ingress,worker,scimctl} and the events
# crate's example subscriber: build them first.
cargo build --workspace --bins --examples
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
# nextest runs no doctests: the events crate's README example is one.
cargo test -p scim-events --doc

# The deployment manifests, offline against the Kubernetes schemas.
scripts/check-deploy.sh
