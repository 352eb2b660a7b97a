#!/usr/bin/env bash
# The main job, end to end on the playground (run by `make demo`).
set -euo pipefail
values="$(dirname "$0")/../test/testenv/playground-values.yaml"
set -x
kubectl tenant version
kubectl tenant create demo --pool project-x -f "$values" --ttl 8h
kubectl --context demo get namespaces
kubectl tenant list -o wide
{ set +x; } 2>/dev/null
echo
echo "Tenant 'demo' is current. Try: kubectl get ns; kubectl tenant disconnect; kubectl tenant delete demo --yes"
echo "Use the same environment: export PATH=$PWD/bin:\$PATH KUBECONFIG=$PWD/.playground/kubeconfig"
