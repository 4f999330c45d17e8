#!/usr/bin/env python3
"""cluster/test_rollup_backpressure: consumers that stop reading push back
on the validator instead of making it buffer (DESIGN §5: credit-based
subscriptions; net_http.c H3: a stream holds one line).

On node0 of a 4-validator, 3-rollup testnet, at the same time:
- a seq-exec following rollup 1 from node0 (--credits 64) is SIGSTOPped
  for 30 s;
- a raw HTTP reader of GET /v1/namespaces/1/stream?from=<h> (small
  SO_RCVBUF) stops reading for the same 30 s;
while HTTP load continues (~150 tx/s of 1-2 KiB payloads over the three
rollups, to all four validators).

During the window: node0 answers /livez, keeps committing and accepting,
it sends the stopped executor no more than its credit
(seq_client_blocks_sent_total), it produces for the stalled stream no
more bytes than the socket buffers hold (the lines counted by
seq_http_stream_blocks_total during the window, measured when read
afterwards, against net.ipv4.tcp_wmem's maximum plus our SO_RCVBUF), and
its VmRSS stays bounded. Every
node's RSS grows under this load by about RocksDB's memtable (~55 MiB
here, dropping at a flush), so the bound is relative: node0's growth may
exceed the largest growth among the other three (same load, no stalled
consumer) by less than 16 MiB; and absolutely it stays below 128 MiB.
Then SIGCONT and
reading again: the executor applies every acked rollup-1 transaction
exactly once, and the stream yields every height from `from` exactly
once, in order, whose rollup-1 entries are exactly the acked ones, the
same as the executor's.
"""

import os
import random
import time

import cluster

PAUSE_S = 30.0
RATE = 150
PAYLOAD = (1024, 2048)
CREDITS = 64
RCVBUF = 16384
RSS_EXTRA_KIB = 16 * 1024
RSS_LIMIT_KIB = 128 * 1024
NODE = 0
NS = 1


def tcp_wmem_max():
    try:
        with open("/proc/sys/net/ipv4/tcp_wmem") as f:
            return int(f.read().split()[2])
    except (OSError, ValueError, IndexError):
        return 4 * 1024 * 1024


