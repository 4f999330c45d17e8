#!/usr/bin/env bash
# Installs what is missing, builds, and runs the project's main job. For now
# that is seq-sim-demo: a simulated network of 4 validators running the
# consensus core in virtual time and printing each commit. Arguments are
# passed to it (try --help). The validator daemon, seqd, comes next.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh >&2
BUILD_DIR=${BUILD_DIR:-build}
export BUILD_DIR
bash scripts/build.sh seq-sim-demo >&2
exec "$BUILD_DIR/tests/sim/seq-sim-demo" "$@"
