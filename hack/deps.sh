#!/usr/bin/env bash
# Installs what the real-parts tests need beyond Go, git and kubectl, from
# Debian's archive: redis-server (Argo CD's cache), iproute2 (network
# namespaces for vCluster), util-linux (unshare), procps, tmux (the
# TUI's end-to-end test).
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v ip >/dev/null || need+=(iproute2)
command -v unshare >/dev/null || need+=(util-linux)
command -v pgrep >/dev/null || need+=(procps)
command -v make >/dev/null || need+=(make)
command -v tmux >/dev/null || need+=(tmux)
command -v gcc >/dev/null || need+=(gcc) # go test -race (make test-unit)
if ((${#need[@]})); then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  echo "installing ${need[*]} (apt)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
