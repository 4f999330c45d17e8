#!/usr/bin/env python3
"""cluster/test_byzantine_router: a validator that answers our DEALERs
with frames of its own and then resets the connections crashes nobody
(net_mesh.c M5, M7).

node3 is stopped and a pyzmq ROUTER holding node3's CURVE pair takes its
p2p endpoint, so the DEALERs of node0..node2 connect to it as to node3.

(i)   Honest traffic: with all four validators up, nothing arrives on a
      DEALER, so seq_p2p_dropped_bad_total stays put on every node.
(ii)  A fake node3 sends two messages to each honest DEALER as soon as it
      has connected, stops reading what the honest nodes send it, and
      closes with that data unread, which resets the three connections.
      Before the fix, the DEALERs' ZMTP heartbeat timer then fired on a
      connection with a full pipe (RCVHWM 1) and an I/O error, and
      libzmq 4.3.4 aborted every honest node within a second
      (zeromq/libzmq#4364; 2 runs of 2). Every node must still run 3 s
      later and keep committing.
(iii) A second fake node3 on the same endpoint: the DEALERs come back to
      it, which they cannot if the reset left a connection nobody reads.
      It sends each of them messages of several shapes (two parts, one,
      three): each node reads every one and counts it in
      seq_p2p_dropped_bad_total.
(iv)  The real node3 comes back: node0..node2 reconnect to it (seq_peers
      back to 3), all four commit and agree.
"""

import time

import cluster

try:
    import zmq
except ImportError:  # Debian: apt-get install python3-zmq
    zmq = None

HONEST = (0, 1, 2)


def dropped_bad(c, i):
    return int(c.metrics(i).get("seq_p2p_dropped_bad_total", -1))


def fake_router(c, ctx):
    """A ROUTER on node3's p2p endpoint with node3's CURVE pair. No ZAP
    handler: libzmq admits every client then, which is all we need."""
    keys = c.node_key(3)
    r = ctx.socket(zmq.ROUTER)
    r.setsockopt(zmq.LINGER, 0)
    r.setsockopt(zmq.RCVHWM, 2)  # So that it stops reading soon (ii).
    r.curve_server = True
    r.curve_secretkey = keys["secret_key"].encode()
    r.curve_publickey = keys["public_key"].encode()
    r.bind(c.endpoint(3, "p2p"))
    return r


def dealers(c, t, r, label):
    """{validator index: routing id} from the hellos of the honest DEALERs
    (kind 0x01, genesis hash || index)."""
    found = {}
    gh = c.genesis_hash()
    deadline = time.monotonic() + 15
    while len(found) < len(HONEST) and time.monotonic() < deadline:
        if not r.poll(200):
            continue
        m = r.recv_multipart()
        if len(m) == 3 and m[1] == b"\x01" and len(m[2]) == 36 and \
                m[2][:32] == gh:
            found[int.from_bytes(m[2][32:], "big")] = m[0]
    t.require(sorted(found) == [c.validator_index(i) for i in HONEST],
              "%s the DEALERs of node0..node2 connect to the fake node3" %
              label,
              "hellos from validators %s" % sorted(found))
    return found


def test(c, t, args):
    cluster.launch_committing(c, t, 10, need_zmq=True)

    # (i)
    before = {i: dropped_bad(c, i) for i in range(c.n)}
    ok, took, base, last = c.wait_progress(20, timeout=30)
    t.require(ok, "(i) 20 more heights", "heights %s" % last)
    after = {i: dropped_bad(c, i) for i in range(c.n)}
    t.check(after == before, "(i) honest traffic puts nothing on a DEALER: "
            "seq_p2p_dropped_bad_total unchanged over 20 heights",
            "before %s after %s" % (before, after))

    # (ii)
    c.terminate(3)
    ctx = zmq.Context()
    r = fake_router(c, ctx)
    try:
        rids = dealers(c, t, r, "(ii)")
        for rid in rids.values():
            for _ in range(2):
                r.send_multipart([rid, b"\x02", b"z" * 10])
        # Not read from here on: what the honest nodes send node3 (a few
        # frames a round) stays in this socket's kernel buffer, so the
        # close below resets. A stimulus, not a wait for some state: the
        # old build aborted with 0.3 s here as with 0.6 s.
        time.sleep(0.3)
    finally:
        r.close(linger=0)
        ctx.term()
    # What is checked is an absence (no abort), so it gets a window: the
    # old build aborted within a second of the reset (heartbeat interval
    # 1 s); three are watched.
    time.sleep(3.0)
    for i in HONEST:
        t.check(c.running(i), "(ii) node%d survives the reset of its "
                "DEALER's connection" % i, "exit code %s" %
                (c.procs[i].poll(),))
    if not all(c.running(i) for i in HONEST):
        for i in HONEST:
            if not c.running(i):
                t.log("node%d log tail:\n%s" % (i, c.log_tail(i, 5)))
        raise cluster.Tester.Stop("an honest node died")
    ok, took, base, last = c.wait_progress(10, nodes=HONEST, timeout=30)
    t.check(ok, "(ii) node0..node2 keep committing without node3",
            "from %d, heights %s (%.2fs)" % (base, last, took))

    # (iii)
    ctx = zmq.Context()
    r = fake_router(c, ctx)
    try:
        rids = dealers(c, t, r, "(iii)")
        shapes = [[b"\x02", b"x" * 10], [b"\x02", b""], [b"\x01"],
                  [b"\x02", b"a", b"b"], [b"\x07", b"y" * 900]]
        before = {i: dropped_bad(c, i) for i in HONEST}
        for rid in rids.values():
            for m in shapes:
                r.send_multipart([rid] + m)
        want = {i: before[i] + len(shapes) for i in HONEST}
        got = {}

        def counted():
            got.update({i: dropped_bad(c, i) for i in HONEST})
            return all(got[i] >= want[i] for i in HONEST)
        ok, took = cluster.wait_until(counted, 10)
        t.check(ok, "(iii) every message the fake node3 sends a DEALER is "
                "read and counted in seq_p2p_dropped_bad_total",
                "want >= %s, got %s (%.2fs)" % (want, got, took))
    finally:
        r.close(linger=0)
        ctx.term()

    # (iv)
    c.start(3)
    c.wait_live(3)

    def peers_back():
        return all(int(c.metrics(i).get("seq_peers", -1)) == 3
                   for i in HONEST)
    ok, took = cluster.wait_until(peers_back, 20)
    t.check(ok, "(iv) node0..node2 count node3 as a peer again",
            "%.2fs" % took)
    ok, took, base, last = c.wait_progress(10, timeout=30)
    t.check(ok, "(iv) all four commit", "from %d, heights %s (%.2fs)" %
            (base, last, took))
    c.check_agreement(t, list(range(c.n)), "after the fake node3")


if __name__ == "__main__":
    cluster.main(test, "a validator that sends on our DEALERs and resets "
                 "the connections crashes nobody")
