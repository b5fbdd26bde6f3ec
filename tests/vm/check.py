#!/usr/bin/env python3
"""Host-side assertions of tests/vm.

Usage: check.py [--plumbing] LOGDIR SCENARIO...

For each scenario, parses LOGDIR/SCENARIO.log (the guest's serial console, protocol in
guest/lib.sh), checks
  * preconditions: the kernel and udev really did what the scenario is about (the probe failed,
    the netdev came late, ...), otherwise a passing netsettle would prove nothing;
  * netsettle: exit codes, the JSON report (SPEC.md field names and states), and the order of
    events on one clock: every guest marker is also written to the kernel log (guest/lib.sh), so
    the kernel's own lines, the markers and netsettle's exit (the "ns" marker, written as soon as
    the process is reaped) are ordered by their position in that log, not by stopwatch windows
    that a loaded machine would break. Deadlines are checked on netsettle's own clock (the
    report's elapsed_ms): not before the deadline, not after it by more than one tick;
and prints a table: scenario, result, each netsettle run (exit/elapsed), what `udevadm settle` did
in the same boot. --plumbing skips the netsettle checks (harness debugging).
Exit status 0 when every scenario passed.
"""
import json
import re
import sys

STATES = {"ready", "no-driver", "probe-failed", "no-netdev", "not-processed", "passthrough", "ignored"}
TOP_KEYS = {"ready", "exit_code", "elapsed_ms", "udev", "devices", "interfaces", "expectations",
            "pending_modules", "kernel_problems"}
TICK_MS = 1000       # netsettle's slowest re-evaluation while anything changes (watch::TICK):
                     # the most a decision may trail its deadline


class Run:
    """One netsettle invocation in the guest."""
    def __init__(self, label):
        self.label, self.args, self.rc, self.t0, self.t1 = label, "", None, None, None
        self.out, self.err, self.json, self.skipped = None, [], None, False

    @property
    def elapsed(self):
        return None if self.t1 is None else self.t1 - self.t0


class Log:
    def __init__(self, path):
        self.markers, self.runs, self.kmsg, self.host = [], {}, [], {}
        self.kmarkers = []   # (position in self.kmsg, kind, fields) of the markers in the kernel log
        try:
            text = open(path, "rb").read().decode("utf-8", "replace")
        except OSError as e:
            text = ""
            self.error = str(e)
        for line in text.splitlines():
            line = line.rstrip("\r")
            if line.startswith("@@NS "):
                kind, _, rest = line[5:].partition(" ")
                kv = dict(re.findall(r"(\S+?)=(\S*)", rest))
                self.markers.append((kind, kv))
                if kind == "ns":
                    r = self.run(kv["label"])
                    if "skipped" in rest.split():
                        r.skipped = True
                    else:
                        r.rc, r.t0, r.t1 = int(kv["rc"]), float(kv["t0"]), float(kv["t1"])
            elif line.startswith("@@NSARGS "):
                label, _, args = line[9:].partition(" ")
                self.run(label).args = args
            elif line.startswith("@@NSOUT "):
                label, _, out = line[8:].partition(" ")
                r = self.run(label)
                r.out = out
                try:
                    r.json = json.loads(out)
                except ValueError:
                    r.json = None
            elif line.startswith("@@NSERR "):
                label, _, err = line[8:].partition(" ")
                self.run(label).err.append(err)
            elif line.startswith("@@NSK "):
                m = re.match(r"(?:<(\d+)>)?\[\s*(\d+\.\d+)\]\s?(.*)", line[6:])
                if m:
                    level = int(m.group(1)) & 7 if m.group(1) else None
                    self.kmsg.append((float(m.group(2)), m.group(3), level))
                    if m.group(3).startswith("nsvm: "):
                        kind, _, rest = m.group(3)[6:].partition(" ")
                        self.kmarkers.append((len(self.kmsg) - 1, kind, dict(re.findall(r"(\S+?)=(\S*)", rest))))
            elif line.startswith("@@HOST "):
                self.host = dict(re.findall(r"(\S+?)=(\S*)", line))

    def run(self, label):
        return self.runs.setdefault(label, Run(label))

    def marker(self, kind, **match):
        """First marker of this kind whose fields include **match (None if there is none)."""
        for k, kv in self.markers:
            if k == kind and all(kv.get(a) == b for a, b in match.items()):
                return kv
        return None

    def pci(self, label, addr):
        return self.marker("pci", label=label, pci=addr) or {}

    def kline(self, needle):
        """(time, text) of the first kernel log line containing needle."""
        return next(((t, s) for t, s, _ in self.kmsg if needle in s), (None, None))

    def kpos(self, needle):
        """Position in the kernel log of the first kernel line (not a marker) containing needle."""
        return next((i for i, (_, s, _) in enumerate(self.kmsg) if needle in s and not s.startswith("nsvm: ")),
                    None)

    def mpos(self, kind, **match):
        """Position in the kernel log of the first marker of this kind whose fields include **match."""
        return next((i for i, k, kv in self.kmarkers if k == kind and all(kv.get(a) == b for a, b in match.items())),
                    None)


