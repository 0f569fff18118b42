#!/usr/bin/env python3
"""Unit tests of tests/chaos/checker.py on hand-made histories (linearizable and not), and of
the corruptions the self-test applies. CTest `chaos_checker`; Python standard library only:

    python3 tests/chaos/test_checker.py -v
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import checker  # noqa: E402


class H:
    """Builds a history: h.inv(p, f, key, value) / h.ok(p, ...) / h.fail / h.info, in order."""

    def __init__(self):
        self.events = []

    def _add(self, process, type_, f, key=None, value=None, **extra):
        e = {"index": len(self.events), "time": len(self.events) * 0.1, "process": process,
             "type": type_, "f": f, "key": key, "value": value, "node": 1}
        e.update(extra)
        self.events.append(e)
        return self

    def inv(self, p, f, key, value=None):
        return self._add(p, "invoke", f, key, value)

    def ok(self, p, f, key, value=None, **extra):
        return self._add(p, "ok", f, key, value, **extra)

    def fail(self, p, f, key, value=None, **extra):
        return self._add(p, "fail", f, key, value, **extra)

    def info(self, p, f, key, value=None, **extra):
        return self._add(p, "info", f, key, value, **extra)

    def nemesis(self, f, value):
        return self._add("nemesis", "info", f, None, value)

    def write(self, p, key, v, version):
        return self.inv(p, "write", key, v).ok(p, "write", key, v, version=version)

    def read(self, p, key, v, version):
        return self.inv(p, "read", key).ok(p, "read", key, [v, version])


def lin(h):
    return checker.check_linearizable(h.events)["valid"]


class Linearizability(unittest.TestCase):

    def test_sequential_history(self):
        h = H().write(0, "r", 1, 1).read(1, "r", 1, 1).write(1, "r", 2, 2).read(0, "r", 2, 2)
        self.assertIs(lin(h), True)

    def test_read_of_absent_key_then_write(self):
        h = H().inv(0, "read", "r").ok(0, "read", "r", None).write(1, "r", 5, 1)
        self.assertIs(lin(h), True)

    def test_stale_read_is_flagged(self):
        h = H().write(0, "r", 1, 1).write(0, "r", 2, 2).read(1, "r", 1, 1)
        r = checker.check_linearizable(h.events)
        self.assertIs(r["valid"], False)
        self.assertIn("register r", r["explanation"])

    def test_concurrent_read_may_see_either_value(self):
        # The read overlaps the second write: old or new value are both fine.
        for seen in ((1, 1), (2, 2)):
            h = (H().write(0, "r", 1, 1).inv(0, "write", "r", 2).inv(1, "read", "r")
                 .ok(1, "read", "r", list(seen)).ok(0, "write", "r", 2, version=2))
            self.assertIs(lin(h), True, seen)

    def test_read_of_a_value_never_written(self):
        h = H().write(0, "r", 1, 1).read(1, "r", 99, 2)
        self.assertIs(lin(h), False)

    def test_versions_must_count_writes(self):
        # Two acknowledged writes cannot both be version 2.
        h = H().write(0, "r", 1, 1).write(0, "r", 2, 2).write(1, "r", 3, 2)
        self.assertIs(lin(h), False)

    def test_cas_at_the_right_version(self):
        h = (H().write(0, "r", 1, 1).inv(1, "cas", "r", [1, 7]).ok(1, "cas", "r", [1, 7], version=2)
             .read(0, "r", 7, 2))
        self.assertIs(lin(h), True)

    def test_cas_ok_at_a_stale_version_is_flagged(self):
        h = (H().write(0, "r", 1, 1).write(0, "r", 2, 2)
             .inv(1, "cas", "r", [1, 7]).ok(1, "cas", "r", [1, 7], version=2))
        self.assertIs(lin(h), False)

    def test_cas_fail_needs_another_version(self):
        ok = H().write(0, "r", 1, 1).write(0, "r", 2, 2).inv(1, "cas", "r", [1, 7]).fail(
            1, "cas", "r", [1, 7], code=40901)
        self.assertIs(lin(ok), True)
        bad = H().write(0, "r", 1, 1).inv(1, "cas", "r", [1, 7]).fail(1, "cas", "r", [1, 7],
                                                                      code=40901)
        self.assertIs(lin(bad), False)
        # A cas refused before it was sent (connection refused) observed nothing.
        refused = H().write(0, "r", 1, 1).inv(1, "cas", "r", [1, 7]).fail(
            1, "cas", "r", [1, 7], error="connection refused")
        self.assertIs(lin(refused), True)

    def test_info_write_may_take_effect_later(self):
        # A timed-out write is seen by a read long after the client gave up.
        h = (H().write(0, "r", 1, 1).inv(1, "write", "r", 2).info(1, "write", "r", 2)
             .read(0, "r", 1, 1).read(0, "r", 2, 2))
        self.assertIs(lin(h), True)

    def test_info_write_may_never_happen(self):
        h = (H().write(0, "r", 1, 1).inv(1, "write", "r", 2).info(1, "write", "r", 2)
             .read(0, "r", 1, 1).write(0, "r", 3, 2).read(0, "r", 3, 2))
        self.assertIs(lin(h), True)

    def test_unobserved_info_writes_explain_version_gaps(self):
        # Two writes timed out unseen; the next acknowledged write got version 4.
        h = (H().write(0, "r", 1, 1)
             .inv(1, "write", "r", 2).info(1, "write", "r", 2)
             .inv(2, "write", "r", 3).info(2, "write", "r", 3)
             .write(0, "r", 4, 4).read(0, "r", 4, 4))
        self.assertIs(lin(h), True)
        # ... but one timed-out write cannot explain a gap of two.
        h2 = (H().write(0, "r", 1, 1).inv(1, "write", "r", 2).info(1, "write", "r", 2)
              .write(0, "r", 4, 4))
        self.assertIs(lin(h2), False)

    def test_unobserved_info_cas_bumps_only_its_version(self):
        # A timed-out cas at version 1 explains a write answered version 3 ...
        h = (H().write(0, "r", 1, 1).inv(1, "cas", "r", [1, 5]).info(1, "cas", "r", [1, 5])
             .write(0, "r", 2, 3))
        self.assertIs(lin(h), True)
        # ... but not when the version had moved past 1 before the cas was called.
        h2 = (H().write(0, "r", 1, 1).write(0, "r", 2, 2)
              .inv(1, "cas", "r", [1, 5]).info(1, "cas", "r", [1, 5]).write(0, "r", 3, 4))
        self.assertIs(lin(h2), False)
        # An observed cas of unknown outcome takes effect where the read needs it.
        h3 = (H().write(0, "r", 1, 1).inv(1, "cas", "r", [1, 5]).info(1, "cas", "r", [1, 5])
              .read(0, "r", 5, 2))
        self.assertIs(lin(h3), True)

    def test_info_write_cannot_take_effect_before_its_call(self):
        h = (H().write(0, "r", 1, 1).read(0, "r", 2, 2)
             .inv(1, "write", "r", 2).info(1, "write", "r", 2))
        self.assertIs(lin(h), False)

    def test_open_invoke_counts_as_info(self):
        h = H().write(0, "r", 1, 1).inv(1, "write", "r", 2).read(0, "r", 2, 2)
        self.assertIs(lin(h), True)

    def test_registers_are_checked_apart(self):
        h = H().write(0, "a", 1, 1).write(0, "b", 1, 1).read(1, "a", 1, 1).read(1, "b", 1, 1)
        r = checker.check_linearizable(h.events)
        self.assertIs(r["valid"], True)
        self.assertEqual(sorted(r["keys"]), ["a", "b"])

    def test_many_concurrent_clients(self):
        # Eight clients write and read one register, every operation overlapping the others:
        # the memoised search must settle it quickly.
        h = H().write(0, "r", 0, 1)
        for p in range(8):
            h.inv(p, "write", "r", 100 + p)
        for p in range(8):
            h.ok(p, "write", "r", 100 + p, version=2 + p)
        h.read(0, "r", 107, 9)
        r = checker.check_linearizable(h.events)
        self.assertIs(r["valid"], True)
        self.assertLess(r["keys"]["r"]["steps"], 10000)

    def test_budget_exhausted_is_unknown(self):
        h = H().write(0, "r", 0, 1)
        for p in range(6):
            h.inv(p, "write", "r", 100 + p)
        for p in range(6):
            h.ok(p, "write", "r", 100 + p, version=2 + p)
        r = checker.check_linearizable(h.events, budget=3)
        self.assertEqual(r["valid"], "unknown")


class LostWrites(unittest.TestCase):

    def history(self):
        return (H().inv(0, "add", None, "a-1").ok(0, "add", None, "a-1")
                .inv(1, "add", None, "a-2").info(1, "add", None, "a-2", code=50003)
                .inv(2, "add", None, "a-3").fail(2, "add", None, "a-3", code=40001)
                .inv(0, "add", None, "a-4").info(0, "add", None, "a-4", code=50302)).events

    def test_all_present(self):
        sets = {1: {"a-1": 1, "a-2": 1}, 2: {"a-1": 1, "a-2": 1}}
        r = checker.check_lost(self.history(), sets)
        self.assertTrue(r["valid"], r)
        self.assertEqual((r["acked"], r["lost_count"], r["info_present"]), (1, 0, 1))

    def test_acked_add_missing_on_one_node(self):
        r = checker.check_lost(self.history(), {1: {"a-1": 1}, 2: {}})
        self.assertFalse(r["valid"])
        self.assertEqual(r["lost"], {2: ["a-1"]})

    def test_failed_add_present(self):
        r = checker.check_lost(self.history(), {1: {"a-1": 1, "a-3": 1}})
        self.assertFalse(r["valid"])
        self.assertEqual(r["failed_present"], ["a-3"])

    def test_stranger(self):
        r = checker.check_lost(self.history(), {1: {"a-1": 1, "zz": 1}})
        self.assertFalse(r["valid"])
        self.assertEqual(r["strangers"], ["zz"])

    def test_not_written_but_present_is_a_note(self):
        r = checker.check_lost(self.history(), {1: {"a-1": 1, "a-4": 1}})
        self.assertTrue(r["valid"])
        self.assertEqual(r["not_written_but_present"], ["a-4"])


class Availability(unittest.TestCase):

    def test_longest_gap(self):
        ev = []
        for i, t in enumerate([1.0, 1.5, 4.0, 4.2]):
            ev.append({"index": 2 * i, "time": t - 0.01, "process": 0, "type": "invoke",
                       "f": "write", "key": "r", "value": i})
            ev.append({"index": 2 * i + 1, "time": t, "process": 0, "type": "ok", "f": "write",
                       "key": "r", "value": i, "version": i + 1})
        w, a, b = checker.availability(ev, 0.0, 5.0)
        self.assertAlmostEqual(w, 2.5)
        self.assertEqual((a, b), (1.5, 4.0))
        # Reads do not count; the edges of the run do.
        w, a, b = checker.availability(ev, 0.0, 10.0)
        self.assertEqual((a, b), (4.2, 10.0))

    def test_fault_windows(self):
        h = H()
        h.nemesis("start", "isolate node1")
        h.write(0, "r", 1, 1)
        h.nemesis("stop", "heal")
        ws = checker.fault_windows(h.events, 0.0, 1.0)
        self.assertEqual(len(ws), 1)
        self.assertEqual(ws[0][0], "isolate node1")


class Corruption(unittest.TestCase):

    def test_superseded_read_is_flagged(self):
        h = H().write(0, "r", 1, 1).write(1, "r", 2, 2).read(2, "r", 2, 2)
        self.assertIs(lin(h), True)
        bad, key, what = checker.corrupt_superseded_read(h.events)
        self.assertEqual(key, "r", what)
        self.assertIs(checker.check_linearizable(bad)["valid"], False)

    def test_dropped_add_is_flagged(self):
        h = H().inv(0, "add", None, "a-1").ok(0, "add", None, "a-1")
        sets = {1: {"a-1": 1}, 2: {"a-1": 1}}
        self.assertTrue(checker.check_lost(h.events, sets)["valid"])
        bad, key = checker.corrupt_drop_add(sets, h.events)
        self.assertEqual(key, "a-1")
        self.assertFalse(checker.check_lost(h.events, bad)["valid"])


def simulated_history(seed, n_ops=1500, procs=8, info_rate=0.2):
    """A history of a real (atomic) register: every operation takes effect at one instant
    between its invoke and its completion; an `info` one may take effect or not (and may be
    concurrent with everything after it). Linearizable by construction."""
    import random
    rnd = random.Random(seed)
    state = [0, 1]  # value, version
    events = []
    h = H().write(-1, "r", 0, 1)
    pending = {}   # process -> (f, value, effect_done, result)
    next_val = 1
    proc_ids = list(range(procs))
    for _ in range(n_ops * 3):
        p = rnd.choice(proc_ids)
        if p not in pending:
            f = rnd.choice(["read", "write", "cas"])
            if f == "read":
                h.inv(p, "read", "r")
                pending[p] = ["read", None, False, None]
            elif f == "write":
                next_val += 1
                h.inv(p, "write", "r", next_val)
                pending[p] = ["write", next_val, False, None]
            else:
                next_val += 1
                exp = state[1] - rnd.choice([0, 0, 1])
                h.inv(p, "cas", "r", [exp, next_val])
                pending[p] = ["cas", [exp, next_val], False, None]
            continue
        op = pending[p]
        if not op[2]:  # take effect now
            if op[0] == "read":
                op[3] = list(state)
            elif op[0] == "write":
                state = [op[1], state[1] + 1]
                op[3] = state[1]
            else:
                if state[1] == op[1][0]:
                    state = [op[1][1], state[1] + 1]
                    op[3] = state[1]
                else:
                    op[3] = "mismatch"
            op[2] = True
            if rnd.random() < info_rate / 2:  # gave up after it took effect
                h.info(p, op[0], "r", op[1] if op[0] != "read" else None)
                del pending[p]
                proc_ids[proc_ids.index(p)] = max(proc_ids) + 1
            continue
        # complete
        if op[0] == "read":
            h.ok(p, "read", "r", op[3])
        elif op[3] == "mismatch":
            h.fail(p, "cas", "r", op[1], code=40901)
        else:
            h.ok(p, op[0], "r", op[1], version=op[3])
        del pending[p]
    for p, op in list(pending.items()):
        if not op[2] and rnd.random() < info_rate:
            h.info(p, op[0], "r", op[1] if op[0] != "read" else None)  # never took effect
    return h


class Simulated(unittest.TestCase):
    """Histories of a real register under concurrency and timeouts: always linearizable; the
    checker must say so within its budget, and flag the same history with one read corrupted."""

    def test_simulated_histories(self):
        import time
        for seed in range(1, 6):
            h = simulated_history(seed)
            t0 = time.monotonic()
            r = checker.check_linearizable(h.events)
            self.assertIs(r["valid"], True, (seed, r["explanation"]))
            self.assertLess(time.monotonic() - t0, 20.0)
            bad, key, what = checker.corrupt_superseded_read(h.events)
            self.assertIsNotNone(bad, what)
            self.assertIs(checker.check_linearizable(bad)["valid"], False, (seed, what))


if __name__ == "__main__":
    unittest.main()
