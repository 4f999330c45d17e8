#!/usr/bin/env python3
"""cluster/test_refusals: what is not part of the network stays out.

(a) A process holding a CURVE key that is not in genesis (a pyzmq DEALER
    with a fresh zmq.curve_keypair(), CURVE client of node0's p2p port,
    sending a HELLO and consensus-kind frames) is refused by node0's ZAP
    handler: node0's seq_zap_denied_total increases, none of its frame
    counters or its peer count changes, and the cluster keeps committing.
(b) `seqd start` on a home whose priv_validator_key.json holds a key that
    is not in genesis (fresh keys from `seqd keygen` in a copy of node3's
    home) exits 1 with an error naming the validator set.
(c) A node started with another genesis is refused: node3 is stopped with
    SIGTERM (exit 0), a copy of its home (keys, config; no data/) gets a
    genesis.json with another chain_id (same validators and keys, so ZAP
    admits it) and is started: it exits 1 within 10 s logging that its
    peers present another genesis, while the other three keep committing
    and count seq_p2p_dropped_mismatch_total > 0. Then node3's own home,
    whose data/ belongs to the original genesis, is started with the
    modified genesis.json: exit 1, "another genesis". Finally node3 gets its
    genesis back, rejoins, and all four agree.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import time

import cluster

try:
    import zmq
except ImportError:  # Debian: apt-get install python3-zmq
    zmq = None

EXIT_BOUND_S = 10.0


def metric_set(c, i):
    m = c.metrics(i)
    keys = ("seq_zap_denied_total", "seq_frames_bad_total",
            "seq_p2p_dropped_bad_total", "seq_p2p_dropped_mismatch_total",
            "seq_msgs_bad_total", "seq_peers")
    return {k.replace("seq_", ""): int(m.get(k, -1)) for k in keys}


def part_a(c, t):
    t.log("(a) a CURVE key that is not in genesis")
    before = {i: metric_set(c, i) for i in range(c.n)}
    h0 = c.heights()
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    try:
        pub, sec = zmq.curve_keypair()
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, 1000)
        sock.curve_serverkey = c.node_key(0)["public_key"].encode()
        sock.curve_publickey = pub
        sock.curve_secretkey = sec
        sock.connect(c.endpoint(0, "p2p"))
        sent = 0
        for msg in ([b"\x01", c.hello(3)], [b"\x02", os.urandom(200)],
                    [b"\x02", b"\x08\x01"], [b"\x01", c.hello(1)]):
            try:
                sock.send_multipart(msg, flags=zmq.NOBLOCK)
                sent += 1
            except zmq.Again:
                pass
        t.log("(a) queued %d messages on a DEALER with key %s" %
              (sent, pub.decode()))
        ok, took = cluster.wait_until(
            lambda: metric_set(c, 0)["zap_denied_total"] >
            before[0]["zap_denied_total"], 10, interval=0.05)
        after0 = metric_set(c, 0)
        t.measure("(a) node0 seq_zap_denied_total", "%d -> %d (%.2fs)" %
                  (before[0]["zap_denied_total"], after0["zap_denied_total"],
                   took))
        t.check(ok, "(a) node0's ZAP handler denies the unknown key")
    finally:
        sock.close(0)
        ctx.term()
    ok, took, base, last = c.wait_progress(10, timeout=30)
    t.check(ok, "(a) the cluster keeps committing", "from %d, heights %s" %
            (base, last))
    after = {i: metric_set(c, i) for i in range(c.n)}
    changed = {}
    for i in range(c.n):
        for k, v in before[i].items():
            if k == "zap_denied_total" and i == 0:
                continue
            if after[i][k] != v:
                changed["node%d.%s" % (i, k)] = (v, after[i][k])
    t.check(not changed, "(a) nothing else changes (frame counters, "
            "peers, other nodes' ZAP denials)",
            "changed: %s" % changed if changed else "")
    t.log("(a) heights %s -> %s" % (h0, c.heights()))


def rewrite_ports(c, home):
    """Point a copied home's config.toml at fresh free ports."""
    path = os.path.join(home, "config.toml")
    base = cluster.pick_base_port(1, c.rng)
    with open(path) as f:
        text = f.read()
    ports = iter([base, base + 1, base + 2])
    text = re.sub(r"127\.0\.0\.1:\d+", lambda m: "127.0.0.1:%d" % next(ports),
                  text)
    with open(path, "w") as f:
        f.write(text)


