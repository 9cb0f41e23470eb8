#!/usr/bin/env bash
# The installed library (make test-package; its own stage in .ci/run).
# make install and make uninstall into a DESTDIR; then, as root on this
# machine: builds the Debian package (make deb, lintian clean), installs it
# with apt-get, uses it as a user would (hawk, pkg-config, LD_PRELOAD, CMake,
# man, bash completion), purges it and checks that nothing is left behind.
# Ends with "N passed, N failed".
set -uo pipefail
unset LD_PRELOAD HAWKALLOC_POLICY HAWKALLOC_HEAPS HAWKALLOC_STATS HAWKALLOC_TRACE HAWKALLOC_MAP
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1
export LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive

# shellcheck source=tests/harness.sh
source "$root/tests/harness.sh"
make_work
# expect NAME WANT GOT
expect() {
  if [[ $3 == "$2" ]]; then ok "$1"; else fail "$1" "want: $2" "got:  $3"; fi
}
# run NAME COMMAND...: ok when the command exits 0 (its output shown if not).
run() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then ok "$name"; else fail "$name" "exit $?: $out"; fi
}
version=$(make -s --no-print-directory print-version)
# The statistics' struct version, as the installed header says it.
stats_version=$(sed -n 's/^#define HAWK_STATS_VERSION \([0-9][0-9]*\).*/\1/p' include/hawkalloc.h)
major=${version%%.*}
# Minimal images (Debian's docker ones) tell dpkg to leave out man pages and
# docs (path-exclude in /etc/dpkg/dpkg.cfg.d); this package's are let in.
apt=(apt-get -y -q -o DPkg::Lock::Timeout=300
  -o "DPkg::Options::=--path-include=/usr/share/man/man*/hawk*"
  -o "DPkg::Options::=--path-include=/usr/share/doc/hawkalloc/*")

# --- make install / make uninstall into a DESTDIR ---------------------------
dest=$work/dest
if make -s --no-print-directory install DESTDIR="$dest" PREFIX=/opt/hawk >"$work/install.log" 2>&1; then
  want="/opt/hawk/bin/hawk /opt/hawk/include/hawkalloc.h /opt/hawk/lib/cmake/hawkalloc/hawkallocConfig.cmake
/opt/hawk/lib/cmake/hawkalloc/hawkallocConfigVersion.cmake /opt/hawk/lib/libhawkalloc.a
/opt/hawk/lib/libhawkalloc.so /opt/hawk/lib/libhawkalloc.so.$major /opt/hawk/lib/libhawkalloc.so.$version
/opt/hawk/lib/pkgconfig/hawkalloc.pc /opt/hawk/share/bash-completion/completions/hawk
/opt/hawk/share/doc/hawkalloc/README.md /opt/hawk/share/man/man1/hawk.1
/opt/hawk/share/man/man3/hawkalloc.3 /opt/hawk/share/man/man7/hawkalloc.7"
  missing=
  for f in $want; do [[ -e $dest$f || -L $dest$f ]] || missing+=" $f"; done
  expect "make install DESTDIR PREFIX=/opt/hawk: library, links, header, pc, cmake, hawk, man, completion, docs" "" "$missing"
  expect "installed links: libhawkalloc.so -> .so.$major -> .so.$version" \
    "libhawkalloc.so.$major libhawkalloc.so.$version" \
    "$(readlink "$dest/opt/hawk/lib/libhawkalloc.so") $(readlink "$dest/opt/hawk/lib/libhawkalloc.so.$major")"
  expect "the pkg-config file names the PREFIX (not the DESTDIR)" "-I/opt/hawk/include -L/opt/hawk/lib -lhawkalloc" \
    "$(PKG_CONFIG_SYSROOT_DIR= PKG_CONFIG_PATH=$dest/opt/hawk/lib/pkgconfig pkg-config --cflags --libs hawkalloc | xargs)"
  make -s --no-print-directory uninstall DESTDIR="$dest" PREFIX=/opt/hawk >>"$work/install.log" 2>&1
  expect "make uninstall removes every file it installed" "" "$(find "$dest" ! -type d)"
