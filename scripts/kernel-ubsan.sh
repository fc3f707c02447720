#!/bin/sh
# Builds the AVX2 kernels with -fsanitize=undefined into a small driver (scripts/kernel_ubsan.cpp)
# and runs every loss kernel on empty inputs with large zero-product shapes. Needs the extents
# column (fourth field) of the FASTLOSS_KERNEL entries. Exits non-zero on any UBSan report.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
k="$root/binding/kernels"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
grep -h "FASTLOSS_KERNEL" "$k"/*.def |
  sed -E 's/FASTLOSS_KERNEL\(([a-z]+), ([A-Za-z0-9]+), "[^"]*", "([^"]*)"[^)]*\)/{"\1.\2", "\3"},/' | grep '^{' > "$out/ext.inc"
flags="-std=gnu++17 -O1 -g -fsanitize=undefined -fno-sanitize-recover=undefined -fopenmp -march=x86-64-v3 -I$k -I$out
  -DFASTLOSS_ISA_NS=isa_avx2 -fno-math-errno -fno-trapping-math"
for f in "$k"/*.cpp; do
  c++ $flags -c "$f" -o "$out/$(basename "$f" .cpp).o" &
done
c++ $flags -c "$root/scripts/kernel_ubsan.cpp" -o "$out/main.o"
wait
c++ $flags "$out"/*.o -o "$out/run"
"$out/run"
