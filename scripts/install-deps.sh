#!/usr/bin/env bash
# install-deps.sh - installs, with apt-get, what the build, the tests (the
# heap explorer's pages are tested in headless chromium; gnuplot draws the
# benchmark charts, which the smoke test of the scripts checks), the
# preload suite, the demo and the benchmarks need (gdb: a signal stopped at
# one line of hawk in tests/lab/killed.sh; `make deps`; `make test`,
# `make demo` and `make bench` run it first).  Checks with dpkg-query (or
# `command -v` where there is no dpkg) and does nothing but print one line
# when everything is there; runs `apt-get update` only when something is
# missing.  Not root: prints what is missing and goes on (exit 0).
# HAWK_DEPS_EXTRA="pkg ..." adds packages to the list.  --package adds what
# `make deb` and `make test-package` need besides (`make deps-package`).
# --bench adds what the benchmarks compare against and run (`make deps-bench`:
# bench/run.sh and bench/real.sh): the other allocators and the
# real programs of bench/real.sh.
set -euo pipefail

# package:command pairs; the command is the check used where dpkg-query is
# not available (no command: that package is only checked through dpkg).
deps=(
  gcc:gcc libc6-dev: make:make binutils:ld
  clang:clang clang-format:clang-format
  python3:/usr/bin/python3 perl:perl sqlite3:sqlite3 git:git xz-utils:xz
  coreutils:sort bash:bash valgrind:valgrind gdb:gdb
  libxml2-utils:xmllint librsvg2-bin:rsvg-convert
  mandoc:mandoc chromium:chromium gnuplot-nox:gnuplot
)
# Sanitizer runtimes for clang (gcc's libasan/libtsan come with gcc): the
# package of the installed clang's major version, else Debian 12's clang 14.
clang_major=14
if command -v clang >/dev/null 2>&1; then
  v=$(clang -dumpversion 2>/dev/null || true)
  [[ ${v%%.*} =~ ^[0-9]+$ ]] && clang_major=${v%%.*}
fi
deps+=("libclang-rt-$clang_major-dev:")
for extra in ${HAWK_DEPS_EXTRA-}; do deps+=("$extra:"); done
# Building the Debian package (dpkg-deb, dpkg-shlibdeps, lintian) and using
# it as its test does (pkg-config, cmake, man).
if [[ ${1-} == --package ]]; then
  deps+=(dpkg-dev:dpkg-shlibdeps lintian:lintian pkgconf:pkg-config cmake:cmake man-db:man)
fi
if [[ ${1-} == --bench ]]; then
  deps+=(libjemalloc2: libmimalloc2.0: libtcmalloc-minimal4:
    redis-server:redis-server redis-tools:redis-benchmark jq:jq g++:g++)
fi

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  # One dpkg-query for all: "name status" lines of the installed ones.
  declare -A ok=()
  while read -r pkg status; do
    [[ $status == installed ]] && ok[${pkg%%:*}]=1
  done < <(dpkg-query -W -f='${binary:Package} ${db:Status-Status}\n' "${deps[@]%%:*}" 2>/dev/null || true)
  for dep in "${deps[@]}"; do
    [[ -n ${ok[${dep%%:*}]-} ]] || missing+=("${dep%%:*}")
  done
else
  for dep in "${deps[@]}"; do
    cmd=${dep#*:}
    [[ -z $cmd ]] || command -v "$cmd" >/dev/null 2>&1 || missing+=("${dep%%:*}")
  done
fi

if ((${#missing[@]} == 0)); then
  echo "deps: all present"
  exit 0
fi

if ((EUID != 0)) || ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: missing ${missing[*]} (not installed: needs root and apt-get; run: apt-get install ${missing[*]})"
  exit 0
fi

log=$(mktemp "${TMPDIR:-/tmp}/hawk-deps.XXXXXX")
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq >"$log" 2>&1 ||
  ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
  echo "deps: apt-get failed to install ${missing[*]}:" >&2
  tail -n 15 "$log" >&2
  exit 1
fi
echo "deps: installed ${missing[*]}"
