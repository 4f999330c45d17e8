#!/usr/bin/env bash
# Everything CI checks, in order: dependencies, format, purity, a gcc
# -Werror build with every test tier but fuzz, a clang ASan+UBSan build over
# the unit and sim tiers, and a short libFuzzer smoke when fuzz targets
# exist. Every section runs even if an earlier one failed (except a failed
# dependency install); a summary with times comes last, and the exit status
# is non-zero if anything failed.
#
# Knobs (environment):
#   JOBS                   build parallelism (default: nproc)
#   SEQ_SIM_SEEDS          seeds per sim sweep, for every build
#   SEQ_SIM_SEEDS_PERCENT  under ASan, if SEQ_SIM_SEEDS is unset: the share
#                          of each sweep's default seed count (default 50)
#   FUZZ_SECONDS           time per fuzz target (default 20)
#   SKIP_DEPS=1            do not run scripts/deps.sh
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
ASAN_SIM_PERCENT=${SEQ_SIM_SEEDS_PERCENT:-50}

declare -a summary=()
failed=0

section() {
    printf '\n========== %s ==========\n' "$*"
}

# run NAME COMMAND...: one section, timed and recorded.
run() {
    local name=$1 start rv
    shift
    section "$name"
    start=$(date +%s)
    "$@"
    rv=$?
    local secs=$(($(date +%s) - start))
    if [ "$rv" -eq 0 ]; then
        summary+=("$(printf 'ok    %4ds  %s' "$secs" "$name")")
    else
        summary+=("$(printf 'FAIL  %4ds  %s (exit %d)' "$secs" "$name" "$rv")")
        failed=1
    fi
    return 0
}

purity() {
    bash scripts/check-purity.sh && bash scripts/check-purity.sh --self-test
}

# configure_build DIR CMAKE_ARGS...: configure and build everything. Ninja
# keeps going past a failed target (-k 0), so that the tests which did build
# still run and a CI log shows every problem at once; the section fails all
# the same.
configure_build() {
    local dir=$1
    shift
    cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" ||
        return 1
    cmake --build "$dir" -j "$JOBS" -- -k 0
}

# The gcc build is the reference: warnings are errors, and ctest runs every
# label except fuzz (a label with no tests yet, like cluster, is fine).
gcc_build() {
    local built=0 tested=0
    configure_build build-ci -DCMAKE_C_COMPILER=gcc -DSEQ_WERROR=ON || built=$?
    ctest --test-dir build-ci --output-on-failure -j2 -LE fuzz || tested=$?
    [ "$built" -eq 0 ] && [ "$tested" -eq 0 ]
}

# ASan+UBSan over the unit and sim tiers, with smaller sim sweeps unless the
# caller chose a seed count (SEQ_SIM_SEEDS wins over the percentage).
asan_build() {
    local built=0 tested=0
    configure_build build-asan -DCMAKE_C_COMPILER=clang \
        -DSEQ_SANITIZE=address,undefined || built=$?
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
        SEQ_SIM_SEEDS_PERCENT=$ASAN_SIM_PERCENT \
        ctest --test-dir build-asan --output-on-failure -j2 -L 'unit|sim' ||
        tested=$?
    [ "$built" -eq 0 ] && [ "$tested" -eq 0 ]
}

have_fuzz_targets() {
    [ -f tests/fuzz/CMakeLists.txt ] &&
        compgen -G 'tests/fuzz/fuzz_*.c' >/dev/null
}

# Each fuzz target is a ctest with label fuzz (tests/fuzz/CMakeLists.txt),
# which fuzzes for SEQ_FUZZ_SECONDS over a scratch corpus in the build tree.
fuzz_smoke() {
    local built=0 tested=0
    configure_build build-fuzz -DCMAKE_C_COMPILER=clang -DSEQ_FUZZ=ON \
        -DSEQ_FUZZ_SECONDS="$FUZZ_SECONDS" || built=$?
    ctest --test-dir build-fuzz --output-on-failure -j2 -L fuzz \
        --no-tests=error || tested=$?
    [ "$built" -eq 0 ] && [ "$tested" -eq 0 ]
}

if [ "${SKIP_DEPS:-0}" != 1 ]; then
    section "dependencies"
    if ! bash scripts/deps.sh; then
        echo "test.sh: installing dependencies failed" >&2
        exit 1
    fi
fi
run "format (clang-format --dry-run --Werror)" bash scripts/check-format.sh
run "purity (consensus/, mempool/)" purity
run "gcc -Werror build, ctest -LE fuzz (build-ci)" gcc_build
run "clang ASan+UBSan, ctest -L 'unit|sim' (build-asan)" asan_build
if have_fuzz_targets; then
    run "libFuzzer smoke, ${FUZZ_SECONDS}s per target (build-fuzz)" fuzz_smoke
else
    section "libFuzzer smoke"
    echo "skipped: no tests/fuzz/fuzz_*.c targets yet"
    summary+=("skip         libFuzzer smoke (no targets)")
fi

section "summary"
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
    echo "test.sh: FAILED"
    exit 1
fi
echo "test.sh: all passed"
