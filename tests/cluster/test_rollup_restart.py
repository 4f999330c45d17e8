#!/usr/bin/env python3
"""cluster/test_rollup_restart: rollup data survives validator restarts.

4 validators, 3 rollups, one seq-exec per rollup (each following a
different validator first, failing over through the others).
1. 1,500 transactions over HTTP; the executors apply them.
2. SIGTERM all four validators (each exits 0 within seconds), start all
   four again on the same homes; the chain goes on from where it was.
   The executors ride through the outage (they keep running).
3. SIGKILL node3; 1,500 more transactions to the other three.
4. Start node3 again: it catches up, and serves the namespace blocks of
   old heights (every height with entries, and a spread of empty ones,
   from both loads) exactly as node0 serves them, byte for byte in JSON.
5. Every executor holds every acked transaction of its namespace exactly
   once (none from another namespace), in the order node0 serves them.
"""

import json
import os
import random
import time

import cluster

N_TX = 1500
NAMESPACES = [1, 2, 3]
VICTIM = 3


def wait_delivered(c, t, execs, want, what, timeout=90):
    last = {}

    def done():
        last.clear()
        for name, e in execs.items():
            have = {x[2] for x in e.applied()}
            last[name] = sum(1 for h in want[e.ns] if h not in have)
        return all(v == 0 for v in last.values())
    ok, took = cluster.wait_until(done, timeout, 0.5)
    t.check(ok, "%s: every executor applies every acked transaction of its "
            "namespace" % what, "%.1fs; missing %s" % (took, last))
    if not ok:
        for name, e in execs.items():
            t.log("--- %s (running %s, state %s):\n%s" %
                  (name, e.running(), e.state(), e.log_tail(12)))
    return ok


def load(c, t, rng, nodes, tag, want):
    txs = cluster.make_payloads(rng, N_TX, NAMESPACES, 64, 400, tag)
    sub = cluster.Submitter(c, nodes, threads=4, seed=rng.random())
    took = sub.run(txs)
    t.check(len(sub.acked) == N_TX and not sub.bad_hash,
            "load %s: all %d acked, with the right tx_hash" % (tag.decode(),
                                                             N_TX),
            "%d acked in %.1fs, retries %d, errors %s, refused %d, gave up "
            "%d" % (len(sub.acked), took, sub.retries, sub.errors,
                    len(sub.refused), len(sub.gave_up)))
    for h, (ns, payload, node, st) in sub.acked.items():
        want[ns][h] = payload
    return sub