def copy_home(src, dst, with_data=False):
    os.makedirs(dst, mode=0o700)
    for name in ("config.toml", "genesis.json", "node_key.json",
                 "priv_validator_key.json"):
        shutil.copy2(os.path.join(src, name), os.path.join(dst, name))
    if with_data:
        shutil.copytree(os.path.join(src, "data"), os.path.join(dst, "data"))


def run_refused(c, t, home, label, log_path, want_text, bound_s):
    """Start seqd on `home`; check it exits 1 within bound_s with a
    level=error line containing want_text. Returns (rc, seconds)."""
    proc = c.spawn(home, log_path, label)
    start = time.monotonic()
    rc = c.wait_exit(proc, bound_s)
    took = time.monotonic() - start
    if rc is None:
        c.kill_proc(proc)
    errors = [r.get("msg", "") for r in c.log_records(0, path=log_path)
              if r.get("level") == "error"]
    t.measure("%s: exit status and time" % label,
              "%s after %.2fs" % (rc, took))
    t.measure("%s: error lines" % label, errors)
    t.check(rc == 1, "%s: exits with status 1 within %.0fs" %
            (label, bound_s), "status %s after %.2fs" % (rc, took))
    t.check(any(want_text in e for e in errors),
            "%s: logs an error mentioning '%s'" % (label, want_text))
    return rc, took


def part_b(c, t):
    t.log("(b) a validator key that is not in genesis")
    home = os.path.join(c.dir, "alien")
    copy_home(c.home(3), home)
    for name in ("node_key.json", "priv_validator_key.json"):
        os.unlink(os.path.join(home, name))
    out = subprocess.run([c.seqd, "keygen", "--home", home],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=30)
    t.require(out.returncode == 0, "(b) seqd keygen writes fresh keys",
              out.stdout.decode().strip())
    rewrite_ports(c, home)  # A refusal must not be a port clash in disguise.
    run_refused(c, t, home, "(b) alien key", os.path.join(c.dir, "alien.log"),
                "validator set", EXIT_BOUND_S)


