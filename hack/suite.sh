#!/usr/bin/env bash
# Runs one test suite of `make test` with every output line prefixed by its
# name, so suites running side by side (make -j) stay readable, and ends with
# one line saying how it went and how long it took.
#   hack/suite.sh NAME command args...
set -uo pipefail
name=$1
shift
start=$(date +%s)
"$@" 2>&1 | sed -u "s/^/[$name] /"
rc=${PIPESTATUS[0]}
took=$(($(date +%s) - start))
if [ "$rc" = 0 ]; then
  echo "[$name] passed in ${took}s"
else
  echo "[$name] FAILED (exit $rc) after ${took}s"
fi
exit "$rc"
