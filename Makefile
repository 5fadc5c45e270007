# telhook — `make demo` and `make test` work on a fresh machine: every tool they need is
# installed here, into the repo (target/tools, npm/node_modules, .venv) or the rustup
# toolchain, idempotently; a second run only redoes what changed.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# A recipe that fails leaves no target behind: a module wasm-bindgen wrote but whose glue patch or
# wasm-opt failed would otherwise look up to date on the next run.
.DELETE_ON_ERROR:

CARGO ?= cargo
NO_STD_TARGET := thumbv7m-none-eabi
WASM_TARGET := wasm32-unknown-unknown
DEMO_NOW := 2026-01-21T12:53:20Z
# Every registered provider, from the core's registry (a provider added there is demoed, and
# `make test` fails until it has examples/<provider>/): read when a recipe runs, after the
# CLI is built.
PROVIDERS = $$(./target/debug/telhook providers)
STAMPS := target/.stamps
TOOLS := target/tools
# The CLI must match the crate exactly: read the version from the "=" pin in Cargo.toml.
WASM_BINDGEN_VERSION := $(shell sed -n 's/^wasm-bindgen = "=\([^"]*\)"/\1/p' bindings-wasm/Cargo.toml)
WASM_BINDGEN := $(TOOLS)/bin/wasm-bindgen
WASM_BINDGEN_STAMP := $(STAMPS)/wasm-bindgen-cli-$(WASM_BINDGEN_VERSION)
CORE_SOURCES := $(shell find core/src -name '*.rs') core/Cargo.toml Cargo.toml Cargo.lock
WASM_OUT := target/$(WASM_TARGET)/wasm-release/telhook_wasm.wasm
WASM_KIT_OUT := target/$(WASM_TARGET)/wasm-release/telhook_wasm_kit.wasm
NPM_DEPS := npm/node_modules/.package-lock.json
NPM_DIST := npm/dist/node.mjs
VENV := .venv
PY := $(VENV)/bin/python
PY_DEPS := $(VENV)/.deps-installed
PY_EXT := $(STAMPS)/python-extension
PY_SOURCES := $(shell find bindings-python/src serde-pyobjects/src -name '*.rs') bindings-python/Cargo.toml serde-pyobjects/Cargo.toml python/pyproject.toml

.PHONY: wheel-aarch64 wheel-musl pgo-profile soak valgrind vocabularies bench bench-native-sketch fuzz fuzz-redaction help check-make demo test test-rust test-no-std test-node test-python test-wheel wheels musl \
	vectors-check rust-tools redis-server postgresql wasm npm python fmt clean

help: ## this list: every target, from the comment after `##` on its line
	@grep -E '^[a-z][a-z0-9-]*:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | awk -F '\t' '{printf "make %-14s %s\n", $$1, $$2}'

$(STAMPS):
	@mkdir -p $@

# ---------------------------------------------------------------- tools
rust-tools: $(STAMPS)/rust-tools ## rustfmt, clippy and the no_std and wasm targets (rustup)
$(STAMPS)/rust-tools: | $(STAMPS)
	rustup component add rustfmt clippy
	rustup target add $(NO_STD_TARGET) $(WASM_TARGET)
	@touch $@

# Built from crates.io (no prebuilt download). No --locked: its lockfile pins a yanked crate.
# Unoptimized, and only the one binary used: 1m06s of a fresh clone's build instead of 2m53s.
# It writes the same bytes either way, in 0.5-0.7 s a module instead of 0.1 s (2026-12-06).
$(WASM_BINDGEN_STAMP): | $(STAMPS)
	CARGO_PROFILE_DEV_DEBUG=0 $(CARGO) install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --root $(TOOLS) --force \
	  --debug --bin wasm-bindgen
	@touch $@

$(NPM_DEPS): npm/package.json npm/package-lock.json
	cd npm && npm ci --no-audit --no-fund
	@touch $@