class Scenario:
    def __init__(self, name, log, plumbing):
        self.name, self.log, self.plumbing = name, log, plumbing
        self.failures, self.notes = [], []

    def expect(self, cond, msg):
        if not cond:
            self.failures.append(msg)
        return bool(cond)

    def note(self, msg):
        self.notes.append(msg)

    def before(self, a, b, what):
        """Event a came before event b in the kernel log (positions from kpos/mpos)."""
        if self.expect(a is not None and b is not None, f"{what}: event missing from the kernel log "
                       f"(positions {a}, {b})"):
            self.expect(a < b, f"{what}: not in that order in the kernel log (positions {a}, {b})")

    def exit_pos(self, r):
        """Position of run r's exit marker in the kernel log (written once the process was reaped,
        so netsettle exited at or before it)."""
        return None if r is None else self.log.mpos("ns", label=r.label)

    def deadline(self, r, seconds):
        """Run r ended at its deadline: not before it, not after it by more than one tick."""
        if r is None:
            return
        ms = r.json.get("elapsed_ms")
        if self.expect(isinstance(ms, int), f"{r.label}: elapsed_ms {ms!r}"):
            self.expect(seconds * 1000 <= ms <= seconds * 1000 + TICK_MS,
                        f"{r.label}: decided after {ms} ms, expected its {seconds} s deadline (+ at most one "
                        f"{TICK_MS} ms tick)")
            # the guest's clock too: the process did not end before its deadline
            self.expect(r.elapsed >= seconds - 0.01, f"{r.label}: exited {r.elapsed:.2f} s after it started, "
                        f"before its {seconds} s deadline")

    def before_deadline(self, r, seconds):
        """Run r ended for a reason of its own (ready, a certain failure, a signal), not its deadline."""
        if r is None:
            return
        ms = r.json.get("elapsed_ms")
        if self.expect(isinstance(ms, int), f"{r.label}: elapsed_ms {ms!r}"):
            self.expect(ms < seconds * 1000, f"{r.label}: ran into its {seconds} s deadline ({ms} ms)")

    def t(self, kind, **match):
        """Guest time of a marker, or None."""
        m = self.log.marker(kind, **match)
        return float(m["t"]) if m and "t" in m else None

    def ns(self, label, rc):
        """The run LABEL, checked against the SPEC's report contract and exit code rc.
        None when netsettle is not under test (plumbing) or did not produce a report."""
        if self.plumbing:
            return None
        r = self.log.runs.get(label)
        if r is None or r.skipped:
            self.expect(False, f"{label}: netsettle was not run (no binary in the image?)")
            return None
        if r.rc is None:
            self.expect(False, f"{label}: netsettle never exited")
            return None
        self.expect(r.rc == rc, f"{label}: exit {r.rc}, expected {rc} (netsettle {r.args})")
        js = r.json
        if not isinstance(js, dict):
            self.expect(False, f"{label}: stdout is not a JSON object: {(r.out or '')[:300]!r}")
            return None
        missing = TOP_KEYS - js.keys()
        self.expect(not missing, f"{label}: JSON lacks {sorted(missing)}")
        self.expect(js.get("exit_code") == r.rc, f"{label}: JSON exit_code {js.get('exit_code')} "
                    f"but the process exited {r.rc}")
        self.expect(js.get("ready") == (r.rc == 0), f"{label}: JSON ready={js.get('ready')} with exit {r.rc}")
        devs, ifs = js.get("devices") or [], js.get("interfaces") or []
        self.expect([d.get("pci") for d in devs] == sorted(d.get("pci") for d in devs),
                    f"{label}: devices not sorted by PCI address")
        self.expect([i.get("name") for i in ifs] == sorted(i.get("name") for i in ifs),
                    f"{label}: interfaces not sorted by name")
        for d in devs:
            st = d.get("state")
            self.expect(st in STATES, f"{label}: {d.get('pci')}: unknown state {st!r}")
            if st not in ("ready", "passthrough", "ignored"):
                self.expect(d.get("reason"), f"{label}: {d.get('pci')} is {st} without a reason")
        return r

    def dev(self, r, addr):
        """The device ADDR of run r's report ({} if absent, which is a failure)."""
        if r is None:
            return {}
        for d in r.json.get("devices") or []:
            if d.get("pci") == addr:
                return d
        self.expect(False, f"{r.label}: no device {addr} in the report")
        return {}

    def state(self, r, addr, state, driver=None, netdevs=None, reason=()):
        d = self.dev(r, addr)
        if not d:
            return d
        self.expect(d.get("state") == state, f"{r.label}: {addr} state {d.get('state')!r}, expected "
                    f"{state!r} (reason: {d.get('reason')!r})")
        if driver is not None:
            self.expect(d.get("driver") == driver, f"{r.label}: {addr} driver {d.get('driver')!r}, expected {driver!r}")
        if netdevs is not None:
            self.expect(d.get("netdevs") == netdevs,
                        f"{r.label}: {addr} netdevs {d.get('netdevs')!r}, expected {netdevs!r}")
        for words in reason:   # each item: alternatives, one of which the reason must contain
            alts = (words,) if isinstance(words, str) else words
            self.expect(any(w.lower() in (d.get("reason") or "").lower() for w in alts),
                        f"{r.label}: {addr} reason {d.get('reason')!r} does not mention {' or '.join(map(repr, alts))}")
        return d

    def interfaces(self, r, names, processed=True):
        if r is None:
            return
        ifs = r.json.get("interfaces") or []
        got = [i.get("name") for i in ifs]
        self.expect(got == names, f"{r.label}: interfaces {got}, expected {names}")
        if processed is not None:
            for i in ifs:
                self.expect(i.get("udev_processed") is processed,
                            f"{r.label}: {i.get('name')} udev_processed={i.get('udev_processed')}, expected {processed}")

    def udev_running(self, r, running):
        if r is not None:
            self.expect((r.json.get("udev") or {}).get("running") is running,
                        f"{r.label}: udev.running={r.json.get('udev')}, expected {running}")

    def no_kernel_names(self, r):
        if r is not None:
            self.expect(not re.search(r'"eth\d+"', r.out), f"{r.label}: report names a kernel name eth*: {r.out[:300]}")

    def udev_warnings(self, r, n):
        if r is not None:
            w = [l for l in r.err if "udev" in l.lower()]
            self.expect(len(w) == n, f"{r.label}: {len(w)} udev warnings on stderr, expected {n}: {r.err}")


