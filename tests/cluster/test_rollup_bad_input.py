#!/usr/bin/env python3
"""cluster/test_rollup_bad_input: what a rollup client can get wrong, and
what the HTTP API answers (DESIGN §5), on a 4-validator, 3-rollup testnet.

(i)   POST /v1/tx refusals: malformed JSON, missing fields, wrong types, bad
      base64, unknown namespace -> 400 with JSON {"error", "code"}; a
      payload one byte over the namespace's max_tx_size (65536) -> 413, and
      a Content-Length far beyond it -> 413 before the body; exactly 65536
      bytes -> 202. GET /v1/tx/<bad hex> -> 400, unknown heights -> 404,
      unknown namespace -> 400, wrong method -> 405, unknown path -> 404.
(ii)  Duplicates: one transaction POSTed twice to node2 and once to node3
      gets the same tx_hash each time and is delivered once (counted on
      the NDJSON stream over every height from before the first POST to
      well after its commit); POSTed again after its commit it is still
      not delivered twice.
(iii) A full mempool: node1 runs with max_pending_txs = "50"; nodes 2 and
      3 are SIGSTOPped so nothing commits, and node1 is fed until it
      answers 429 (or 503) with Retry-After and JSON. /livez and /readyz
      still answer, node1 keeps running; after SIGCONT the chain moves
      on, every accepted transaction commits, and node1 accepts again.
(iv)  Raw garbage on the client (ZeroMQ) and HTTP ports does not kill the
      node; it keeps committing and answering.
"""

import base64
import json
import os
import random
import socket
import time

import cluster

FULL_NODE = 1
MEMPOOL_TXS = 50


def is_err_json(body, code=None):
    try:
        obj = json.loads(body.decode())
    except (ValueError, UnicodeDecodeError):
        return False
    if not (isinstance(obj, dict) and isinstance(obj.get("error"), str) and
            isinstance(obj.get("code"), str)):
        return False
    return code is None or obj["code"] == code


def post_raw(c, i, body, headers=None):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return c.http_request(i, "POST", "/v1/tx", body=body, headers=h)


