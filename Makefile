# Front door of the real-parts playground (test/testenv, its own Go module).
TESTENV := test/testenv
PLAYGROUND_DIR := $(CURDIR)/.playground
# --real-nodes gives pool project-x a real node (containerd, kubelet,
# kube-proxy, CoreDNS: tenants and their workloads run as containers).
# `PLAYGROUND_FLAGS=` starts a kwok-only playground (what the e2e suite uses).
PLAYGROUND_FLAGS ?= --real-nodes

.PHONY: playground playground-down testenv-build

# The playground tool (test/testenv/cmd/playground), compiled into bin/.
# A cold compile prints only "go: downloading" lines and then nothing, so
# hack/heartbeat.sh says what is happening and prints a line every 30 s.
PLAYGROUND := $(CURDIR)/bin/playground
COMPILE_PLAYGROUND := @bash hack/heartbeat.sh "compiling the playground tool (test/testenv/cmd/playground)" \
	"the first time about 2 min on 2 cores, then it says what it builds" \
	sh -c 'cd $(TESTENV) && go build -o $(PLAYGROUND) ./cmd/playground'

# Build (first time about 21 min on a quiet 2-core machine, real node included;
# cached afterwards) and start the playground; prints what runs where and the
# KUBECONFIG to use. It builds only what that playground runs: not Argo CD
# v2.14 nor vCluster 0.25.0, which only the e2e suite uses (testenv-build).
playground:
	$(COMPILE_PLAYGROUND)
	cd $(TESTENV) && $(PLAYGROUND) up --dir $(PLAYGROUND_DIR) $(PLAYGROUND_FLAGS)

# Stop every process the playground started and remove its state.
playground-down:
	$(COMPILE_PLAYGROUND)
	cd $(TESTENV) && $(PLAYGROUND) down --dir $(PLAYGROUND_DIR)

# Build and cache the binaries the real-parts tests use, before their
# timeouts start: what real nodes need (test/testenv/realnodes runs in
# `make test`), Argo CD v2.14 (the e2e suite's playground runs it beside v3)
# and vCluster 0.25.0 (the e2e suite's older-chart test).
testenv-build:
	$(COMPILE_PLAYGROUND)
	cd $(TESTENV) && $(PLAYGROUND) build --real-nodes --argocd-v2 --vcluster-old

BIN := $(CURDIR)/bin/kubectl-tenant
GOTEST_TIMEOUT := 75m

.PHONY: build demo test test-unit test-real test-testenv test-e2e deps bench

# Build the plugin into bin/ (put bin/ on PATH to use it as `kubectl tenant`),
# as .goreleaser.yaml builds releases (internal/buildinfo's test holds them
# together). CGO_ENABLED=0: with cgo, the `plugin` package that Helm's kube
# client links (cli-runtime -> kustomize's plugin loader) makes the linker
# export every symbol dynamically: stripped, 75 MB and 68 MiB peak RSS for
# `version` against 58 MB and 46 MiB (docs/performance.md). `version` names
# the commit and its time from Go's build information (-buildvcs=auto: an
# environment's GOFLAGS=-buildvcs=false would drop them).
build:
	@bash hack/heartbeat.sh "building bin/kubectl-tenant" "the first time about 2 min on 2 cores" \
	env CGO_ENABLED=0 go build -buildvcs=auto -trimpath -ldflags='-s -w' -o $(BIN) ./cmd/kubectl-tenant

# Packages the real-parts tests need that a fresh Debian machine lacks.
deps:
	@bash hack/deps.sh

# The mission on the playground: build, start the playground, then create a
# tenant as typed, use it, register it, deploy into it with an Argo CD
# Application, delete it (hack/demo.sh). No KUBECTL_TENANT_* variables: the
# playground's host defaults (kube-public/kubectl-tenant) hold them.
demo: build deps playground
	PATH=$(CURDIR)/bin:$$PATH KUBECONFIG=$(PLAYGROUND_DIR)/kubeconfig bash hack/demo.sh

# Every test: unit tests, the harness's own tests and the end-to-end suite,
# against real kube-apiserver/etcd/vCluster/Argo CD processes. Once
# testenv-build has built every real part, the three suites run side by side:
# the e2e suite waits on processes far more than it computes (load average
# 0.6-2 on 2 cores), and the others fit into its waits. From empty caches,
# one after the other took 88 min, side by side 74 min 50 s
# (docs/performance.md, "The whole CI run"). Every line is prefixed with its suite's name; each suite ends with
# "[name] passed in Ns" or "[name] FAILED".
test: deps testenv-build
	@$(MAKE) --no-print-directory -j3 test-unit test-testenv test-e2e

# -race: the engine fans out (preflight, upgrade planning, waves); the race
# detector needs cgo, i.e. gcc (hack/deps.sh). nice: beside the e2e suite
# (make test), its compiles and races yield the CPU to the e2e suite, which
# is the longest and whose timeouts are real.
test-unit:
	@nice -n 10 bash hack/suite.sh unit sh -c 'go vet ./... && go test -race -count=1 ./...'

# The real-parts tests alone (the harness's tests and the e2e suite).
test-real: testenv-build
	@$(MAKE) --no-print-directory -j2 test-testenv test-e2e

# The harness's own tests (test/testenv, with its real-node tests) and the
# end-to-end suite (test/e2e); both need testenv-build's parts first.
test-testenv:
	@bash hack/suite.sh testenv sh -c 'cd $(TESTENV) && go vet ./... && go test -count=1 -timeout $(GOTEST_TIMEOUT) ./...'

test-e2e:
	@bash hack/suite.sh e2e sh -c 'cd test/e2e && go vet ./... && go test -count=1 -timeout $(GOTEST_TIMEOUT) ./...'

# Benchmarks (figures go to docs/performance.md).
bench:
	bash bench/run.sh
