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
                 tester=None):
        self.seqd = os.path.abspath(seqd)
        self.n = n
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
        out = subprocess.run(cmd, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=60)
        if out.returncode != 0:
            raise RuntimeError("seqd testnet failed (%d): %s" %
                               (out.returncode, out.stdout.decode()))
        with open(os.path.join(self.dir, "testnet.json")) as f:
            self.testnet = json.load(f)

    def launch(self, timeout=30, attempts=5):
        """Make the testnet and start every node; retried on a fresh port
        range when a node could not bind its ports."""
        for attempt in range(attempts):
            self._make_testnet()
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


# ---------------------------------------------------------------- main


def main(test, description, n=4, base_timeout_ms=1000, deadline_s=210):
    """Run test(cluster, tester, args) with a fresh cluster (not yet
    launched), bounded by deadline_s, and exit 0 iff every check passed."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--seqd", required=True, help="path to the seqd binary")
    ap.add_argument("--keep", action="store_true",
                    help="keep the cluster directory even on success")
    args = ap.parse_args()
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    t = Tester(name)
    t.log("%s: %s" % (name, description))
    c = Cluster(args.seqd, n=n, base_timeout_ms=base_timeout_ms,
                tag=name.replace("test_", ""), tester=t)
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
