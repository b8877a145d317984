# Every command a person runs. `make` alone lists them.
#
# The cgo flags come from the interpreter the virtual environment was made
# from, computed once into .build/cgo.env, so `make test` and `make run` need no
# hand-set environment and the binary finds its libpython through an rpath.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
BUILD := .build
BIN := $(BUILD)/stockagent-server
PIP_CACHE_DIR ?= $(HOME)/.cache/pip
export PIP_CACHE_DIR
# Downloads show their progress when make's stdout is a terminal (GNU make sets MAKE_TERMOUT then)
# and stay quiet in CI logs.
PIP_PROGRESS := --progress-bar $(if $(MAKE_TERMOUT),on,off)

# A CPython 3.11 (the locks') with a shared libpython: PYTHON=... picks one, else the
# newest 3.11 under pyenv, else python3.11 on PATH.
PYTHON ?= $(shell ls -d $(HOME)/.pyenv/versions/3.11.*/bin/python3.11 2>/dev/null | sort -V | tail -n1)
ifeq ($(PYTHON),)
PYTHON := $(shell command -v python3.11)
endif

GO_SOURCES := $(shell find native pybridge server web -path web/node_modules -prune -o \( -name '*.go' -o -name '*.c' -o -name '*.h' \) -print 2>/dev/null) \
	go.mod go.sum web/docs.html web/docs.js server/httpapi/openapi.json
# The web app's sources: a change rebuilds web/dist, and so the binary that embeds it.
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json

.PHONY: help setup run run-supervised generate test lint test-go test-py test-web web bench clean gpu-check preflight lock k8s-render

# Before anything is built, .ci/preflight checks the tools the goal needs (installing Debian's
# packages when root with apt-get) or stops with one line per missing tool. The test goals need
# what the tests start as well; every rule that builds waits for it (order-only prerequisite).
PREFLIGHT := setup
test test-go test-py test-web: PREFLIGHT := test

preflight:
	@PYTHON="$(if $(wildcard $(PY)),$(PY),$(PYTHON))" .ci/preflight $(PREFLIGHT)

help: ## list the commands
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(BIN) ## create .venv, install the Python package, build the server

run: setup ## run the server on :$(PORT) with its embedded defaults
	PORT=$(PORT) ./$(BIN)

run-supervised: setup ## run the server as above, started again after a crash (SUPERVISE=on)
	PORT=$(PORT) SUPERVISE=on ./$(BIN)

generate: $(VENV)/.installed ## regenerate code made from declarations (server/pyapi, server/httpapi/api); tests fail while it is stale
	@echo "==> regenerating server/pyapi and server/httpapi/api (go generate)"
	go generate ./...

test: setup lint test-go test-py test-web ## run the linters, then every Go, Python and web test

# The Go linters are pinned in modules of their own (.ci/tools/NAME/go.mod: golangci-lint's and
# actionlint's dependencies cannot share one build list), so the product's go.mod stays as it is.
# Each is rebuilt only when its go.mod or go.sum changes; the Go build cache keeps the rest.
TOOLS := $(BUILD)/tools
# The alert rules' check, a module of its own: the Prometheus module it needs would raise versions
# the product shares with it (deploy/deploytest/rulecheck/doc.go).
RULECHECK := deploy/deploytest/rulecheck
GO_LINTERS := $(TOOLS)/golangci-lint $(TOOLS)/actionlint
# benchstat compares the Go benchmarks' runs (bench-go), pinned the same way.
GO_TOOLS := $(GO_LINTERS) $(TOOLS)/benchstat

$(TOOLS)/%: .ci/tools/%/go.mod .ci/tools/%/go.sum | preflight
	@echo "==> building $* (pinned in .ci/tools/$*/go.mod)"
	go build -C .ci/tools/$* -o $(abspath $@) tool

