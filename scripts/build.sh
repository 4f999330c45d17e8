#!/usr/bin/env bash
# Configures (once) and builds the tree with Ninja into build/, or into
# $BUILD_DIR. Arguments are targets to build; none builds everything. Extra
# CMake options can be passed through $CMAKE_ARGS (configure time only).
#
#   scripts/build.sh                   # everything, into build/
#   scripts/build.sh seq-sim-demo      # one target and what it needs
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    # shellcheck disable=SC2086 # CMAKE_ARGS is a list of words.
    cmake -S . -B "$BUILD_DIR" -G Ninja ${CMAKE_ARGS:-}
fi
if [ "$#" -gt 0 ]; then
    cmake --build "$BUILD_DIR" --target "$@"
else
    cmake --build "$BUILD_DIR"
fi