$(PY_DEPS): python/requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r python/requirements-dev.txt
	@touch $@

# Debian's Redis for the Django dedupe test (the test fixture starts it on a free loopback port).
redis-server: ## Debian's Redis, for the Django dedupe tests (started by the tests on a free port)
	@command -v redis-server >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server)

# Debian's PostgreSQL for the database dedupe store (the test fixture runs initdb/pg_ctl in a
# temp dir on a free loopback port, as the package's "postgres" user when run as root).
postgresql: ## Debian's PostgreSQL, for the database dedupe store tests
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql)

valgrind: ## Debian's valgrind, for make bench's callgrind instruction counts
	@command -v valgrind >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends valgrind)

# mypy 2 cannot target Python 3.9 any more: the `--python-version 3.9` check runs mypy 1.20.
MYPY39 := target/mypy39/bin/mypy
$(MYPY39): python/requirements-mypy39.txt
	python3 -m venv target/mypy39
	target/mypy39/bin/pip install --quiet --disable-pip-version-check -r python/requirements-mypy39.txt
	@touch $@

# ---------------------------------------------------------------- builds
target/debug/telhook: $(CORE_SOURCES) $(shell find cli/src -name '*.rs') cli/Cargo.toml
	$(CARGO) build -p telhook-cli

wasm: npm/wasm/telhook_wasm_bg.wasm npm/wasm/telhook_wasm_kit_bg.wasm ## the wasm modules, optimized (npm/wasm): the receiver's and the test kit's
# Two cargo runs, never one: built together, Cargo would unify telhook-core's features and put
# the test kit (`kit`) into the receiver's module too.
npm/wasm/telhook_wasm_bg.wasm: $(CORE_SOURCES) $(shell find bindings-wasm/src -name '*.rs') bindings-wasm/Cargo.toml npm/scripts/patch-glue.mjs \
		$(WASM_BINDGEN_STAMP) $(NPM_DEPS) | rust-tools
	$(CARGO) build -p telhook-wasm --target $(WASM_TARGET) --profile wasm-release
	$(WASM_BINDGEN) --target web --out-dir npm/wasm --out-name telhook_wasm $(WASM_OUT)
	node npm/scripts/patch-glue.mjs npm/wasm/telhook_wasm.js
	cd npm && npx wasm-opt -O3 --strip-debug --strip-producers wasm/telhook_wasm_bg.wasm -o wasm/telhook_wasm_bg.wasm
npm/wasm/telhook_wasm_kit_bg.wasm: $(CORE_SOURCES) $(shell find bindings-wasm-kit/src -name '*.rs') bindings-wasm-kit/Cargo.toml npm/scripts/patch-glue.mjs \
		$(WASM_BINDGEN_STAMP) $(NPM_DEPS) | rust-tools
	$(CARGO) build -p telhook-wasm-kit --target $(WASM_TARGET) --profile wasm-release
	$(WASM_BINDGEN) --target web --out-dir npm/wasm --out-name telhook_wasm_kit $(WASM_KIT_OUT)
	node npm/scripts/patch-glue.mjs npm/wasm/telhook_wasm_kit.js
	cd npm && npx wasm-opt -O3 --strip-debug --strip-producers wasm/telhook_wasm_kit_bg.wasm -o wasm/telhook_wasm_kit_bg.wasm

