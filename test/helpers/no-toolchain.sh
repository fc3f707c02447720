#!/usr/bin/env bash
# Runs a command in a private mount namespace where this machine has no compiler, no cmake, no
# make, no Python and no libgomp: each such binary on PATH is covered with /dev/null, GCC's
# private directory and pyenv with empty tmpfs, and libgomp.so* removed by overlay whiteouts.
# Usage: test/helpers/no-toolchain.sh <command> [args...]   (root, or unprivileged user namespaces)
set -euo pipefail
if [ -z "${FASTLOSS_NO_TOOLCHAIN:-}" ]; then
  if [ "$(id -u)" = 0 ]; then ns=(unshare -m --propagation private); else ns=(unshare -r -m --propagation private); fi
  FASTLOSS_NO_TOOLCHAIN=1 exec "${ns[@]}" "$0" "$@"
fi

hide='^(cc|c\+\+|c89|c99|cpp|gcc|g\+\+|clang|clang\+\+|cmake|ctest|ccmake|make|gmake|ninja|ld|ld\.bfd|ld\.gold|as|python[0-9.]*|pip[0-9.]*|pyenv|.*-(gcc|g\+\+|c\+\+|cpp|ld|as)(-[0-9]+)?|(gcc|g\+\+|cpp)-[0-9]+)$'
IFS=: read -r -a dirs <<<"$PATH:/usr/bin:/bin:/usr/local/bin"
for d in "${dirs[@]}"; do
  [ -d "$d" ] || continue
  for f in "$d"/*; do
    b=${f##*/}
    if [[ $b =~ $hide ]] && [ -e "$f" ]; then mount --bind /dev/null "$f"; fi
  done
done
for d in /usr/lib/gcc /usr/libexec/gcc /usr/lib/gcc-cross "$HOME/.pyenv" /root/.pyenv; do
  if [ -d "$d" ]; then mount -t tmpfs tmpfs "$d"; fi
done

# libgomp: whiteouts in an overlay over each directory that holds it.
scratch=$(mktemp -d)
mount -t tmpfs tmpfs "$scratch"
n=0
for d in $(find /usr/lib /usr/local/lib /lib /lib64 -maxdepth 2 -name 'libgomp.so*' -printf '%h\n' 2>/dev/null | xargs -r -n1 readlink -f | sort -u); do
  n=$((n + 1))
  mkdir -p "$scratch/$n/up" "$scratch/$n/work"
  for f in "$d"/libgomp.so*; do mknod "$scratch/$n/up/$(basename "$f")" c 0 0; done
  mount -t overlay overlay -o "lowerdir=$d,upperdir=$scratch/$n/up,workdir=$scratch/$n/work" "$d"
done
exec "$@"