def refusals(c, t):
    b64 = base64.b64encode(b"hello").decode()
    cases = [
        ("malformed JSON", b"{not json", 400),
        ("truncated JSON", b'{"namespace": 1, "payload": "aGk=', 400),
        ("not an object", b'[1, "aGk="]', 400),
        ("empty body", b"", 400),
        ("missing namespace", json.dumps({"payload": b64}).encode(), 400),
        ("missing payload", json.dumps({"namespace": 1}).encode(), 400),
        ("namespace as a float", b'{"namespace": 1.5, "payload": "aGk="}',
         400),
        ("negative namespace", b'{"namespace": -1, "payload": "aGk="}', 400),
        ("payload not a string", b'{"namespace": 1, "payload": 12}', 400),
        ("bad base64", b'{"namespace": 1, "payload": "!!!notbase64"}', 400),
        ("base64 without padding", b'{"namespace": 1, "payload": "aGk"}',
         400),
        ("unknown namespace 99", json.dumps({"namespace": 99,
                                             "payload": b64}).encode(), 400),
        ("namespace 0", json.dumps({"namespace": 0,
                                    "payload": b64}).encode(), 400),
        ("namespace 2^64-1", b'{"namespace": 18446744073709551615, '
         b'"payload": "aGk="}', 400),
    ]
    for what, body, want in cases:
        st, hdrs, data = post_raw(c, 0, body)
        t.check(st == want and is_err_json(data),
                "POST /v1/tx %s -> %d with JSON {error, code}" % (what, want),
                "got %d %r" % (st, data[:120]))
    st, hdrs, data = c.submit(0, 99, b"x")
    t.check(st == 400 and isinstance(data, dict) and
            data.get("code") == "unknown_namespace",
            "unknown namespace -> code unknown_namespace", "%d %s" %
            (st, data))

    big = os.urandom(65537)
    st, hdrs, obj = c.submit(0, 1, big)
    t.check(st == 413 and obj and "error" in obj and "code" in obj,
            "payload of 65537 bytes (max 65536) -> 413 JSON",
            "got %d %s" % (st, obj))
    edge = os.urandom(65536)
    st, hdrs, obj = c.submit(0, 2, edge)
    t.check(st == 202 and obj and obj.get("tx_hash") ==
            cluster.tx_hash(2, edge), "payload of exactly 65536 bytes -> "
            "202 with its tx_hash", "got %d %s" % (st, obj))

    # A Content-Length far beyond the limit is refused at the headers,
    # before any body byte is sent.
    host, port = c.http_addr(0)
    s = socket.create_connection((host, port), timeout=5)
    try:
        s.sendall(b"POST /v1/tx HTTP/1.1\r\nHost: x\r\nContent-Type: "
                  b"application/json\r\nContent-Length: 100000000\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        data = ("(%s)" % e).encode()
    finally:
        s.close()
    t.check(data.startswith(b"HTTP/1.1 413"), "Content-Length: 100000000 "
            "-> 413 before the body is sent", "%r" % data[:60])

    gets = [
        ("/v1/tx/zz", 400), ("/v1/tx/0123", 400), ("/v1/tx/" + "g" * 64, 400),
        ("/v1/tx/" + "0" * 65, 400),
        ("/v1/namespaces/1/blocks/999999999", 404),
        ("/v1/blocks/999999999", 404),
        ("/v1/namespaces/99/blocks/1", 400),
        ("/v1/namespaces/1/blocks/abc", 400),
        ("/v1/namespaces/99/stream?from=1", 400),
        ("/v1/namespaces/1/stream?from=abc", 400),
        ("/v1/no/such/path", 404),
    ]
    for path, want in gets:
        st, hdrs, data = c.http_request(0, "GET", path)
        t.check(st == want and is_err_json(data),
                "GET %s -> %d with JSON {error, code}" % (path[:40], want),
                "got %d %r" % (st, data[:120]))
    st, hdrs, data = c.http_request(0, "GET", "/v1/tx")
    t.check(st == 405 and is_err_json(data), "GET /v1/tx -> 405 JSON",
            "got %d %r" % (st, data[:100]))
    st, hdrs, data = c.http_request(0, "GET", "/v1/tx/" + "0" * 64)
    try:
        obj = json.loads(data.decode())
    except ValueError:
        obj = {}
    t.check(st in (200, 404) and obj.get("status") == "unknown",
            "GET /v1/tx/<unknown hash> says unknown",
            "got %d %r" % (st, data[:120]))


def count_in_stream(c, t, node, ns, frm, to, tx_hash_hex, timeout=60):
    """Occurrences of tx_hash_hex in namespace ns over heights frm..to on
    node's NDJSON stream; also checks that the heights are contiguous.
    Returns (count, [heights where seen], heights read)."""
    s = cluster.NsStream(c, node, ns, frm, timeout=10)
    seen, heights, expect = [], 0, frm
    gaps = []
    deadline = time.monotonic() + timeout
    try:
        if s.status != 200:
            raise RuntimeError("stream: HTTP %d" % s.status)
        while expect <= to and time.monotonic() < deadline:
            blk = s.next_block()
            if blk is None:
                break
            h = int(blk["height"])
            if h != expect:
                gaps.append((expect, h))
            expect = h + 1
            heights += 1
            for e in blk["entries"]:
                if e["tx_hash"] == tx_hash_hex:
                    seen.append(h)
    finally:
        s.close()
    t.check(not gaps and expect > to, "stream %d..%d on node%d: every "
            "height once, in order" % (frm, to, node),
            "gaps %s, stopped before %d" % (gaps[:3], expect))
    return len(seen), seen, heights


def seqctl_checks(c, t, payload, want, hc):
    seqctl = c.tool("seqctl")
    if not os.access(seqctl, os.X_OK):
        t.check(False, "seqctl is built", seqctl)
        return
    path = os.path.join(c.dir, "dup.payload")
    with open(path, "wb") as f:
        f.write(payload)
    base = [seqctl, "--node", c.endpoint(0, "client"),
            "--genesis", c.genesis_path(0)]
    rc, out, err = c.run_tool(base + ["submit", "--namespace", "3",
                                      "--file", path], timeout=30)
    t.check(rc == 0 and out.split()[:2] == [want, "committed"],
            "seqctl submit of the committed transaction over node0's client "
            "port: same hash, 'committed'", "rc %s, out %r, err %r" %
            (rc, out.strip(), err.strip()[-200:]))
    rc, out, err = c.run_tool(base + ["tx", want], timeout=30)
    t.check(rc == 0 and out.strip() == "committed height %d namespace 3 "
            "index 0" % hc, "seqctl tx reports its height and index",
            "rc %s, out %r, err %r" % (rc, out.strip(), err.strip()[-200:]))
    st, hdrs, body = c.http_request(2, "GET", "/v1/namespaces/3/blocks/%d" %
                                    hc)
    blk = os.path.join(c.dir, "ns3-%d.json" % hc)
    with open(blk, "wb") as f:
        f.write(body)
    rc, out, err = c.run_tool(base + ["verify", blk], timeout=30)
    t.check(st == 200 and rc == 0 and out.startswith("OK"),
            "seqctl verify accepts the namespace block node2 serves over "
            "HTTP", "HTTP %d, rc %s, out %r, err %r" %
            (st, rc, out.strip(), err.strip()[-200:]))
    obj = json.loads(body.decode())
    obj["entries"][0]["payload"] = base64.b64encode(
        payload[:-1] + bytes([payload[-1] ^ 1])).decode()
    with open(blk, "w") as f:
        json.dump(obj, f)
    rc, out, err = c.run_tool(base + ["verify", blk], timeout=30)
    t.check(rc == 1, "seqctl verify refuses it with one payload bit "
            "flipped", "rc %s, out %r, err %r" % (rc, out.strip(),
                                                  err.strip()[-200:]))


def duplicates(c, t):
    payload = b"duplicate-" + os.urandom(24)
    want = cluster.tx_hash(3, payload)
    h0 = c.height(0)
    answers = []
    for node in (2, 2, 3):
        st, hdrs, obj = c.submit(node, 3, payload)
        answers.append((node, st, obj and obj.get("tx_hash"),
                        obj and obj.get("status")))
    t.log("duplicate submissions: %s" % answers)
    t.check(all(a[1] == 202 and a[2] == want for a in answers),
            "the same transaction POSTed to node2, node2, node3 gets 202 and "
            "the same tx_hash each time", "%s" % answers)
    t.check(answers[0][3] == "accepted" and
            all(a[3] in ("pending", "committed", "accepted")
                for a in answers[1:]),
            "the first copy is 'accepted', the repeats say where it is",
            "%s" % [a[3] for a in answers])

    def committed():
        st = c.tx_status(0, want)
        return st if st.get("status") == "committed" else None
    st, took = cluster.wait_until(committed, 30, 0.1)
    t.require(st, "the duplicate-submitted transaction commits",
              "status %s" % st)
    hc = int(st["height"])
    # POST it again after its commit, to a node that had not seen it.
    st2, hdrs, obj = c.submit(1, 3, payload)
    t.check(st2 == 202 and obj and obj.get("tx_hash") == want,
            "POSTed again after its commit: 202, same tx_hash",
            "%d %s" % (st2, obj))
    t.log("after commit, POST again to node1: status %s" %
          (obj and obj.get("status")))
    # The same over the client port, with seqctl: same hash, already
    # committed; seqctl tx agrees with GET /v1/tx; the namespace block from
    # HTTP verifies against the genesis, and not once tampered with.
    seqctl_checks(c, t, payload, want, hc)
    # Let the chain move well past it, then count over the whole range.
    ok, took, last = c.wait_heights(hc + 60, timeout=30)
    to = min(h for h in last.values() if h is not None)
    n, where, read = count_in_stream(c, t, 1, 3, h0, to, want)
    t.check(n == 1 and where == [hc], "the transaction is delivered "
            "exactly once (NDJSON stream of rollup 3, heights %d..%d)" %
            (h0, to), "seen %d times at heights %s; committed at %d" %
            (n, where, hc))


def full_mempool(c, t):
    stopped = [2, 3]
    for i in stopped:
        c.pause(i)
    t.log("SIGSTOP node2 and node3: no quorum, nothing commits")
    # Let in-flight batches settle, then fill node1.
    time.sleep(0.5)
    h_stop = c.height(FULL_NODE)
    accepted = []
    refusal = None
    for k in range(MEMPOOL_TXS * 10):
        payload = b"fill-%05d-" % k + os.urandom(32)
        st, hdrs, obj = c.submit(FULL_NODE, 1 + k % 3, payload)
        if st == 202:
            accepted.append((1 + k % 3, payload, obj.get("tx_hash")))
            continue
        refusal = (st, hdrs, obj)
        break
    t.measure("accepted by node%d before refusing" % FULL_NODE,
              len(accepted))
    t.require(refusal is not None, "node%d refuses once its mempool "
              "(max_pending_txs %d) is full" % (FULL_NODE, MEMPOOL_TXS),
              "accepted %d, never refused" % len(accepted))
    st, hdrs, obj = refusal
    ra = hdrs.get("retry-after")
    t.check(st in (429, 503), "a full mempool answers 429 or 503",
            "got %d %s" % (st, obj))
    t.check(ra is not None and ra.isdigit() and int(ra) >= 1,
            "with a Retry-After header in whole seconds >= 1",
            "Retry-After %r" % ra)
    t.check(isinstance(obj, dict) and "error" in obj and "code" in obj,
            "and a JSON {error, code} body", "%s" % obj)
    t.check(len(accepted) <= MEMPOOL_TXS + 5, "it refused near the limit",
            "accepted %d, max_pending_txs %d" % (len(accepted), MEMPOOL_TXS))
    # Still answers, still running, while full.
    st, _, _ = c.http_request(FULL_NODE, "GET", "/livez")
    t.check(st == 200, "/livez answers 200 while the mempool is full",
            "got %d" % st)
    st, _, body = c.http_request(FULL_NODE, "GET", "/readyz")
    t.check(st in (200, 503), "/readyz answers (200 or 503) while the "
            "mempool is full and two peers are stopped", "got %d %r" %
            (st, body[:100]))
    st2, _, _ = c.submit(FULL_NODE, 1, b"still-full-" + os.urandom(8))
    t.check(st2 in (429, 503), "a further submission is refused too",
            "got %d" % st2)
    t.check(c.running(FULL_NODE), "node%d keeps running" % FULL_NODE)
    h_full = c.height(FULL_NODE)
    t.check(h_full is not None and h_stop is not None and
            h_full <= h_stop + 2, "nothing commits while two of four are "
            "stopped", "height %s -> %s" % (h_stop, h_full))

    for i in stopped:
        c.resume(i)
    t.log("SIGCONT node2 and node3")
    ok, took, base, last = c.wait_progress(5, timeout=60)
    t.check(ok, "the chain moves on after SIGCONT", "%.1fs from %d, "
            "heights %s" % (took, base, last))
    pending = {}

    def all_committed():
        pending.clear()
        for ns, payload, h in accepted:
            st = c.tx_status(FULL_NODE, h)
            if st.get("status") != "committed":
                pending[h] = st.get("status")
        return not pending
    ok, took = cluster.wait_until(all_committed, 60, 0.5)
    t.check(ok, "every transaction node%d accepted while full commits" %
            FULL_NODE, "%.1fs; not committed: %d, first %s" %
            (took, len(pending), list(pending.items())[:2]))

    def accepts():
        st, _, obj = c.submit(FULL_NODE, 2, b"after-" + os.urandom(16))
        return st == 202
    ok, took = cluster.wait_until(accepts, 30, 0.5)
    t.check(ok, "node%d accepts again once they committed" % FULL_NODE,
            "%.1fs" % took)
    return accepted


def garbage(c, t):
    rng = random.Random()
    node = 0
    before = c.height(node)
    host, cport = c.endpoint(node, "client").split("://", 1)[1].rsplit(":",
                                                                       1)
    hhost, hport = c.http_addr(node)
    sent = 0
    for port in (int(cport), hport):
        for size in (1, 10, 64, 1000, 65536, 300000):
            try:
                s = socket.create_connection((host, port), timeout=2)
                s.sendall(rng.randbytes(size))
                sent += 1
                s.close()
            except OSError:
                pass
    # A ZMTP-looking greeting gone wrong, then junk; HTTP junk.
    for data in (b"\xff\x00\x00\x00\x00\x00\x00\x00\x01\x7f\x03\x00NULL" +
                 b"\x00" * 48 + rng.randbytes(500),
                 b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 200000 +
                 b"\r\n\r\n",
                 b"POST /v1/tx HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"zzzz\r\n" + rng.randbytes(1000),
                 b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" +
                 rng.randbytes(300)):
        for port in (int(cport), hport):
            try:
                s = socket.create_connection((host, port), timeout=2)
                s.sendall(data)
                s.close()
                sent += 1
            except OSError:
                pass
    t.measure("garbage connections to node%d's client and HTTP ports" %
              node, sent)
    time.sleep(0.5)
    t.check(c.running(node), "node%d survives garbage on its client and "
            "HTTP ports" % node)
    ok, took, last = c.wait_heights(before + 10, [node], timeout=30)
    t.check(ok, "node%d keeps committing after the garbage" % node,
            "heights %s" % last)
    st, hdrs, obj = c.submit(node, 1, b"after-garbage-" + os.urandom(8))
    t.check(st == 202, "node%d still accepts transactions" % node,
            "got %d %s" % (st, obj))


def test(c, t, args):
    def prepare(cl):
        cl.set_config(FULL_NODE, "mempool", "max_pending_txs",
                      str(MEMPOOL_TXS))
    c.launch(prepare=prepare)
    ok, took, last = c.wait_heights(3, timeout=30)
    t.require(ok, "the testnet commits", "heights %s" % last)
    refusals(c, t)
    duplicates(c, t)
    full_mempool(c, t)
    garbage(c, t)
    for i in range(c.n):
        t.check(c.running(i), "node%d still running at the end" % i)


if __name__ == "__main__":
    cluster.main(test, "bad client input over HTTP: refusals with JSON "
                 "errors, duplicates delivered once, a full mempool "
                 "answers 429 + Retry-After, garbage does not kill a node",
                 rollups=3)
