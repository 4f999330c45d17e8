#!/usr/bin/env bash
# Installs what is missing, builds, and runs the project's main job: a local
# network of real validators (seqd over ZeroMQ and RocksDB on 127.0.0.1)
# with rollups, made with `seqd testnet --rollups K`; one reference
# executor (seq-exec) per rollup, each following a different validator and
# verifying every namespace block; sample traffic from seqbench; then what
# each executor applied. Every process it started is stopped by PID.
#
#   scripts/run.sh                    # 4 validators, 3 rollups, 30 s
#   scripts/run.sh --validators 7 --rollups 5 --seconds 60 --rate 2000
#   scripts/run.sh --keep             # until Ctrl-C
#   scripts/run.sh --sim [args]       # the deterministic simulator instead
#
# The network lives in a temporary directory (printed, kept if a node fails)
# unless --dir DIR is given.
set -euo pipefail
cd "$(dirname "$0")/.."

validators=4
rollups=3
rate=1000
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
    --rollups) rollups=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
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
bash scripts/build.sh seqd seq-exec seqbench seqctl >&2
seqd=$PWD/$BUILD_DIR/cmd/seqd
seqexec=$PWD/$BUILD_DIR/cmd/seq-exec
seqbench=$PWD/$BUILD_DIR/cmd/seqbench

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
"$seqd" testnet --validators "$validators" --rollups "$rollups" \
    --output-dir "$dir" --base-port "$base_port" >/dev/null
echo "testnet of $validators validators and $rollups rollups in $dir" \
    "(ports from $base_port)"

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
nodes=()
for ((i = 0; i < validators; i++)); do
    nodes+=("$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nodes"][int(sys.argv[2])]["client"])' "$dir/testnet.json" "$i")")
done
# One executor per rollup, rollup r following validator r mod n first
# (the others are its fail-over list).
for ((r = 1; r <= rollups; r++)); do
    args=()
    for ((k = 0; k < validators; k++)); do
        args+=(--node "${nodes[$(((r - 1 + k) % validators))]}")
    done
    "$seqexec" --genesis "$dir/node0/genesis.json" --namespace "$r" \
        "${args[@]}" --state-dir "$dir/exec$r" >>"$dir/exec$r.log" 2>&1 &
    pids+=("$!")
done
echo "executors: $dir/exec<r>/applied.log, one line per applied transaction" \
    "(height index tx_hash payload)"

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

applied() {
    local r
    for ((r = 1; r <= rollups; r++)); do
        printf '  rollup-%d executor: %s transactions applied, state %s\n' "$r" \
            "$(wc -l <"$dir/exec$r/applied.log" 2>/dev/null || echo 0)" \
            "$(cat "$dir/exec$r/state.json" 2>/dev/null | tr -d '\n' || true)"
    done
}

# Sample traffic: seqbench submits to every validator's client port at
# $rate tx/s over the rollups and reports committed throughput and latency.
bench_seconds=$((seconds > 20 ? seconds - 10 : 10))
"$seqbench" --testnet "$dir/testnet.json" --rollups "$rollups" --size 256 \
    --rate "$rate" --duration "$bench_seconds" --warmup 2 \
    >"$dir/seqbench.txt" 2>"$dir/seqbench.log" &
bench=$!
pids+=("$bench")

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
    applied
    if [ "$keep" -eq 0 ] && [ $(($(date +%s) - start)) -ge "$seconds" ]; then
        break
    fi
done
wait "$bench" 2>/dev/null || true
echo "--- seqbench (sample traffic):"
cat "$dir/seqbench.txt"
echo "--- what each executor applied (last 2 of each):"
applied
for ((r = 1; r <= rollups; r++)); do
    tail -2 "$dir/exec$r/applied.log" 2>/dev/null | cut -c1-120 | sed "s/^/    rollup-$r: /"
done
echo "stopping the validators and executors (logs in $dir/*.log)"