npm: $(NPM_DIST) ## the npm package (npm/dist)
$(NPM_DIST): npm/wasm/telhook_wasm_bg.wasm npm/wasm/telhook_wasm_kit_bg.wasm $(wildcard npm/src/*.mjs) $(wildcard npm/scripts/*.mjs) npm/types/index.d.ts \
		npm/types/testing.d.ts LICENSE-MIT LICENSE-APACHE
	cd npm && node scripts/build.mjs

python: $(PY_EXT) ## the Python extension, built into .venv (maturin develop)
$(PY_EXT): $(CORE_SOURCES) $(PY_SOURCES) $(PY_DEPS) | $(STAMPS)
	cd python && ../$(VENV)/bin/maturin develop --quiet
	@touch $@

# ---------------------------------------------------------------- the profile-guided build
# The x86_64 glibc wheel, and the extension `make bench` times (the same binary), are built with
# a profile of that build at work (`-Cprofile-use`): built instrumented by the same command, it
# runs the vectors and the adapter suites (python/release/pgo_train.py), and `llvm-profdata`
# merges the counts. A small delivery takes 11-18 % less time than in the plain wheel
# (bench/PROFILE.md, 2026-12-04). The same command each time: a profile applies only to code
# named as in the build it was taken from, and any other command (`maturin develop`, a build
# without zig, whose cargo settings differ) names the crates' code otherwise; so the aarch64 and
# musl wheels (other targets; an aarch64 build cannot run here) are built without one.
# llvm-profdata is the toolchain's own (rustup's llvm-tools): rustc's LLVM.
# Every wheel is built by maturin through zig (run from python/); the x86_64 glibc one by this command.
MATURIN_ZIG = PATH="$(CURDIR)/$(VENV)/bin:$$PATH" ../$(VENV)/bin/maturin build --release --quiet --zig
WHEEL_X86_64 = $(MATURIN_ZIG) --target x86_64-unknown-linux-gnu --compatibility manylinux2014
PGO := target/pgo
PGO_PROFILE := $(PGO)/merged.profdata
# The profile is used under a name made of its content: Cargo rebuilds a crate when RUSTFLAGS
# change, not when the file they name does, so under one fixed name a new profile reached only
# the crates whose sources had changed (the core, the binding), and every dependency kept code
# laid out by the previous one. A new profile is a new name, and every crate is rebuilt with it.
PGO_BY_CONTENT := $(PGO)/by-content/.made
PGO_USE = RUSTFLAGS="-Cprofile-use=$(CURDIR)/$(PGO)/by-content/$$(sha256sum $(CURDIR)/$(PGO_PROFILE) | cut -c1-16).profdata"
$(STAMPS)/llvm-tools: | $(STAMPS)
	rustup component add llvm-tools
	@touch $@

pgo-profile: $(PGO_PROFILE) ## the profile the x86_64 wheel is built with (that build instrumented, run on the vectors and adapter suites)
$(PGO_PROFILE): $(CORE_SOURCES) $(PY_SOURCES) python/release/pgo_train.py python/release/use_wheel_extension.py \
		$(STAMPS)/release-tools $(STAMPS)/llvm-tools
	rm -rf $(PGO)/raw $(PGO)/instrumented
	@# The wheel's own command (zig's settings change the crates' symbol names, so a profile of a
	@# build without them would not apply), linked by the system's cc: zig's wrapper takes the
	@# profiler's `-u` symbol for a file. The linker leaves the Rust code, and the profile, as is.
	cd python && CARGO_TARGET_DIR=$(CURDIR)/target/pgo-generate \
	  RUSTFLAGS="-Cprofile-generate=$(CURDIR)/$(PGO)/raw -Clinker=cc" $(WHEEL_X86_64) --auditwheel skip \
	  --out ../$(PGO)/instrumented
	$(PY) python/release/use_wheel_extension.py $(PGO)/instrumented/telhook-*.whl
	@rm -f $(PY_EXT)  # the instrumented build replaced the test build; rebuild it for the next make test
	cd python && ../$(PY) release/pgo_train.py $(CURDIR)
	"$$(rustc --print sysroot)/lib/rustlib/$$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-profdata" merge -o $@ $(PGO)/raw

$(PGO_BY_CONTENT): $(PGO_PROFILE)
	rm -rf $(PGO)/by-content && mkdir -p $(PGO)/by-content
	cp $(PGO_PROFILE) $(PGO)/by-content/$$(sha256sum $(PGO_PROFILE) | cut -c1-16).profdata
	@touch $@

# ---------------------------------------------------------------- demo
demo: target/debug/telhook $(NPM_DIST) $(PY_EXT) ## sample webhooks of every registered provider through verify -> normalize (Rust, Node, Python), then telhook simulate of each
	@for provider in $(PROVIDERS); do \
	  for request in examples/$$provider/*.http; do \
	    echo "== rust $$provider: $$(basename $$request)"; \
	    ./target/debug/telhook normalize --provider $$provider --omit-raw \
	      --credentials examples/$$provider/credentials.json --now $(DEMO_NOW) $$request; \
	  done; \
	done
	@node npm/scripts/demo.mjs examples $(DEMO_NOW) $(PROVIDERS)
	@$(PY) python/demo.py examples $(DEMO_NOW) $(PROVIDERS)
	@for provider in $(PROVIDERS); do \
	  echo "== telhook simulate: $$provider's delivery pattern against the Node example receiver"; \
	  rm -f target/demo-receiver.url; \
	  node npm/scripts/example-receiver.mjs $$provider examples/$$provider/credentials.json > target/demo-receiver.url & \
	  receiver=$$!; trap 'kill $$receiver 2>/dev/null' EXIT; \
	  for _ in $$(seq 50); do [ -s target/demo-receiver.url ] && break; sleep 0.1; done; \
	  url=$$(cat target/demo-receiver.url); \
	  ./target/debug/telhook simulate $$url/hooks --provider $$provider \
	    --credentials examples/$$provider/credentials.json --count-url $$url/count; \
	  kill $$receiver; \
	done

# ---------------------------------------------------------------- tests
# The wheels last, two builds at a time: their release builds are single-threaded much of the
# time (each ends in one LTO unit), so the cross wheels build beside the x86_64 wheel's profile.
# Only this part runs in parallel: the test suites' timings are reported from an unshared machine.
test: rust-tools check-make test-rust test-no-std vectors-check test-node test-python ## install what is needed and run every test suite
	$(MAKE) --no-print-directory -j2 --output-sync=target test-wheel

# Every target of this file is documented in `make help` (a `## ` comment on its line).
check-make: ## fail when a target has no description for make help
	@undocumented=$$(grep -E '^[a-z][a-z0-9-]*:' $(MAKEFILE_LIST) | { grep -v '## ' || true; } | cut -d: -f1); \
	test -z "$$undocumented" || { echo "targets without a ## description: $$undocumented"; exit 1; }

test-rust: ## cargo fmt --check, clippy -D warnings, cargo test --workspace, bench/rust-memory and bench/native-sketch compile
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy -p telhook-core --no-default-features --features binding-api --lib -- -D warnings  # as the receiver's wasm module builds it: no test kit
	$(CARGO) test --workspace
	@# bench/rust-memory (its own workspace: it needs unsafe for its allocator) and bench/native-sketch are checked here so a
	@# change of the core's API breaks `make test`, not the next benchmark run. Both have their own
	@# Cargo.lock: a new or bumped dependency of the core goes into theirs too (`--locked`).
	$(CARGO) check --locked --quiet --manifest-path bench/rust-memory/Cargo.toml --target-dir target/bench-rust-memory
	$(CARGO) check --locked --quiet --manifest-path bench/native-sketch/Cargo.toml --target-dir target/bench-native-sketch

# Proof that the core is no_std: a bare-metal binary that links it.
test-no-std: rust-tools ## link the core into a bare-metal binary (proof that it is no_std)
	$(CARGO) build --manifest-path tests/ensure_no_std/Cargo.toml --target $(NO_STD_TARGET) \
	  --release --target-dir target/ensure_no_std

# The vectors are reproducible from their generators (signing done independently of the core, in
# tests/signers.py). They write into a temp dir, diffed against the tree: a check never rewrites
# tracked files. To regenerate the tree, run each generator without an argument.
GENERATED := tests/vectors tests/handlers tests/inbox tests/ledger tests/canary examples
vectors-check: ## regenerate every vector set into a temp dir and diff it against the tree (writes nothing tracked)
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; export PYTHONDONTWRITEBYTECODE=1; \
	python3 tests/vectors/generate.py "$$tmp/tests/vectors"; \
	python3 tests/vectors/generate_hostile.py "$$tmp/tests/vectors/hostile"; \
	python3 tests/handlers/generate.py "$$tmp/tests/handlers"; \
	python3 tests/inbox/generate.py "$$tmp/tests/inbox"; \
	python3 tests/ledger/generate.py "$$tmp/tests/ledger"; \
	python3 tests/canary/generate.py "$$tmp/tests/canary"; \
	python3 examples/build.py "$$tmp/examples"; \
	for dir in $(GENERATED); do diff -r -x '*.py' -x __pycache__ "$$dir" "$$tmp/$$dir" || exit 1; done
	@test -z "$$(git status --porcelain -- $(GENERATED))" || \
	  (git status --porcelain -- $(GENERATED); echo "generated files not committed"; exit 1)

# Node: vectors through wasm, the same inside workerd, imports, packed tarball, types.
test-node: $(NPM_DIST) target/debug/telhook redis-server $(PY_EXT) ## Node: vectors through wasm, workerd, imports, packed tarball, types (and a Python store beside a Node one)
	cd npm && node --test test/*.test.mjs
	cd npm && npx tsc -p test/tsconfig.json

# Python: vectors and handler vectors through every entry point (receive, Django sync/async,
# Flask, FastAPI), gunicorn on real Redis and PostgreSQL, mypy --strict, Python 3.9 (mypy, vermin).
test-python: target/debug/telhook $(PY_EXT) redis-server postgresql $(MYPY39) ## Python: vectors and every adapter, mypy --strict, Python 3.9 checks, stubtest
	cd python && ../$(PY) -m pytest -q
	cd python && ../$(VENV)/bin/mypy --strict telhook tests/typed_usage.py
	cd python && ../$(MYPY39) --config-file tests/mypy-py39.ini --python-executable ../$(PY) telhook
	cd python && ../$(VENV)/bin/vermin --no-tips --eval-annotations --violations -t=3.9- telhook
	cd python && ../$(PY) -m mypy.stubtest telhook._core  # the .pyi against the compiled module

# The inbox's long runs (issue 23): the same tests as in `make test`, at 1,000 events.
soak: $(PY_EXT) $(NPM_DIST) redis-server postgresql ## the inbox's 1,000-event runs (worker processes, failing attempts) on the real services
	cd python && TELHOOK_INBOX_EVENTS=1000 TELHOOK_INBOX_HANDLER_SECS=10 ../$(PY) -m pytest -q -s tests/test_sqlalchemy_inbox.py -k "workers or gunicorn"
	cd python && TELHOOK_INBOX_EVENTS=1000 ../$(PY) -m pytest -q -s tests/test_django_inbox.py -k "many_events or gunicorn or celery"
	cd npm && TELHOOK_INBOX_EVENTS=1000 TELHOOK_INBOX_HANDLER_MS=10000 node --test test/bullmq.test.mjs

# The published artifacts. Wheels for glibc 2.17+ (manylinux2014: Debian 11, Ubuntu 20.04,
# Amazon Linux 2, RHEL 7+) on x86_64 and aarch64, and for musl 1.2+ (Alpine), cross-linked by
# zig from PyPI (no Docker), their platform tags checked by auditwheel, plus the sdist; twine
# checks the PyPI metadata. The x86_64 glibc wheel is installed into fresh venvs (3.11, and the
# oldest supported 3.9 when pyenv has it) and run on the vectors; the sdist is built from
# scratch. No musl Python can be had here without Docker: the musl wheel is checked by
# auditwheel and by loading its extension with Debian's musl loader.
WHEELS := target/wheels
WHEEL_TARGETS := x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu x86_64-unknown-linux-musl
PY39 := $(wildcard $(HOME)/.pyenv/versions/3.9.*/bin/python3)
$(STAMPS)/wheel-targets: | $(STAMPS)
	rustup target add $(WHEEL_TARGETS)
	@touch $@

