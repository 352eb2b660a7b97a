#!/usr/bin/env bash
# The binary's weight next to kubectl's, in one run, against issue #15's
# targets: stripped size, `version` wall time and peak RSS against
# `kubectl version --client` (medians of RUNS interleaved runs), and the
# heap allocated by package initialisers (GODEBUG=inittrace=1).
#
#   bench/binary.sh [RUNS]      RUNS interleaved runs per command, default 15
#
# BASE=<git ref> also builds that revision (e.g. BASE=trial2) and prints it
# as a third row, for before/after figures. Needs Go, kubectl and GNU time
# (/usr/bin/time; hack/deps.sh installs it); no other tools. Figures go to
# docs/performance.md ("Binary size and startup").
set -euo pipefail

RUNS=${1:-15}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "bench/binary.sh: needs GNU time at $TIME (hack/deps.sh installs it)" >&2; exit 1; }
KUBECTL=$(readlink -f "${KUBECTL:-$(command -v kubectl)}") || { echo "bench/binary.sh: needs kubectl" >&2; exit 1; }

# As .goreleaser.yaml builds releases: CGO_ENABLED=0, -trimpath, -s -w and
# the build info (release-sized placeholders for tag, commit and date).
BI=github.com/kubectl-tenant/kubectl-tenant/internal/buildinfo
LDFLAGS="-s -w -X $BI.Version=v1.0.0 -X $BI.Commit=0000000000000000000000000000000000000000 -X $BI.Date=2026-01-01T00:00:00Z"
build() { # build SRC OUT
	(cd "$1" && CGO_ENABLED=0 go build -trimpath -ldflags="$LDFLAGS" -o "$2" ./cmd/kubectl-tenant)
}
echo "building stripped binaries as goreleaser does (CGO_ENABLED=0 go build -trimpath -ldflags='-s -w -X ...') ..." >&2
build "$ROOT" "$WORK/tenant"
# The same commands without the vCluster backend (never shipped): what the
# Helm SDK's package initialisers cost, added through an overlay so the
# tree is not touched.
mkdir -p "$WORK/nobackend"
cat >"$WORK/nobackend/main.go" <<'GO'
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-tenant/kubectl-tenant/internal/cmd/root"
	"github.com/kubectl-tenant/kubectl-tenant/internal/cmdutil"
)

func main() {
	f := &cmdutil.Factory{ConfigFlags: cmdutil.NewConfigFlags(), IOStreams: genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}}
	cmd := root.NewCmdRoot(f)
	cmd.SetArgs(os.Args[1:])
	_ = cmd.Execute()
}
GO
printf '{"Replace":{"%s":"%s"}}' "$ROOT/cmd/kubectl-tenant-nobackend/main.go" "$WORK/nobackend/main.go" >"$WORK/overlay.json"
(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags="$LDFLAGS" -overlay "$WORK/overlay.json" -o "$WORK/tenant-nobackend" ./cmd/kubectl-tenant-nobackend)
names=("kubectl-tenant version" "kubectl version --client")
bins=("$WORK/tenant" "$KUBECTL")
args=("version" "version --client")
if [ -n "${BASE:-}" ]; then
	mkdir "$WORK/base"
	git -C "$ROOT" archive "$BASE" | tar -x -C "$WORK/base"
	build "$WORK/base" "$WORK/tenant-base"
	names+=("kubectl-tenant version ($BASE)"); bins+=("$WORK/tenant-base"); args+=("version")
fi

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# Warm the page cache, then RUNS rounds; each round runs every command once
# plainly (wall, in µs) and once under GNU time (peak RSS, in KiB).
for i in "${!bins[@]}"; do for _ in 1 2 3; do ${bins[$i]} ${args[$i]} >/dev/null 2>&1; done; done
for _ in $(seq "$RUNS"); do
	for i in "${!bins[@]}"; do
		s=$(date +%s%N); ${bins[$i]} ${args[$i]} >/dev/null 2>&1; e=$(date +%s%N)
		echo $(((e - s) / 1000)) >>"$WORK/wall.$i"
		$TIME -f %M -o "$WORK/rss1" ${bins[$i]} ${args[$i]} >/dev/null 2>&1
		tail -1 "$WORK/rss1" >>"$WORK/rss.$i"
	done
done
# Init: allocated bytes and clock summed over the "init pkg @t ms, N ms
# clock, N bytes, N allocs" lines; median of 5 runs.
for i in "${!bins[@]}"; do
	for _ in 1 2 3 4 5; do
		GODEBUG=inittrace=1 ${bins[$i]} ${args[$i]} 2>&1 >/dev/null |
			awk '$1=="init" {ms+=$5; b+=$8; n++} END {print b, ms, n}' >>"$WORK/init.$i"
	done
done

col() { # col I FILE FIELD -> median of field FIELD
	awk -v f="$3" '{print $f}' "$WORK/$2.$1" | median
}
div() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.4f", a / b}'; }
echo
echo "$(date -u +%F), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), $(uname -sr), $(go version | awk '{print $3}'), kubectl $("$KUBECTL" version --client 2>/dev/null | awk '/Client Version/ {print $3}'); $RUNS interleaved runs, medians"
echo
echo "| command | stripped size (MB) | wall (ms) | peak RSS (MiB) | init allocated (MB) | init clock (ms) | init packages |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for i in "${!bins[@]}"; do
	size[$i]=$(stat -c %s "${bins[$i]}")
	wall[$i]=$(col "$i" wall 1)
	rss[$i]=$(col "$i" rss 1)
	ialloc[$i]=$(col "$i" init 1)
	[ "$i" = 0 ] && ialloc_0=${ialloc[0]}
	printf '| `%s` | %.2f | %.1f | %.1f | %.2f | %.1f | %d |\n' "${names[$i]}" \
		"$(div "${size[$i]}" 1e6)" "$(div "${wall[$i]}" 1e3)" "$(div "${rss[$i]}" 1024)" \
		"$(div "${ialloc[$i]}" 1e6)" "$(col "$i" init 2)" "$(col "$i" init 3)"
done
nb=$(for _ in 1 2 3 4 5; do GODEBUG=inittrace=1 "$WORK/tenant-nobackend" version 2>&1 >/dev/null | awk '$1=="init" {b+=$8} END {print b}'; done | median)
echo
printf 'Without the vCluster backend (not shipped; built through an overlay): init allocated %.2f MB, so the Helm SDK and the backend add %.2f MB.\n' "$(div "$nb" 1e6)" "$(div "$((ialloc_0 - nb))" 1e6)"
verdict() { awk -v v="$1" -v t="$2" 'BEGIN {print (v <= t) ? "met" : "NOT met"}'; }
r_wall=$(div "${wall[0]}" "${wall[1]}")
r_rss=$(div "${rss[0]}" "${rss[1]}")
echo
echo "| target (issue #15) | measured | |"
echo "| --- | ---: | --- |"
printf '| stripped size <= 60 MB (10^6 bytes) | %.2f MB (%.1f MiB) | %s |\n' "$(div "${size[0]}" 1e6)" "$(div "${size[0]}" 1048576)" "$(verdict "${size[0]}" 60000000)"
printf '| wall <= 0.8x kubectl | %.2fx | %s |\n' "$r_wall" "$(verdict "$r_wall" 0.8)"
printf '| peak RSS <= 1.2x kubectl | %.2fx | %s |\n' "$r_rss" "$(verdict "$r_rss" 1.2)"
printf '| init allocation <= 5.85 MB (half of 11.7) | %.2f MB | %s |\n' "$(div "${ialloc[0]}" 1e6)" "$(verdict "${ialloc[0]}" 5850000)"
