#!/usr/bin/env python3
"""cluster/test_kill_all: kill -9 every node at once while the cluster
commits, restart them all, twice in a row. After each restart progress
resumes from RocksDB: each node recovers at least the height it reported
over HTTP just before the kill (HTTP shows only what is durable, net_node.c
D4), and the cluster commits above the pre-kill heights. At the end: no
fork (same hash at every height on all nodes), and no key signed two
different votes or two different timeouts for one round, checked from
every node's log across all three runs (`sent vote` / `sent timeout`
lines, logged as each message leaves, net_node.c D5): for each (validator,
round) at most one distinct block and at most one distinct high_qc_round.
"""

import cluster

CYCLES = 2
ADVANCE = 20
BEFORE_KILL = 100  # heights between kills: 10 s of an idle chain (idle
# pacing makes 10 blocks/s, hs_core.c (P1))


def recovered_height(c, i):
    """The committed height node i's latest run recovered from RocksDB."""
    recs = c.log_records(i)
    for rec in reversed(recs):
        msg = rec.get("msg", "")
        if msg.startswith("recovered: committed height "):
            return int(msg.split()[3].rstrip(","))
    return None


def check_signatures(c, t):
    votes = {}  # (validator, round) -> {block}
    timeouts = {}  # (validator, round) -> {high_qc_round}
    lines = 0
    for i in range(c.n):
        for rec in c.log_records(i):
            msg = rec.get("msg")
            if msg == "sent vote":
                key = (int(rec["validator"]), int(rec["round"]))
                votes.setdefault(key, set()).add(rec["block"])
                lines += 1
            elif msg == "sent timeout":
                key = (int(rec["validator"]), int(rec["round"]))
                timeouts.setdefault(key, set()).add(rec["high_qc_round"])
                lines += 1
    double_votes = {k: v for k, v in votes.items() if len(v) > 1}
    double_tos = {k: v for k, v in timeouts.items() if len(v) > 1}
    t.measure("signed messages parsed from all logs",
              "%d lines: %d (validator, round) votes, %d timeouts" %
              (lines, len(votes), len(timeouts)))
    t.check(votes and not double_votes,
            "no validator voted for two blocks in one round",
            "%d conflicts, e.g. %s" % (len(double_votes),
                                       list(double_votes.items())[:3])
            if double_votes else "")
    t.check(not double_tos,
            "no validator signed two different timeouts for one round",
            "%d conflicts, e.g. %s" % (len(double_tos),
                                       list(double_tos.items())[:3])
            if double_tos else "")


def test(c, t, args):
    nodes = list(range(c.n))
    c.launch()
    ok, took, last = c.wait_heights(50, timeout=30)
    t.require(ok, "the testnet commits", "heights %s after %.2fs" %
              (last, took))

    for cycle in range(1, CYCLES + 1):
        ok, took, base, last = c.wait_progress(BEFORE_KILL, timeout=60)
        t.require(ok, "cycle %d: committing before the kill" % cycle,
                  "heights %s" % last)
        pre = c.heights(nodes)
        c.kill9_many(nodes)
        t.measure("cycle %d: heights just before kill -9 of all" % cycle, pre)
        c.start_all()
        rec = {i: recovered_height(c, i) for i in nodes}
        t.measure("cycle %d: heights recovered from RocksDB" % cycle, rec)
        t.check(all(rec[i] is not None and pre[i] is not None and
                    rec[i] >= pre[i] for i in nodes),
                "cycle %d: every node recovers at least its pre-kill height"
                % cycle, "pre %s, recovered %s" % (pre, rec))
        top = max(h for h in pre.values() if h is not None)
        ok, took, last = c.wait_heights(top + ADVANCE, timeout=30,
                                        interval=0.02)
        t.measure("cycle %d: restart -> all nodes %d above the highest "
                  "pre-kill height %d" % (cycle, ADVANCE, top),
                  "%.3fs" % took)
        t.check(ok, "cycle %d: progress resumes above the pre-kill heights"
                % cycle, "heights %s" % last)

    c.check_agreement(t, nodes, "after %d kill-all cycles" % CYCLES)
    check_signatures(c, t)


if __name__ == "__main__":
    cluster.main(test, "kill -9 all nodes while committing, restart (twice): "
                 "resume from RocksDB, no fork, no double signing")
