#!/usr/bin/env bash
# Formats binding/'s C++ sources and headers in place with .clang-format (the clang-format of
# devDependencies, so every machine formats alike). The .def tables stay one entry per line.
set -euo pipefail
cd "$(dirname "$0")/.."
find binding -name '*.cpp' -o -name '*.h' | sort | xargs node node_modules/clang-format/index.js -i
