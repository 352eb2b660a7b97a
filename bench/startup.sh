#!/usr/bin/env bash
# Binary size, startup time and peak RSS of `kubectl-tenant version`, next to
# `kubectl version --client` and (when present) `argocd version --client`,
# plus the heaviest package initialisers (GODEBUG=inittrace=1).
# Results go into docs/performance.md ("Binary size and startup").
#
#   bench/startup.sh [RUNS]          RUNS per command, default 30
#
# Needs Go and kubectl; uses hyperfine (apt-get install hyperfine) when
# installed, else a loop timing each run; GNU time (apt-get install time) for
# peak RSS. ARGOCD=/path/to/argocd picks the Argo CD CLI; by default the
# playground's build under ~/.cache/kubectl-tenant/testenv is used if there.
set -euo pipefail

RUNS=${1:-30}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) exit 1; if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

echo "building stripped binary (go build -trimpath -ldflags='-s -w') ..." >&2
(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$WORK/kubectl-tenant" ./cmd/kubectl-tenant)

KUBECTL=${KUBECTL:-$(command -v kubectl || true)}
ARGOCD=${ARGOCD:-$(ls -d "$HOME"/.cache/kubectl-tenant/testenv/argocd-*/argocd 2>/dev/null | grep -v '\.tmp-' | head -1 || true)}

names=("kubectl-tenant version")
cmds=("$WORK/kubectl-tenant version")
bins=("$WORK/kubectl-tenant")
if [ -n "$KUBECTL" ]; then
	names+=("kubectl version --client"); cmds+=("$KUBECTL version --client"); bins+=("$(readlink -f "$KUBECTL")")
fi
if [ -n "$ARGOCD" ] && [ -x "$ARGOCD" ]; then
	names+=("argocd version --client"); cmds+=("$ARGOCD version --client"); bins+=("$ARGOCD")
fi

TIME=/usr/bin/time
[ -x "$TIME" ] || TIME=""

# startup_ms CMD: median wall time in milliseconds over RUNS runs.
startup_ms() {
	if command -v hyperfine >/dev/null; then
		hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$WORK/h.json" "$1" >/dev/null 2>&1
		python3 -c 'import json,sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][0]["median"]*1000))' "$WORK/h.json"
	else
		for _ in 1 2 3; do $1 >/dev/null 2>&1; done
		for _ in $(seq "$RUNS"); do
			s=$(date +%s%N); $1 >/dev/null 2>&1; e=$(date +%s%N)
			echo $(( (e - s) / 1000 ))
		done | median | awk '{printf "%.1f\n", $1/1000}'
	fi
}

# rss_mib CMD: median peak resident set size in MiB over RUNS runs.
rss_mib() {
	[ -n "$TIME" ] || { echo "n/a"; return; }
	for _ in $(seq "$RUNS"); do
		$TIME -f %M -o "$WORK/rss" $1 >/dev/null 2>&1
		tail -1 "$WORK/rss"
	done | median | awk '{printf "%.1f\n", $1/1024}'
}

echo
echo "machine: $(nproc) cores, $(uname -sr), $(go version | awk '{print $3}'); $RUNS runs each, median"
echo "startup timer: $(command -v hyperfine >/dev/null && hyperfine --version || echo 'shell loop')"
echo
echo "| command | binary size (MiB) | startup, median (ms) | peak RSS, median (MiB) |"
echo "| --- | ---: | ---: | ---: |"
for i in "${!cmds[@]}"; do
	size=$(stat -c %s "${bins[$i]}" | awk '{printf "%.1f", $1/1048576}')
	echo "| \`${names[$i]}\` | $size | $(startup_ms "${cmds[$i]}") | $(rss_mib "${cmds[$i]}") |"
done

echo
echo "heaviest package initialisers of \`kubectl-tenant version\` (GODEBUG=inittrace=1, one run):"
echo
GODEBUG=inittrace=1 "$WORK/kubectl-tenant" version 2>"$WORK/init" >/dev/null
awk '$1=="init" {ms+=$5; kb+=$8; n++} END {printf "total: %d packages, %.2f ms clock, %.0f kB allocated\n\n", n, ms, kb/1024}' "$WORK/init"
echo "| package | clock (ms) | allocated (bytes) | allocations |"
echo "| --- | ---: | ---: | ---: |"
awk '$1=="init" {print $5, $2, $8, $10}' "$WORK/init" | sort -rn | head -12 |
	awk '{printf "| %s | %s | %s | %s |\n", $2, $1, $3, $4}'
