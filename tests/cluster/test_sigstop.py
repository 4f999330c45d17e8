#!/usr/bin/env python3
"""cluster/test_sigstop: SIGSTOP one node for 10 s while the other three
keep committing (they must advance >= 5 heights meanwhile), then SIGCONT:
the paused node rejoins, catches up to the others' height at the moment it
was resumed, and agrees with them at every height.

A stopped process keeps its sockets open: its peers see no disconnect
until ZMTP heartbeats time out (5 s, net_mesh.c M4), and its own timers
are all overdue when it resumes.
"""

import time

import cluster

PAUSE_S = 10.0
MIN_ADVANCE = 5


def test(c, t, args):
    c.launch()
    ok, took, last = c.wait_heights(50, timeout=30)
    t.require(ok, "the testnet commits", "heights %s after %.2fs" %
              (last, took))

    victim = 2
    others = [i for i in range(c.n) if i != victim]
    before = c.heights(others)
    c.pause(victim)
    t_pause = time.monotonic()
    t.log("SIGSTOP node%d (pid %d) at heights %s" %
          (victim, c.pid(victim), before))
    # Sample the others for the whole pause (a measurement window).
    samples = []

    def window_over():
        samples.append(c.heights(others, timeout=0.5))
        return time.monotonic() - t_pause >= PAUSE_S
    cluster.wait_until(window_over, PAUSE_S + 10, interval=0.1)
    during = c.heights(others)
    c.resume(victim)
    t_resume = time.monotonic()
    paused_for = t_resume - t_pause
    adv = {i: (during[i] - before[i]) if during[i] is not None and
           before[i] is not None else None for i in others}
    t.measure("paused for", "%.2fs" % paused_for)
    t.measure("heights gained by the others while node%d was stopped" %
              victim, adv)
    t.check(all(a is not None and a >= MIN_ADVANCE for a in adv.values()),
            "the other three advance >= %d heights during the pause" %
            MIN_ADVANCE, "%s" % adv)

    target = max(h for h in during.values() if h is not None)
    ok, took, last = c.wait_heights(target, [victim], timeout=30,
                                    interval=0.02)
    t.measure("node%d catch-up to %d after SIGCONT" % (victim, target),
              "%.3fs" % took if ok else "no")
    t.check(ok, "node%d rejoins and reaches the others' height within 30s"
            % victim, "heights %s" % last)
    ok, took, base, last = c.wait_progress(10, timeout=30)
    t.check(ok, "all 4 commit after SIGCONT", "from %d, heights %s" %
            (base, last))
    c.check_agreement(t, list(range(c.n)), "after SIGSTOP/SIGCONT")


if __name__ == "__main__":
    cluster.main(test, "SIGSTOP a node for 10 s: the others keep committing; "
                 "after SIGCONT it catches up and agrees")