$(STAMPS)/release-tools: $(PY_DEPS) python/requirements-release.txt | $(STAMPS)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r python/requirements-release.txt
	@touch $@

# Debian's musl: its loader checks that the musl wheel's extension links (no musl Python here).
musl: ## Debian's musl loader, to check that the musl wheel links
	@test -x /lib/ld-musl-x86_64.so.1 || (apt-get update -qq && apt-get install -y -qq --no-install-recommends musl)

# The two wheels built without a profile, each into its own target dir and out dir: under
# `make -j2` (as `make test` runs this part) they build while the x86_64 wheel's profile is
# made. In one shared target dir they would queue: a cross build also builds its host tools
# (build scripts, proc-macros) in the host's dir, and Cargo locks that dir for the whole build.
CROSS_WHEELS := wheel-aarch64 wheel-musl
wheel-aarch64: $(STAMPS)/release-tools $(STAMPS)/wheel-targets ## the manylinux aarch64 wheel (into target/wheel-aarch64/out; make wheels collects it)
	rm -rf target/$@/out
	cd python && CARGO_TARGET_DIR=$(CURDIR)/target/$@ $(MATURIN_ZIG) --target aarch64-unknown-linux-gnu --compatibility manylinux2014 \
	  --out ../target/$@/out
wheel-musl: $(STAMPS)/release-tools $(STAMPS)/wheel-targets musl ## the musllinux x86_64 wheel (into target/wheel-musl/out; make wheels collects it)
	rm -rf target/$@/out
	cd python && CARGO_TARGET_DIR=$(CURDIR)/target/$@ $(MATURIN_ZIG) --target x86_64-unknown-linux-musl --compatibility musllinux_1_2 \
	  --out ../target/$@/out
	$(PY) python/release/musl_libc_soname.py target/$@/out/telhook-*musllinux_1_2_x86_64.whl

