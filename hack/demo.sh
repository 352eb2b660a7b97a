#!/usr/bin/env bash
# The mission, end to end on the playground (run by `make demo`): create a
# tenant as typed, use it, register it with Argo CD, let an Argo CD
# Application deploy into it, delete it. The playground's host defaults
# (ConfigMap kube-public/kubectl-tenant) give the chart, pool and values, so
# no flag, environment variable or values file is needed.
#
# `make demo` starts the playground with a real node for pool project-x
# (containerd, kubelet, kube-proxy, CoreDNS): the tenant's vCluster runs from
# the chart's own pod spec and a Deployment made inside it runs as real
# containers. On a kwok-only playground (`make demo PLAYGROUND_FLAGS=`)
# nothing runs containers, so that step is skipped; the Application deploys a
# ConfigMap either way.
set -euo pipefail
name=demo
host=playground
app=demo-hello
step() { printf '\n== %s\n' "$*" >&2; }
quiet() { "$@" >/dev/null; }

step "kubectl tenant create $name"
kubectl tenant create "$name" --ttl 8h
step "kubectl get namespaces   (context $name: inside the tenant)"
kubectl get namespaces

pool=$(kubectl tenant list -o json | sed -n 's/^ *"pool": *"\([^"]*\)".*/\1/p' | head -1)
if [ -n "$(kubectl --context "$host" get nodes -l "project=$pool,type=real" -o name)" ]; then
  step "a web app inside the tenant, fetched by its Service name from another pod"
  image=kubectl-tenant.local/testweb:v1 # built by the playground, in the node's containerd
  quiet kubectl create deployment web --image=$image
  quiet kubectl expose deployment web --port 80
  quiet kubectl rollout status deployment/web --timeout=3m
  quiet kubectl run fetch --image=$image --restart=Never -- get --timeout 90s http://web.default.svc
  quiet kubectl wait --for=jsonpath='{.status.phase}'=Succeeded pod/fetch --timeout=3m
  printf 'http://web.default.svc answered: %s\n' "$(kubectl logs fetch | tail -1)"
  kubectl get pods -o wide
else
  step "pool $pool has kwok nodes only: no containers run, skipping the web app"
fi
# Registered at its in-cluster address, https://vcluster.vcluster-NAME, which
# argocd-server and the application-controller resolve (with a real node
# through CoreDNS and kube-proxy, like a pod; on a kwok-only playground
# through its hosts file).
step "kubectl tenant register $name"
server=$(kubectl tenant register "$name" --yes -o json |
  sed -n 's/^ *"server": *"\([^"]*\)".*/\1/p')
echo "registered as $server"

step "an Argo CD Application deploying into the tenant"
repo="$(mktemp -d)/app"
mkdir -p "$repo"
cat >"$repo/hello.yaml" <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: hello
  namespace: default
data:
  greeting: deployed by Argo CD into tenant $name
YAML
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" -c user.name=demo -c user.email=demo@example.com commit -q -m app
quiet kubectl --context "$host" apply -f - <<YAML
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: $app
  namespace: argocd
spec:
  project: default
  source: {repoURL: "file://$repo", targetRevision: main, path: .}
  destination: {server: "$server", namespace: default}
  syncPolicy: {automated: {}}
YAML
kubectl --context "$host" -n argocd wait "application/$app" --timeout=3m \
  --for=jsonpath='{.status.sync.status}'=Synced
kubectl --context "$name" get configmap hello -o jsonpath='{.data.greeting}{"\n"}'

step "kubectl tenant list"
kubectl tenant list
step "clean up: the Application, then kubectl tenant delete $name"
quiet kubectl --context "$host" -n argocd delete "application/$app" --wait=true
kubectl tenant delete "$name" --yes
rm -rf "$(dirname "$repo")"

cat >&2 <<TXT

Done. The playground keeps running; to continue:
  export PATH=$PWD/bin:\$PATH KUBECONFIG=$PWD/.playground/kubeconfig
  kubectl tenant create NAME      # or just: kubectl tenant   (interactive)
  kubectl tenant config view      # the host defaults the playground wrote
  make playground-down            # stop it
TXT
