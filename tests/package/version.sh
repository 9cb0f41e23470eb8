#!/usr/bin/env bash
# version.sh - the version lives in one place (include/hawkalloc.h's
# HAWKALLOC_VERSION_MAJOR, _MINOR, _PATCH) and everything else follows it:
# HAWKALLOC_VERSION and HAWKALLOC_VERSION_NUMBER, `make print-version`,
# `hawk --version`, the library's file name, soname and links, and what
# `make install` writes into the pkg-config file and the CMake version file.
# Needs no root (installs into a scratch DESTDIR); part of `make test`, where
# the package test (make test-package) is not.  Ends with "N passed, N failed".
set -uo pipefail
unset LD_PRELOAD
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1
# shellcheck source=tests/harness.sh
source "$root/tests/harness.sh"
make_work
expect() {
  if [[ $3 == "$2" ]]; then ok "$1"; else fail "$1" "want: $2" "got:  $3"; fi
}
part() { sed -n "s/^#define HAWKALLOC_VERSION_$1 \\([0-9][0-9]*\\)\$/\\1/p" include/hawkalloc.h; }
major=$(part MAJOR) minor=$(part MINOR) patch=$(part PATCH)
version=$major.$minor.$patch
expect "the header defines MAJOR, MINOR and PATCH once each" "1 1 1" \
  "$(grep -c '^#define HAWKALLOC_VERSION_MAJOR ' include/hawkalloc.h) $(grep -c '^#define HAWKALLOC_VERSION_MINOR ' include/hawkalloc.h) $(grep -c '^#define HAWKALLOC_VERSION_PATCH ' include/hawkalloc.h)"
cat >"$work/v.c" <<'C'
#include <stdio.h>
#include <hawkalloc.h>
int main(void) {
  printf("%s %d\n", HAWKALLOC_VERSION, HAWKALLOC_VERSION_NUMBER);
  return 0;
}
C
if cc -Iinclude "$work/v.c" -o "$work/v" 2>"$work/cc.log"; then
  expect "HAWKALLOC_VERSION and HAWKALLOC_VERSION_NUMBER follow the parts" \
    "$version $((major * 10000 + minor * 100 + patch))" "$("$work/v")"
else
  fail "a program that prints HAWKALLOC_VERSION builds" "$(cat "$work/cc.log")"
fi
expect "make print-version" "$version" "$(make -s --no-print-directory print-version)"
expect "hawk --version" "hawk (HawkAlloc) $version" "$(build/hawk --version 2>&1)"
expect "the library's soname is libhawkalloc.so.$major" "libhawkalloc.so.$major" \
  "$(readelf -d build/libhawkalloc.so."$version" 2>/dev/null | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')"
expect "build/libhawkalloc.so and .so.$major both link to .so.$version" \
  "libhawkalloc.so.$version libhawkalloc.so.$version" \
  "$(readlink build/libhawkalloc.so) $(readlink build/libhawkalloc.so."$major")"
dest=$work/dest
if make -s --no-print-directory install DESTDIR="$dest" PREFIX=/usr/local >"$work/install.log" 2>&1; then
  expect "the installed pkg-config file's Version" "Version: $version" \
    "$(grep '^Version:' "$dest/usr/local/lib/pkgconfig/hawkalloc.pc")"
  expect "the installed CMake version file's PACKAGE_VERSION" "$version" \
    "$(sed -n 's/^set(PACKAGE_VERSION "\{0,1\}\([0-9.]*\)"\{0,1\})$/\1/p' \
      "$dest/usr/local/lib/cmake/hawkalloc/hawkallocConfigVersion.cmake")"
else
  fail "make install DESTDIR=... PREFIX=/usr/local" "$(tail -n 5 "$work/install.log")"
fi
finish