wheels: $(STAMPS)/release-tools $(STAMPS)/wheel-targets $(PGO_BY_CONTENT) $(CROSS_WHEELS) ## the published wheels (manylinux x86_64/aarch64, musllinux) and sdist, checked
	rm -rf $(WHEELS)
	cd python && $(PGO_USE) $(WHEEL_X86_64) --out ../$(WHEELS)
	cp $(foreach wheel,$(CROSS_WHEELS),target/$(wheel)/out/telhook-*.whl) $(WHEELS)/
	cd python && ../$(VENV)/bin/maturin sdist --out ../$(WHEELS)
	$(PY) python/tests/check_artifacts.py $(WHEELS)

test-wheel: wheels ## install the x86_64 wheel in fresh venvs and run the vectors; build the sdist
	rm -rf target/wheel-venv target/wheel-venv-3.9 target/sdist-build
	python3 -m venv target/wheel-venv
	target/wheel-venv/bin/pip install --quiet --disable-pip-version-check --no-index $(WHEELS)/telhook-*manylinux_2_17_x86_64*.whl
	cd /tmp && $(CURDIR)/target/wheel-venv/bin/python $(CURDIR)/python/tests/wheel_smoke.py $(CURDIR)/tests/vectors
ifneq ($(PY39),)
	$(firstword $(PY39)) -m venv target/wheel-venv-3.9
	target/wheel-venv-3.9/bin/pip install --quiet --disable-pip-version-check --no-index $(WHEELS)/telhook-*manylinux_2_17_x86_64*.whl
	cd /tmp && $(CURDIR)/target/wheel-venv-3.9/bin/python $(CURDIR)/python/tests/wheel_smoke.py $(CURDIR)/tests/vectors
