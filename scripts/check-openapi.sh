#!/usr/bin/env bash
# Lints the admin API's OpenAPI document (docs/admin-api.openapi.json) against the
# OpenAPI 3.1 specification. That the file is the document the service serves is a test
# of the ingress (admin::openapi).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
ensure_openapi_validator
"$OPENAPI_SPEC_VALIDATOR" docs/admin-api.openapi.json
