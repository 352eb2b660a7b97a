#!/usr/bin/env bash
# The mission, end to end on the playground (run by `make demo`): create a
# tenant as typed, use it, register it with Argo CD, let an Argo CD
# Application deploy into it, delete it. The playground's host defaults
# (ConfigMap kube-public/kubectl-tenant) give the chart, pool and values, so
# no flag, environment variable or values file is needed.
#
# On the kwok playground nothing runs containers, so the Application deploys
# a ConfigMap (what Argo CD syncs is real; a Deployment's pods would be
# scheduled but never run).
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
# --server-address forwarded: Argo CD reaches the tenant through this
# machine's connection (on the playground only argocd-server resolves the
# in-cluster name vcluster.vcluster-NAME; the application-controller does not).
step "kubectl tenant register $name"
server=$(kubectl tenant register "$name" --yes --server-address forwarded -o json |
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
