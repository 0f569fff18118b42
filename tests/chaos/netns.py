"""A network of Linux network namespaces for the chaos suite (docs/chaos.md).

    Lab(n).create()      namespaces <prefix>-n1..nN, a bridge <prefix>b in the root namespace
                         (address .254) and a veth pair per node (eth0 inside, address .i);
    lab.cut(i, j)        packets from j are dropped when they reach i (a one-way cut);
    lab.partition(groups) every node hears only the nodes of its own group;
    lab.heal()           every cut removed, every link at full speed;
    lab.slow(i)          node i's link delayed (tc netem) or, without netem, rate-limited (tbf);
    lab.destroy()        namespaces and bridge removed (processes must be stopped before).

Cuts are policy-routing rules in the receiver's namespace (`ip rule add from <peer> blackhole`,
ahead of the local table): the packets vanish silently, as in a real partition (no reset, no
"unreachable"), and only packets between nodes are affected: clients in the root namespace
reach every node through the bridge whatever the cuts. Names carry the owner's PID so that
stale_labs() can find labs whose owner died (cleaned by `run.py --clean`).

Needs root and iproute2. Standard library only.
"""

import os
import random
import re
import subprocess

PREFIX = "cch"          # every namespace, bridge and veth of this suite starts with it
RULE_PREF = 10          # our blackhole rules; the local table moves to LOCAL_PREF
LOCAL_PREF = 100


class LabError(RuntimeError):
    pass


def sh(args, check=True):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and p.returncode != 0:
        raise LabError("%s -> %d: %s" % (" ".join(args), p.returncode, p.stderr.strip()))
    return p


def can_run():
    """None when namespaces can be made here, else the reason (for a skip message)."""
    if os.geteuid() != 0:
        return "needs root (network namespaces); run as root or in CI"
    probe = "%s%dprobe" % (PREFIX, os.getpid())
    try:
        sh(["ip", "netns", "add", probe])
    except (LabError, OSError) as e:
        return "`ip netns add` failed: %s" % e
    sh(["ip", "netns", "del", probe], check=False)
    return None


def _used_subnets():
    out = sh(["ip", "-4", "addr"], check=False).stdout + sh(["ip", "-4", "route"],
                                                            check=False).stdout
    return set(re.findall(r"\b10\.(\d+)\.(\d+)\.", out))


def stale_labs():
    """Namespace names of labs whose owner process is gone."""
    out = sh(["ip", "netns", "list"], check=False).stdout
    stale = []
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ""
        m = re.match(r"%s(\d+)[a-z]-n\d+$" % PREFIX, name)
        if m and not os.path.exists("/proc/%s" % m.group(1)):
            stale.append(name)
    return stale


def clean_stale():
    """Removes namespaces and bridges of dead owners; returns what it removed."""
    removed = []
    for ns in stale_labs():
        sh(["ip", "netns", "del", ns], check=False)
        removed.append(ns)
    out = sh(["ip", "-o", "link", "show", "type", "bridge"], check=False).stdout
    for m in re.finditer(r"^\d+: (%s(\d+)[a-z]b)[:@]" % PREFIX, out, re.M):
        if not os.path.exists("/proc/%s" % m.group(2)):
            sh(["ip", "link", "del", m.group(1)], check=False)
            removed.append(m.group(1))
    return removed


