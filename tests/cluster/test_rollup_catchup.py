#!/usr/bin/env python3
"""cluster/test_rollup_catchup: a subscriber catching up over big blocks is
served in several bounded turns, and still gets everything exactly once
(net_client.c C5: CLIENT_BYTES_PER_TURN; net_rollup.c R5: a namespace's
entries are read from whole stored batches).

4 validators, 3 rollups. About 14 MiB of rollup-2 transactions (near the
64 KiB max_tx_size) go to random validators, with small rollup-1 and
rollup-3 ones mixed in, and are committed before anyone follows rollup 2.
Then a seq-exec follows rollup 2 from height 1 through node0 with the
largest credit (1024, so credits never hold it back). On node0:
- the most one turn spent on namespace blocks, blocks sent plus stored
  batches read (seq_client_turn_bytes_max), is at most the budget plus
  one block and its height's batches, plus a block left built by the
  turn before (one subscriber); without the
  budget a turn takes up to 64 blocks whatever their size, here well
  over that;
- some turns were held by the budget
  (seq_client_turns_bytes_limited_total);
- the stored batches read to serve them (seq_read_batch_bytes_total) are
  at least the payload bytes delivered: entries come from the batches.
And the executor applies every acked rollup-2 transaction exactly once,
in the order of node0's namespace blocks, which an NDJSON stream of
rollup 2 from height 1 (bounded per call by the batch bytes it reads,
net_http.c H3) yields in full.
"""

import http.client
import os
import random

import cluster

BUDGET = 4 * 1024 * 1024  # CLIENT_BYTES_PER_TURN
BIG = (60 * 1024, 64 * 1024)
N_BIG = 224
N_SMALL = 300
SLACK = 256 * 1024  # Proofs, framing, the small transactions.
NS = 2
NODE = 0


def test(c, t, args):
    c.launch()
    ok, took, last = c.wait_heights(3, timeout=30)
    t.require(ok, "the testnet commits", "heights %s" % last)
    t.require(os.access(c.tool("seq-exec"), os.X_OK),
              "seq-exec is built")

    rng = random.Random()
    txs = cluster.make_payloads(rng, N_BIG, [NS], BIG[0], BIG[1], b"big")
    txs += cluster.make_payloads(rng, N_SMALL, [1, 3], 32, 256, b"small")
    rng.shuffle(txs)
    sub = cluster.Submitter(c, range(c.n), threads=4, seed=rng.random())
    took = sub.run(txs)
    want = sub.acked_by_ns().get(NS, {})
    t.measure("submitted", "%d transactions, %d of rollup %d (%.1f MiB), "
              "in %.1fs" % (len(sub.acked), len(want), NS,
                            sum(len(p) for p in want.values()) / 1048576.0,
                            took))
    t.require(len(want) == N_BIG and not sub.refused and not sub.gave_up,
              "every rollup-%d transaction is acked" % NS,
              "%d acked, refused %s, gave up %s" %
              (len(want), list(sub.refused.values())[:2],
               list(sub.gave_up.values())[:2]))

    def committed():
        try:
            return all(c.tx_status(NODE, h).get("status") == "committed"
                       for h in want)
        except (OSError, ValueError, http.client.HTTPException):
            return False
    ok, _ = cluster.wait_until(committed, 60, 0.5)
    t.require(ok, "node0 reports them all committed")

    top = c.height(NODE)
    m0 = c.metrics(NODE)
    ex = cluster.Executor(c, "ex2", NS, [NODE], credits=1024)
    ex.start()

    def caught_up():
        return (ex.height() or 0) >= top
    ok, took = cluster.wait_until(caught_up, 90, 0.2)
    t.require(ok, "the executor catches up to height %d" % top,
              "state %s; log:\n%s" % (ex.state(), ex.log_tail()))
    t.measure("catch-up from height 1 to %d" % top, "%.1fs" % took)
    m1 = c.metrics(NODE)

    # Node0's blocks, for the order and the largest one sent: its NDJSON
    # stream from height 1, which catches up under its own read bound
    # (net_http.c H3).
    stream = cluster.NsStream(c, NODE, NS, 1, timeout=10)
    t.require(stream.status == 200, "GET /v1/namespaces/%d/stream?from=1 "
              "answers 200" % NS, "status %d" % stream.status)
    blocks = []
    for h in range(1, top + 1):
        b = stream.next_block()
        if b is None:
            break
        blocks.append(b)
    stream.close()
    t.require([int(b["height"]) for b in blocks] == list(range(1, top + 1)),
              "node0's stream yields every height 1..%d once, in order" %
              top, "got %d blocks" % len(blocks))
    order = []
    largest = 0
    for b in blocks:
        size = 0
        for e in b["entries"]:
            order.append(e["tx_hash"])
            size += len(e["payload"]) * 3 // 4
        largest = max(largest, size)

    limited = (m1["seq_client_turns_bytes_limited_total"] -
               m0["seq_client_turns_bytes_limited_total"])
    read = (m1["seq_read_batch_bytes_total"] -
            m0["seq_read_batch_bytes_total"])
    sent = (m1["seq_client_blocks_sent_total"] -
            m0["seq_client_blocks_sent_total"])
    payload = sum(len(p) for p in want.values())
    # One subscriber: a turn first sends the block a full queue left built
    # (at most the largest), then builds while under the budget; past it
    # only by its last block, which costs its encoded size (payload plus
    # proofs) and its height's batches (its payload plus the few small
    # transactions beside it).
    bound = BUDGET + 3 * largest + SLACK
    turn_max = m1["seq_client_turn_bytes_max"]
    t.measure("on node0 during the catch-up", "%d blocks sent, %.1f MiB of "
              "batches read, largest block %.2f MiB, %d turns held by the "
              "byte budget, at most %.2f MiB in one turn" %
              (sent, read / 1048576.0, largest / 1048576.0, limited,
               turn_max / 1048576.0))
    t.check(read >= payload, "node0 read at least the delivered payload "
            "bytes from its stored batches", "read %d, payload %d" %
            (read, payload))
    t.check(payload + read > 2 * bound, "the rollup's data is well over "
            "what one turn may take", "%d bytes, bound %d" %
            (payload + read, bound))
    t.check(turn_max <= bound, "no turn spent more than the budget plus "
            "one block and its batches", "%d > %d" % (turn_max, bound)
            if turn_max > bound else "%d <= %d" % (turn_max, bound))
    t.check(limited >= 1, "turns were held by the byte budget",
            "%d turns" % limited)

    lines = ex.applied()
    hashes = [x[2] for x in lines]
    t.check(len(hashes) == len(set(hashes)) and set(hashes) == set(want),
            "the executor applies every acked rollup-%d transaction exactly "
            "once" % NS, "%d lines, %d distinct, %d acked" %
            (len(hashes), len(set(hashes)), len(want)))
    t.check(hashes == order, "in the order of node0's namespace blocks",
            "%d applied, %d in the blocks" % (len(hashes), len(order)))
    payloads_ok = all(want.get(x[2]) == x[3] for x in lines)
    t.check(payloads_ok, "with the payloads that were submitted")
    rc = ex.terminate()
    t.check(rc == 0, "the executor exits 0 on SIGTERM", "status %s" % rc)


if __name__ == "__main__":
    cluster.main(test, "a subscriber catching up over big blocks is served "
                 "in bounded turns and gets everything exactly once",
                 rollups=3)
