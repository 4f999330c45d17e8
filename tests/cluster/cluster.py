"""The cluster tier's harness (STYLE §7, DESIGN §9): real `seqd` processes
on 127.0.0.1, in a temporary directory, on a free port range.

A Cluster makes a testnet with `seqd testnet` in a tempfile.mkdtemp()
directory DIR, starts and stops its nodes by PID (each node's stdout and
stderr are appended to DIR/node<i>.log across restarts, with a marker line
per start), and talks to them over HTTP. A Tester counts checks, prints
what was measured, and ends with the `N passed, N failed` line CI reads.

Rules it keeps (and tests built on it must keep):
- Only processes this module started are ever signalled, by PID. At exit
  (atexit, or SIGTERM/SIGINT/SIGHUP turned into SystemExit so `finally`
  blocks run) every one still alive is killed with SIGKILL; each child also
  asks the kernel for SIGKILL should this process die first
  (PR_SET_PDEATHSIG), so a ctest timeout that kills us leaves nothing.
- Nothing sleeps in place of synchronisation: wait_until() polls a
  condition against a deadline, and every wait is bounded.
- On failure the temporary directory is kept and its path printed; on
  success it is removed.

Ports: node i uses P+10i (p2p), P+10i+1 (HTTP) and P+10i+2 (client). P is
drawn at random in [20000, 60000), below the kernel's ephemeral range when
there is room (so that our own outgoing connections cannot take a port a
restarted node needs); every port is checked free by binding it, and a
fresh P is drawn on a collision, also when a node fails to bind at the
first start. Stdlib only; the tests that speak ZeroMQ import zmq
themselves.
"""

import argparse
import atexit
import ctypes
import datetime
import http.client
import importlib.util
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

PORT_MIN = 20000
PORT_MAX = 60000
PORTS_PER_NODE = 10

# pid -> Popen of every seqd this process started and has not reaped.
_LIVE = {}

_PR_SET_PDEATHSIG = 1
try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:  # Not Linux/glibc: no death signal, atexit still applies.
    _LIBC = None


def _child_setup():
    # Runs in the child between fork and exec: die with the test.
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _kill_leftovers():
    """SIGKILL every seqd we started that is still running (ours only)."""
    for pid, proc in list(_LIVE.items()):
        if proc.poll() is None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        _LIVE.pop(pid, None)


atexit.register(_kill_leftovers)


class DeadlineExceeded(Exception):
    pass


def _on_signal(signum, frame):
    raise SystemExit(128 + signum)


def _on_alarm(signum, frame):
    raise DeadlineExceeded("the test's own deadline passed")


for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, _on_signal)


# ---------------------------------------------------------------- waiting


def wait_until(pred, timeout, interval=0.05):
    """Poll pred() every `interval` seconds until it returns a true value or
    `timeout` seconds have passed. Exceptions from pred count as false.
    Returns (value, elapsed seconds); value is pred's last result (falsy on
    timeout)."""
    start = time.monotonic()
    deadline = start + timeout
    value = None
    while True:
        try:
            value = pred()
        except (OSError, http.client.HTTPException, ValueError, KeyError):
            value = None
        now = time.monotonic()
        if value:
            return value, now - start
        if now >= deadline:
            return value, now - start
        time.sleep(min(interval, max(0.0, deadline - now)))


# ---------------------------------------------------------------- logs

