#!/usr/bin/env python3
"""cluster/test_garbage: random and malformed input on node0's validator
(p2p) and client ports is dropped and counted; node0 stays up and the
cluster keeps committing and agreeing.

(i)   Raw TCP connections to node0's p2p and client ports sending random
      bytes of several sizes (and ZMTP greetings gone wrong). libzmq closes
      them, mostly without any count (net_mesh.c M5): the property is that
      node0 stays up and commits.
(ii)  A pyzmq DEALER holding node3's CURVE pair (admitted by ZAP as
      validator 3) sends a valid HELLO (genesis hash from testnet.json,
      index 3), then malformed envelopes (wrong part counts, unknown or
      empty kinds, an empty body, bad hellos) which must grow
      seq_p2p_dropped_bad_total, and kind-2 bodies that do not decode
      (random bytes, truncated real-looking Frame{vote}) which must grow
      seq_frames_bad_total by one each.
(iii) A plain DEALER on node0's client port sends random multipart junk:
      seq_client_bad_total grows by exactly the number of junk messages
      (one connection keeps order, and the status reply that follows proves
      they were all read), and a status request [0x01][""] gets
      [0x01][status JSON] with "height".
"""

import os
import random
import socket
import time

import cluster

try:
    import zmq
except ImportError:  # Debian: apt-get install python3-zmq
    zmq = None


# ------------------------------------------------ protobuf, by hand


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(num, value):
    return varint(num << 3 | 0) + varint(value)


