#!/usr/bin/env python3
"""cluster/test_commit_agree: a 4-node testnet starts and commits, and every
node reports the same block hash at EVERY height 1..(lowest common height),
fetched from each node's /v1/blocks/<h>.

Measured on the idle cluster (no transactions):
- committed blocks/s: height increase over a fixed window, per node, from
  /v1/status polled every 100 ms;
- block interval p50/p99: on each node, the time between the commit of
  height h-1 and of height h, from the `msg="commit"` log lines (ms
  timestamps), over the window;
- vote-to-commit latency p50/p99: on each node, from its `sent vote` for a
  block to its `commit` of that block (same hash), i.e. how long a block
  this node voted for waits to be committed by it.
"""

import time

import cluster

WARMUP_HEIGHT = 50
WINDOW_S = 6.0


def observe(c, t, seconds, nodes):
    """Heights of `nodes` polled every 100 ms for `seconds`: list of
    (monotonic time, {node: height})."""
    samples = []
    end = time.monotonic() + seconds

    def done():
        samples.append((time.monotonic(), c.heights(nodes)))
        return time.monotonic() >= end
    cluster.wait_until(done, seconds + 5, interval=0.1)
    return samples


def log_latencies(c, i, wall_lo, wall_hi):
    """(block intervals, vote-to-commit latencies) in ms on node i for
    commits logged in [wall_lo, wall_hi]."""
    commits = {}  # height -> ts
    commit_hash = {}  # hash16 -> ts
    votes = {}  # hash16 -> first vote ts
    for rec in c.log_records(i):
        msg = rec.get("msg")
        if msg == "commit":
            ts = cluster.parse_ts(rec["ts"])
            commits[int(rec["height"])] = ts
            commit_hash[rec["hash"][:16]] = ts
        elif msg == "sent vote":
            key = rec["block"][:16]
            votes.setdefault(key, cluster.parse_ts(rec["ts"]))
    intervals = []
    for h, ts in sorted(commits.items()):
        if wall_lo <= ts <= wall_hi and h - 1 in commits:
            intervals.append((ts - commits[h - 1]) * 1000.0)
    v2c = []
    for key, ts in commit_hash.items():
        if wall_lo <= ts <= wall_hi and key in votes:
            v2c.append((ts - votes[key]) * 1000.0)
    return intervals, v2c


def test(c, t, args):
    nodes = list(range(c.n))
    c.launch()
    ok, took, last = c.wait_heights(WARMUP_HEIGHT, timeout=30)
    t.require(ok, "the testnet commits: every node reaches height %d" %
              WARMUP_HEIGHT, "after %.2fs, heights %s" % (took, last))

    wall_lo = time.time()
    samples = observe(c, t, WINDOW_S, nodes)
    wall_hi = time.time()
    (t0, h0), (t1, h1) = samples[0], samples[-1]
    rates = {}
    for i in nodes:
        if h0[i] is not None and h1[i] is not None:
            rates[i] = (h1[i] - h0[i]) / (t1 - t0)
    t.measure("committed blocks/s over %.1fs (HTTP /v1/status)" % (t1 - t0),
              ", ".join("node%d %.1f" % (i, r) for i, r in rates.items()))
    t.check(len(rates) == c.n and all(r > 0 for r in rates.values()),
            "every node keeps committing during the window")

    all_iv, all_v2c = [], []
    for i in nodes:
        iv, v2c = log_latencies(c, i, wall_lo, wall_hi)
        all_iv += iv
        all_v2c += v2c
        if iv and v2c:
            t.measure("node%d block interval (commit h-1 -> commit h, log)" % i,
                      "n=%d p50=%.1fms p99=%.1fms max=%.1fms" %
                      (len(iv), cluster.percentile(iv, 50),
                       cluster.percentile(iv, 99), max(iv)))
            t.measure("node%d vote-to-commit latency (log)" % i,
                      "n=%d p50=%.1fms p99=%.1fms max=%.1fms" %
                      (len(v2c), cluster.percentile(v2c, 50),
                       cluster.percentile(v2c, 99), max(v2c)))
    if all_iv and all_v2c:
        t.measure("all nodes: block interval",
                  "p50=%.1fms p99=%.1fms" % (cluster.percentile(all_iv, 50),
                                             cluster.percentile(all_iv, 99)))
        t.measure("all nodes: vote-to-commit latency",
                  "p50=%.1fms p99=%.1fms" % (cluster.percentile(all_v2c, 50),
                                             cluster.percentile(all_v2c, 99)))
    t.check(bool(all_iv) and bool(all_v2c),
            "commit and vote log lines found for the window")

    top = c.check_agreement(t, nodes, "4 nodes")

    # Every committed block is certified by a quorum of distinct signers.
    quorum = 2 * ((c.n - 1) // 3) + 1
    weak = []
    for h in range(1, top + 1):
        b = c.block(0, h)
        signers = set((b.get("qc") or {}).get("signers") or [])
        if len(signers) < quorum:
            weak.append((h, sorted(signers)))
    t.check(not weak, "every committed block 1..%d on node0 has a QC of >= %d "
            "distinct signers" % (top, quorum),
            "%d without, first %s" % (len(weak), weak[:3]) if weak else "")


if __name__ == "__main__":
    cluster.main(test, "4 nodes commit and agree at every height; idle "
                 "throughput and latency")