# ---------------------------------------------------------------- scenarios
def baseline(s, log):
    s.expect(log.pci("after-wait", "0000:00:03.0").get("net") == "ens3", "virtio NIC was not renamed ens3")
    s.expect(log.pci("after-wait", "0000:00:04.0").get("net") == "ens4", "e1000 NIC was not renamed ens4")
    r = s.ns("wait", 0)
    s.state(r, "0000:00:03.0", "ready", driver="virtio-pci", netdevs=["ens3"])
    s.state(r, "0000:00:04.0", "ready", driver="e1000", netdevs=["ens4"])
    s.interfaces(r, ["ens3", "ens4"])
    s.no_kernel_names(r)
    s.udev_running(r, True)
    # right after netsettle returned, the guest found both netdevs in udev's database
    nd = log.marker("netdevs", label="after-wait") or {}
    if r is not None:
        s.expect(nd.get("list") == "ens3:db,ens4:db", f"right after netsettle: netdevs {nd.get('list')}")


def async_companion(s, log):
    st = log.marker("settle", label="settle") or {}
    tmod = s.t("companion-modprobe")
    db = log.marker("netdev-db", ifindex="2") or {}
    tdb = float(db["t"]) if db else None
    s.expect(st.get("netdevs") == "-", f"udevadm settle returned with netdevs {st.get('netdevs')}: "
             "the companion module was not late")
    s.expect(log.pci("after-settle", "0000:00:03.0").get("driver") == "virtio-pci", "virtio-pci not bound at settle")
    pmod = log.mpos("companion-modprobe")
    s.before(log.mpos("settle", label="settle"), pmod, "udevadm settle returned, then the companion modprobe ran")
    s.before(pmod, log.mpos("netdev-db", ifindex="2"), "companion modprobe, then udev processed the netdev")
    s.expect(db.get("name") == "ens3", f"netdev not processed by udev as ens3 (netdev-db: {db})")
    r = s.ns("status", 1)
    s.state(r, "0000:00:03.0", "no-netdev", driver="virtio-pci", netdevs=[], reason=["virtio_net"])
    if r is not None:
        s.before(s.exit_pos(r), pmod, "status exited, then the companion modprobe ran")
    w = s.ns("wait", 0)
    s.state(w, "0000:00:03.0", "ready", driver="virtio-pci", netdevs=["ens3"])
    s.interfaces(w, ["ens3"])
    s.no_kernel_names(w)
    if w is not None:
        # the kernel's rename line (dev_change_name) came before netsettle's exit, and the snapshot
        # taken as soon as netsettle exited shows the netdev processed by udev
        s.before(pmod, s.exit_pos(w), "companion modprobe, then netsettle's exit")
        s.before(log.kpos("ens3: renamed from eth0"), s.exit_pos(w), "kernel renamed eth0 to ens3, then netsettle's exit")
        nd = (log.marker("netdevs", label="after-wait") or {}).get("list")
        s.expect(nd == "ens3:db", f"right after netsettle returned: netdevs {nd}, expected ens3 processed")
        s.before_deadline(w, 60)
        s.note(f"settle returned t={st.get('t1')} without netdev; modprobe t={tmod}; udev db t={tdb}; "
               f"netsettle returned t={w.t1}")


