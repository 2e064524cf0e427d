# DCP — the data-center platform. `make run` starts every service on SQLite under ./var;
# `make test` runs every test (unit, integration on SQLite and MariaDB, Python client).

CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
DCP_TEST_MYSQL_URL ?= mysql://root@127.0.0.1:3306
export DCP_TEST_MYSQL_URL

.PHONY: run test test-rust test-python lint fmt bench up compose-check deps testdeps mariadb pydeps

## run: build and start every service on its default port, SQLite files under ./var; Ctrl-C stops all
run: deps
	$(CARGO) build --release --bins
	TARGET_DIR=$(TARGET_DIR) deploy/run-local.sh

## test: unit tests, integration suites on SQLite and MariaDB, the end-to-end suite, Python
## client tests; installs what they need first (MariaDB, ZooKeeper, sshd, ...) if missing
test: testdeps mariadb pydeps test-rust test-python

test-rust:
	$(CARGO) build --bins
	$(CARGO) test --workspace

test-python:
	CARGO_TARGET_DIR=$(TARGET_DIR) \
	RESOURCE_POOL_BIN=$(TARGET_DIR)/debug/resource-pool \
	DCP_PY_TEST_MYSQL_URL=$(DCP_TEST_MYSQL_URL)/dcp_pytest_$$$$ \
	python3 -m unittest discover -s clients/python -v

## lint: formatting and clippy, as CI checks them
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## bench: load the inventory and measure it over loopback (see BENCHMARKS.md)
bench: deps mariadb
	# resource-pool once more without authentication (a bench-only feature), kept aside, to
	# measure what authentication costs side by side; then the real binaries.
	$(CARGO) build --release -p resource-pool --features bench-unauthenticated
	mkdir -p $(TARGET_DIR)/bench && cp $(TARGET_DIR)/release/resource-pool $(TARGET_DIR)/bench/resource-pool-unauthenticated
	$(CARGO) build --release --bins
	# the framework's ceiling the request path is measured against (deploy/bench_path.py)
	$(CARGO) build --release -p kit --example bare_actix
	TARGET_DIR=$(TARGET_DIR) deploy/bench.sh

## up: the whole platform in containers (needs a Docker engine)
up:
	docker compose up --build

compose-check:
	deploy/check-compose.sh

## deps: system packages the build needs (the MySQL client library), installed if missing
deps:
	@deploy/install-deps.sh

## testdeps: deps, plus what the tests start (MariaDB, ZooKeeper, sshd, pip, Chromium)
testdeps:
	@deploy/install-deps.sh --ci

## pydeps: the Python packages the tests use (clients/python/requirements-test.txt); on a
## Debian Python that refuses pip installs (PEP 668), installed with --break-system-packages
pydeps:
	@if [ -s clients/python/requirements-test.txt ]; then \
		python3 -m pip install -q --disable-pip-version-check -r clients/python/requirements-test.txt \
		|| python3 -m pip install -q --disable-pip-version-check --break-system-packages \
			-r clients/python/requirements-test.txt; fi

## mariadb: make sure the MariaDB the tests use answers (start it if installed and down)
mariadb:
	@deploy/ensure-mariadb.sh
