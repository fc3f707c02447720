#!/usr/bin/env bash
# Builds a position-independent libgomp.a (GCC's own is not PIC, so it cannot go into a shared
# object) from the source of the installed GCC, for static linking into the prebuilt addon.
# Usage: scripts/libgomp-pic.sh <triplet>   (x86_64-linux-gnu | aarch64-linux-gnu)
# Prints the path of libgomp.a. Cached in ${FASTLOSS_CACHE:-~/.cache/fastloss}.
# Needs the Debian package gcc-<major>-source (fetched with `apt-get download`, no root needed).
set -euo pipefail
triplet=${1:?usage: libgomp-pic.sh <triplet>}
cc=${triplet}-gcc
command -v "$cc" >/dev/null || { echo "libgomp-pic: $cc not found (apt-get install g++-${triplet})" >&2; exit 1; }
ver=$("$cc" -dumpfullversion)
major=${ver%%.*}
# Debian version of the source package must match the compiler's libgomp ABI: same GCC release.
cache=${FASTLOSS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fastloss}
out=$cache/libgomp-$ver-$triplet
if [ -f "$out/libgomp.a" ]; then echo "$out/libgomp.a"; exit 0; fi
mkdir -p "$cache"
src=$cache/gcc-$ver
if [ ! -d "$src/libgomp" ]; then
  deb=$(ls "$cache"/gcc-"$major"-source_*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    # A fresh machine may have no package lists yet: update them once (root only).
    (cd "$cache" && apt-get download "gcc-$major-source" >&2) ||
      { [ "$(id -u)" = 0 ] && apt-get update -qq >&2 && (cd "$cache" && apt-get download "gcc-$major-source" >&2); }
    deb=$(ls "$cache"/gcc-"$major"-source_*.deb | head -n1)
  fi
  tmp=$(mktemp -d "$cache/src.XXXX")
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" "./usr/src/gcc-$major/"
  tarball=$(ls "$tmp/usr/src/gcc-$major"/gcc-"$major".*.tar.xz | head -n1)
  top=$( (tar -tJf "$tarball" || true) | head -n1 | cut -d/ -f1)
  # libgomp and the shared build machinery only (the full tree is 800 MB).
  tar -xJf "$tarball" -C "$tmp" --wildcards "$top/libgomp/*" "$top/config/*" "$top/include/*" "$top/gcc/BASE-VER" \
    "$top/config.guess" "$top/config.sub" "$top/install-sh" "$top/ltmain.sh" "$top/missing" "$top/config-ml.in" \
    "$top/mkinstalldirs" "$top/depcomp" "$top/compile" "$top/test-driver" "$top/libtool.m4" "$top/ltoptions.m4" \
    "$top/ltsugar.m4" "$top/ltversion.m4" "$top/lt~obsolete.m4" "$top/multilib.am"
  rm -rf "$src"
  mv "$tmp/$top" "$src"
  rm -f "$deb"
  rm -rf "$tmp"
fi
bld=$(mktemp -d "$cache/build-$triplet.XXXX")
(
  cd "$bld"
  CC=$cc CFLAGS="-O2 -fPIC -g0" "$src/libgomp/configure" --host="$triplet" --build="$(gcc -dumpmachine)" \
    --target="$triplet" --disable-multilib --disable-shared --enable-static --with-pic >configure.log 2>&1 ||
    { tail -n 30 configure.log >&2; exit 1; }
  make -j"$(nproc)" libgomp.la >make.log 2>&1 || { tail -n 30 make.log >&2; exit 1; }
)
mkdir -p "$out"
cp "$bld/.libs/libgomp.a" "$out/libgomp.a.tmp"
mv "$out/libgomp.a.tmp" "$out/libgomp.a"
rm -rf "$bld"
echo "$out/libgomp.a"
