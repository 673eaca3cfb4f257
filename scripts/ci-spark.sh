#!/usr/bin/env bash
# The optional Spark engine: install the [spark] extra and run the tests marked `spark`.
# Called by .ci/run after `make test`, under a time limit.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v java >/dev/null 2>&1; then
  echo "ci-spark: no java on this machine; installing default-jre-headless" >&2
  apt-get install -y -qq --no-install-recommends default-jre-headless >/dev/null
fi
make spark-test
