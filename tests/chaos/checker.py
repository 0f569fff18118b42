"""Checkers of a recorded chaos history (tests/chaos/run.py; docs/chaos.md).

A history is a list of events in Jepsen's shape, in the order they happened (`index`):

    {"index": 7, "time": 1.234, "process": 3, "type": "invoke", "f": "write", "key": "r1", "value": 42, "node": 2}
    {"index": 9, "time": 1.251, "process": 3, "type": "ok",     "f": "write", "key": "r1", "value": 42, "version": 5}

`type` is invoke, then one of ok (it happened), fail (it certainly did not happen) or info (the
outcome is unknown: a timeout, a reset connection, a 500/50003 or a 503/50302). A process has at
most one operation open; after an info the client carries on as a new process. `time` is seconds
on a monotonic clock since the run began.

Operations (`f`):
  read   register read, consistency=strong; ok value: [value, version] or null (no such key)
  write  register update (PUT); invoke value: the new value (unique in the run); ok: "version"
  cas    update with expected_version; invoke value: [expected_version, new value]; ok:
         "version"; fail: 409/40901 (the version differed, nothing written)
  add    create of a unique key in the set namespace; invoke value: the key

Checkers, each a pure function of the history (and of what the nodes held after the heal):
  check_linearizable  per register, Wing–Gong search with memoisation over a register model
                      whose state is (value, version): a write moves the version by one, a cas
                      applies only at its expected version, reads see both.
  check_lost          every acknowledged add present on every node after the heal; nothing
                      present that no client tried to add; definite failures absent.
  availability        the longest interval in which no client got a write acknowledged.
Standard library only.
"""

import json

# The state of a register after a write whose value no read ever observed: later reads can
# never return it, so which of those writes it was does not matter (see _Search).
UNOBSERVED = ("<unobserved>",)
INF = float("inf")
WRITE_FS = ("write", "cas", "add")


