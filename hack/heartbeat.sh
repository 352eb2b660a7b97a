#!/usr/bin/env bash
# Runs a command that can be silent for minutes (a cold `go build` prints
# nothing while it compiles), saying first what it does and then a line every
# 30 s until it ends, so a newcomer never watches a silent terminal.
#   hack/heartbeat.sh "what it does" "how long it usually takes" command args...
set -uo pipefail
what=$1 typical=$2
shift 2
start=$(date +%s)
echo "$what ($typical) ..." >&2
(
  # sleep in the background and wait for it, so TERM ends the sleep too: a
  # left-over sleep would hold the caller's pipe (make | tee) open for 30 s.
  trap 'kill "$s" 2>/dev/null; exit 0' TERM
  while :; do
    sleep 30 & s=$!
    wait "$s"
    echo "  still $what ($(($(date +%s) - start))s so far) ..." >&2
  done
) &
beat=$!
"$@"
rc=$?
kill "$beat" 2>/dev/null
wait "$beat" 2>/dev/null
took=$(($(date +%s) - start))
[ "$rc" = 0 ] && [ "$took" -ge 30 ] && echo "  done: $what in ${took}s" >&2
exit "$rc"