# golangci-lint type-checks the packages, so what they embed (web/dist, web/swaggerui) and the cgo
# flags must exist; the web step needs the web packages. CONTRIBUTING.md ("Lint") says how to fix
# a finding and how to add an exclusion.
lint: $(VENV)/.installed $(BUILD)/cgo.env web/swaggerui/.stamp web/dist/index.html $(GO_LINTERS) ## run the linters (Go, workflows, Python, web)
	@echo "==> go mod tidy: go.mod and go.sum (the product's and the linters') as tidy leaves them"
	go mod tidy -diff
	$(foreach tool,$(notdir $(GO_TOOLS)),go -C .ci/tools/$(tool) mod tidy -diff;)
	go -C $(RULECHECK) mod tidy -diff
	@echo "==> golangci-lint (.golangci.yml)"
	source $(BUILD)/cgo.env && $(TOOLS)/golangci-lint run ./...
	cd $(RULECHECK) && $(abspath $(TOOLS))/golangci-lint run ./...
	@echo "==> actionlint (.github/workflows)"
	$(TOOLS)/actionlint
	@echo "==> ruff check (pyproject.toml, [tool.ruff])"
	$(PY) -m ruff check
	@echo "==> ruff format --check"
	$(PY) -m ruff format --check
	@echo "==> mypy (pyproject.toml, [tool.mypy])"
	$(PY) -m mypy
	@echo "==> eslint and tsc (web)"
	cd web && npm run --silent lint

test-go: $(BIN)
	@echo "==> go modules: the downloaded ones match go.sum"
	go mod verify
	@echo "==> go tests"
	source $(BUILD)/cgo.env && STOCKAGENT_SERVER_BIN=$(abspath $(BIN)) go test -count=1 -timeout 30m ./...
	@echo "==> alert rules and dashboard queries, parsed as Prometheus does ($(RULECHECK))"
	go -C $(RULECHECK) test -count=1 ./...

test-py: $(VENV)/.installed
	@echo "==> python tests"
	$(PY) -m pytest pymodules/tests

web: web/dist/index.html ## build the web app into web/dist (the server binary embeds it)

test-web: $(BIN) ## the web app's tests: components (Vitest), then end to end in headless Chromium
	@echo "==> web tests (vitest)"
	cd web && npm run --silent test
	@echo "==> web end to end: the real server and Chromium (screenshots in $(BUILD)/screenshots)"
	cd web && STOCKAGENT_SERVER_BIN=$(abspath $(BIN)) npm run --silent e2e

# Every figure in one table beside the previous run's (results in .build/bench): the back-ends side
# by side (embedded, persistent worker, process per call, gpython), the model's raw speed, HTTP,
# Redis, forecasts during a training, streamed analyses and an open-loop load: about 8 minutes.
# BENCH_DATA_DIR=… reuses trained models; BENCH_BASELINE=/other/checkout runs the server workloads
# against that checkout's build too (before and after in one run); flags: go run ./server/cmd/bench -h.
bench: setup ## every figure beside the previous run's; results in .build/bench (figures in BENCHMARKS.md)
	@echo "==> benchmarks (results in $(BUILD)/bench)"
	source $(BUILD)/cgo.env && STOCKAGENT_SERVER_BIN=$(abspath $(BIN)) go run ./server/cmd/bench -out $(BUILD)/bench

# The go test -bench suites. Each run's output is kept in .build/bench/go-TIME.txt and compared with
# the previous one by benchstat (pinned in .ci/tools/benchstat): the bridge's suites run
# BENCH_COUNT times so that benchstat has samples; the server's (seconds to minutes each, the real
# binary) SERVER_BENCH_COUNT times. BENCH=regexp picks benchmarks.
BENCH ?= .
BENCH_COUNT ?= 6
SERVER_BENCH_COUNT ?= 1