else
	@echo "test-wheel: no Python 3.9 under ~/.pyenv; 3.9 is covered statically (mypy --python-version 3.9, vermin)"
endif
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" MATURIN_PEP517_ARGS="--profile dev" $(VENV)/bin/pip wheel --quiet --disable-pip-version-check --no-deps \
	  --no-build-isolation --wheel-dir target/sdist-build $(WHEELS)/telhook-*.tar.gz
	ls target/sdist-build/telhook-*.whl

# The TypeScript unions and Python Literals are generated from the core's vocabularies; the
# same test without TELHOOK_BLESS (in test-rust) fails when they are stale.
vocabularies: ## regenerate the TypeScript unions, Python Literals and JSON Schema enums from the core's vocabularies
	TELHOOK_BLESS=1 $(CARGO) test -p telhook-core --test vocabulary -- --test-threads=1  # two tests rewrite types.py

# Benchmarks (not part of `make test`): one run of every runtime, the cost growth over body sizes
# and the end-to-end servers under autocannon (E2E_SECONDS each, default 5), ratios in bench/RESULTS.md.
BENCH_NPM := bench/node/node_modules/.package-lock.json
BENCH_GROWTH := bench/payloads/growth/limephone_1k.json bench/payloads/growth/limephone_64k.json bench/payloads/growth/limephone_1m.json
$(BENCH_NPM): bench/node/package.json bench/node/package-lock.json
	cd bench/node && npm ci --no-audit --no-fund
	@touch $@