def field_bytes(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data


def vote_frame(round_, height, block_id, voter):
    """proto/consensus.proto Frame{version=1, vote=Vote{...}} with a
    signature of random bytes."""
    vote = (field_varint(1, 0) + field_varint(2, round_) +
            field_varint(3, height) + field_bytes(4, block_id) +
            field_varint(5, voter) + field_bytes(6, os.urandom(64)))
    return field_varint(1, 1) + field_bytes(3, vote)


def block_request_frame(block_id, known_height):
    req = (field_bytes(1, block_id) + field_varint(2, known_height) +
           field_varint(3, 4))
    return field_varint(1, 1) + field_bytes(5, req)


# ------------------------------------------------ helpers


def counters(c, i):
    m = c.metrics(i)
    return {k: int(m.get("seq_" + k, -1)) for k in (
        "frames_bad_total", "p2p_dropped_bad_total", "client_bad_total",
        "msgs_bad_total", "msgs_stale_total", "zap_denied_total",
        "height")}


def commit_rate(c, seconds):
    """Heights/s of node1 over a window of `seconds` (a measurement)."""
    h0, t0 = c.height(1), time.monotonic()
    cluster.wait_until(lambda: time.monotonic() - t0 >= seconds,
                       seconds + 1, 0.1)
    h1, t1 = c.height(1), time.monotonic()
    return (h1 - h0) / (t1 - t0) if h0 is not None and h1 is not None \
        else None


def alive_and_committing(c, t, label):
    t.check(c.running(0), "%s: node0 process still running" % label,
            "pid %s" % c.pid(0))
    ok, took, base, last = c.wait_progress(10, timeout=30)
    t.check(ok, "%s: every node keeps committing" % label,
            "from %d, heights %s (%.2fs)" % (base, last, took))


# ------------------------------------------------ (i) raw TCP


def raw_tcp(c, t, rng):
    sizes = [1, 7, 64, 1000, 65536, 1 << 20]
    greeting_bad = [
        # ZMTP 3 signature, then a version and mechanism that make no sense.
        b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x01" + b"NULL" + b"\x00" * 16
        + os.urandom(200),
        # A NULL-mechanism greeting to a CURVE server.
        b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\0")
        + b"\x00" + b"\x00" * 31,
        # A plausible greeting followed by a huge frame length.
        b"\xff" + b"\x00" * 8 + b"\x7f" + b"\x03\x00" +
        b"CURVE".ljust(20, b"\0") + b"\x00" * 32 + b"\x06" +
        (2 ** 62).to_bytes(8, "big"),
    ]
    payloads = [bytes(rng.getrandbits(8) for _ in range(s)) if s <= 1000
                else os.urandom(s) for s in sizes] + greeting_bad
    closed = 0
    for port_kind in ("p2p", "client"):
        host, port = c.endpoint(0, port_kind).split("://")[1].rsplit(":", 1)
        for data in payloads:
            s = socket.create_connection((host, int(port)), timeout=2)
            try:
                try:
                    s.sendall(data)
                    # Wait (bounded) for node0 to close it; not required.
                    s.settimeout(1.0)
                    while s.recv(65536):
                        pass
                    closed += 1
                except (ConnectionResetError, BrokenPipeError):
                    closed += 1
                except socket.timeout:
                    pass
            finally:
                s.close()
    n = 2 * len(payloads)
    t.measure("(i) raw TCP junk connections (p2p + client)",
              "%d sent, %d closed by node0 within 1s" % (n, closed))
    ok, took = cluster.wait_until(
        lambda: c.http_json(0, "/livez", timeout=1.0)[0] == 200, 10)
    t.check(ok, "(i) node0 answers /livez after raw TCP junk")
    alive_and_committing(c, t, "(i)")


# ------------------------------------------------ (ii) validator port


def validator_port(c, t, rng):
    keys = c.node_key(3)
    st = c.status(0)
    tip = bytes.fromhex(st["committed_hash"])
    rnd, height = int(st["round"]), int(st["height"])
    real = vote_frame(rnd + 1, height + 1, tip, 3)
    breq = block_request_frame(tip, height)

    envelope_bad = [
        [b"\x02"],                                  # one part
        [b"\x02", real, b"x"],                      # three parts
        [b"\x02", b"a", b"b", b"c", b"d"],          # five parts
        [b"", real],                                # empty kind
        [b"\x02\x02", real],                        # two-byte kind
        [b"\x00", real],                            # unknown kinds
        [b"\x03", real],
        [b"\x07", os.urandom(50)],
        [b"\xff", os.urandom(50)],
        [b"\x02", b""],                             # empty consensus body
        [b"\x01", os.urandom(10)],                  # hello of bad length
        [b"\x01", c.hello(2)],                      # hello claiming index 2
    ]
    undecodable = [[b"\x02", os.urandom(n)]
                   for n in (1, 2, 16, 100, 1000, 65536)]
    cuts = sorted({len(real) - 1, len(real) - 10, len(real) // 2, 5, 3})
    undecodable += [[b"\x02", real[:k]] for k in cuts]
    undecodable += [[b"\x02", breq[:len(breq) - 3]]]
    # Bytes flipped inside the vote's length prefix: claims more than sent.
    bad_len = bytearray(real)
    bad_len[3] = 0x7F
    undecodable += [[b"\x02", bytes(bad_len)]]
    wellformed = [[b"\x02", real]]  # Decodes; the core rejects its sig.

    rate_before = commit_rate(c, 2.0)
    before = counters(c, 0)
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    try:
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, 10000)
        sock.curve_serverkey = c.node_key(0)["public_key"].encode()
        sock.curve_publickey = keys["public_key"].encode()
        sock.curve_secretkey = keys["secret_key"].encode()
        sock.connect(c.endpoint(0, "p2p"))
        sock.send_multipart([b"\x01", c.hello(3)])
        msgs = envelope_bad + undecodable + wellformed
        rng.shuffle(msgs)
        for m in msgs:
            sock.send_multipart(m)
        t.log("(ii) sent HELLO + %d messages as validator 3: %d malformed "
              "envelopes, %d undecodable kind-2 bodies, %d well-formed vote "
              "with a random signature" % (len(msgs), len(envelope_bad),
                                           len(undecodable), len(wellformed)))

        def counted():
            now = counters(c, 0)
            return (now["frames_bad_total"] - before["frames_bad_total"] >=
                    len(undecodable) and
                    now["p2p_dropped_bad_total"] -
                    before["p2p_dropped_bad_total"] >= len(envelope_bad) and
                    now)
        now, took = cluster.wait_until(counted, 15, interval=0.05)
    finally:
        sock.close(0)
        ctx.term()
    now = now or counters(c, 0)
    d = {k: now[k] - before[k] for k in now}
    t.measure("(ii) node0 counter deltas", "frames_bad %d (sent %d), "
              "p2p_dropped_bad %d (sent %d), msgs_bad %d, msgs_stale %d "
              "(sent %d well-formed)" %
              (d["frames_bad_total"], len(undecodable),
               d["p2p_dropped_bad_total"], len(envelope_bad),
               d["msgs_bad_total"], d["msgs_stale_total"], len(wellformed)))
    t.check(d["frames_bad_total"] >= len(undecodable),
            "(ii) every undecodable kind-2 body counts in "
            "seq_frames_bad_total")
    t.check(d["p2p_dropped_bad_total"] >= len(envelope_bad),
            "(ii) every malformed envelope counts in "
            "seq_p2p_dropped_bad_total")

    # Our hello moved node0's idea of validator 3's connection to ours
    # (net_mesh.c M3); see whether node3's real frames are now dropped.
    b0 = counters(c, 0)["p2p_dropped_bad_total"]
    rate_after = commit_rate(c, 2.0)
    b1 = counters(c, 0)["p2p_dropped_bad_total"]
    t.measure("(ii) node0 seq_p2p_dropped_bad_total growth in the 2 s after "
              "our DEALER closed (node3's genuine frames)", b1 - b0)
    t.measure("(ii) commit rate before / after the HELLO as validator 3",
              "%.1f / %.1f heights/s" % (rate_before or -1, rate_after or -1))
    alive_and_committing(c, t, "(ii)")


# ------------------------------------------------ (iii) client port


def status_reply(sock):
    """The next [0x01][...] reply, skipping Error replies, or None."""
    while sock.poll(10000, zmq.POLLIN):
        reply = sock.recv_multipart()
        if reply and reply[0] != b"\x02":
            return reply
    return None


def client_port(c, t, rng):
    junk = [[b""], [b"\x02", b""], [b"\x01\x01", b""], [b"\x00", b"x"],
            [b"\x01", b"", b"extra"], [b"\x09", os.urandom(60000)]]
    while len(junk) < 30:
        parts = [os.urandom(rng.choice([0, 1, 2, 5, 100, 4000]))
                 for _ in range(rng.randint(1, 5))]
        if len(parts) == 2 and parts[0] == b"\x01":
            continue
        junk.append(parts)
    # Over the client port's 4 MiB message limit: libzmq drops that
    # connection before the node sees the message (so it is not counted),
    # and the node stays up. The DEALER reconnects by itself, so the status
    # request queued behind it may still be answered.
    before_big = counters(c, 0)
    ctx = zmq.Context()
    big = ctx.socket(zmq.DEALER)
    big.setsockopt(zmq.LINGER, 0)
    big.connect(c.endpoint(0, "client"))
    big.send_multipart([b"\x09", os.urandom(5 << 20)])
    big.send_multipart([b"\x01", b""])
    big.poll(2000)
    big.close(0)
    ctx.term()
    after_big = counters(c, 0)
    t.check(after_big["client_bad_total"] == before_big["client_bad_total"],
            "(iii) a message over the 4 MiB limit never reaches the node",
            "client_bad_total %d -> %d" % (before_big["client_bad_total"],
                                           after_big["client_bad_total"]))
    alive_and_committing(c, t, "(iii) after an oversize message")

    before = counters(c, 0)
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    reply = None
    try:
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(c.endpoint(0, "client"))
        for m in junk:
            sock.send_multipart(m)
        sock.send_multipart([b"\x01", b""])
        # Junk that looked like a protobuf request (kind 0x02) is answered
        # with an Error (client.proto); skip those to the status reply.
        reply = status_reply(sock)
        if reply is not None:
            sock.send_multipart([b"\x01", b"any body at all"])
            reply2 = status_reply(sock)
        else:
            reply2 = None
    finally:
        sock.close(0)
        ctx.term()
    after = counters(c, 0)
    delta = after["client_bad_total"] - before["client_bad_total"]
    t.measure("(iii) node0 seq_client_bad_total delta", "%d (sent %d junk "
              "messages)" % (delta, len(junk)))
    t.check(delta == len(junk), "(iii) every junk client message is "
            "dropped and counted in seq_client_bad_total",
            "%d of %d" % (delta, len(junk)))
    ok = False
    if reply is not None and len(reply) == 2 and reply[0] == b"\x01":
        try:
            obj = cluster.json.loads(reply[1].decode())
            ok = "height" in obj
            t.measure("(iii) status reply", "height %s, round %s" %
                      (obj.get("height"), obj.get("round")))
        except ValueError:
            pass
    t.check(ok, "(iii) a status request [0x01][''] gets [0x01][JSON with "
            "\"height\"]", "reply %r" % (reply[:1] if reply else reply))
    t.check(reply2 is not None and reply2[0] == b"\x01" and
            b"height" in reply2[1],
            "(iii) a status request with a non-empty body is answered too")
    alive_and_committing(c, t, "(iii)")


def test(c, t, args):
    rng = random.Random()
    seed = rng.randrange(1 << 32)
    rng.seed(seed)
    t.log("junk seed %d (the bytes themselves come from os.urandom)" % seed)
    cluster.launch_committing(c, t, 50, need_zmq=True)
    raw_tcp(c, t, rng)
    validator_port(c, t, rng)
    client_port(c, t, rng)
    c.check_agreement(t, list(range(c.n)), "after the garbage")


if __name__ == "__main__":
    cluster.main(test, "random and malformed frames on the validator and "
                 "client ports are dropped and counted; node0 stays up")