class Lab:
    _count = 0

    def __init__(self, nodes, rnd=None):
        Lab._count += 1
        # cch<pid><letter>: unique per process and lab, <= 15 characters with the suffixes.
        self.tag = "%s%d%s" % (PREFIX, os.getpid(), "abcdefghijklmnopqrstuvwxyz"[Lab._count % 26])
        self.n = nodes
        self.rnd = rnd or random.Random()
        self.bridge = self.tag + "b"
        self.subnet = None
        self.created = False
        self.cuts = set()        # (receiver, sender)
        self.slowed = {}         # node -> description
        self.netem = None        # None: not probed yet

    def ns(self, i):
        return "%s-n%d" % (self.tag, i)

    def veth(self, i):
        return "%sv%d" % (self.tag, i)

    def ip(self, i):
        return "10.%s.%s.%d" % (self.subnet[0], self.subnet[1], i)

    @property
    def host_ip(self):
        return self.ip(254)

    def create(self):
        used = _used_subnets()
        for _ in range(100):
            s = (str(self.rnd.randrange(200, 250)), str(self.rnd.randrange(1, 250)))
            if s not in used:
                self.subnet = s
                break
        else:
            raise LabError("no free 10.x.y.0/24 subnet")
        self.created = True
        sh(["ip", "link", "add", self.bridge, "type", "bridge"])
        sh(["ip", "addr", "add", self.host_ip + "/24", "dev", self.bridge])
        sh(["ip", "link", "set", self.bridge, "up"])
        for i in range(1, self.n + 1):
            ns = self.ns(i)
            sh(["ip", "netns", "add", ns])
            sh(["ip", "link", "add", self.veth(i), "type", "veth", "peer", "name", "eth0",
                "netns", ns])
            sh(["ip", "link", "set", self.veth(i), "master", self.bridge, "up"])
            sh(["ip", "-n", ns, "addr", "add", self.ip(i) + "/24", "dev", "eth0"])
            sh(["ip", "-n", ns, "link", "set", "eth0", "up"])
            sh(["ip", "-n", ns, "link", "set", "lo", "up"])
            # The local table must come after our blackhole rules, or a packet to a local
            # address is accepted before any rule sees it.
            sh(["ip", "-n", ns, "rule", "add", "pref", str(LOCAL_PREF), "lookup", "local"])
            sh(["ip", "-n", ns, "rule", "del", "pref", "0"])
        return self

    def exec_prefix(self, i):
        """Command prefix that runs a program in node i's namespace (`ip netns exec` execs the
        program in place: the child's PID is the program's)."""
        return ["ip", "netns", "exec", self.ns(i)]

    # -- faults ---------------------------------------------------------------------------

    def cut(self, receiver, sender):
        if (receiver, sender) in self.cuts:
            return
        sh(["ip", "-n", self.ns(receiver), "rule", "add", "pref", str(RULE_PREF), "from",
            self.ip(sender), "blackhole"])
        self.cuts.add((receiver, sender))

    def uncut(self, receiver, sender):
        if (receiver, sender) not in self.cuts:
            return
        sh(["ip", "-n", self.ns(receiver), "rule", "del", "pref", str(RULE_PREF), "from",
            self.ip(sender), "blackhole"], check=False)
        self.cuts.discard((receiver, sender))

    def partition(self, groups):
        """Every node hears only the members of its own group (groups: lists of node ids)."""
        where = {i: gi for gi, g in enumerate(groups) for i in g}
        for a in range(1, self.n + 1):
            for b in range(1, self.n + 1):
                if a != b and where.get(a) != where.get(b):
                    self.cut(a, b)

    def isolate(self, i):
        self.partition([[i], [j for j in range(1, self.n + 1) if j != i]])

    def probe_netem(self):
        """Whether the kernel has sch_netem (tried on the bridge side of node 1's veth)."""
        if self.netem is None:
            p = sh(["tc", "qdisc", "add", "dev", self.veth(1), "root", "netem", "delay", "1ms"],
                   check=False)
            self.netem = p.returncode == 0
            if self.netem:
                sh(["tc", "qdisc", "del", "dev", self.veth(1), "root"], check=False)
        return self.netem

    def slow(self, i, delay_ms=150, jitter_ms=50, loss_pct=2, rate="256kbit"):
        """Slows node i's link both ways: netem delay/jitter/loss, or (no netem in this kernel)
        a tbf rate limit with a 400 ms queue. Returns what was applied."""
        if self.probe_netem():
            spec = ["netem", "delay", "%dms" % delay_ms, "%dms" % jitter_ms, "loss",
                    "%d%%" % loss_pct]
            what = "netem delay %d±%d ms, loss %d%%" % (delay_ms, jitter_ms, loss_pct)
        else:
            spec = ["tbf", "rate", rate, "burst", "8kb", "latency", "400ms"]
            what = "tbf rate %s, queue 400 ms (no netem in this kernel)" % rate
        sh(["tc", "qdisc", "add", "dev", self.veth(i), "root"] + spec)
        sh(["ip", "netns", "exec", self.ns(i), "tc", "qdisc", "add", "dev", "eth0", "root"] + spec)
        self.slowed[i] = what
        return what

    def unslow(self, i):
        sh(["tc", "qdisc", "del", "dev", self.veth(i), "root"], check=False)
        sh(["ip", "netns", "exec", self.ns(i), "tc", "qdisc", "del", "dev", "eth0", "root"],
           check=False)
        self.slowed.pop(i, None)

    def heal(self):
        for receiver, sender in list(self.cuts):
            self.uncut(receiver, sender)
        for i in list(self.slowed):
            self.unslow(i)

    def destroy(self):
        if not self.created:
            return
        for i in range(1, self.n + 1):
            sh(["ip", "netns", "del", self.ns(i)], check=False)
        sh(["ip", "link", "del", self.bridge], check=False)
        self.created = False