else
  fail "make install DESTDIR=... PREFIX=/opt/hawk" "$(tail -n 5 "$work/install.log")"
fi

# --- the Debian package ------------------------------------------------------
if ((EUID != 0)) || ! command -v apt-get >/dev/null 2>&1; then
  fail "running as root with apt-get (the package is installed on this machine)"
  finish
fi
# A package left installed by an interrupted run goes first.
if dpkg-query -W -f='${db:Status-Status}' hawkalloc 2>/dev/null | grep -q installed; then
  "${apt[@]}" purge hawkalloc >/dev/null 2>&1
fi
before=$(git status --porcelain --ignored=no 2>/dev/null)
if ! make -s --no-print-directory deb >"$work/deb.log" 2>&1; then
  fail "make deb builds the package and lintian finds no error or warning" "$(tail -n 30 "$work/deb.log")"
  finish
fi
ok "make deb builds the package and lintian finds no error or warning"
deb=$(tail -n 1 "$work/deb.log")
expect "the package is build/hawkalloc_${version}_ARCH.deb" \
  "$root/build/hawkalloc_${version}_$(dpkg --print-architecture).deb" "$deb"
expect "make deb leaves nothing in the tree outside build/" "$before" \
  "$(git status --porcelain --ignored=no 2>/dev/null)"

if ! "${apt[@]}" install "$deb" >"$work/apt.log" 2>&1; then
  fail "apt-get install ./build/hawkalloc_${version}_*.deb" "$(tail -n 20 "$work/apt.log")"
  finish
fi
ok "apt-get install ./build/hawkalloc_${version}_*.deb"
files=$(dpkg -L hawkalloc)
lib=/usr/lib/libhawkalloc.so.$version

# The licence: MIT (LICENSE), stated in DEP-5 as Expat (docs/packaging.md).
copyright=/usr/share/doc/hawkalloc/copyright
expect "the copyright file is DEP-5 with License: Expat for every file" \
  "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/|Files: *|License: Expat" \
  "$(sed -n '1p' "$copyright")|$(grep -m1 '^Files:' "$copyright")|$(grep -m1 '^License:' "$copyright")"
expect "its licence text is LICENSE's" "" \
  "$(diff <(awk '/^License: Expat$/ { n = NR } { l[NR] = $0 } END { for (i = n + 1; i <= NR; i++) print l[i] }' "$copyright" |
    sed 's/^ //; s/^\.$//' | tr -s ' \n' ' ') \
    <(sed '1,4d' LICENSE | tr -s ' \n' ' '))"

# The command, from PATH.
expect "hawk is /usr/bin/hawk" /usr/bin/hawk "$(command -v hawk)"
expect "hawk --version prints the header's version" "hawk (HawkAlloc) $version" "$(hawk --version 2>&1)"
expect "hawk run preloads the installed library" "$lib" "$(hawk run -- sh -c 'echo "$LD_PRELOAD"')"

cat >"$work/small.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
  char *words[1000];
  size_t total = 0;
  for (int i = 0; i < 1000; i++) {
    words[i] = malloc(16 + i % 200);
    memset(words[i], 'x', 16 + i % 200);
    total += 16 + i % 200;
  }
  for (int i = 0; i < 1000; i++) free(words[i]);
  printf("%zu\n", total);
  return 0;
}
C
cc -O1 -o "$work/small" "$work/small.c"
out=$(hawk run --stats -- "$work/small" 2>"$work/small.err")
rc=$?
if [[ $rc -eq 0 && $out == 115500 ]] && grep -q '^hawkalloc: statistics' "$work/small.err"; then
  ok "hawk run --stats of a small program: its output, HawkAlloc's statistics at exit"