def probe_failure(s, log):
    tfail, line = log.kline("e1000e: probe of 0000:00:04.0 failed with error -5")
    s.expect(tfail is not None, "the kernel did not log e1000e's probe failure")
    s.expect(log.kline("The NVM Checksum Is Not Valid")[0] is not None, "no NVM checksum error in the kernel log")
    s.expect(log.pci("end", "0000:00:04.0").get("driver") == "-", "00:04.0 ended with a driver bound")
    reason = [("probe of 0000:00:04.0 failed with error -5",), ("The NVM Checksum Is Not Valid",)]
    f = s.ns("failfast", 3)
    s.state(f, "0000:00:04.0", "probe-failed", reason=reason)
    d = s.ns("deadline", 3)
    if f is not None and tfail is not None:
        # it saw the failure (the report says probe-failed), it did not wait for its own deadline,
        # and it was gone before the run without --fail-fast, started once modprobe returned with
        # the failure logged, reached its 10 s deadline
        s.before_deadline(f, 100)
        s.before(log.mpos("probe-returned"), s.exit_pos(d), "modprobe returned, then the run without --fail-fast exited")
        s.before(s.exit_pos(f), s.exit_pos(d), "--fail-fast exited, then the run without it at its deadline")
        s.note(f"probe failed t={tfail:.2f}; --fail-fast exited t={f.t1} (+{f.t1 - tfail:.2f} s)")
        probs = " ".join(p.get("text", "") for p in f.json.get("kernel_problems") or [])
        s.expect("NVM Checksum Is Not Valid" in probs,
                 f"failfast: kernel_problems lacks the error-priority line naming 0000:00:04.0: {probs!r}")
    s.state(d, "0000:00:04.0", "probe-failed", reason=reason[:1])
    s.deadline(d, 10)
    st = s.ns("status", 3)
    s.state(st, "0000:00:04.0", "probe-failed", reason=reason[:1])


