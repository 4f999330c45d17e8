#!/usr/bin/env python3
"""cluster/test_kill_follower: kill -9 a node that is not the current
leader, keep it down while the other three commit >= 100 heights, restart
it: it catches up by block sync (its height reaches the others' height at
restart time within CATCHUP_BOUND_S) and agrees with them at every height.

Base timeout 200 ms, not 1000. Under round-robin, with one of four
validators down, every rotation of the leader lost two rounds to timeouts
(the round whose votes go to the dead next leader, then the dead leader's
own round), about 2 heights per 3 base timeouts: 100 heights took ~30 s at
200 ms. With elected leaders (hs_core.c L1) the dead one stops leading
after a few timed-out rounds, and 100 heights take a few seconds.
Catch-up needs block sync: the restarted node's store ends where it was
killed, and the blocks committed meanwhile can only come from its peers.
"""

import time

import cluster

DOWN_HEIGHTS = 100
CATCHUP_BOUND_S = 10.0


def test(c, t, args):
    c.launch()
    ok, took, last = c.wait_heights(50, timeout=30)
    t.require(ok, "the testnet commits", "heights %s after %.2fs" %
              (last, took))

    st = c.status(0)
    leader = c.node_of_validator(int(st["leader"]))
    # A non-leader, and not node0 (whose status named the leader).
    victim = next(i for i in range(c.n - 1, -1, -1) if i not in (leader, 0))
    others = [i for i in range(c.n) if i != victim]
    t.log("round %s leader is node%d; kill -9 follower node%d" %
          (st["round"], leader, victim))
    c.kill9(victim)
    t_kill = time.monotonic()
    at_kill = c.heights(others)
    own = c.log_records(victim, "commit")
    h_own = max(int(r["height"]) for r in own) if own else 0
    t.measure("heights right after the kill", "others %s, node%d's last "
              "logged commit %d" % (at_kill, victim, h_own))

    ok, took, last = c.wait_heights(h_own + DOWN_HEIGHTS, others,
                                    timeout=150, interval=0.1)
    t.measure("time for the other three to commit %d heights without "
              "node%d" % (DOWN_HEIGHTS, victim), "%.1fs (%.2f heights/s)" %
              (took, DOWN_HEIGHTS / took if took else 0))
    t.require(ok, "the other three commit >= %d heights while node%d is "
              "down" % (DOWN_HEIGHTS, victim), "heights %s" % last)

    target = max(h for h in c.heights(others).values() if h is not None)
    c.start(victim)
    c.wait_live(victim)
    t_start = time.monotonic()
    seen_catching_up = [False]

    def caught_up():
        st = c.status(victim, timeout=1.0)
        seen_catching_up[0] |= bool(st.get("catching_up"))
        return int(st["height"]) >= target
    ok, took = cluster.wait_until(caught_up, 30, interval=0.02)
    t.measure("node%d down for" % victim, "%.1fs" % (t_start - t_kill))
    t.measure("catch-up of node%d from its last logged commit %d to %d "
              "(%d heights)" % (victim, h_own, target, target - h_own),
              "%.3fs after /livez, catching_up seen: %s" %
              (took, seen_catching_up[0]))
    t.check(target - h_own >= DOWN_HEIGHTS,
            "node%d missed >= %d heights" % (victim, DOWN_HEIGHTS),
            "%d" % (target - h_own))
    t.check(ok and took <= CATCHUP_BOUND_S,
            "node%d reaches the others' height at restart (%d) within %.0fs"
            % (victim, target, CATCHUP_BOUND_S),
            "%.3fs" % took if ok else "not within 30s: %s" %
            c.heights([victim]))
    ok, took, base, last = c.wait_progress(10, timeout=30)
    t.check(ok, "all 4 commit after the restart", "from %d, heights %s" %
            (base, last))
    c.check_agreement(t, list(range(c.n)), "after follower restart")


if __name__ == "__main__":
    cluster.main(test, "kill -9 a follower for >= 100 heights; restarted, it "
                 "catches up by block sync and agrees", base_timeout_ms=200)