_LOGFMT = re.compile(r'([A-Za-z0-9_.-]+)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_logfmt(line):
    """One logfmt line as a dict (quoted values unquoted); {} for lines
    that are not logfmt (our own '# cluster.py' markers, stray output)."""
    if not line.startswith("ts="):
        return {}
    out = {}
    for key, val in _LOGFMT.findall(line):
        if val.startswith('"') and val.endswith('"') and len(val) >= 2:
            val = val[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out[key] = val
    return out


def parse_ts(ts):
    """'2026-11-21T06:50:58.611Z' -> seconds since the epoch (float)."""
    dt = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
    return dt.replace(tzinfo=datetime.timezone.utc).timestamp()


def percentile(values, p):
    """Nearest-rank percentile of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))
    return s[k]


# ---------------------------------------------------------------- ports


def _port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # No SO_REUSEADDR: a port in TIME_WAIT counts as taken too.
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = f.read().split()
            return int(lo), int(hi)
    except (OSError, ValueError):
        return None


def pick_base_port(n, rng, attempts=50):
    """A base port P in [20000, 60000) with every port a node of an n-node
    testnet uses free right now."""
    span = PORTS_PER_NODE * n
    hi = PORT_MAX - span
    eph = _ephemeral_range()
    if eph is not None and eph[0] - span - PORT_MIN >= 1000:
        hi = min(hi, eph[0] - span)
    for _ in range(attempts):
        base = rng.randrange(PORT_MIN, hi)
        ports = [base + PORTS_PER_NODE * i + k
                 for i in range(n) for k in range(3)]
        if all(_port_free(p) for p in ports):
            return base
    raise RuntimeError("no free port range found after %d attempts" %
                       attempts)


# ---------------------------------------------------------------- tester


class Tester:
    """Counts checks and prints measurements. check() never raises: a test
    goes on to report what it can; require() raises to stop a test whose
    next steps make no sense after a failed precondition."""

    class Stop(Exception):
        pass

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.t0 = time.monotonic()

    def log(self, text):
        print("[%7.2fs] %s" % (time.monotonic() - self.t0, text), flush=True)

    def measure(self, what, value):
        self.log("measured: %s = %s" % (what, value))

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            self.log("PASS %s%s" % (what, (": " + detail) if detail else ""))
        else:
            self.failed += 1
            self.log("FAIL %s%s" % (what, (": " + detail) if detail else ""))
        return bool(cond)

    def require(self, cond, what, detail=""):
        if not self.check(cond, what, detail):
            raise Tester.Stop(what)


# ---------------------------------------------------------------- cluster


class NodeExited(Exception):
    pass


class Cluster:
    def __init__(self, seqd, n=4, base_timeout_ms=1000, tag="cluster",
                 tester=None, rollups=0):
        self.seqd = os.path.abspath(seqd)
        self.n = n
        self.rollups = rollups
        self.base_timeout_ms = base_timeout_ms
        self.tester = tester
        self.rng = random.Random()
        self.dir = tempfile.mkdtemp(prefix="seqd-%s-" % tag)
        self.procs = [None] * n
        self.paused = set()
        self.starts = [0] * n
        self.conns = {}
        self.testnet = None
        self.base_port = None

    # -- layout

    def _log(self, text):
        if self.tester is not None:
            self.tester.log(text)
        else:
            print(text, flush=True)

    def home(self, i):
        return self.testnet["nodes"][i]["home"]

    def log_path(self, i):
        return os.path.join(self.dir, "node%d.log" % i)

    def http_addr(self, i):
        url = self.testnet["nodes"][i]["http"]
        hostport = url.split("://", 1)[1].rstrip("/")
        host, port = hostport.rsplit(":", 1)
        return host, int(port)

    def endpoint(self, i, kind):
        """'p2p' or 'client' ZeroMQ endpoint of node i."""
        return self.testnet["nodes"][i][kind]

    def validator_index(self, i):
        return int(self.testnet["nodes"][i]["index"])

    def node_of_validator(self, v):
        for i, node in enumerate(self.testnet["nodes"]):
            if int(node["index"]) == v:
                return i
        raise KeyError(v)

    def genesis_hash(self):
        return bytes.fromhex(self.testnet["genesis_hash"])

    def namespaces(self):
        """The rollups the genesis registers, as testnet.json lists them:
        [{"id": 1, "name": "rollup-1"}, ...], empty when there are none."""
        return list(self.testnet.get("namespaces", []))

    def node_key(self, i):
        """Node i's CURVE pair as in node_key.json (Z85 strings)."""
        with open(os.path.join(self.home(i), "node_key.json")) as f:
            return json.load(f)

    def hello(self, index, genesis_hash=None):
        """A p2p HELLO body (net_mesh.h): genesis hash || index u32 BE."""
        gh = self.genesis_hash() if genesis_hash is None else genesis_hash
        return gh + int(index).to_bytes(4, "big")

    # -- creation

    def _make_testnet(self):
        for name in os.listdir(self.dir):
            path = os.path.join(self.dir, name)
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        self.base_port = pick_base_port(self.n, self.rng)
        cmd = [self.seqd, "testnet", "--validators", str(self.n),
               "--output-dir", self.dir, "--base-port", str(self.base_port),
               "--base-timeout-ms", str(self.base_timeout_ms)]
        if self.rollups:
            cmd += ["--rollups", str(self.rollups)]
        out = subprocess.run(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=60)
        if out.returncode != 0:
            raise RuntimeError("seqd testnet failed (%d): %s" %
                               (out.returncode, out.stdout.decode()))
        with open(os.path.join(self.dir, "testnet.json")) as f:
            self.testnet = json.load(f)

    def launch(self, timeout=30, attempts=5, prepare=None):
        """Make the testnet and start every node; retried on a fresh port
        range when a node could not bind its ports. prepare(cluster), if
        given, runs between making the testnet and starting it (to edit a
        config.toml, say)."""
        for attempt in range(attempts):
            self._make_testnet()
            if prepare is not None:
                prepare(self)
            try:
                self.start_all(timeout=timeout)
                self._log("cluster of %d up in %s (base port %d)" %
                          (self.n, self.dir, self.base_port))
                return
            except NodeExited as e:
                text = str(e)
                self.stop_all()
                if not re.search(r"in use|cannot listen|bind", text,
                                 re.IGNORECASE):
                    raise
                errors = [ln for ln in text.splitlines()
                          if "level=error" in ln] or text.splitlines()[:1]
                self._log("port collision (%s); new port range" % errors[0])
        raise RuntimeError("could not launch after %d attempts" % attempts)

    # -- processes

    def pid(self, i):
        p = self.procs[i]
        return p.pid if p is not None else None

    def running(self, i):
        p = self.procs[i]
        return p is not None and p.poll() is None

    def spawn(self, home, log_path, label):
        """Start `seqd start --home home` with output appended to log_path;
        returns the Popen (tracked for cleanup)."""
        log = open(log_path, "ab")
        stamp = datetime.datetime.now(datetime.timezone.utc).isoformat()
        log.write(("# cluster.py: start %s at %s\n" % (label, stamp)).encode())
        log.flush()
        try:
            proc = subprocess.Popen(
                [self.seqd, "start", "--home", home],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                close_fds=True, preexec_fn=_child_setup)
        finally:
            log.close()
        _LIVE[proc.pid] = proc
        return proc

    def start(self, i):
        if self.running(i):
            raise RuntimeError("node%d is already running" % i)
        self.starts[i] += 1
        self.procs[i] = self.spawn(self.home(i), self.log_path(i),
                                   "node%d #%d" % (i, self.starts[i]))
        self._drop_conn(i)
        return self.procs[i].pid

    def wait_live(self, i, timeout=30):
        """Until node i answers /livez; NodeExited if it exits first."""
        def live():
            if not self.running(i):
                raise NodeExited("node%d exited with %s:\n%s" %
                                 (i, self.procs[i].returncode,
                                  self.log_tail(i)))
            st, _ = self.http_json(i, "/livez", timeout=1.0)
            return st == 200
        start = time.monotonic()
        while True:
            try:
                if live():
                    return time.monotonic() - start
            except (OSError, http.client.HTTPException, ValueError):
                pass
            if time.monotonic() - start > timeout:
                raise RuntimeError("node%d not live after %ss" % (i, timeout))
            time.sleep(0.05)

    def start_all(self, timeout=30):
        for i in range(self.n):
            self.start(i)
        for i in range(self.n):
            self.wait_live(i, timeout)

    def _reap(self, i, timeout):
        p = self.procs[i]
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        _LIVE.pop(p.pid, None)
        self.paused.discard(i)
        self._drop_conn(i)
        return rc

    def kill9(self, i):
        """SIGKILL node i (by PID) and reap it."""
        p = self.procs[i]
        os.kill(p.pid, signal.SIGKILL)
        rc = self._reap(i, 10)
        if rc is None:
            raise RuntimeError("node%d (pid %d) survived SIGKILL" % (i, p.pid))
        return rc

    def kill9_many(self, nodes):
        """SIGKILL several nodes back to back, then reap them."""
        for i in nodes:
            os.kill(self.procs[i].pid, signal.SIGKILL)
        for i in nodes:
            if self._reap(i, 10) is None:
                raise RuntimeError("node%d survived SIGKILL" % i)

    def terminate(self, i, timeout=10):
        """SIGTERM node i and wait up to `timeout` s. Returns (exit status,
        seconds); on timeout it is killed with SIGKILL and the status is
        None."""
        p = self.procs[i]
        start = time.monotonic()
        if i in self.paused:
            os.kill(p.pid, signal.SIGCONT)
        os.kill(p.pid, signal.SIGTERM)
        rc = self._reap(i, timeout)
        took = time.monotonic() - start
        if rc is None:
            self.kill9(i)
        return rc, took

    def pause(self, i):
        os.kill(self.procs[i].pid, signal.SIGSTOP)
        self.paused.add(i)
        self._drop_conn(i)

    def resume(self, i):
        os.kill(self.procs[i].pid, signal.SIGCONT)
        self.paused.discard(i)

    def wait_exit(self, proc, timeout):
        """Exit status of a process we started, or None after `timeout` s
        (it is then left running; the caller decides)."""
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        _LIVE.pop(proc.pid, None)
        return rc

    def kill_proc(self, proc):
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        _LIVE.pop(proc.pid, None)

    def stop_all(self, timeout=10):
        """SIGTERM every running node (SIGKILL after `timeout`); returns
        {node: exit status or None}."""
        out = {}
        for i in range(self.n):
            if self.running(i):
                if i in self.paused:
                    os.kill(self.procs[i].pid, signal.SIGCONT)
                    self.paused.discard(i)
                os.kill(self.procs[i].pid, signal.SIGTERM)
        for i in range(self.n):
            p = self.procs[i]
            if p is None or p.pid not in _LIVE:
                continue
            rc = self._reap(i, timeout)
            if rc is None:
                self.kill9(i)
            out[i] = rc
        return out

    def log_tail(self, i, lines=15, path=None):
        path = path or self.log_path(i)
        try:
            with open(path, "rb") as f:
                data = f.read().decode(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(data[-lines:])

    def log_lines(self, i, path=None):
        with open(path or self.log_path(i), "rb") as f:
            return f.read().decode(errors="replace").splitlines()

    def log_records(self, i, msg=None, path=None):
        """Parsed logfmt records of node i's log (all runs), optionally only
        those with the given msg."""
        out = []
        for line in self.log_lines(i, path):
            rec = parse_logfmt(line)
            if rec and (msg is None or rec.get("msg") == msg):
                out.append(rec)
        return out

    # -- HTTP

    def _drop_conn(self, i):
        c = self.conns.pop(i, None)
        if c is not None:
            c.close()

    def http_raw(self, i, path, timeout=2.0):
        """GET path on node i: (status, body bytes). One keep-alive
        connection per node, reopened once on failure."""
        for attempt in (0, 1):
            conn = self.conns.get(i)
            if conn is None:
                host, port = self.http_addr(i)
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
                self.conns[i] = conn
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                body = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self._drop_conn(i)
                return resp.status, body
            except (OSError, http.client.HTTPException):
                self._drop_conn(i)
                if attempt == 1:
                    raise

    def http_json(self, i, path, timeout=2.0):
        st, body = self.http_raw(i, path, timeout)
        return st, json.loads(body.decode()) if body else None

    def status(self, i, timeout=2.0):
        st, obj = self.http_json(i, "/v1/status", timeout)
        if st != 200:
            raise http.client.HTTPException("status %d" % st)
        return obj

    def height(self, i, timeout=1.0):
        """Node i's committed height, or None when it does not answer."""
        try:
            return int(self.status(i, timeout)["height"])
        except (OSError, http.client.HTTPException, ValueError, KeyError):
            return None

    def heights(self, nodes=None, timeout=1.0):
        nodes = range(self.n) if nodes is None else nodes
        return {i: self.height(i, timeout) for i in nodes}

    def block(self, i, h, timeout=2.0):
        """The committed block at height h on node i, or None (404)."""
        st, obj = self.http_json(i, "/v1/blocks/%d" % h, timeout)
        if st == 404:
            return None
        if st != 200:
            raise http.client.HTTPException("blocks/%d: status %d" % (h, st))
        return obj

    def metrics(self, i, timeout=2.0):
        st, body = self.http_raw(i, "/metrics", timeout)
        if st != 200:
            raise http.client.HTTPException("metrics: status %d" % st)
        out = {}
        for line in body.decode().splitlines():
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) >= 2:
                try:
                    out[parts[0]] = float(parts[1])
                except ValueError:
                    pass
        return out

    # -- cluster-level waits and checks

    def wait_heights(self, target, nodes=None, timeout=30, interval=0.05):
        """Until every node in `nodes` has height >= target. Returns
        (ok, elapsed, last heights)."""
        nodes = list(range(self.n)) if nodes is None else list(nodes)
        last = {}

        def pred():
            last.update(self.heights(nodes))
            return all(last[i] is not None and last[i] >= target
                       for i in nodes)
        ok, took = wait_until(pred, timeout, interval)
        return bool(ok), took, dict(last)

    def wait_progress(self, advance, nodes=None, timeout=30):
        """Until every node in `nodes` is `advance` heights above the
        highest of them now. Returns (ok, elapsed, start max, heights)."""
        nodes = list(range(self.n)) if nodes is None else list(nodes)
        now = self.heights(nodes)
        base = max([h for h in now.values() if h is not None] or [0])
        ok, took, last = self.wait_heights(base + advance, nodes, timeout)
        return ok, took, base, last

    def fetch_chain(self, i, lo, hi):
        """{h: block} for h in lo..hi on node i (None where missing)."""
        return {h: self.block(i, h) for h in range(lo, hi + 1)}

    def check_agreement(self, t, nodes=None, what="agreement"):
        """Check that the nodes report the same block hash at EVERY height
        1..(lowest height among them), and that each node's chain links
        (block h's parent is block h-1's hash). Returns the height checked
        up to."""
        nodes = list(range(self.n)) if nodes is None else list(nodes)
        hs = self.heights(nodes, timeout=5)
        if any(h is None for h in hs.values()):
            t.check(False, what, "a node did not answer: %s" % hs)
            return 0
        top = min(hs.values())
        start = time.monotonic()
        chains = {i: self.fetch_chain(i, 1, top) for i in nodes}
        took = time.monotonic() - start
        missing, forks, links = [], [], []
        for h in range(1, top + 1):
            hashes = {}
            for i in nodes:
                b = chains[i][h]
                if b is None:
                    missing.append((i, h))
                    continue
                if int(b["height"]) != h:
                    missing.append((i, h))
                hashes.setdefault(b["hash"], []).append(i)
                prev = chains[i].get(h - 1)
                if prev is not None and b["parent"] != prev["hash"]:
                    links.append((i, h))
            if len(hashes) > 1:
                forks.append((h, hashes))
        t.measure("%s: heights at check" % what, hs)
        t.log("%s: fetched %d blocks over HTTP in %.1fs" %
              (what, top * len(nodes), took))
        detail = "nodes %s, heights 1..%d" % (nodes, top)
        if forks:
            detail += "; %d forked heights, first %s" % (len(forks), forks[0])
        if missing:
            detail += "; %d missing, first %s" % (len(missing), missing[:5])
        if links:
            detail += "; %d broken parent links, first %s" % (len(links),
                                                               links[:5])
        t.check(top > 0 and not forks and not missing and not links,
                "%s: same hash at every height" % what, detail)
        return top

    # -- rollups (testnets made with rollups=K)

    def genesis_path(self, i=0):
        return os.path.join(self.home(i), "genesis.json")

    def client_endpoints(self, order=None):
        """Client ports ('tcp://127.0.0.1:P') of the nodes in `order`
        (default 0..n-1)."""
        order = range(self.n) if order is None else order
        return [self.endpoint(i, "client") for i in order]

    def tool(self, name):
        """Path of a client program built next to seqd (seqctl, seq-exec,
        seqbench)."""
        return os.path.join(os.path.dirname(self.seqd), name)

    def set_config(self, i, section, key, value):
        """Rewrite `key = "value"` in [section] of node i's config.toml
        (before it starts); the key must be there already."""
        path = os.path.join(self.home(i), "config.toml")
        with open(path) as f:
            lines = f.read().splitlines(True)
        cur, done = None, False
        for k, line in enumerate(lines):
            m = re.match(r"\s*\[([^\]]+)\]", line)
            if m:
                cur = m.group(1).strip()
            elif cur == section and re.match(r"\s*%s\s*=" % re.escape(key),
                                             line):
                lines[k] = '%s = "%s"\n' % (key, value)
                done = True
        if not done:
            raise KeyError("%s.%s not in %s" % (section, key, path))
        with open(path, "w") as f:
            f.write("".join(lines))

    def http_request(self, i, method, path, body=None, headers=None,
                     timeout=5.0):
        """One request on a fresh connection to node i's HTTP port:
        (status, {lower-case header: value}, body bytes)."""
        host, port = self.http_addr(i)
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
                headers = dict(headers or {})
                headers.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            return resp.status, hdrs, data
        finally:
            conn.close()

    def submit(self, i, ns, payload, timeout=5.0):
        """POST /v1/tx to node i: (status, headers, parsed JSON or None)."""
        st, hdrs, data = self.http_request(i, "POST", "/v1/tx",
                                           tx_body(ns, payload),
                                           timeout=timeout)
        try:
            obj = json.loads(data.decode()) if data else None
        except ValueError:
            obj = None
        return st, hdrs, obj

    def ns_block(self, i, ns, h, timeout=5.0):
        """Namespace block ns at height h on node i as JSON, None on 404."""
        st, obj = self.http_json(i, "/v1/namespaces/%d/blocks/%d" % (ns, h),
                                 timeout)
        if st == 404:
            return None
        if st != 200:
            raise http.client.HTTPException("namespaces/%d/blocks/%d: "
                                            "status %d" % (ns, h, st))
        return obj

    def tx_status(self, i, tx_hash_hex, timeout=5.0):
        st, obj = self.http_json(i, "/v1/tx/%s" % tx_hash_hex, timeout)
        if st != 200:
            raise http.client.HTTPException("tx: status %d" % st)
        return obj

    def rss_kib(self, i):
        """VmRSS of node i in KiB (None if it is not running)."""
        return proc_rss_kib(self.pid(i)) if self.running(i) else None

    def spawn_tool(self, argv, log_path, label):
        """Start a client program (argv[0] a path) with output appended to
        log_path; tracked like a node for cleanup. Returns the Popen."""
        log = open(log_path, "ab")
        stamp = datetime.datetime.now(datetime.timezone.utc).isoformat()
        log.write(("# cluster.py: start %s at %s: %s\n" %
                   (label, stamp, " ".join(argv))).encode())
        log.flush()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=log, close_fds=True,
                                    preexec_fn=_child_setup)
        finally:
            log.close()
        _LIVE[proc.pid] = proc
        return proc

    def run_tool(self, argv, timeout=60, input=None):
        """Run a client program to completion: (exit status, stdout,
        stderr) as text; exit status None if it overran `timeout` (it is
        then killed)."""
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, close_fds=True,
                                preexec_fn=_child_setup)
        _LIVE[proc.pid] = proc
        try:
            out, err = proc.communicate(input=input, timeout=timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            rc = None
        _LIVE.pop(proc.pid, None)
        return rc, out.decode(errors="replace"), err.decode(errors="replace")

    def cleanup(self, failed):
        """Stop every node still running (SIGTERM, then SIGKILL) and remove
        the directory unless `failed`. Returns {node: exit status}."""
        rcs = self.stop_all(timeout=10)
        for i in list(self.conns):
            self._drop_conn(i)
        if failed:
            print("cluster directory kept for inspection: %s" % self.dir,
                  flush=True)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        return rcs


# ---------------------------------------------------------------- rollups


def tx_hash(ns, payload):
    """DESIGN §5: SHA-256(u64 BE namespace || payload), as hex."""
    import hashlib
    return hashlib.sha256(int(ns).to_bytes(8, "big") + payload).hexdigest()


def tx_body(ns, payload):
    """The JSON body of POST /v1/tx."""
    import base64
    return json.dumps({"namespace": int(ns),
                       "payload": base64.b64encode(payload).decode()}).encode()


def proc_rss_kib(pid):
    """VmRSS of a process in KiB, from /proc/<pid>/status."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def read_applied(path):
    """An executor's output as [(height, index, tx_hash hex, payload
    bytes)], whole lines only (a line being written is left out)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    out = []
    for line in data.split(b"\n")[:-1]:
        if not line:
            continue
        parts = line.decode().split(" ")
        if len(parts) == 3:  # An empty payload.
            parts.append("")
        out.append((int(parts[0]), int(parts[1]), parts[2],
                    bytes.fromhex(parts[3])))
    return out