def test(c, t, args):
    rng = random.Random()
    c.launch()
    ok, took, last = c.wait_heights(3, timeout=30)
    t.require(ok, "the testnet commits", "heights %s" % last)
    t.require(os.access(c.tool("seq-exec"), os.X_OK), "seq-exec is built")
    execs = {
        "ex1": cluster.Executor(c, "ex1", 1, [0, 1, 2, 3]),
        "ex2": cluster.Executor(c, "ex2", 2, [1, 2, 3, 0]),
        "ex3": cluster.Executor(c, "ex3", 3, [3, 0, 1, 2]),
    }
    for e in execs.values():
        e.start()
    want = {ns: {} for ns in NAMESPACES}

    # 1. Load, delivered.
    load(c, t, rng, range(c.n), b"one", want)
    wait_delivered(c, t, execs, want, "after load one")

    # 2. Stop all (SIGTERM), start all.
    before = c.heights()
    t0 = time.monotonic()
    rcs = c.stop_all(timeout=10)
    took = time.monotonic() - t0
    t.check(all(rc == 0 for rc in rcs.values()) and len(rcs) == c.n,
            "all four exit 0 on SIGTERM", "%s in %.1fs" % (rcs, took))
    time.sleep(1.0)
    for i in range(c.n):
        c.start(i)
    for i in range(c.n):
        c.wait_live(i, 30)
    top = max(h for h in before.values() if h is not None)
    ok, took, last = c.wait_heights(top + 20, timeout=60)
    t.check(ok, "after a restart of all four the chain goes on past %d" %
            top, "%.1fs, heights %s" % (took, last))
    for name, e in execs.items():
        t.check(e.running(), "%s rode through the outage" % name,
                "exit status %s" % e.returncode())

    # 3. SIGKILL node3, load two on the others.
    c.kill9(VICTIM)
    t.log("SIGKILL node%d" % VICTIM)
    others = [i for i in range(c.n) if i != VICTIM]
    load(c, t, rng, others, b"two", want)
    wait_delivered(c, t, execs, want, "after load two (node%d dead)" %
                   VICTIM)

    # 4. node3 back: catch-up, identical namespace blocks.
    tops = c.heights(others)
    top = max(h for h in tops.values() if h is not None)
    c.start(VICTIM)
    c.wait_live(VICTIM, 30)
    ok, took, last = c.wait_heights(top, [VICTIM], timeout=90)
    t.check(ok, "node%d restarts after SIGKILL and catches up to %d" %
            (VICTIM, top), "%.1fs, heights %s" % (took, last))
    t.measure("node%d catch-up" % VICTIM, "%.1fs to height %d" % (took, top))
    # Namespace blocks are served up to the materialized height
    # (seq_rollup_height), which may trail the committed one a little
    # (net_rollup.c R3): wait for it too.
    def served():
        return all(c.metrics(i)["seq_rollup_height"] >= top
                   for i in (0, VICTIM))
    ok, took = cluster.wait_until(served, 60, 0.1)
    t.check(ok, "node0 and node%d serve namespace blocks up to %d" %
            (VICTIM, top), "%.1fs; seq_rollup_height %s" %
            (took, {i: c.metrics(i).get("seq_rollup_height")
                    for i in (0, VICTIM)}))

    heights = {ns: set() for ns in NAMESPACES}
    for name, e in execs.items():
        heights[e.ns] |= {x[0] for x in e.applied()}
    pairs = [(ns, h) for ns in NAMESPACES for h in sorted(heights[ns])]
    pairs += [(ns, h) for ns in NAMESPACES
              for h in range(1, top + 1, max(1, top // 30))]
    pairs = sorted(set(pairs))
    diffs, missing = [], []
    t1 = time.monotonic()
    for ns, h in pairs:
        a = c.ns_block(0, ns, h)
        b = c.ns_block(VICTIM, ns, h)
        if a is None or b is None:
            missing.append((ns, h, a is None, b is None))
        elif a != b:
            keys = [k for k in set(a) | set(b) if a.get(k) != b.get(k)]
            sub = []
            if "commit_proof" in keys:
                ca, cb = a["commit_proof"], b["commit_proof"]
                sub = [k for k in set(ca) | set(cb)
                       if ca.get(k) != cb.get(k)]
            diffs.append((ns, h, keys, sub))
    t.measure("namespace blocks compared node0 vs node%d" % VICTIM,
              "%d in %.1fs" % (len(pairs), time.monotonic() - t1))
    t.check(not missing, "node%d serves every old namespace block node0 "
            "serves" % VICTIM, "%d missing, first %s" %
            (len(missing), missing[:3]))
    t.check(not diffs, "node%d's namespace blocks for old heights are "
            "identical to node0's (same JSON)" % VICTIM,
            "%d differ, first (ns, height, fields, commit_proof fields) %s" %
            (len(diffs), diffs[:3]))
    if diffs:
        ns, h = diffs[0][0], diffs[0][1]
        t.log("node0 %s/%d: %s" % (ns, h, json.dumps(c.ns_block(0, ns, h))
                                   [:1500]))
        t.log("node%d %s/%d: %s" % (VICTIM, ns, h, json.dumps(
            c.ns_block(VICTIM, ns, h))[:1500]))

    # 5. Exactly once, in node0's order.
    for name, e in execs.items():
        lines = e.applied()
        hashes = [x[2] for x in lines]
        foreign = [x for x in lines if cluster.tx_hash(e.ns, x[3]) != x[2]
                   or x[2] not in want[e.ns]]
        t.check(len(hashes) == len(set(hashes)) and
                set(hashes) == set(want[e.ns]) and not foreign,
                "%s: every acked rollup-%d transaction exactly once, nothing "
                "else" % (name, e.ns), "%d lines, %d distinct, %d acked, %d "
                "foreign or unknown" % (len(hashes), len(set(hashes)),
                                        len(want[e.ns]), len(foreign)))
        by_h = {}
        for (h, idx, th, p) in lines:
            by_h.setdefault(h, []).append((idx, th))
        bad = []
        for h, got in sorted(by_h.items()):
            blk = c.ns_block(0, e.ns, h)
            ref = [(k, x["tx_hash"]) for k, x in
                   enumerate(blk["entries"])] if blk else None
            if got != ref:
                bad.append(h)
        t.check(not bad, "%s: its output matches node0's namespace blocks "
                "at all %d heights with entries" % (name, len(by_h)),
                "%d differ, first %s" % (len(bad), bad[:3]))
        rc = e.terminate()
        t.check(rc == 0, "%s exits 0 on SIGTERM" % name, "status %s" % rc)


if __name__ == "__main__":
    cluster.main(test, "rollup data across restarts: stop and start all "
                 "validators, kill -9 and restart one; executors get "
                 "everything exactly once; a restarted validator serves "
                 "the same namespace blocks", rollups=3)
