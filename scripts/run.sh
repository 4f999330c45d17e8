#!/usr/bin/env bash
# Installs what is missing, builds, and runs the project's main job: a local
# network of real validators (seqd over ZeroMQ and RocksDB on 127.0.0.1),
# made with `seqd testnet`, showing each node's committed height and hash
# as it runs, then stopping every node it started with SIGTERM.
#
#   scripts/run.sh                    # 4 validators for 30 s
#   scripts/run.sh --validators 7 --seconds 60
#   scripts/run.sh --keep             # until Ctrl-C
#   scripts/run.sh --sim [args]       # the deterministic simulator instead
#
# The network lives in a temporary directory (printed, kept if a node fails)
# unless --dir DIR is given. The rollup path (transactions, executors) comes
# with a later stage; for now blocks carry the consensus core's payloads.
set -euo pipefail
cd "$(dirname "$0")/.."

validators=4
seconds=30
keep=0
dir=""
base_port=""
if [ "${1:-}" = "--sim" ]; then
    shift
    bash scripts/deps.sh >&2
    export BUILD_DIR=${BUILD_DIR:-build}
    bash scripts/build.sh seq-sim-demo >&2
    exec "$BUILD_DIR/tests/sim/seq-sim-demo" "$@"
fi
while [ "$#" -gt 0 ]; do
    case "$1" in
    --validators) validators=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --dir) dir=$2; shift 2 ;;
    --base-port) base_port=$2; shift 2 ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done

bash scripts/deps.sh >&2
export BUILD_DIR=${BUILD_DIR:-build}
bash scripts/build.sh seqd >&2
seqd=$PWD/$BUILD_DIR/cmd/seqd

if [ -z "$dir" ]; then
    dir=$(mktemp -d "${TMPDIR:-/tmp}/seq-testnet.XXXXXX")
    rmdir "$dir"
fi
if [ -z "$base_port" ]; then
    # A free range of 10 ports per validator, checked by binding each one.
    base_port=$(python3 - "$validators" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    base = random.randrange(20000, 60000 - 10 * n, 10)
    ok = True
    for port in range(base, base + 10 * n):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            ok = False
        finally:
            s.close()
        if not ok:
            break
    if ok:
        print(base)
        sys.exit(0)
sys.exit("no free port range")
EOF
)
fi
"$seqd" testnet --validators "$validators" --output-dir "$dir" \
    --base-port "$base_port" >/dev/null
echo "testnet of $validators validators in $dir (ports from $base_port)"

pids=()
stop_all() {
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap stop_all EXIT
trap 'exit 130' INT TERM

for ((i = 0; i < validators; i++)); do
    "$seqd" start --home "$dir/node$i" >>"$dir/node$i.log" 2>&1 &
    pids+=("$!")
done

show() {
    local i line
    for ((i = 0; i < validators; i++)); do
        line=$(python3 - "$dir/testnet.json" "$i" <<'EOF' 2>/dev/null || true
import json, sys, urllib.request
net = json.load(open(sys.argv[1]))
node = net["nodes"][int(sys.argv[2])]
try:
    with urllib.request.urlopen(node["http"] + "/v1/status", timeout=1) as r:
        s = json.load(r)
    print("%-6s height %-7d round %-7d peers %d  leader %d  ready %-5s %s" % (
        node["name"], s["height"], s["round"], s["peers"], s["leader"],
        s["ready"], s["committed_hash"][:16]))
except Exception as e:
    print("%-6s (not answering: %s)" % (node["name"], e))
EOF
)
        echo "  $line"
    done
}

start=$(date +%s)
while :; do
    sleep 2
    for ((i = 0; i < validators; i++)); do
        if ! kill -0 "${pids[$i]}" 2>/dev/null; then
            echo "node$i stopped; its log: $dir/node$i.log" >&2
            tail -5 "$dir/node$i.log" >&2
            exit 1
        fi
    done
    echo "--- after $(($(date +%s) - start)) s"
    show
    if [ "$keep" -eq 0 ] && [ $(($(date +%s) - start)) -ge "$seconds" ]; then
        break
    fi
done
echo "stopping the validators (logs in $dir/node*.log)"
