#!/usr/bin/env python3
"""cluster/test_rollup_e2e: 4 validators, 3 rollups, one seq-exec per
rollup plus a second one for rollup 1, 10,000 transactions over HTTP.

- Executors: ex1a follows rollup 1 from node0 (then 1, 2, 3), ex1b rollup 1
  from node2, ex2 rollup 2 from node1, ex3 rollup 3 from node3.
- 10,000 unique payloads (64..200 bytes) spread over the 3 namespaces are
  POSTed to random validators by a few threads over keep-alive
  connections; connection errors, 5xx and 429 are retried with the same
  payload at another validator (a retried transaction must still be
  delivered once).
- After ~40% are acked, node0 (the one ex1a follows) is killed with
  SIGKILL: ex1a must fail over. The rest goes to the other three. By
  then node0 has left turns that released nothing unsynced (net_node.c
  D6), so the kill can take such writes with it.
- After ~60%, ex2 is killed with SIGKILL and restarted on the same state
  directory: exactly-once across its own restart.
- Then, bounded, with node0 still dead: every executor applies every
  transaction of its namespace that a live validator acked. (A 202 means
  the receiving validator holds the transaction on disk; one that node0
  acked just before the kill may exist nowhere else until node0 returns.)
- node0 is restarted and must catch up; then every acked transaction is
  delivered, node0's too. Checked: each output holds exactly its namespace's acked
  transactions (tx_hash == SHA-256(u64 BE ns || payload), payload as
  submitted), none missing, none twice, none from another namespace;
  ex1a and ex1b wrote identical files; heights never decrease and the
  indices of a height are 0..k-1; a sample agrees with GET
  /v1/namespaces/<N>/blocks/<h> and GET /v1/tx/<hash>.
"""

import os
import random
import time

import cluster

N_TX = 10000
NAMESPACES = [1, 2, 3]
KILL_AT = 0.40
EXEC_RESTART_AT = 0.60
DELIVERY_TIMEOUT = 120
THREADS = 6


def check_output(t, name, ns, lines, want, other_ns_hashes):
    """Exactly-once checks of one executor's lines against want
    {tx_hash: payload} of namespace ns."""
    seen = {}
    dup = []
    for k, (h, idx, th, payload) in enumerate(lines):
        if th in seen:
            dup.append((th, seen[th], k))
        else:
            seen[th] = k
    bad_hash = [(th, payload[:16]) for (h, idx, th, payload) in lines
                if cluster.tx_hash(ns, payload) != th]
    foreign = [th for th in seen if th in other_ns_hashes]
    unknown = [th for th in seen if th not in want and
               th not in other_ns_hashes]
    wrong_payload = [th for (h, idx, th, payload) in lines
                     if th in want and want[th] != payload]
    missing = [th for th in want if th not in seen]
    t.check(not dup, "%s: no transaction applied twice" % name,
            "%d duplicates, first %s" % (len(dup), dup[:3]) if dup else
            "%d lines" % len(lines))
    t.check(not bad_hash, "%s: every tx_hash is SHA-256(u64be(%d) || "
            "payload)" % (name, ns), "%d bad, first %s" %
            (len(bad_hash), bad_hash[:3]) if bad_hash else "")
    t.check(not foreign, "%s: nothing from another namespace" % name,
            "%d foreign, first %s" % (len(foreign), foreign[:3])
            if foreign else "")
    t.check(not wrong_payload, "%s: payloads as submitted" % name,
            "%d differ, first %s" % (len(wrong_payload), wrong_payload[:3])
            if wrong_payload else "")
    t.check(not missing, "%s: every acked transaction of rollup %d applied"
            % (name, ns), "%d of %d missing, first %s" %
            (len(missing), len(want), missing[:3]) if missing else
            "%d acked" % len(want))
    t.check(not unknown, "%s: no transaction that was never submitted"
            % name, "%d unknown, first %s" % (len(unknown), unknown[:3])
            if unknown else "")
    # Order: heights never decrease; the indices of a height are 0..k-1.
    order_bad = []
    by_height = {}
    prev = 0
    for (h, idx, th, payload) in lines:
        if h < prev:
            order_bad.append(("height", prev, h))
        prev = h
        by_height.setdefault(h, []).append(idx)
    for h, idxs in by_height.items():
        if idxs != list(range(len(idxs))):
            order_bad.append(("indices", h, idxs[:10]))
    t.check(not order_bad, "%s: heights non-decreasing, indices 0..k-1 per "
            "height" % name, "%d problems, first %s" %
            (len(order_bad), order_bad[:3]) if order_bad else
            "%d heights with entries" % len(by_height))
    return by_height