.PHONY: bench-go
bench-go: setup $(TOOLS)/benchstat ## the go test benchmarks, compared with the previous run's by benchstat
	@mkdir -p $(BUILD)/bench
	@prev=$$(ls $(BUILD)/bench/go-*.txt 2>/dev/null | sort | tail -n1 || true); \
	new=$(BUILD)/bench/go-$$(date -u +%Y%m%dT%H%M%SZ).txt; \
	source $(BUILD)/cgo.env; \
	echo "==> bridge benchmarks ($(BENCH_COUNT) runs each)"; \
	go test -run '^$$' -bench '$(BENCH)' -benchtime 1s -count $(BENCH_COUNT) ./pybridge/ ./server/cmd/bench/pyproc/ ./server/policy/ | tee $$new.tmp; \
	echo "==> server benchmarks (real binary, real interpreter; $(SERVER_BENCH_COUNT) run(s) each)"; \
	STOCKAGENT_SERVER_BIN=$(abspath $(BIN)) go test -run '^$$' -bench '$(BENCH)' -benchtime 1x -count $(SERVER_BENCH_COUNT) -timeout 60m ./server/ | tee -a $$new.tmp; \
	mv $$new.tmp $$new; \
	if [ -n "$$prev" ]; then echo "==> benchstat $$prev $$new"; $(TOOLS)/benchstat $$prev $$new; \
	else echo "==> benchstat $$new (no earlier run to compare with)"; $(TOOLS)/benchstat $$new; fi

# schemathesis against a real server's OpenAPI document, every operation; the short pass of the
# same test runs in make test. Prints the totals (requests, server errors, statuses).
.PHONY: fuzz
fuzz: setup ## fuzz the whole API: >= 10,000 generated requests, 0 server errors, 0 schema violations
	@echo "==> API fuzzing (schemathesis, about 5 minutes)"
	source $(BUILD)/cgo.env && STOCKAGENT_SERVER_BIN=$(abspath $(BIN)) FUZZ_EXAMPLES=200 FUZZ_MAX_TIME=300 \
		FUZZ_MIN_REQUESTS=10000 go test -count=1 -timeout 30m -run '^TestAPIFuzz$$' -v ./server/

# Needs none of the above: the GPU machine's own python3 with torch, numpy and pandas.
GPUCHECK_PYTHON ?= python3

gpu-check: ## train on the GPU and the CPU, print the speed-up (GPUCHECK_OUT=file.json keeps the figures)
	@echo "==> training on the GPU, then on the CPU ($(GPUCHECK_PYTHON))"
	PYTHONPATH=pymodules $(GPUCHECK_PYTHON) -m stockagent.gpucheck $(if $(GPUCHECK_OUT),--out $(GPUCHECK_OUT))