def load_history(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def save_history(history, path):
    with open(path, "w") as f:
        for e in history:
            f.write(json.dumps(e, sort_keys=True) + "\n")


def pair_ops(history):
    """Pairs every invoke with its completion (same process, next event of that process).
    Returns a list of dicts: {f, key, value, node, process, call, ret, call_time, ret_time, type,
    inv, comp}; an invoke never completed gets type "info" and ret INF."""
    open_ops = {}
    ops = []
    for e in history:
        p = e.get("process")
        if p == "nemesis" or p is None:
            continue
        if e["type"] == "invoke":
            if p in open_ops:
                raise ValueError("process %r invoked twice without completing: %r" % (p, e))
            op = {"f": e["f"], "key": e.get("key"), "value": e.get("value"),
                  "node": e.get("node"), "process": p, "call": e["index"],
                  "call_time": e["time"], "ret": INF, "ret_time": None, "type": "info",
                  "inv": e, "comp": None}
            open_ops[p] = op
            ops.append(op)
        else:
            op = open_ops.pop(p, None)
            if op is None:
                raise ValueError("completion without an invoke: %r" % (e,))
            op["type"] = e["type"]
            op["comp"] = e
            op["ret_time"] = e["time"]
            if e["type"] != "info":
                op["ret"] = e["index"]
    return ops


# -- linearizability ---------------------------------------------------------------------------

def _hashable(v):
    return json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v


class _Op:
    __slots__ = ("call", "ret", "kind", "expected", "value", "version", "read", "src")

    def __init__(self, call, ret, kind, src, expected=None, value=None, version=None, read=None):
        self.call, self.ret, self.kind, self.src = call, ret, kind, src
        self.expected, self.value, self.version, self.read = expected, value, version, read

    def step(self, state):
        """The state after this op from `state` ((value, version) or None), or False when the op
        cannot happen there."""
        ver = state[1] if state is not None else 0
        k = self.kind
        if k == "read":
            return state if state == self.read else False
        if k == "write":   # ok: the answered version must be the next one
            if self.version is not None and self.version != ver + 1:
                return False
            return (self.value, ver + 1)
        if k == "cas":
            if ver != self.expected or (self.version is not None and self.version != ver + 1):
                return False
            return (self.value, ver + 1)
        if k == "cas-fail":
            return state if ver != self.expected else False
        raise AssertionError(k)


class _Search:
    """Wing & Gong's search with Lowe's memoisation for one register.

    Definite ops (ok reads/writes/cas, failed cas) must all be linearized, each between its call
    and its return. Optional ops (info writes whose value some read observed, info cas) may be
    linearized any time after their call, or never. Info writes whose value nobody observed are
    interchangeable "version bumps" (their value is UNOBSERVED for every later read), so they are
    a queue sorted by call: using the earliest eligible one is always at least as good. Info
    cas ops whose value nobody observed are bumps from their expected version to the next,
    available after the earliest such call (only one can ever apply per version).
    """

    def __init__(self, definite, optional, tokens, bumps, budget):
        self.d = sorted(definite, key=lambda o: o.call)
        self.o = sorted(optional, key=lambda o: o.call)
        self.tokens = sorted(tokens)
        self.bumps = bumps  # expected version -> earliest call of an unobserved info cas
        self.budget = budget
        self.steps = 0
        self.best = (-1, None, None)  # (definite ops done, state, done mask) at the deepest point

    def _candidates(self, dmask, omask, tused):
        d = self.d
        n = len(d)
        # The first op not yet linearized, then every op called before the earliest pending
        # return (ops are sorted by call; a later call has a later return than min_ret).
        i = ((~dmask) & (dmask + 1)).bit_length() - 1
        if i >= n:
            return None
        min_ret = INF
        window = []
        while i < n and d[i].call < min_ret:
            if not (dmask >> i) & 1:
                window.append(i)
                if d[i].ret < min_ret:
                    min_ret = d[i].ret
            i += 1
        out = [("d", j) for j in window if d[j].call < min_ret]
        for j, op in enumerate(self.o):
            if op.call >= min_ret:
                break
            if not (omask >> j) & 1:
                out.append(("o", j))
        if tused < len(self.tokens) and self.tokens[tused] < min_ret:
            out.append(("t", tused))
        return out, min_ret

    def run(self, initial=None):
        """1 linearizable, 0 not, -1 budget exhausted."""
        seen = set()
        stack = [(0, 0, 0, initial, None)]
        while stack:
            dmask, omask, tused, state, it = stack[-1]
            if it is None:
                key = (dmask, omask, tused, state)
                if key in seen:
                    stack.pop()
                    continue
                seen.add(key)
                self.steps += 1
                if self.steps > self.budget:
                    return -1
                cands = self._candidates(dmask, omask, tused)
                if cands is None:
                    return 1
                cands, min_ret = cands
                ver = state[1] if state else 0
                if self.bumps.get(ver, INF) < min_ret:
                    cands.append(("b", ver))
                done = bin(dmask).count("1")
                if done > self.best[0]:
                    self.best = (done, state, dmask)
                it = iter(cands)
                stack[-1] = (dmask, omask, tused, state, it)
            for kind, j in it:
                if kind == "t":
                    nxt = (UNOBSERVED, (state[1] if state else 0) + 1)
                    stack.append((dmask, omask, tused + 1, nxt, None))
                    break
                if kind == "b":
                    # Versions only grow: the bump at version j can never apply again, so using
                    # it needs no mark in the memo key.
                    stack.append((dmask, omask, tused, (UNOBSERVED, j + 1), None))
                    break
                op = self.d[j] if kind == "d" else self.o[j]
                nxt = op.step(state)
                if nxt is False:
                    continue
                if kind == "d":
                    stack.append((dmask | (1 << j), omask, tused, nxt, None))
                else:
                    stack.append((dmask, omask | (1 << j), tused, nxt, None))
                break
            else:
                stack.pop()
        return 0

    def explain(self):
        done, state, dmask = self.best
        pending = [op for i, op in enumerate(self.d) if not (dmask >> i) & 1][:3]
        return ("the longest valid prefix linearizes %d of %d definite operations and ends in "
                "state %s; the next pending: %s"
                % (done, len(self.d), _show_state(state),
                   "; ".join(_show_op(op.src) for op in pending)))


def _show_state(state):
    if state is None:
        return "absent"
    v = "<unobserved write>" if state[0] == UNOBSERVED else json.dumps(state[0])
    return "(value %s, version %d)" % (v, state[1])


def _show_op(op):
    comp = op.get("comp") or {}
    return ("%s %s %s by process %s on node %s: %s [events %s..%s, t=%.3f..%s]"
            % (op["f"], op["key"], json.dumps(op["value"]), op["process"], op["node"],
               op["type"] + (" %s" % json.dumps(comp.get("value")) if op["f"] == "read" else "")
               + (" version %s" % comp.get("version") if comp.get("version") else ""),
               op["call"], op["ret"] if op["ret"] != INF else "-", op["call_time"],
               "%.3f" % op["ret_time"] if op["ret_time"] is not None else "-"))


def register_ops(ops):
    """{key: [paired register ops]} (read, write, cas)."""
    out = {}
    for op in ops:
        if op["f"] in ("read", "write", "cas"):
            out.setdefault(op["key"], []).append(op)
    return out


def check_register(ops, budget=2_000_000):
    """Checks one register's paired ops. Returns {"valid": True/False/"unknown", "ops": n,
    "explanation": text}."""
    observed = set()
    for op in ops:
        if op["f"] == "read" and op["type"] == "ok" and op["comp"].get("value") is not None:
            observed.add(_hashable(op["comp"]["value"][0]))
    definite, optional, tokens, bumps = [], [], [], {}
    for op in ops:
        f, t, comp = op["f"], op["type"], op["comp"] or {}
        if f == "read":
            if t == "ok":
                v = comp.get("value")
                read = None if v is None else (_hashable(v[0]), v[1])
                definite.append(_Op(op["call"], op["ret"], "read", op, read=read))
            continue  # a failed or unknown read changed nothing
        if f == "write":
            v = _hashable(op["value"])
            if t == "ok":
                definite.append(_Op(op["call"], op["ret"], "write", op, value=v,
                                    version=comp.get("version")))
            elif t == "info":
                if v in observed:
                    optional.append(_Op(op["call"], INF, "write", op, value=v))
                else:
                    tokens.append(op["call"])
            continue  # fail: certainly not written
        if f == "cas":
            expected, new = op["value"]
            v = _hashable(new)
            if v not in observed:
                v = UNOBSERVED
            if t == "ok":
                definite.append(_Op(op["call"], op["ret"], "cas", op, expected=expected,
                                    value=v, version=comp.get("version")))
            elif t == "fail" and comp.get("code") == 40901:
                # 409: the version differed at some instant between call and return.
                definite.append(_Op(op["call"], op["ret"], "cas-fail", op, expected=expected))
            elif t == "fail":
                continue  # refused before it was sent: no effect, no observation
            elif v == UNOBSERVED:
                bumps[expected] = min(bumps.get(expected, INF), op["call"])
            else:
                optional.append(_Op(op["call"], INF, "cas", op, expected=expected, value=v))
    s = _Search(definite, optional, tokens, bumps, budget)
    r = s.run()
    out = {"ops": len(ops), "definite": len(definite), "optional": len(optional),
           "unobserved_infos": len(tokens) + len(bumps), "steps": s.steps}
    if r == 1:
        out.update(valid=True, explanation="")
    elif r == 0:
        out.update(valid=False, explanation=s.explain())
    else:
        out.update(valid="unknown", explanation="search budget of %d states exhausted" % budget)
    return out


def check_linearizable(history, budget=2_000_000):
    """Every register's history linearizable. Returns {"valid": True/False/"unknown",
    "keys": {key: result}, "explanation": text of the first failing key}."""
    per_key = {}
    valid = True
    explanation = ""
    for key, ops in sorted(register_ops(pair_ops(history)).items()):
        r = check_register(ops, budget)
        per_key[key] = r
        if r["valid"] is False:
            if valid is not False:
                explanation = "register %s: %s" % (key, r["explanation"])
            valid = False
        elif r["valid"] == "unknown" and valid is True:
            valid = "unknown"
            explanation = "register %s: %s" % (key, r["explanation"])
    return {"valid": valid, "keys": per_key, "explanation": explanation}


# -- lost writes -----------------------------------------------------------------------------

def check_lost(history, final_sets, not_written_codes=(50301, 50302)):
    """`final_sets`: {node: {key: value}} of the set namespace read from every node after the
    heal. Returns {"valid", "acked", "lost": {node: [keys]}, "lost_count", "failed_present",
    "strangers", "info_present", "not_written_but_present"}.

    Failures: an acknowledged add missing on any node, a definitely failed add present anywhere
    (other than the codes in `not_written_codes`, which are recorded as info), a key no client
    tried to add. `not_written_but_present` lists adds answered with one of `not_written_codes`
    ("nothing was written" per docs/api.md) that are present: a note, not a failure (the same
    NOTE as tests/e2e/test_chaos.py)."""
    adds = [op for op in pair_ops(history) if op["f"] == "add"]
    acked = {op["value"] for op in adds if op["type"] == "ok"}
    failed = {op["value"] for op in adds if op["type"] == "fail"}
    tried = {op["value"] for op in adds}
    not_written = {op["value"] for op in adds if op["type"] == "info"
                   and (op["comp"] or {}).get("code") in not_written_codes}
    lost = {}
    present_anywhere = set()
    strangers = set()
    for node, keys in sorted(final_sets.items()):
        ks = set(keys)
        present_anywhere |= ks
        missing = sorted(acked - ks)
        if missing:
            lost[node] = missing
        strangers |= ks - tried
    failed_present = sorted(failed & present_anywhere)
    lost_keys = set()
    for keys in lost.values():
        lost_keys |= set(keys)
    info_adds = {op["value"] for op in adds if op["type"] == "info"}
    return {"valid": not lost and not failed_present and not strangers,
            "acked": len(acked), "lost": lost, "lost_count": len(lost_keys),
            "failed_present": failed_present, "strangers": sorted(strangers),
            "info_present": len(info_adds & present_anywhere), "info": len(info_adds),
            "not_written_but_present": sorted(not_written & present_anywhere)}


def not_written_but_observed(history, not_written_codes=(50301, 50302)):
    """Register writes answered with a code that says nothing was written whose value a read
    saw nevertheless (a note, see check_lost)."""
    ops = pair_ops(history)
    seen = set()
    for op in ops:
        if op["f"] == "read" and op["type"] == "ok" and (op["comp"] or {}).get("value"):
            seen.add((op["key"], _hashable(op["comp"]["value"][0])))
    out = []
    for op in ops:
        code = (op["comp"] or {}).get("code")
        if op["f"] in ("write", "cas") and op["type"] == "info" and code in not_written_codes:
            v = op["value"] if op["f"] == "write" else op["value"][1]
            if (op["key"], _hashable(v)) in seen:
                out.append("%s %s=%s answered %s" % (op["f"], op["key"], json.dumps(v), code))
    return out


# -- availability ----------------------------------------------------------------------------

def availability(history, start, end):
    """The longest interval within [start, end] (seconds) without an acknowledged write
    (write, cas or add answered ok). Returns (length, from, to)."""
    acks = sorted(e["time"] for e in history
                  if e.get("type") == "ok" and e.get("f") in WRITE_FS
                  and isinstance(e.get("process"), int) and start <= e["time"] <= end)
    points = [start] + acks + [end]
    best = (0.0, start, start)
    for a, b in zip(points, points[1:]):
        if b - a > best[0]:
            best = (b - a, a, b)
    return best


def fault_windows(history, start, end):
    """For every fault (nemesis start/stop pair): the longest interval without an acknowledged
    write that overlaps it. Returns [(description, fault start, fault end, window length)]."""
    acks = sorted(e["time"] for e in history
                  if e.get("type") == "ok" and e.get("f") in WRITE_FS
                  and isinstance(e.get("process"), int) and start <= e["time"] <= end)
    points = [start] + acks + [end]
    gaps = list(zip(points, points[1:]))
    out = []
    open_fault = None
    for e in history:
        if e.get("process") != "nemesis":
            continue
        if e["f"] == "start":
            open_fault = e
        elif e["f"] == "stop" and open_fault is not None:
            a, b = open_fault["time"], e["time"]
            w = max([g1 - g0 for g0, g1 in gaps if g1 >= a and g0 <= b] or [0.0])
            out.append((open_fault.get("value"), a, b, w))
            open_fault = None
    return out


# -- corruption for the self-test -------------------------------------------------------------

def corrupt_superseded_read(history):
    """A copy of `history` where one ok read returns a value that was superseded before the read
    began (two acknowledged writes of its key, both returned before the read's call: the read
    answers the older one). Returns (history, key, description) or (None, None, reason)."""
    ops = pair_ops(history)
    by_key = register_ops(ops)
    for key, kops in sorted(by_key.items()):
        writes = sorted([op for op in kops if op["f"] in ("write", "cas") and op["type"] == "ok"
                         and (op["comp"] or {}).get("version")], key=lambda o: o["ret"])
        reads = [op for op in kops if op["f"] == "read" and op["type"] == "ok"]
        for r in reversed(reads):
            before = [w for w in writes if w["ret"] < r["call"]]
            if len(before) < 2:
                continue
            # The newest acknowledged version before the read, and the one just below it.
            by_version = sorted(before, key=lambda w: w["comp"]["version"])
            newest, old = by_version[-1], by_version[-2]
            if old["comp"]["version"] == newest["comp"]["version"]:
                continue
            old_value = old["value"] if old["f"] == "write" else old["value"][1]
            out = [dict(e) for e in history]
            idx = r["comp"]["index"]
            for e in out:
                if e["index"] == idx:
                    e["value"] = [old_value, old["comp"]["version"]]
            return out, key, ("read of %s (event %d) now returns version %d although version %d "
                              "was acknowledged before the read began"
                              % (key, idx, old["comp"]["version"], newest["comp"]["version"]))
    return None, None, "no read preceded by two acknowledged writes of its key"


def corrupt_drop_add(final_sets, history):
    """A copy of `final_sets` where one node lost one acknowledged add. Returns (sets, key) or
    (None, None) when no add was acknowledged."""
    acked = sorted(op["value"] for op in pair_ops(history) if op["f"] == "add" and op["type"] == "ok")
    if not acked:
        return None, None
    key = acked[len(acked) // 2]
    node = sorted(final_sets)[0]
    out = {n: dict(s) for n, s in final_sets.items()}
    out[node].pop(key, None)
    return out, key