def part_c(c, t):
    t.log("(c) another genesis")
    rc, took = c.terminate(3, timeout=10)
    t.measure("(c) node3 SIGTERM", "exit %s after %.2fs" % (rc, took))
    t.check(rc == 0, "(c) node3 exits 0 on SIGTERM", "status %s" % rc)
    others = [0, 1, 2]
    gpath = os.path.join(c.home(3), "genesis.json")
    with open(gpath, "rb") as f:
        original = f.read()
    genesis = json.loads(original)
    genesis["chain_id"] = "seq-other"
    modified = (json.dumps(genesis, indent=2) + "\n").encode()

    home = os.path.join(c.dir, "node3-other")
    copy_home(c.home(3), home)
    with open(os.path.join(home, "genesis.json"), "wb") as f:
        f.write(modified)
    before = {i: metric_set(c, i) for i in others}
    h0 = c.heights(others)
    run_refused(c, t, home, "(c) copy with another genesis",
                os.path.join(c.dir, "node3-other.log"),
                "present another genesis", EXIT_BOUND_S)
    ok, took, base, last = c.wait_progress(2, others, timeout=30)
    t.check(ok, "(c) the other three keep committing",
            "%s -> %s" % (h0, last))
    after = {i: metric_set(c, i) for i in others}
    from_copy = {i: after[i]["p2p_dropped_mismatch_total"] -
                 before[i]["p2p_dropped_mismatch_total"] for i in others}
    warned = {i: sum(1 for r in c.log_records(i)
                     if r.get("msg") == "peer has another genesis")
              for i in others}
    sent = sum(1 for r in c.log_records(
        0, path=os.path.join(c.dir, "node3-other.log"))
        if r.get("msg") in ("sent vote", "sent timeout"))
    t.measure("(c) seq_p2p_dropped_mismatch_total gained from the copy",
              from_copy)
    t.log("(c) NOTE: the copy logged %d votes/timeouts before stopping; it "
          "stops as soon as the hellos arrive, so its peers may have no "
          "consensus frame of it to drop" % sent)
    t.check(all(w > 0 for w in warned.values()),
            "(c) the other three detect the copy's genesis ('peer has "
            "another genesis')", "%s" % warned)
    mismatched_peer_frames(c, t, others, hashlib.sha256(modified).digest())

    # node3's own data/ belongs to the original genesis.
    with open(gpath, "wb") as f:
        f.write(modified)
    try:
        run_refused(c, t, c.home(3), "(c) node3 data/ with another genesis",
                    c.log_path(3), "another genesis", EXIT_BOUND_S)
    finally:
        with open(gpath, "wb") as f:
            f.write(original)
    c.start(3)
    c.wait_live(3)
    target = max(h for h in c.heights(others).values() if h is not None)
    ok, took, last = c.wait_heights(target, [3], timeout=30, interval=0.05)
    t.check(ok, "(c) node3, its genesis restored, rejoins (%d within 30s)" %
            target, "%.2fs, heights %s" % (took, last))


def mismatched_peer_frames(c, t, others, other_hash):
    """While node3 is down: a DEALER holding node3's CURVE key (admitted by
    ZAP) presents the other genesis to each of `others` and sends consensus
    frames, which they must drop and count in
    seq_p2p_dropped_mismatch_total."""
    frames = 5
    before = {i: metric_set(c, i) for i in others}
    keys = c.node_key(3)
    ctx = zmq.Context()
    socks = []
    try:
        for i in others:
            sock = ctx.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.curve_serverkey = c.node_key(i)["public_key"].encode()
            sock.curve_publickey = keys["public_key"].encode()
            sock.curve_secretkey = keys["secret_key"].encode()
            sock.connect(c.endpoint(i, "p2p"))
            sock.send_multipart([b"\x01", c.hello(3, other_hash)])
            for _ in range(frames):
                sock.send_multipart([b"\x02", os.urandom(120)])
            socks.append(sock)

        def counted():
            now = {i: metric_set(c, i) for i in others}
            return all(now[i]["p2p_dropped_mismatch_total"] -
                       before[i]["p2p_dropped_mismatch_total"] >= frames
                       for i in others) and now
        now, took = cluster.wait_until(counted, 10, interval=0.05)
    finally:
        for sock in socks:
            sock.close(0)
        ctx.term()
    now = now or {i: metric_set(c, i) for i in others}
    t.measure("(c) seq_p2p_dropped_mismatch_total after %d frames from a "
              "peer presenting the other genesis" % frames,
              {i: now[i]["p2p_dropped_mismatch_total"] for i in others})
    t.check(all(now[i]["p2p_dropped_mismatch_total"] > 0 and
                now[i]["frames_bad_total"] == before[i]["frames_bad_total"]
                for i in others),
            "(c) the other three drop a mismatched peer's frames and count "
            "seq_p2p_dropped_mismatch_total > 0 (none reach the decoder)")


def test(c, t, args):
    cluster.launch_committing(c, t, 50, need_zmq=True)
    part_a(c, t)
    part_b(c, t)
    part_c(c, t)
    ok, took, base, last = c.wait_progress(10, timeout=30)
    t.check(ok, "all 4 commit at the end", "from %d, heights %s" %
            (base, last))
    c.check_agreement(t, list(range(c.n)), "at the end")


if __name__ == "__main__":
    cluster.main(test, "foreign keys, foreign validator keys and another "
                 "genesis are refused; the cluster keeps committing")
