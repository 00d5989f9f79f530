#!/usr/bin/env bash
# The shipped Prometheus alerting rules are valid, and each alert fires on a
# synthetic series and stays quiet otherwise (promtool unit tests). Needs no
# root and no running controller. promtool comes with Debian's package
# `prometheus`; without it the test is skipped (exit 77).
set -euo pipefail
FERRY_SRC=${FERRY_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
RULES_DIR=$FERRY_SRC/manifests/prometheus

if ! command -v promtool >/dev/null 2>&1; then
  echo "SKIP: promtool not installed (Debian package prometheus)"
  exit 77
fi

cd "$RULES_DIR"
promtool check rules ferry-alerts.yaml
promtool test rules ferry-alerts.test.yaml
echo "ok: ferry-alerts.yaml checks and passes its promtool unit tests"