def probe_in_progress(s, log):
    tfail, _ = log.kline("e1000e: probe of 0000:00:04.0 failed with error -5")
    before = log.pci("during-before", "0000:00:04.0").get("driver")
    after = log.pci("during-after", "0000:00:04.0").get("driver")
    s.expect(tfail is not None, "the kernel did not log e1000e's probe failure")
    s.expect(before == "e1000e" and after == "e1000e",
             f"driver link not present around the status run (before={before}, after={after}): "
             "the probe finished too early, nothing was shown")
    sd = log.marker("settle", label="settle-during") or {}
    if sd and tfail:
        s.note(f"udevadm settle during the probe: rc={sd.get('rc')} at t={sd.get('t1')} with driver link "
               f"and no netdev; probe failed t={tfail:.2f}")
    r = s.ns("during", 1)
    d = s.dev(r, "0000:00:04.0")
    if d:
        s.expect(d.get("state") in ("no-driver", "no-netdev", "not-processed"),
                 f"during: 00:04.0 is {d.get('state')!r} while its probe runs (reason {d.get('reason')!r})")
    pfail = log.kpos("e1000e: probe of 0000:00:04.0 failed with error -5")
    if r is not None:
        s.before(s.exit_pos(r), pfail, "during: status exited, then the probe failed")
    w = s.ns("wait", 3)
    s.state(w, "0000:00:04.0", "probe-failed")
    if w is not None:
        # the report's probe-failed state is the proof it exited after the kernel's line
        s.before(pfail, s.exit_pos(w), "the probe failed, then wait exited")
        s.before_deadline(w, 100)
    a = s.ns("after", 3)
    s.state(a, "0000:00:04.0", "probe-failed", reason=["error -5"])


def driver_never_loads(s, log):
    for addr in ("0000:00:04.0", "0000:00:05.0"):
        s.expect(log.pci("after-settle", addr).get("driver") == "-", f"{addr} has a driver despite the blacklist")
    a = s.ns("auto", 0)
    s.state(a, "0000:00:04.0", "ignored", reason=["blacklist", "e1000"])
    s.state(a, "0000:00:05.0", "ignored", reason=["blacklist", "8139too"])
    s.before_deadline(a, 30)
    e = s.ns("expect", 1)
    s.state(e, "0000:00:04.0", "no-driver", reason=["blacklist", "e1000"])
    s.deadline(e, 3)


def late_hotplug(s, log):
    mac = "52:54:00:12:34:77"
    treq = s.t("hotplug-request")
    app = log.marker("appeared", path="/sys/bus/pci/devices/0000:00:07.0")
    db = log.marker("netdev-db", ifindex="3") or {}
    tdb = float(db["t"]) if db else None
    s.expect(app is not None, "the hotplugged PCI function 00:07.0 never appeared (device_add failed?)")
    s.expect(db.get("name") == "ens7", f"hotplugged netdev not processed by udev as ens7 ({db})")
    w = s.ns("wait", 0)
    if w is not None:
        ifs = {i.get("mac"): i for i in w.json.get("interfaces") or []}
        i = ifs.get(mac, {})
        s.expect(i.get("name") == "ens7" and i.get("udev_processed") is True,
                 f"wait: interface with MAC {mac} is {i or 'missing'}, expected ens7, processed")
        s.no_kernel_names(w)
        exps = w.json.get("expectations") or []
        s.expect(exps and all(x.get("met") for x in exps), f"wait: expectations {exps}")
        nd = (log.marker("netdevs", label="after-wait") or {}).get("list")
        s.expect(nd == "ens3:db,ens7:db", f"right after netsettle returned: netdevs {nd}, expected ens7 processed")
        s.before(log.mpos("hotplug-request"), s.exit_pos(w), "hotplug requested, then netsettle's exit")
        s.before(log.kpos("ens7: renamed from eth"), s.exit_pos(w), "kernel renamed the new NIC ens7, then netsettle's exit")
        s.before_deadline(w, 60)
        if treq and tdb:
            s.note(f"device_add t={treq}; udev db ens7 t={tdb}; netsettle returned t={w.t1}")


