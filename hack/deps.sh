#!/usr/bin/env bash
# Installs what the real-parts tests need beyond Go, git and kubectl, from
# Debian's archive: redis-server (Argo CD's cache), iproute2 (network
# namespaces for vCluster and real nodes), util-linux (unshare), procps,
# tmux (the TUI's end-to-end test), and for the playground's real nodes
# (`playground up --real-nodes`): containerd and runc (the container
# runtime), containernetworking-plugins (bridge, host-local, portmap,
# loopback in /usr/lib/cni), iptables (kube-proxy, portmap), conntrack
# (kube-proxy clears stale UDP entries with it), ipset (kube-router, the
# real nodes' NetworkPolicy enforcer) and busybox-static (the `cp`
# and shell inside the images the playground assembles).
set -euo pipefail
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v ip >/dev/null || need+=(iproute2)
command -v unshare >/dev/null || need+=(util-linux)
command -v pgrep >/dev/null || need+=(procps)
command -v make >/dev/null || need+=(make)
command -v tmux >/dev/null || need+=(tmux)
command -v containerd >/dev/null || need+=(containerd)
command -v runc >/dev/null || need+=(runc)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
command -v iptables >/dev/null || need+=(iptables)
command -v conntrack >/dev/null || need+=(conntrack)
command -v ipset >/dev/null || need+=(ipset) # kube-router's NetworkPolicy sets (real nodes)
[ -x /bin/busybox ] || need+=(busybox-static)
command -v gcc >/dev/null || need+=(gcc) # go test -race (make test-unit); kine's SQLite (real nodes)
[ -e /usr/include/stdio.h ] || need+=(libc6-dev) # static libc for kine (gcc only recommends it)
[ -x /usr/bin/time ] || need+=(time)     # peak RSS in bench/binary.sh
if ((${#need[@]})); then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  echo "installing ${need[*]} (apt)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