$(STAMPS)/bench-python: $(PY_DEPS) bench/python/requirements.txt | $(STAMPS)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r bench/python/requirements.txt
	@touch $@

# The floor of any wasm receiver (bench/wasm-floor: HMAC and parse in wasm, raw by JSON.parse in JS;
# no telhook code), built as the receiver's module is, for bench/node/bench.mjs.
BENCH_WASM_FLOOR := target/bench-wasm-floor/pkg/telhook_bench_wasm_floor_bg.wasm
$(BENCH_WASM_FLOOR): $(wildcard bench/wasm-floor/src/*.rs) bench/wasm-floor/Cargo.toml bench/wasm-floor/Cargo.lock npm/scripts/patch-glue.mjs \
		$(WASM_BINDGEN_STAMP) $(NPM_DEPS) | rust-tools
	$(CARGO) build --release --locked --quiet --target $(WASM_TARGET) --manifest-path bench/wasm-floor/Cargo.toml \
	  --target-dir target/bench-wasm-floor
	$(WASM_BINDGEN) --target nodejs --out-dir target/bench-wasm-floor/pkg \
	  target/bench-wasm-floor/$(WASM_TARGET)/release/telhook_bench_wasm_floor.wasm
	node npm/scripts/patch-glue.mjs target/bench-wasm-floor/pkg/telhook_bench_wasm_floor.js
	cd npm && npx wasm-opt -O3 --strip-debug --strip-producers ../$@ -o ../$@

bench: $(NPM_DIST) $(BENCH_NPM) $(BENCH_WASM_FLOOR) $(STAMPS)/bench-python valgrind $(PGO_BY_CONTENT) ## side-by-side benchmarks of every runtime, written to bench/RESULTS.md
	@# The editable install of .venv that loads it (make test makes it; a checkout where no make test ran has none).
	@ls $(VENV)/lib/python*/site-packages/telhook.pth >/dev/null 2>&1 || $(MAKE) --no-print-directory $(PY_EXT)
	@# The extension of the x86_64 wheel (profile-guided, above), put where .venv loads it from.
	rm -rf $(PGO)/wheel
	cd python && $(PGO_USE) $(WHEEL_X86_64) --out ../$(PGO)/wheel
	$(PY) python/release/use_wheel_extension.py $(PGO)/wheel/telhook-*.whl
	@# The floor of any Python binding (bench/python-floor: the arguments read, the event built; no telhook code).
	cd bench/python-floor && CARGO_TARGET_DIR=$(CURDIR)/target/bench-python-floor ../../$(VENV)/bin/maturin develop --release --quiet
	@rm -f $(PY_EXT)  # the release build replaced the test build; rebuild it for the next make test
	$(CARGO) bench -p telhook-core --bench normalize
	$(CARGO) bench -p telhook-core --bench ratio
	@mkdir -p target/bench
	$(CARGO) run --release --locked --quiet --manifest-path bench/rust-memory/Cargo.toml --target-dir target/bench-rust-memory \
	  -- $(BENCH_GROWTH) > target/bench/rust-memory.json
	node bench/node/bench.mjs
	node bench/node/startup.mjs
	node bench/node/workerd-compile.mjs
	$(CARGO) build --release --quiet -p telhook-core --example profile --features binding-api
	$(PY) bench/python/bench.py
	node bench/node/e2e.mjs $(CURDIR)/$(PY)
	python3 bench/callgrind.py
	python3 bench/report.py

# A measurement beside `make bench`, not part of it: telhook's core as a native Node addon
# (bench/native-sketch, N-API), the event crossing as the wasm binding's JSON text, timed beside
# the wasm Receiver, the hand-written receiver and standardwebhooks, and the one-pass sketch built
# natively beside its wasm build (bench/PROFILE.md, sixteenth session: whether building natively
# for Node, a one-pass core, or both would meet issue 27's Node goals).
BENCH_NATIVE_SKETCH := target/bench-native-sketch/telhook_native_sketch.node
$(BENCH_NATIVE_SKETCH): $(wildcard bench/native-sketch/src/*.rs) bench/wasm-floor/src/one_pass.rs bench/native-sketch/build.rs bench/native-sketch/Cargo.toml \
		bench/native-sketch/Cargo.lock $(CORE_SOURCES) | rust-tools
	$(CARGO) build --release --locked --quiet --manifest-path bench/native-sketch/Cargo.toml \
	  --target-dir target/bench-native-sketch
	@# Linux's name for the library (the machines this runs on); macOS would build a .dylib.
	cp target/bench-native-sketch/release/libtelhook_bench_native_sketch.so $@
bench-native-sketch: $(NPM_DIST) $(BENCH_NPM) $(BENCH_WASM_FLOOR) $(BENCH_NATIVE_SKETCH) ## telhook's core as a native Node addon, timed beside the wasm Receiver
	node bench/node/native-sketch.mjs

# Fuzzing (not part of `make test`): every target for FUZZ_SECONDS, corpus kept in fuzz/corpus.
FUZZ_SECONDS ?= 60
fuzz: $(STAMPS)/cargo-fuzz ## every fuzz target for FUZZ_SECONDS (default 60) seconds
	fuzz/run.sh $(FUZZ_SECONDS)
# Issue 27: the redaction target's 10 M executions on the final core (~65 min on one core).
fuzz-redaction: $(STAMPS)/cargo-fuzz ## the redaction fuzz target for 10 M executions, no sanitizer (see fuzz/run.sh)
	FUZZ_RUNS=10000000 FUZZ_SANITIZER=none fuzz/run.sh 0 redaction
$(STAMPS)/cargo-fuzz: | $(STAMPS)
	@rustup toolchain list | grep -q '^nightly' || { echo "make fuzz needs the nightly toolchain (rustup toolchain install nightly)"; exit 1; }
	$(CARGO) install cargo-fuzz --version 0.13.2 --root $(TOOLS)
	@touch $@

fmt: ## cargo fmt --all
	$(CARGO) fmt --all

clean: ## remove target/, npm/dist and npm/wasm
	rm -rf target npm/dist npm/wasm