def passthrough(s, log):
    s.expect(log.pci("after-settle", "0000:00:05.0").get("driver") == "pci-stub", "00:05.0 not bound to pci-stub")
    r = s.ns("wait", 0)
    s.state(r, "0000:00:05.0", "passthrough", driver="pci-stub", netdevs=[])
    s.state(r, "0000:00:03.0", "ready", driver="virtio-pci", netdevs=["ens3"])
    s.interfaces(r, ["ens3"])
    s.before_deadline(r, 30)


def uevent_storm(s, log):
    cpu = log.marker("storm-cpu") or {}
    end = log.marker("storm-end") or {}
    s.expect(end.get("events") == "10000", f"the loop did not write 10,000 events: {end}")
    ns, loop = int(cpu.get("ns", -1)), int(cpu.get("loop", -1))
    s.expect(loop > 0 and ns >= 0, f"the CPU times were not measured: {cpu}")
    w = s.ns("wait", 0)
    s.state(w, "0000:00:03.0", "ready", driver="virtio-pci", netdevs=["ens3"])
    s.before(log.mpos("storm-end"), s.exit_pos(w) if w is not None else None,
             "the storm ended, then netsettle returned (it waited through it)")
    share = f"{100.0 * ns / loop:.1f} %" if loop > 0 else "?"
    s.note(f"10,000 mem uevents: netsettle {ns} ticks, the writing loop {loop} ticks ({share})")


def hardware_rules(s, log):
    s.expect(log.pci("after-settle", "0000:00:05.0").get("driver") == "pci-pf-stub", "00:05.0 not bound to pci-pf-stub")
    s.expect(log.pci("after-settle", "0000:00:06.0").get("driver") == "-", "00:06.0 has a driver, but none is in the image")
    r = s.ns("root", 3)
    s.state(r, "0000:00:03.0", "ready", driver="virtio-pci", netdevs=["ens3"])
    s.state(r, "0000:00:05.0", "passthrough", driver="pci-pf-stub", netdevs=[])
    s.state(r, "0000:00:06.0", "no-driver", reason=["has no driver"])
    i = s.ns("initrd", 0)
    s.state(i, "0000:00:05.0", "passthrough", driver="pci-pf-stub")
    s.state(i, "0000:00:06.0", "ignored", reason=["initramfs"])
    if i is not None:
        s.expect(i.elapsed < 30, f"initrd: took {i.elapsed:.2f} s, the whole deadline: the driverless card was waited for")


def no_udevd(s, log):
    early = log.marker("netdevs", label="early") or {}
    s.expect(early.get("list") == "eth0:nodb,eth1:nodb", f"before udevd: netdevs {early.get('list')}")
    s.expect((log.marker("udevd-killed") or {}).get("control") == "socket", "no stale control socket after kill")
    n = s.ns("nodriver", 1)
    s.udev_running(n, False)
    s.udev_warnings(n, 1)
    s.state(n, "0000:00:03.0", "no-driver")
    s.state(n, "0000:00:04.0", "no-driver")
    for label, names in (("early", ["eth0", "eth1"]), ("stale", ["ens3", "ens4"])):
        r = s.ns(label, 0)
        s.udev_running(r, False)
        s.udev_warnings(r, 1)
        s.interfaces(r, names, processed=None)
        s.before_deadline(r, 30)


def signals(s, log):
    for label, sig, rc in (("term", "sigterm", 143), ("int", "sigint", 130)):
        r = s.ns(label, rc)
        s.state(r, "0000:00:04.0", "no-driver", reason=["blacklist"])
        if r is not None:
            # the exit code says the signal ended it; the report, that it came before the deadline
            s.before(log.mpos(sig), s.exit_pos(r), f"{sig.upper()} sent, then {label} exited")
            s.before_deadline(r, 60)