def test(c, t, args):
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    t.log("payload seed %d" % seed)
    prng = random.Random(seed)
    c.launch()
    ok, took, last = c.wait_heights(3, timeout=30)
    t.require(ok, "the testnet commits", "heights %s" % last)
    t.require([ns["id"] for ns in c.namespaces()] == NAMESPACES,
              "the testnet registers rollups 1..3", "%s" % c.namespaces())
    for name in ("seq-exec",):
        t.require(os.access(c.tool(name), os.X_OK), "%s is built" % name,
                  c.tool(name))

    victim = 0
    execs = {
        "ex1a": cluster.Executor(c, "ex1a", 1, [0, 1, 2, 3]),
        "ex1b": cluster.Executor(c, "ex1b", 1, [2, 3, 0, 1]),
        "ex2": cluster.Executor(c, "ex2", 2, [1, 2, 3, 0]),
        "ex3": cluster.Executor(c, "ex3", 3, [3, 0, 1, 2]),
    }
    for e in execs.values():
        e.start()
    txs = cluster.make_payloads(prng, N_TX, NAMESPACES, 64, 200, b"e2e")
    want_all = {}
    for ns, p in txs:
        want_all.setdefault(ns, {})[cluster.tx_hash(ns, p)] = p
    t.measure("transactions per namespace",
              {ns: len(v) for ns, v in sorted(want_all.items())})

    sub = cluster.Submitter(c, range(c.n), threads=THREADS, seed=seed)
    t_load = time.monotonic()
    th = sub.start(txs)

    def acked_fraction():
        with sub.lock:
            return len(sub.acked) / float(N_TX)

    # Kill the validator ex1a follows once ~40% are acked.
    ok, _ = cluster.wait_until(lambda: acked_fraction() >= KILL_AT or
                               not th.is_alive(), 120, 0.01)
    kill_height = c.height(1)
    deferred = c.metrics(victim).get("seq_syncs_deferred_total", 0)
    c.kill9(victim)
    # The kill lands while turns leave writes staged (net_node.c D6): what
    # node%d acked before must still be delivered (checked below).
    t.check(deferred > 0, "node%d left some turns' writes to a later sync "
            "before its SIGKILL" % victim, "%d turns" % deferred)
    sub.set_nodes([i for i in range(c.n) if i != victim])
    t_kill = time.monotonic()
    with sub.lock:
        acked_at_kill = len(sub.acked)
        victim_acked = [h for h, v in sub.acked.items() if v[2] == victim]
    t.log("SIGKILL node%d at %d acked (%.0f%%, %d of them by node%d), "
          "height ~%s, %.1fs into the load" %
          (victim, acked_at_kill, 100.0 * acked_at_kill / N_TX,
           len(victim_acked), victim, kill_height, t_kill - t_load))

    # Kill and restart ex2 once ~60% are acked.
    cluster.wait_until(lambda: acked_fraction() >= EXEC_RESTART_AT or
                       not th.is_alive(), 120, 0.01)
    ex2 = execs["ex2"]
    h_before = ex2.height()
    n_before = len(ex2.applied())
    ex2.kill9()
    t.log("SIGKILL ex2 at its height %s (%d lines applied)" %
          (h_before, n_before))
    time.sleep(0.3)
    ex2.start()

    th.join(timeout=180)
    load_s = time.monotonic() - t_load
    t.require(not th.is_alive(), "the load finishes", "%.1fs" % load_s)
    with sub.lock:
        acked = dict(sub.acked)
    t.measure("load", "%d acked of %d in %.1fs (%.0f tx/s), %d retries, "
              "errors %s" % (len(acked), N_TX, load_s, len(acked) / load_s,
                             sub.retries, sub.errors))
    t.check(not sub.bad_hash, "every 202 carries the tx hash "
            "SHA-256(u64be(ns) || payload)", "%d differ, first %s" %
            (len(sub.bad_hash), sub.bad_hash[:3]) if sub.bad_hash else "")
    t.check(not sub.refused and not sub.gave_up,
            "every transaction is acked (retries allowed)",
            "refused %d (first %s), gave up %d (first %s)" %
            (len(sub.refused), list(sub.refused.items())[:2],
             len(sub.gave_up), list(sub.gave_up.items())[:2]))
    t.measure("submissions retried at another validator",
              "%d connection errors, %d retries" %
              (sub.errors.get("connection", 0), sub.retries))

    want = {ns: {} for ns in NAMESPACES}
    for h, (ns, payload, node, st) in acked.items():
        want[ns][h] = payload

    # Delivery, bounded, with node0 still dead. A 202 means the receiving
    # validator has the transaction on disk in a batch; one that node0
    # acknowledged just before the kill may not have reached the others,
    # and arrives when node0 comes back (checked below).
    def missing(from_victim):
        out = {}
        for name, e in execs.items():
            have = {x[2] for x in e.applied()}
            out[name] = sum(1 for h in want[e.ns] if h not in have and
                            (from_victim or acked[h][2] != victim))
        return out
    last = {}

    def delivered(from_victim):
        last.clear()
        last.update(missing(from_victim))
        return all(v == 0 for v in last.values())
    ok, took = cluster.wait_until(lambda: delivered(False), DELIVERY_TIMEOUT,
                                  0.5)
    t.measure("delivery after the load ended (node%d dead)" % victim,
              "%.1fs" % took if ok else "incomplete: missing %s" % last)
    if not ok:
        for name, e in execs.items():
            t.log("--- %s (pid %s, running %s, state %s) log tail:\n%s" %
                  (name, e.pid(), e.running(), e.state(), e.log_tail(10)))
    t.check(ok, "every executor applies every transaction of its namespace "
            "that a live validator acknowledged, within %ds, with node%d "
            "dead" % (DELIVERY_TIMEOUT, victim), "missing %s" % last)
    t.measure("acknowledged only by node%d and not delivered while it is "
              "dead" % victim, "%s" % missing(True))

    for name, e in execs.items():
        t.check(e.running(), "%s is still running" % name,
                "exit status %s" % e.returncode())

    # ex1a must have failed over: blocks applied from another node after
    # the kill (its log says which node served each run of blocks). It
    # logs a run at most once a second (seq_exec.c, log_block), so the
    # line can trail the delivery checked above by a second.
    ep_victim = c.endpoint(victim, "client")
    nodes_used = []

    def served_elsewhere():
        served = [cluster.parse_logfmt(ln) for ln in
                  c.log_lines(None, path=execs["ex1a"].log_path)]
        nodes_used[:] = [r.get("node") for r in served
                         if r.get("msg") in ("applied block",
                                             "applied blocks") and
                         r.get("node")]
        return nodes_used and nodes_used[-1] != ep_victim
    cluster.wait_until(served_elsewhere, 5, 0.1)
    after = [n for n in nodes_used if n != ep_victim]
    t.check(after and nodes_used and nodes_used[-1] != ep_victim,
            "ex1a failed over from node%d to another validator" % victim,
            "nodes that served it, in order: %s" %
            sorted(set(nodes_used), key=nodes_used.index))

    # node0 comes back and catches up.
    top = max(h for h in c.heights([1, 2, 3]).values() if h is not None)
    c.start(victim)
    c.wait_live(victim, 30)
    ok, took, last = c.wait_heights(top, [victim], timeout=60)
    t.check(ok, "node%d restarts after SIGKILL and catches up to %d" %
            (victim, top), "%.1fs, heights %s" % (took, last))

    # Then everything acknowledged is delivered, node0's last batches too.
    ok, took = cluster.wait_until(lambda: delivered(True), DELIVERY_TIMEOUT,
                                  0.5)
    t.check(ok, "after node%d is back, every executor has applied every "
            "acknowledged transaction of its namespace" % victim,
            "missing %s after %.1fs" % (last, took))

    # Exactly once, per executor.
    other = {}
    for ns in NAMESPACES:
        other[ns] = {h for n2, hs in want_all.items() if n2 != ns
                     for h in hs}
    by_height = {}
    for name, e in execs.items():
        lines = e.applied()
        by_height[name] = check_output(t, name, e.ns, lines, want[e.ns],
                                       other[e.ns])
    with open(execs["ex1a"].output, "rb") as f:
        a = f.read()
    with open(execs["ex1b"].output, "rb") as f:
        b = f.read()
    t.check(a == b, "ex1a and ex1b wrote identical outputs (same order)",
            "%d and %d bytes" % (len(a), len(b)))
    t.check(execs["ex2"].starts == 2, "ex2 was restarted once midway",
            "starts %d, %d lines before the kill" %
            (execs["ex2"].starts, n_before))

    # A sample agrees with the HTTP API of a live validator.
    lines1 = execs["ex1a"].applied()
    heights = sorted(by_height["ex1a"])
    sample = heights[:: max(1, len(heights) // 40)][:40]
    mism = []
    for h in sample:
        blk = c.ns_block(1, 1, h)
        got = [(e["tx_hash"]) for e in blk["entries"]] if blk else None
        mine = [x[2] for x in lines1 if x[0] == h]
        if got != mine:
            mism.append((h, got and len(got), len(mine)))
    t.check(not mism, "executor output agrees with GET /v1/namespaces/1/"
            "blocks/<h> at %d sampled heights" % len(sample),
            "mismatches %s" % mism[:3])
    mism = []
    for (h, idx, th, payload) in rng.sample(lines1, min(30, len(lines1))):
        st = c.tx_status(2, th)
        if (st.get("status") != "committed" or int(st.get("height", -1)) != h
                or int(st.get("index", -1)) != idx or
                int(st.get("namespace", -1)) != 1):
            mism.append((th[:16], h, idx, st))
    t.check(not mism, "GET /v1/tx/<hash> on node2 reports the executor's "
            "height and index (30 sampled)", "mismatches %s" % mism[:3])

    for name, e in execs.items():
        rc = e.terminate()
        t.check(rc == 0, "%s exits 0 on SIGTERM" % name, "status %s" % rc)


if __name__ == "__main__":
    cluster.main(test, "4 validators, 3 rollups, 10,000 transactions: "
                 "executors get every acked transaction exactly once "
                 "across a validator kill and an executor restart",
                 rollups=3, deadline_s=225)