else
  fail "hawk run --stats of a small program: its output, HawkAlloc's statistics at exit" \
    "exit $rc, stdout '$out'" "$(head -n 5 "$work/small.err")"
fi

# pkg-config: a program linked with the installed library calls hawk_stats,
# and its own malloc is HawkAlloc's (the count of mallocs grows).
cat >"$work/stats.c" <<'C'
#include <hawkalloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
  struct hawk_stats a, b;
  if (hawk_stats(&a, sizeof a) != 0) return 1;
  void *p[10];
  for (int i = 0; i < 10; i++) p[i] = malloc(100);
  if (hawk_stats(&b, sizeof b) != 0) return 1;
  for (int i = 0; i < 10; i++) free(p[i]);
  printf("%s %u %llu %s\n", HAWKALLOC_VERSION, b.version,
         (unsigned long long)(b.mallocs - a.mallocs), hawk_policy_name());
  return hawk_check();
}
C
expect "pkg-config --modversion hawkalloc" "$version" "$(pkg-config --modversion hawkalloc 2>&1)"
if cc -Wall -Werror -o "$work/stats" "$work/stats.c" $(pkg-config --cflags --libs hawkalloc) 2>"$work/cc.log"; then
  ok "cc stats.c \$(pkg-config --cflags --libs hawkalloc)"
  expect "the program needs libhawkalloc.so.$major (the soname)" "libhawkalloc.so.$major" \
    "$(readelf -d "$work/stats" | sed -n 's/.*NEEDED.*\[\(libhawkalloc[^]]*\)\].*/\1/p')"
  expect "it finds the library without LD_LIBRARY_PATH" "$lib" \
    "$(ldd "$work/stats" | awk '/libhawkalloc/ {print $3}' | xargs readlink -f)"
  expect "it runs: its malloc is HawkAlloc's, hawk_stats counts 10 mallocs, hawk_check 0" \
    "$version $stats_version 10 segregated" "$("$work/stats" 2>&1; echo -n "" )"
else
  fail "cc stats.c \$(pkg-config --cflags --libs hawkalloc)" "$(cat "$work/cc.log")"
fi

# LD_PRELOAD from the installed path.
err=$(LD_PRELOAD=/usr/lib/libhawkalloc.so.$major HAWKALLOC_STATS=1 "$work/small" 2>&1 >/dev/null)
if grep -q '^hawkalloc: statistics' <<<"$err"; then
  ok "LD_PRELOAD=/usr/lib/libhawkalloc.so.$major HAWKALLOC_STATS=1: statistics at exit"
else
  fail "LD_PRELOAD=/usr/lib/libhawkalloc.so.$major HAWKALLOC_STATS=1: statistics at exit" "$err"
fi
cat >"$work/twice.c" <<'C'
#include <stdlib.h>
int main(void) {
  void *p = malloc(40);
  free(p);
  free(p);
  return 0;
}
C
cc -O0 -o "$work/twice" "$work/twice.c"
err=$(LD_PRELOAD=/usr/lib/libhawkalloc.so.$major "$work/twice" 2>&1)
rc=$?
if [[ $rc -eq 134 ]] && grep -qE '^hawkalloc: free\(0x[0-9a-f]+\): double free' <<<"$err"; then
  ok "preloaded, a double free stops the program with HawkAlloc's line (SIGABRT)"
else
  fail "preloaded, a double free stops the program with HawkAlloc's line (SIGABRT)" "exit $rc: $err"
fi