def settle_beside_netsettle(s, log):
    """netsettle must not disturb a `udevadm settle` running at the same time (boot scripts and
    units keep calling it). udevd's control socket takes one connection at a time (listen backlog
    0); when settle's connect gets EAGAIN, it returns 0 at once without waiting for the queue."""
    for kind, st in log.markers:
        if kind != "settle" or st.get("connect") != "failed":
            continue
        t0, t1 = float(st["t0"]), float(st["t1"])
        beside = [r.label for r in log.runs.values() if r.t0 is not None and r.t0 < t1 and r.t1 > t0]
        s.expect(False, f"udevadm settle ({st['label']}) could not connect to udevd ('Failed to connect to udev "
                 f"daemon, ignoring: Resource temporarily unavailable') and returned at once"
                 + (f", while netsettle ({', '.join(beside)}) was running" if beside else ""))


def link(s, log):
    """--expect-link on a real virtio-net link: administratively down, then no carrier (QEMU's
    set_link off), then carrier (set_link on) ends the wait."""
    off = log.marker("link-off") or {}
    on = log.marker("link-on") or {}
    s.expect(off.get("carrier") == "0", f"set_link off did not drop the carrier: {off}")
    s.expect(on.get("carrier") == "1", f"set_link on did not bring the carrier back: {on}")

    def link_exp(r):
        exps = [e for e in (r.json.get("expectations") or []) if e.get("kind") == "link"] if r else []
        s.expect(len(exps) == 1 and exps[0].get("value") == "ens3", f"{r and r.label}: link expectations {exps}")
        return exps[0] if exps else {}

    d = s.ns("down", 1)
    s.state(d, "0000:00:03.0", "ready", netdevs=["ens3"])
    if d is not None:
        e = link_exp(d)
        s.expect(e.get("met") is False and e.get("reason") == "down: nothing has brought it up",
                 f"down: link expectation {e}")
    n = s.ns("nocarrier", 1)
    if n is not None:
        e = link_exp(n)
        s.expect(e.get("met") is False and "no carrier" in (e.get("reason") or ""), f"nocarrier: {e}")
    w = s.ns("wait", 0)
    treq, ton = s.t("link-on-request"), s.t("link-on")
    if w is not None:
        s.expect(link_exp(w).get("met") is True, "wait: link expectation not met at exit")
        if treq and ton:
            s.expect(w.t1 >= treq, f"wait returned at t={w.t1}, before the link was set on (t={treq})")
            s.expect(w.t1 - ton <= 2.5, f"wait returned {w.t1 - ton:.2f} s after the carrier came (t={ton})")
            s.note(f"set_link on t={treq}; carrier t={ton}; netsettle returned t={w.t1}")


def rdma(s, log):
    """A soft-RoCE port (rdma_rxe on ens3): reported under 00:03.0, not waited for by default;
    with --expect-rdma-ports active, DOWN with a reason, then ACTIVE ends the wait."""
    if not s.expect(log.marker("rxe-unavailable") is None,
                    "no rxe0: the image needs rdma_rxe, crc32_generic and iproute2's rdma (build-image)"):
        return
    s.expect((log.marker("rxe") or {}).get("state") == "1:_DOWN", f"rxe0 port 1 not DOWN at first: {log.marker('rxe')}")
    act = log.marker("rxe-active") or {}
    s.expect(act.get("state") == "4:_ACTIVE", f"rxe0 port 1 never became ACTIVE: {act}")

    def ports(r):
        d = s.dev(r, "0000:00:03.0") if r else {}
        p = d.get("rdma_ports") or []
        s.expect(len(p) == 1 and p[0].get("device") == "rxe0" and p[0].get("link_layer") == "Ethernet",
                 f"{r and r.label}: rdma_ports of 00:03.0: {p}")
        return p[0] if p else {}

    def rdma_exp(r):
        e = [x for x in (r.json.get("expectations") or []) if x.get("kind") == "rdma-ports"] if r else []
        s.expect(len(e) == 1 and e[0].get("value") == "rxe0/1", f"{r and r.label}: rdma-ports expectations {e}")
        return e[0] if e else {}

    rep = s.ns("report", 0)
    if rep is not None:
        s.expect(ports(rep).get("state") == "DOWN", f"report: port {ports(rep)}")
        s.expect(not [x for x in rep.json.get("expectations") or [] if x.get("kind") == "rdma-ports"],
                 "report: an rdma-ports expectation without being asked")
    d = s.ns("down", 1)
    if d is not None:
        e = rdma_exp(d)
        s.expect(e.get("met") is False and "its netdev is not up" in (e.get("reason") or ""), f"down: {e}")
        s.state(d, "0000:00:03.0", "ready")
    w = s.ns("wait", 0)
    treq, tact = s.t("link-up-request"), s.t("rxe-active")
    if w is not None:
        s.expect(rdma_exp(w).get("met") is True and ports(w).get("state") == "ACTIVE", "wait: port not ACTIVE at exit")
        if treq and tact:
            s.expect(w.t1 >= treq, f"wait returned at t={w.t1}, before ens3 was brought up (t={treq})")
            s.expect(w.t1 - tact <= 2.5, f"wait returned {w.t1 - tact:.2f} s after the port became ACTIVE (t={tact})")
            s.note(f"ip link set up t={treq}; port ACTIVE t={tact}; netsettle returned t={w.t1}")