# Each overlay as kubectl applies it (kubectl's built-in kustomize, default options).
K8S_OVERLAYS := $(sort $(notdir $(wildcard deploy/k8s/overlays/*)))

k8s-render: ## print the Kubernetes manifests of every overlay (deploy/k8s/overlays)
	@for o in $(K8S_OVERLAYS); do echo "# ==> deploy/k8s/overlays/$$o"; kubectl kustomize deploy/k8s/overlays/$$o; echo "---"; done

clean: ## remove build outputs (keeps .venv and the data folder)
	rm -rf $(BUILD) web/swaggerui web/dist

# The preflight has checked $(PYTHON): CPython 3.11 with a shared libpython.
$(VENV)/bin/python: | preflight
	@echo "==> creating $(VENV) from $(PYTHON)"
	$(PYTHON) -m venv $(VENV)

# llama-cpp-python comes from PyPI as source: build it lean (no tests, examples, tools or
# server binaries; no -march=native, so the wheel runs on any x86-64 with AVX2; no OpenMP,
# which torch already brings into the process). The first build takes minutes on 2 cores;
# pip's cache keeps the built wheel, so later installs take seconds.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_BLAS=OFF -DGGML_OPENMP=OFF -DLLAVA_BUILD=OFF \
	-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF \
	-DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF

# Third-party packages only from the locks, each file checked against its hashes: first the tools
# that build sources, so that no build fetches anything unhashed (--no-build-isolation), then the
# locked set (the package's dependencies with the test, mlflow, feast and lint extras), then the package
# itself, editable, adding nothing (--no-deps). Reruns only when the manifests change.
$(VENV)/.installed: $(VENV)/bin/python pyproject.toml pymodules/build-requirements.lock pymodules/requirements.lock
	@echo "==> installing the locked, hashed Python packages, then stockagent (pip cache: $(PIP_CACHE_DIR))"
	@echo "    (a first install builds llama-cpp-python from source: several minutes)"
	@echo "==> the build tools (pymodules/build-requirements.lock)"
	$(PY) -m pip install $(PIP_PROGRESS) --require-hashes -r pymodules/build-requirements.lock
	@echo "==> the locked packages (pymodules/requirements.lock)"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
		$(PY) -m pip install $(PIP_PROGRESS) --require-hashes --no-build-isolation -r pymodules/requirements.lock
	@echo "==> stockagent, editable"
	$(PY) -m pip install $(PIP_PROGRESS) --no-deps --no-build-isolation -e .
	touch $@

# Regenerates both locks after a change to pyproject.toml or build-requirements.in. pip-compile
# keeps every pin the lock already holds (UPGRADE=1 moves them all to the newest allowed) and
# records every file's hash, without index addresses. It runs from its own virtual environment.
PIP_TOOLS := $(BUILD)/pip-tools
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(PIP_TOOLS)/bin/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-options $(if $(UPGRADE),--upgrade)

lock: | preflight ## re-resolve the locked Python packages (pymodules/*.lock) with their hashes
	@test -x $(PIP_TOOLS)/bin/pip-compile || { echo "==> installing pip-tools into $(PIP_TOOLS)"; \
		$(PYTHON) -m venv $(PIP_TOOLS) && $(PIP_TOOLS)/bin/pip install $(PIP_PROGRESS) pip-tools==7.7.0; }
	@echo "==> resolving pyproject.toml's dependencies and extras into pymodules/requirements.lock"
	$(PIP_COMPILE) --extra test --extra mlflow --extra feast --extra lint -o pymodules/requirements.lock pyproject.toml
	@echo "==> resolving the build tools into pymodules/build-requirements.lock (at the same versions)"
	$(PIP_COMPILE) -c pymodules/requirements.lock -o pymodules/build-requirements.lock pymodules/build-requirements.in

$(BUILD)/cgo.env: $(VENV)/bin/python native/cgoflags.py | preflight
	@mkdir -p $(BUILD)
	@echo "==> computing cgo flags from $$($(PY) -c 'import sys; print(sys.base_prefix)')"
	$(PY) native/cgoflags.py > $@.tmp && mv $@.tmp $@

# npm ci installs the lock file exactly: Swagger UI, and the web app's packages and tools. No
# browser is downloaded: the end-to-end tests drive Debian's Chromium.
web/node_modules/.installed: web/package.json web/package-lock.json web/.npmrc | preflight
	@echo "==> installing the web packages (npm ci)"
	cd web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund $(if $(MAKE_TERMOUT),--progress,--no-progress)
	touch $@

# Swagger UI for GET /docs: web/docs.go embeds these files, copied out of swagger-ui-dist
# because go:embed cannot reach node_modules.
SWAGGER_UI_FILES := swagger-ui.css swagger-ui-bundle.js favicon-16x16.png favicon-32x32.png LICENSE NOTICE

web/swaggerui/.stamp: web/node_modules/.installed
	@echo "==> copying Swagger UI's assets into web/swaggerui"
	rm -rf web/swaggerui && mkdir -p web/swaggerui
	cp $(addprefix web/node_modules/swagger-ui-dist/,$(SWAGGER_UI_FILES)) web/swaggerui/
	touch $@

# The web app: type-checked, then built by Vite into web/dist, which web/app.go embeds.
web/dist/index.html: web/node_modules/.installed $(WEB_SOURCES)
	@echo "==> building the web app into web/dist (tsc, vite build)"
	cd web && npm run --silent build

$(BIN): $(BUILD)/cgo.env $(VENV)/.installed web/swaggerui/.stamp web/dist/index.html $(GO_SOURCES) | preflight
	@echo "==> downloading the Go modules go.mod needs (from the module cache after the first time)"
	go mod download $(if $(MAKE_TERMOUT),-x)
	@echo "==> building $(BIN)"
	source $(BUILD)/cgo.env && go build -ldflags "-X main.defaultPython=$(abspath $(PY))" -o $(BIN) ./server