class Executor:
    """One seq-exec of a cluster, in DIR/<name>/ (state/ and applied.log,
    its log in exec.log), following namespace `ns` through the client ports
    of `nodes` in that order. Started, killed and restarted by PID; the
    state directory survives restarts."""

    def __init__(self, cluster, name, ns, nodes, credits=None,
                 failover_ms=None, extra=()):
        self.c = cluster
        self.name = name
        self.ns = ns
        self.nodes = list(nodes)
        self.dir = os.path.join(cluster.dir, name)
        self.state_dir = os.path.join(self.dir, "state")
        self.output = os.path.join(self.dir, "applied.log")
        self.log_path = os.path.join(self.dir, "exec.log")
        self.credits = credits
        self.failover_ms = failover_ms
        self.extra = list(extra)
        self.proc = None
        self.starts = 0
        os.makedirs(self.dir, exist_ok=True)

    def argv(self):
        argv = [self.c.tool("seq-exec"),
                "--genesis", self.c.genesis_path(self.nodes[0]),
                "--namespace", str(self.ns),
                "--state-dir", self.state_dir, "--output", self.output]
        for ep in self.c.client_endpoints(self.nodes):
            argv += ["--node", ep]
        if self.credits is not None:
            argv += ["--credits", str(self.credits)]
        if self.failover_ms is not None:
            argv += ["--failover-ms", str(self.failover_ms)]
        return argv + self.extra

    def start(self):
        if self.running():
            raise RuntimeError("%s is already running" % self.name)
        self.starts += 1
        self.proc = self.c.spawn_tool(self.argv(), self.log_path,
                                      "%s #%d" % (self.name, self.starts))
        return self.proc.pid

    def pid(self):
        return self.proc.pid if self.proc is not None else None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def returncode(self):
        return None if self.proc is None else self.proc.poll()

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        _LIVE.pop(self.proc.pid, None)

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def terminate(self, timeout=10):
        """SIGTERM (SIGCONT first, in case it is stopped); SIGKILL after
        `timeout`. Returns the exit status (None if it had to be killed)."""
        if not self.running():
            return self.returncode()
        os.kill(self.proc.pid, signal.SIGCONT)
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            rc = None
        _LIVE.pop(self.proc.pid, None)
        return rc

    def applied(self):
        return read_applied(self.output)

    def state(self):
        try:
            with open(os.path.join(self.state_dir, "state.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def height(self):
        st = self.state()
        return None if st is None else int(st.get("height", 0))

    def log_tail(self, lines=15):
        return self.c.log_tail(None, lines, path=self.log_path)


class Submitter:
    """POST /v1/tx load from a few threads, each with one keep-alive
    connection per node. Every transaction goes to a random node of
    `nodes` (set_nodes() changes them while it runs); a connection error,
    a 5xx or a 429 is retried with the same payload at another node (after
    Retry-After for a 429/503), so a retried transaction may reach several
    nodes and must still be delivered once. Records the 202s:
    acked[tx_hash] = (ns, payload, node, response status)."""

    def __init__(self, cluster, nodes, threads=4, seed=1, tx_timeout=60.0,
                 http_timeout=10.0):
        import threading
        self.c = cluster
        self.nodes = list(nodes)
        self.threads = threads
        self.rng = random.Random(seed)
        self.tx_timeout = tx_timeout
        self.http_timeout = http_timeout
        self.lock = threading.Lock()
        self.acked = {}
        self.ack_order = []   # tx hashes in ack order
        self.refused = {}     # tx_hash -> (status, body) for 4xx other than 429
        self.gave_up = {}     # tx_hash -> last error
        self.bad_hash = []    # (expected, returned)
        self.errors = {}      # kind -> count
        self.retries = 0
        self.posted = 0
        self.stop = False

    def set_nodes(self, nodes):
        with self.lock:
            self.nodes = list(nodes)

    def _count(self, kind):
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1

    def _one(self, conns, rng, ns, payload):
        want = tx_hash(ns, payload)
        body = tx_body(ns, payload)
        start = time.monotonic()
        avoid = None
        attempt = 0
        last = None
        while not self.stop:
            if attempt > 0:
                with self.lock:
                    self.retries += 1
            attempt += 1
            if time.monotonic() - start > self.tx_timeout:
                break
            with self.lock:
                nodes = list(self.nodes)
            choices = [i for i in nodes if i != avoid] or nodes
            node = rng.choice(choices)
            conn = conns.get(node)
            if conn is None:
                host, port = self.c.http_addr(node)
                conn = http.client.HTTPConnection(host, port,
                                                  timeout=self.http_timeout)
                conns[node] = conn
            try:
                with self.lock:
                    self.posted += 1
                conn.request("POST", "/v1/tx", body=body,
                             headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    conns.pop(node).close()
            except (OSError, http.client.HTTPException) as e:
                conns.pop(node, None)
                conn.close()
                last = "node%d: %s" % (node, type(e).__name__)
                self._count("connection")
                avoid = node
                time.sleep(0.05)
                continue
            if resp.status == 202:
                try:
                    obj = json.loads(data.decode())
                except ValueError:
                    obj = {}
                got = obj.get("tx_hash")
                with self.lock:
                    if got != want:
                        self.bad_hash.append((want, got))
                    if want not in self.acked:
                        self.ack_order.append(want)
                    self.acked[want] = (ns, payload, node, obj.get("status"))
                return
            last = "node%d: HTTP %d %s" % (node, resp.status, data[:200])
            if resp.status == 429 or resp.status >= 500:
                self._count("http%d" % resp.status)
                avoid = node
                try:
                    wait = float(resp.getheader("Retry-After", "0.1"))
                except ValueError:
                    wait = 0.1
                time.sleep(min(max(wait, 0.05), 2.0))
                continue
            with self.lock:
                self.refused[want] = (resp.status, data[:200])
            return
        with self.lock:
            self.gave_up[want] = last

    def run(self, txs, rate=None):
        """Submit every (ns, payload) of txs (at `rate` tx/s overall, or as
        fast as the threads go); returns when each is acked, refused or
        given up (or stop is set)."""
        import threading
        nxt = [0]
        t0 = time.monotonic()

        def worker(tid):
            rng = random.Random(self.rng.random())
            conns = {}
            try:
                while not self.stop:
                    with self.lock:
                        k = nxt[0]
                        nxt[0] += 1
                    if k >= len(txs):
                        return
                    if rate:
                        due = t0 + k / float(rate)
                        now = time.monotonic()
                        if due > now:
                            time.sleep(due - now)
                    ns, payload = txs[k]
                    self._one(conns, rng, ns, payload)
            finally:
                for conn in conns.values():
                    conn.close()
        ths = [threading.Thread(target=worker, args=(k,), daemon=True)
               for k in range(self.threads)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        return time.monotonic() - t0

    def start(self, txs, rate=None):
        """run() in a background thread; returns the thread (join it)."""
        import threading
        th = threading.Thread(target=self.run, args=(txs,),
                              kwargs={"rate": rate}, daemon=True)
        th.start()
        return th

    def acked_by_ns(self):
        out = {}
        with self.lock:
            for h, (ns, payload, node, st) in self.acked.items():
                out.setdefault(ns, {})[h] = payload
        return out


def make_payloads(rng, count, namespaces, lo=64, hi=200, tag=b"tx"):
    """count unique (ns, payload) pairs, payloads lo..hi bytes, namespaces
    drawn at random from `namespaces`."""
    out = []
    run = b"%08x" % rng.getrandbits(32)
    for k in range(count):
        head = b"%s-%s-%07d-" % (tag, run, k)
        size = max(len(head), rng.randint(lo, hi))
        pad = rng.randbytes(size - len(head))
        out.append((rng.choice(namespaces), head + pad))
    return out


class NsStream:
    """GET /v1/namespaces/<ns>/stream?from=<frm> on node i, read one
    namespace block (one NDJSON line) at a time. rcvbuf, if given, is the
    socket's SO_RCVBUF set before connecting (a small receive window, so
    that a reader that stops reading pushes back on the node at once)."""

    def __init__(self, cluster, i, ns, frm, rcvbuf=None, timeout=10.0):
        host, port = cluster.http_addr(i)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(timeout)
        sock.connect((host, port))
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)
        self.conn.sock = sock
        self.conn.request("GET", "/v1/namespaces/%d/stream?from=%d" %
                          (ns, frm))
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.sock = sock

    def settimeout(self, timeout):
        self.sock.settimeout(timeout)

    def next_block(self):
        """The next namespace block as JSON; None at the end of the
        stream. socket.timeout if none comes in time."""
        line = self.resp.readline()
        self.last_len = len(line)
        if not line:
            return None
        return json.loads(line.decode())

    def close(self):
        try:
            self.resp.close()
        finally:
            self.conn.close()


# ---------------------------------------------------------------- main


def launch_committing(c, t, height, need_zmq=False):
    """The usual start of a test: python3-zmq present (if need_zmq), the
    cluster launched, every node at `height` within 30 s."""
    if need_zmq and importlib.util.find_spec("zmq") is None:
        t.require(False, "python3-zmq is installed (apt-get install "
                  "python3-zmq)", sys.executable)
    c.launch()
    ok, took, last = c.wait_heights(height, timeout=30)
    t.require(ok, "the testnet commits", "heights %s after %.2fs" %
              (last, took))


def main(test, description, n=4, base_timeout_ms=1000, deadline_s=210,
         rollups=0):
    """Run test(cluster, tester, args) with a fresh cluster (not yet
    launched; its testnet registers `rollups` namespaces), bounded by
    deadline_s, and exit 0 iff every check passed."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--seqd", required=True, help="path to the seqd binary")
    ap.add_argument("--keep", action="store_true",
                    help="keep the cluster directory even on success")
    args = ap.parse_args()
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    t = Tester(name)
    t.log("%s: %s" % (name, description))
    c = Cluster(args.seqd, n=n, base_timeout_ms=base_timeout_ms,
                tag=name.replace("test_", ""), tester=t, rollups=rollups)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(deadline_s)
    try:
        test(c, t, args)
    except Tester.Stop as e:
        t.log("stopped after a failed precondition: %s" % e)
    except BaseException as e:  # noqa: B902 - report, then clean up
        t.failed += 1
        t.log("FAIL %s: %s" % (type(e).__name__, e))
        traceback.print_exc()
    finally:
        signal.alarm(0)
        if c.testnet is not None:
            # Every node still ours must not have died, and must stop
            # cleanly on SIGTERM (DESIGN §8: exit 0 within seconds).
            rcs = c.stop_all(timeout=10)
            bad = {"node%d" % i: rc for i, rc in rcs.items() if rc != 0}
            t.check(not bad, "no node died, and each exits 0 on SIGTERM at "
                    "the end", "exit status %s" % bad if bad else "")
        failed = t.failed > 0 or t.passed == 0
        if failed and c.testnet is not None:
            for i in range(c.n):
                print("--- tail of %s ---\n%s" %
                      (c.log_path(i), c.log_tail(i, 8)), flush=True)
        c.cleanup(failed or args.keep)
        _kill_leftovers()
    print("%d passed, %d failed" % (t.passed, t.failed), flush=True)
    sys.exit(0 if t.failed == 0 and t.passed > 0 else 1)