CHECKS = {"baseline": baseline, "async-companion": async_companion, "probe-failure": probe_failure,
          "probe-in-progress": probe_in_progress, "driver-never-loads": driver_never_loads,
          "late-hotplug": late_hotplug, "passthrough": passthrough, "hardware-rules": hardware_rules, "uevent-storm": uevent_storm, "no-udevd": no_udevd,
          "signals": signals}
CHECKS["link"] = link
CHECKS["rdma"] = rdma


def check(name, path, plumbing):
    log = Log(path)
    s = Scenario(name, log, plumbing)
    boot = log.marker("boot")
    if not s.expect(boot, "the guest never reached init"):
        pass
    elif s.expect(log.marker("done"), "the guest did not finish (crash or VM timeout; see log)"):
        try:
            CHECKS[name](s, log)
            settle_beside_netsettle(s, log)
        except Exception as e:   # a malformed report must fail the scenario, not the checker
            s.expect(False, f"checker error: {type(e).__name__}: {e}")
    s.expect(log.host.get("qemu_rc") == "0", f"qemu exited {log.host.get('qemu_rc')} "
             "(124 = VM timeout; 1 = QEMU error, see .qemu-stderr)")
    return s


def summary(s):
    """Table cells: netsettle runs as 'label rc/elapsed', and udevadm settle's first return."""
    runs = []
    for label, r in s.log.runs.items():
        if r.skipped:
            runs.append(f"{label} -")
        elif r.rc is None:
            runs.append(f"{label} ?")
        else:
            runs.append(f"{label} {r.rc}/{r.elapsed:.2f}s")
    st = s.log.marker("settle")
    boot = s.log.marker("coldplug")
    if st:
        since = f" (+{float(st['t1']) - float(boot['t']):.2f}s)" if boot else ""
        nd = "no netdev" if st["netdevs"] == "-" else st["netdevs"].replace(":db", "").replace(":nodb", "(no db)")
        settle = f"rc={st['rc']} t={st['t1']}{since} {nd}"
        if st.get("connect") == "failed":
            settle += " [could not reach udevd]"
    else:
        settle = "-"
    return ", ".join(runs) or "-", settle


def main():
    args = sys.argv[1:]
    plumbing = "--plumbing" in args
    args = [a for a in args if a != "--plumbing"]
    logdir, names = args[0], args[1:]
    results = [check(n, f"{logdir}/{n}.log", plumbing) for n in names]

    rows = [("scenario", "result", "netsettle: run exit/elapsed", "udevadm settle: returned, netdevs then", "VM wall")]
    for s in results:
        ns, settle = summary(s)
        rows.append((s.name, "FAIL" if s.failures else "PASS", ns, settle, s.log.host.get("wall", "?") + "s"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print()
    for i, row in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()
    for s in results:
        for n in s.notes:
            print(f"  {s.name}: {n}")
        for f in s.failures:
            print(f"FAIL {s.name}: {f}")
    passed = sum(not s.failures for s in results)
    print(f"\nvm: {passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
