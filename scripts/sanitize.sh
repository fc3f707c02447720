#!/usr/bin/env bash
# The sanitizer job (issue 8, item (c)): builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer
# into build-asan/ (CMake option FASTLOSS_SANITIZE; the normal build/ is untouched) and runs the jest suite
# against it: every test file except the npm-pack one (it reinstalls from source, nothing to sanitize)
# and the linters (no addon code),
# including the property suite and the crash regressions, whose child processes inherit the environment.
#
#   scripts/sanitize.sh              build (incrementally) + run
#   scripts/sanitize.sh --no-build   run against the existing build-asan/
#   scripts/sanitize.sh -- <jest args>   e.g. -- test/regress-crash.test.ts
#
# Fails (exit 1) when a test fails OR when any process wrote a sanitizer report: reports go to files
# (ASAN_OPTIONS/UBSAN_OPTIONS log_path) in a fresh directory, so a report in a child process whose
# test only looks at its exit status still fails the job. The last line is jest's counts, plus one
# failure per process that wrote a report:  'sanitize: jest: N passed, N failed'.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

build=1
jest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --) shift; jest_args=("$@"); break ;;
    *) echo "sanitize: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

t0=$(date +%s)
# dist/ (the children load it) and the normal addon (isa.test.ts inspects its objects).
node scripts/ensure-built.js || { echo "sanitize: the normal build failed" >&2; exit 1; }
if [ "$build" = 1 ]; then
  node node_modules/cmake-js/bin/cmake-js compile --out build-asan --CDFASTLOSS_SANITIZE=ON \
    || { echo "sanitize: the ASan+UBSan build failed" >&2; exit 1; }
fi
addon="$root/build-asan/Release/fastloss.node"
[ -f "$addon" ] || { echo "sanitize: $addon is missing" >&2; exit 1; }
t1=$(date +%s)

libasan=$(gcc -print-file-name=libasan.so)
if [ ! -e "$libasan" ]; then
  # The runtime the addon was linked against.
  libasan=$(ldd "$addon" | awk '/libasan/ {print $3; exit}')
fi
[ -e "$libasan" ] || { echo "sanitize: libasan not found (install the gcc ASan runtime)" >&2; exit 1; }

logs=$(mktemp -d "${TMPDIR:-/tmp}/fastloss-sanitize.XXXXXX")
export FASTLOSS_ADDON="$addon"
export FASTLOSS_SANITIZE_LOGS="$logs"
# Node installs its own SIGSEGV handler: without allow_user_segv_handler=0 it hides ASan's report.
# abort_on_error: a report ends the process with SIGABRT (the tests see a signal).
# handle_sigbus=0: the file readers' SIGBUS handler (binding/napi/mapfile.cpp) must be installable; with
# allow_user_segv_handler=0 ASan would keep SIGBUS to itself and report a truncated mapped file as a crash.
export ASAN_OPTIONS="detect_leaks=0:allow_user_segv_handler=0:handle_sigbus=0:abort_on_error=1:log_path=$logs/asan"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"
export LD_PRELOAD="$libasan${LD_PRELOAD:+:$LD_PRELOAD}"

# Fewer fuzz cases per loss under the sanitizer (each call is several times slower); override as usual.
export FASTLOSS_FUZZ_RUNS="${FASTLOSS_FUZZ_RUNS:-25}"

out=$(mktemp)
# jest itself runs with the sanitizer runtime too (ts-jest loads ../src, which loads FASTLOSS_ADDON).
# (jest's own arguments first: --testPathIgnorePatterns takes every argument after it.)
node node_modules/jest/bin/jest.js "${jest_args[@]}" --testPathIgnorePatterns '/node_modules/' 'package\.test\.ts$' 'lint\.test\.ts$' 2>&1 | tee "$out"
jest_status=${PIPESTATUS[0]}
unset LD_PRELOAD
t2=$(date +%s)

summary=$(grep -E '^Tests:' "$out" | tail -n 1)
passed=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
failed=$(grep -oE '[0-9]+ failed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
rm -f "$out"

reports=0
for f in "$logs"/*; do
  [ -e "$f" ] || continue
  if grep -qE 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|SUMMARY: (Address|UndefinedBehavior)Sanitizer' "$f"; then
    reports=$((reports + 1))
    echo "---- sanitizer report: $(basename "$f") ----"
    head -n 60 "$f"
  fi
done

echo "sanitize: build $((t1 - t0)) s, tests $((t2 - t1)) s; $reports process(es) wrote a sanitizer report (logs: $logs)"
if [ "$reports" -eq 0 ]; then rm -rf "$logs"; fi
failed=$((failed + reports))
if [ -z "$summary" ]; then failed=$((failed + 1)); echo "sanitize: jest printed no summary (it crashed)"; fi
status=0
if [ "$jest_status" -ne 0 ] || [ "$reports" -ne 0 ] || [ -z "$summary" ]; then status=1; fi
echo "sanitize: jest: ${passed} passed, ${failed} failed"
exit $status