# CMake: find_package(hawkalloc) and the imported target.
mkdir -p "$work/cm"
cp "$work/stats.c" "$work/cm/stats.c"
cat >"$work/cm/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.13)
project(hawkalloc_user C)
find_package(hawkalloc 0.1 REQUIRED)
message(STATUS "hawkalloc_VERSION=${hawkalloc_VERSION}")
add_executable(stats stats.c)
target_link_libraries(stats PRIVATE hawkalloc::hawkalloc)
add_executable(stats_static stats.c)
target_link_libraries(stats_static PRIVATE hawkalloc::hawkalloc_static)
CMAKE
if cmake -S "$work/cm" -B "$work/cm/build" >"$work/cmake.log" 2>&1 &&
  cmake --build "$work/cm/build" >>"$work/cmake.log" 2>&1; then
  ok "a CMake project: find_package(hawkalloc 0.1), target_link_libraries(... hawkalloc::hawkalloc)"
  expect "find_package gives hawkalloc_VERSION" "-- hawkalloc_VERSION=$version" \
    "$(grep -o -- '-- hawkalloc_VERSION=.*' "$work/cmake.log")"
  expect "the CMake-built program runs on the installed library" "$version $stats_version 10 segregated" \
    "$("$work/cm/build/stats" 2>&1)"
  expect "hawkalloc::hawkalloc_static links the static library (no libhawkalloc.so needed)" \
    "$version $stats_version 10 segregated|" \
    "$("$work/cm/build/stats_static" 2>&1)|$(readelf -d "$work/cm/build/stats_static" | grep -o 'libhawkalloc[^]]*')"
else
  fail "a CMake project: find_package(hawkalloc 0.1), target_link_libraries(... hawkalloc::hawkalloc)" \
    "$(tail -n 20 "$work/cmake.log")"
fi
sed -i 's/find_package(hawkalloc 0.1 REQUIRED)/find_package(hawkalloc 1 REQUIRED)/' "$work/cm/CMakeLists.txt"
if cmake -S "$work/cm" -B "$work/cm/build1" >"$work/cmake1.log" 2>&1; then
  fail "find_package(hawkalloc 1) is refused (another major version)" "$(tail -n 5 "$work/cmake1.log")"
else
  ok "find_package(hawkalloc 1) is refused (another major version)"
fi

# man and bash completion.
expect "man -w hawk; man -w 3 hawkalloc; man -w 7 hawkalloc" \
  "/usr/share/man/man1/hawk.1.gz /usr/share/man/man3/hawkalloc.3.gz /usr/share/man/man7/hawkalloc.7.gz" \
  "$(echo $(man -w hawk; man -w 3 hawkalloc; man -w 7 hawkalloc) 2>&1)"
out=$(man -P cat hawk 2>/dev/null | grep -c -- '--policy')
if [[ $out -gt 0 ]]; then ok "man hawk renders (it names --policy)"; else fail "man hawk renders"; fi
run "the installed bash completion passes the completion test" \
  env HAWK=/usr/bin/hawk HAWK_COMPLETION=/usr/share/bash-completion/completions/hawk \
  tests/completion/run.sh

# --- removing it -------------------------------------------------------------
if "${apt[@]}" purge hawkalloc >"$work/purge.log" 2>&1; then
  ok "apt-get purge hawkalloc"
else
  fail "apt-get purge hawkalloc" "$(tail -n 10 "$work/purge.log")"
fi
left=
while IFS= read -r f; do
  # Directories other packages share (/usr, /usr/lib, ...) stay; every file,
  # link and directory of the package's own goes.
  [[ -d $f && ! -L $f ]] && [[ $f != */hawkalloc ]] && continue
  [[ -e $f || -L $f ]] && left+=" $f"
done <<<"$files"
expect "nothing of the package is left (files, links, its own directories)" "" "$left"
expect "dpkg no longer knows hawkalloc" "" \
  "$(dpkg-query -W -f='${db:Status-Status}' hawkalloc 2>/dev/null | grep -v not-installed)"
expect "hawk is gone from PATH and libhawkalloc from the loader's cache" "|" \
  "$(command -v hawk)|$(ldconfig -p | grep libhawkalloc)"
expect "pkg-config no longer finds hawkalloc" "1" "$(pkg-config --exists hawkalloc; echo $?)"

finish