def test(c, t, args):
    c.launch()
    ok, took, last = c.wait_heights(3, timeout=30)
    t.require(ok, "the testnet commits", "heights %s" % last)
    t.require(os.access(c.tool("seq-exec"), os.X_OK), "seq-exec is built")
    ex = cluster.Executor(c, "ex1", NS, [0, 1, 2, 3], credits=CREDITS)
    ex.start()
    ok, _ = cluster.wait_until(lambda: (ex.height() or 0) >= 1, 30, 0.1)
    t.require(ok, "the executor follows rollup %d" % NS,
              "state %s; log:\n%s" % (ex.state(), ex.log_tail()))

    frm = c.height(NODE)
    stream = cluster.NsStream(c, NODE, NS, frm, rcvbuf=RCVBUF, timeout=10)
    t.require(stream.status == 200, "GET /v1/namespaces/%d/stream?from=%d "
              "answers 200" % (NS, frm), "status %d" % stream.status)
    first = stream.next_block()
    t.require(first is not None and int(first["height"]) == frm,
              "the stream starts at height %d" % frm, "got %s" %
              (first and first.get("height")))

    rng = random.Random()
    n_tx = int(RATE * (PAUSE_S + 8))
    txs = cluster.make_payloads(rng, n_tx, [1, 2, 3], PAYLOAD[0], PAYLOAD[1],
                                b"bp")
    sub = cluster.Submitter(c, range(c.n), threads=4, seed=rng.random())
    load = sub.start(txs, rate=RATE)
    time.sleep(3)  # The load is running; RSS baseline under load.

    m0 = c.metrics(NODE)
    rss0 = {i: c.rss_kib(i) for i in range(c.n)}
    h0 = c.height(NODE)
    ex.pause()
    t_pause = time.monotonic()
    t.log("SIGSTOP the executor (pid %d) and stop reading the stream at "
          "height %s; VmRSS KiB %s" % (ex.pid(), h0, rss0))
    rss_max = dict(rss0)
    live_bad = []
    samples = 0
    while time.monotonic() - t_pause < PAUSE_S:
        time.sleep(0.5)
        samples += 1
        for i in range(c.n):
            rss = c.rss_kib(i)
            if rss is not None:
                rss_max[i] = max(rss_max[i], rss)
        try:
            st, _ = c.http_json(NODE, "/livez", timeout=2)
        except (OSError, ValueError) as e:
            st = str(e)
        if st != 200:
            live_bad.append(st)
    h1 = c.height(NODE)
    m1 = c.metrics(NODE)
    rss1 = {i: c.rss_kib(i) for i in range(c.n)}
    with sub.lock:
        acked_now = len(sub.acked)
    grow = {i: rss_max[i] - rss0[i] for i in range(c.n)}
    t.measure("VmRSS KiB over the %.0fs window" % PAUSE_S,
              "before %s, max %s, after %s, growth %s" %
              (rss0, rss_max, rss1, grow))
    t.check(c.running(NODE) and not live_bad, "node0 answers /livez "
            "throughout", "%d samples, bad %s" % (samples, live_bad[:3]))
    t.check(h1 is not None and h0 is not None and h1 - h0 >= 30,
            "node0 keeps committing meanwhile", "height %s -> %s" % (h0, h1))
    peers = max(grow[i] for i in range(c.n) if i != NODE)
    t.check(grow[NODE] - peers < RSS_EXTRA_KIB, "node0's VmRSS grows by "
            "less than %d MiB more than its peers'" %
            (RSS_EXTRA_KIB // 1024), "node0 +%d KiB, peers at most +%d KiB"
            % (grow[NODE], peers))
    t.check(grow[NODE] < RSS_LIMIT_KIB, "node0's VmRSS grows by less than "
            "%d MiB" % (RSS_LIMIT_KIB // 1024), "+%d KiB" % grow[NODE])
    sent = (m1["seq_client_blocks_sent_total"] -
            m0["seq_client_blocks_sent_total"])
    dropped = (m1["seq_client_replies_dropped_total"] -
               m0["seq_client_replies_dropped_total"])
    sblocks = (m1["seq_http_stream_blocks_total"] -
               m0["seq_http_stream_blocks_total"])
    t.measure("while stopped: heights committed, blocks sent to the "
              "executor, stream lines produced", "%s, %d, %d" %
              (h1 - h0, sent, sblocks))
    t.check(sent <= 2 * CREDITS, "node0 sends the stopped executor no more "
            "than its credit (%d)" % CREDITS, "%d blocks sent in %d heights"
            % (sent, h1 - h0))
    t.check(dropped == 0, "and drops no reply to it",
            "seq_client_replies_dropped_total +%d" % dropped)
    t.check(m1["seq_http_streams_opened_total"] == 1 and
            m1["seq_http_streams"] == 1, "ours is node0's only stream",
            "opened %d, open %d" % (m1["seq_http_streams_opened_total"],
                                     m1["seq_http_streams"]))
    # Lines [p0, p1) of our stream were produced during the window.
    p0 = int(m0["seq_http_stream_blocks_total"])
    p1 = int(m1["seq_http_stream_blocks_total"])
    t.log("load: %d acked so far" % acked_now)

    ex.resume()
    t.log("SIGCONT the executor; reading the stream again")
    load.join(timeout=90)
    t.check(not load.is_alive() and not sub.refused and not sub.gave_up,
            "the load finishes, every transaction acked",
            "refused %d, gave up %d, errors %s" %
            (len(sub.refused), len(sub.gave_up), sub.errors))
    want = sub.acked_by_ns().get(NS, {})
    t.measure("acked rollup-%d transactions" % NS, len(want))

    # Every acked rollup-1 transaction committed, then the height to read to.
    def committed_top():
        top = 0
        for h in list(want)[-50:]:
            st = c.tx_status(1, h)
            if st.get("status") != "committed":
                return None
            top = max(top, int(st["height"]))
        return top
    top, _ = cluster.wait_until(committed_top, 60, 0.5)
    t.require(top, "the last acked transactions commit")
    ok, _, last = c.wait_heights(max(top, h1) + 5, [NODE], timeout=30)
    end = max(top, h1) + 5

    # The stream: every height once, in order; entries as acked.
    stream.settimeout(30)
    sizes = [stream.last_len]
    heights = [int(first["height"])]
    entries = {int(first["height"]): [e["tx_hash"] for e in
                                      first["entries"]]}
    order_bad = []
    t_read = time.monotonic()
    try:
        while heights[-1] < end:
            blk = stream.next_block()
            if blk is None:
                break
            sizes.append(stream.last_len)
            h = int(blk["height"])
            if h != heights[-1] + 1:
                order_bad.append((heights[-1], h))
            heights.append(h)
            if int(blk["namespace"]) != NS:
                order_bad.append(("namespace", blk["namespace"]))
            entries.setdefault(h, []).extend(e["tx_hash"]
                                             for e in blk["entries"])
    except (OSError, ValueError) as e:
        t.log("stream read stopped: %s" % e)
    stream.close()
    t.measure("stream read after the window", "%d heights %d..%d in %.1fs" %
              (len(heights), heights[0], heights[-1],
               time.monotonic() - t_read))
    t.check(not order_bad and heights[-1] >= end and
            len(heights) == len(set(heights)),
            "the stream yields every height %d..%d exactly once, in order" %
            (frm, end), "problems %s; last height %d" %
            (order_bad[:3], heights[-1]))
    produced = sum(sizes[p0:p1])
    would = sum(sizes[p0:])
    bound = tcp_wmem_max() + 2 * RCVBUF + 64 * 1024 + max(sizes) + (512 << 10)
    t.measure("stream bytes node0 produced while the reader stalled",
              "%d KiB in %d lines (the heights of the window and after "
              "are %d KiB; bound %d KiB)" % (produced >> 10, p1 - p0,
                                             would >> 10, bound >> 10))
    t.check(produced <= bound, "node0 produced for the stalled stream no "
            "more than the socket buffers hold (back-pressure)",
            "%d bytes, bound %d" % (produced, bound))
    seen = [h for hs in entries.values() for h in hs]
    dups = len(seen) - len(set(seen))
    missing = [h for h in want if h not in set(seen)]
    unknown = [h for h in set(seen) if h not in want]
    t.check(not dups and not missing and not unknown,
            "the stream's rollup-%d entries are exactly the acked "
            "transactions, once each" % NS, "%d twice, %d missing, %d "
            "never acked" % (dups, len(missing), len(unknown)))

    # The executor: everything, once, the same as the stream.
    def caught_up():
        have = {x[2] for x in ex.applied()}
        return all(h in have for h in want)
    ok, took = cluster.wait_until(caught_up, 90, 0.5)
    t.measure("executor catch-up after SIGCONT", "%.1fs" % took if ok else
              "incomplete (state %s)" % ex.state())
    lines = ex.applied()
    hashes = [x[2] for x in lines]
    t.check(ok and len(hashes) == len(set(hashes)) and
            set(hashes) == set(want),
            "the executor applies every acked rollup-%d transaction exactly "
            "once" % NS, "%d lines, %d distinct, %d acked, %d missing" %
            (len(hashes), len(set(hashes)), len(want),
             len(set(want) - set(hashes))))
    by_h = {}
    for (h, idx, th, p) in lines:
        by_h.setdefault(h, []).append(th)
    diff = [h for h in range(frm, end + 1)
            if by_h.get(h, []) != entries.get(h, [])]
    t.check(not diff, "the executor's output and the stream agree at every "
            "height %d..%d" % (frm, end), "%d differ, first %s" %
            (len(diff), diff[:3]))
    if not ok:
        t.log("executor log:\n%s" % ex.log_tail(20))
    rc = ex.terminate()
    t.check(rc == 0, "the executor exits 0 on SIGTERM", "status %s" % rc)


if __name__ == "__main__":
    cluster.main(test, "a stopped executor and a stalled NDJSON reader push "
                 "back on the validator; afterwards each gets everything "
                 "exactly once", rollups=3)
