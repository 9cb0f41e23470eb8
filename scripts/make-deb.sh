#!/usr/bin/env bash
# make-deb.sh - builds the Debian binary package of HawkAlloc (`make deb`;
# docs/packaging.md) with dpkg's own tools, everything under build/deb/:
#   1. builds the library and hawk with Debian's flags (dpkg-buildflags, all
#      hardening) into build/deb/build, apart from the everyday build/;
#   2. stages `make install PREFIX=/usr` in build/deb/root, strips the
#      binaries, compresses the man pages and the changelog, adds the
#      copyright file and the lintian overrides;
#   3. writes DEBIAN/control (Depends from dpkg-shlibdeps), shlibs, triggers
#      (ldconfig) and md5sums, and builds the package with dpkg-deb;
#   4. runs lintian on it (when installed) and fails on any error or warning.
# Prints the path of the .deb last: build/hawkalloc_VERSION_ARCH.deb.
# HAWK_DEB_LINTIAN=0 skips step 4.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
umask 022
export LC_ALL=C.UTF-8

out=$root/build/deb
stage=$out/root
objs=$out/build
rm -rf "$out"
mkdir -p "$out"

version=$(make -s --no-print-directory print-version)
arch=$(dpkg --print-architecture)
maintainer=${HAWK_DEB_MAINTAINER:-HawkAlloc maintainers <maintainers@users.noreply.r-seed-d69a7fdd.example>}
# The date of the last commit, so that the same tree gives the same package.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
deb=$root/build/hawkalloc_${version}_${arch}.deb

echo "deb: building HawkAlloc $version with dpkg-buildflags into $objs"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cflags="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)
make -s --no-print-directory -j2 BUILD="$objs" CFLAGS="$cflags" LDFLAGS="$ldflags" lib tools
make -s --no-print-directory BUILD="$objs" DESTDIR="$stage" PREFIX=/usr install

docdir=$stage/usr/share/doc/hawkalloc
# Debian installs binaries stripped (the symbols stay in the dynamic table).
strip --remove-section=.comment --remove-section=.note --strip-unneeded \
  "$stage/usr/lib/libhawkalloc.so.$version"
strip --remove-section=.comment --remove-section=.note "$stage/usr/bin/hawk"
strip --strip-debug --remove-section=.comment --enable-deterministic-archives \
  "$stage/usr/lib/libhawkalloc.a"
gzip -9n "$stage"/usr/share/man/man*/*
install -m 644 packaging/deb/copyright "$docdir/copyright"
{
  echo "hawkalloc ($version) unstable; urgency=medium"
  echo
  echo "  * Packaged from the HawkAlloc tree$(git log -1 --format=' at %h' 2>/dev/null || true)."
  echo
  echo " -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$docdir/changelog.gz"
install -d "$stage/usr/share/lintian/overrides"
install -m 644 packaging/deb/lintian-overrides "$stage/usr/share/lintian/overrides/hawkalloc"

# dpkg-shlibdeps reads debian/control: a minimal one in build/deb.
mkdir -p "$out/debian" "$stage/DEBIAN"
printf 'Source: hawkalloc\n\nPackage: hawkalloc\nArchitecture: any\n' >"$out/debian/control"
depends=$(cd "$out" && dpkg-shlibdeps -O -e"$stage/usr/bin/hawk" \
  -e"$stage/usr/lib/libhawkalloc.so.$version" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maintainer|" \
  -e "s|@SIZE@|$size|" -e "s|@DEPENDS@|$depends|" packaging/deb/control.in >"$stage/DEBIAN/control"
echo "libhawkalloc ${version%%.*} hawkalloc (>= $version)" >"$stage/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$stage/DEBIAN/triggers"
(cd "$stage" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 644 "$stage"/DEBIAN/*
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "deb: $(dpkg-deb -f "$deb" Package Version Architecture Depends | tr '\n' ' ')"

if [[ ${HAWK_DEB_LINTIAN:-1} != 0 ]]; then
  if ! command -v lintian >/dev/null 2>&1; then
    echo "deb: lintian is not installed (make deps installs it)" >&2
    exit 1
  fi
  # Every tag is shown, overridden and informational ones too
  # (docs/packaging.md explains each); an error or a warning not overridden
  # fails.  (--show-overrides would make the overridden ones fail too.)
  echo "deb: lintian $deb"
  lintian -I --show-overrides "$deb" 2>/dev/null | sed 's/^/  /'
  if ! lintian --fail-on error,warning "$deb" >/dev/null 2>&1; then
    echo "deb: lintian found errors or warnings" >&2
    exit 1
  fi
  echo "deb: lintian: no errors or warnings"
fi
echo "$deb"
