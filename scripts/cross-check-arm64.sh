#!/usr/bin/env bash
# Compiles and links the addon for arm64 (the portable baseline path only) with Debian's cross
# compiler: apt-get install g++-aarch64-linux-gnu. Not part of CI; run it after touching kernels.
set -euo pipefail
cd "$(dirname "$0")/.."
cxx=${CXX_AARCH64:-aarch64-linux-gnu-g++}
out=$(mktemp -d)
napi=$(node -p "require('node-addon-api').include" | tr -d '"')
for f in binding/kernels/*.cpp; do
  "$cxx" -fPIC -std=c++17 -O3 -fopenmp -fopenmp-simd -fno-math-errno -fno-trapping-math \
    -DFASTLOSS_ISA_NS=isa_baseline -c "$f" -o "$out/$(basename "$f" .cpp).o"
done
# The ISA builds CMakeLists.txt would generate for arm64: the first level of isa_levels.def only.
echo "#define FASTLOSS_BUILT_ISA_LEVELS(X) X(baseline)" > "$out/isa_built.h"
"$cxx" -fPIC -std=c++17 -O3 -I"$napi" -I"$(node -p "require('node-api-headers').include_dir")" -I"$out" \
  -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -c binding/napi/addon.cpp -o "$out/addon.o"
# Node-API symbols resolve against the node binary at load time.
"$cxx" -shared -fopenmp -Wl,--unresolved-symbols=ignore-all -o "$out/fastloss.node" "$out"/*.o
file "$out/fastloss.node"
rm -rf "$out"
