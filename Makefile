# SPDX-License-Identifier: Apache-2.0
# atomik: the two commands (README.md).
#   make demo   install what is missing, build Release, run `atomik demo`
#   make test   install what is missing, build, run every test
# Other targets: deps, build, release, asan, tsan, clang, fuzz, format,
# format-check, tidy, bench, install-python, clean.
SHELL := /bin/bash
JOBS  ?= $(shell nproc)

# Debian packages the build, the tests and the tools need.
PACKAGES := cmake ninja-build g++ clang clang-format clang-tidy cppcheck \
            libgtest-dev libgmock-dev libbenchmark-dev libxxhash-dev libcli11-dev gnuplot-nox \
            nlohmann-json3-dev pandoc bash-completion \
            python3 python3-dev \
            cython3 python3-pytest python3-numpy \
            python3-setuptools python3-wheel python3-pip python3-venv python3-build \
            python3-websockets python3-fastapi python3-starlette python3-httpx \
            python3-redis python3-sqlalchemy \
            libasio-dev libsodium-dev redis-server redis-tools \
            libhiredis-dev libspdlog-dev libcpp-httplib-dev prometheus \
            libclang-rt-14-dev pkgconf

.PHONY: all deps demo test build release asan tsan clang fuzz format format-check tidy bench install-python clean

all: build

# Installs every missing package with one apt-get call (needs root or sudo).
deps:
	@missing=""; \
	for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "make deps: all packages present"; fi

build: deps
	cmake --preset dev
	cmake --build --preset dev -j $(JOBS)

release: deps
	cmake --preset release
	cmake --build --preset release -j $(JOBS)

demo: release
	./build/release/tools/atomik demo

test: build
	ctest --preset dev -j $(JOBS)

asan: deps
	cmake --preset asan
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -j $(JOBS)

tsan: deps
	cmake --preset tsan
	cmake --build --preset tsan -j $(JOBS)
	ctest --preset tsan -j $(JOBS)

clang: deps
	cmake --preset clang
	cmake --build --preset clang -j $(JOBS)
	ctest --preset clang -j $(JOBS)

# libFuzzer targets (clang, ASan + UBSan; docs/fuzzing.md): replays the
# checked-in corpora, then fuzzes each target FUZZ_SECONDS / (targets) s.
FUZZ_SECONDS ?= 60
fuzz: deps
	cmake --preset fuzz
	cmake --build --preset fuzz -j $(JOBS)
	fuzz/run.sh build/fuzz $(FUZZ_SECONDS)

SOURCES = $(shell git ls-files '*.cpp' '*.hpp' '*.c' '*.h')
format:
	clang-format -i $(SOURCES)
format-check:
	clang-format --dry-run --Werror $(SOURCES)

# clang-tidy with .clang-tidy (every finding is an error, so any finding fails
# the target) over every source under src/ and tools/. Needs only
# compile_commands.json (configure, no build); TIDY_JOBS files at a time.
TIDY_BUILD ?= build/dev
TIDY_JOBS  ?= 2
TIDY_FILES = $(shell git ls-files 'src/*.cpp' 'tools/*.cpp')
tidy: deps
	cmake --preset dev -B $(TIDY_BUILD) >/dev/null
	printf '%s\n' $(TIDY_FILES) | xargs -P $(TIDY_JOBS) -n 1 clang-tidy -p $(TIDY_BUILD) --quiet

# Every benchmark with its same-run baseline (docs/performance.md).
bench: release
	build/release/tools/atomik bench --markdown build/release/bench.md \
	  --plot build/release/bench.png

# Installs the atomik_core package with pip (setup.py builds it with CMake
# for PYTHON; docs/python.md), writing a dist-info so pip can list and
# uninstall it. A venv's PYTHON installs into that venv. Debian's python3
# (externally managed) gets --prefix /usr, which its pip maps to
# /usr/local/lib/python3.X/dist-packages (on sys.path, away from apt's
# files). PY_PREFIX=DIR installs elsewhere (Debian adds /local: DIR/local/
# lib/python3.X/dist-packages); only the default location is import-checked.
PYTHON     ?= /usr/bin/python3
PY_MANAGED  = $(shell $(PYTHON) -c 'import os, sys, sysconfig; print(int(sys.prefix == sys.base_prefix and os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))))')
PY_PREFIX  ?= $(if $(filter 1,$(PY_MANAGED)),/usr)
install-python: deps
	$(PYTHON) -m pip install --no-build-isolation --no-deps \
	  $(if $(PY_PREFIX),--prefix $(PY_PREFIX)) .
	$(if $(filter file,$(origin PY_PREFIX)),cd / && $(PYTHON) -c "import atomik_core; print('installed', atomik_core.__version__, atomik_core.__file__)")

clean:
	rm -rf build
