#!/usr/bin/env bash
# Benchmarks of kubectl-tenant against the real playground (figures go to
# docs/performance.md). Usage: bash bench/run.sh [extra go test flags]
set -euo pipefail
cd "$(dirname "$0")/.."
(cd test/e2e && go test -count=1 -run '^$' -bench 'BenchmarkList1000|BenchmarkConnect' -benchtime=20x -benchmem -timeout 40m "$@" .)
bash bench/binary.sh
bash bench/startup.sh
