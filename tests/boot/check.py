#!/usr/bin/env python3
"""Checks one boot of tests/boot/run.

Usage: check.py SCENARIO RESULTS_DIR CONSOLE_LOG

RESULTS_DIR is what the guest's nsboot-finish collected: the journal of the
boot (journalctl -o json), `systemctl show` of the units involved, the probe
records, udev's database entries of the netdevs, the metrics textfile.
Every time compared comes from one clock, CLOCK_MONOTONIC: systemd's
*TimestampMonotonic properties, the journal's monotonic timestamps and
udev's database `I:` field (usec_initialized) are all in its microseconds.
Nothing is compared against a fixed delay, only against each other and
against netsettle's own deadline.

Prints "ok ..." / "FAILED ..." lines and a timeline; exit status 1 on any
failure.
"""

import json
import os
import re
import sys

SCN, RES, CONSOLE = sys.argv[1], sys.argv[2], sys.argv[3]
failures = 0


def ok(msg):
    print(f"ok {msg}")


def bad(msg):
    global failures
    failures += 1
    print(f"FAILED {msg}")


def check(cond, msg, detail=""):
    if cond:
        ok(msg)
    else:
        bad(msg + (f": {detail}" if detail else ""))
    return cond


def read(name, default=""):
    try:
        with open(os.path.join(RES, name), errors="replace") as f:
            return f.read()
    except OSError:
        return default


def message(e):
    m = e.get("MESSAGE", "")
    if isinstance(m, list):  # journald stores non-UTF-8 messages as bytes
        m = bytes(m).decode(errors="replace")
    return m or ""


JOURNAL = []
for line in read("journal.json").splitlines():
    try:
        e = json.loads(line)
    except ValueError:
        continue
    e["MESSAGE"] = message(e)
    # Kernel records carry the kernel's own (monotonic) time of the event.
    e["t"] = int(e.get("_SOURCE_MONOTONIC_TIMESTAMP") or e["__MONOTONIC_TIMESTAMP"])
    # The entry's sequence number: __SEQNUM from systemd 254 on, before
    # that the "i=" field of the cursor (sd_journal_get_cursor()).
    seq = e.get("__SEQNUM") or int(re.search(r"(?:^|;)i=([0-9a-f]+)", e["__CURSOR"]).group(1), 16)
    e["seq"] = int(seq)
    JOURNAL.append(e)
JOURNAL.sort(key=lambda e: e["seq"])
CONSOLE_TEXT = open(CONSOLE, errors="replace").read().replace("\r", "") if os.path.exists(CONSOLE) else ""


def show(unit):
    d = {}
    for line in read(f"show-{unit}.txt").splitlines():
        k, _, v = line.partition("=")
        d[k] = v
    return d


def mono(unit, prop):
    v = show(unit).get(prop, "0")
    return int(v) if v.isdigit() else 0


def grep(pattern, unit=None, comm=None):
    """Journal entries whose message matches, in journal order."""
    r = re.compile(pattern)
    return [
        e
        for e in JOURNAL
        if r.search(e["MESSAGE"])
        and (unit is None or e.get("_SYSTEMD_UNIT") == unit)
        and (comm is None or e.get("_COMM") == comm)
    ]


def probe(name):
    """A probe record: {netdev: (udevdb, ID_NET_NAME)}, or None if absent."""
    text = read(f"{name}.txt")
    if "end" not in text.split():
        return None
    nets = {}
    for line in text.splitlines():
        m = re.match(r"netdev=(\S+) ifindex=\d+ udevdb=(\S+)(?: ID_NET_NAME=(\S+))?", line)
        if m:
            nets[m.group(1)] = (m.group(2), m.group(3))
    return nets


def late_nic():
    """Final name and udev-processed time (usec) of the virtio-net netdev."""
    udev = os.path.join(RES, "udev")
    for f in sorted(os.listdir(udev)) if os.path.isdir(udev) else []:
        text = open(os.path.join(udev, f), errors="replace").read()
        if "E:ID_NET_DRIVER=virtio_net" in text:
            init = re.search(r"^I:(\d+)", text, re.M)
            # The name udev gave it (the db has no INTERFACE= line).
            name = re.search(r"^E:ID_NET_NAME=(\S+)", text, re.M)
            return (name.group(1) if name else None, int(init.group(1)) if init else None)
    return (None, None)


def appeared():
    """Kernel time the late card's netdev was registered (virtio_net's rename line)."""
    e = grep(r"virtio_net virtio\d+ \S+: renamed from eth\d+")
    return e[0]["t"] if e else None


def gate():
    """Kernel time the gate let the held modprobe of virtio_net go on."""
    e = grep(r"nsseed-gate: (released|fallback)")
    return e[0]["t"] if e else None


def s(usec):
    return "-" if not usec else f"{usec / 1e6:.2f}s"


def timeline(*events):
    print("timeline (CLOCK_MONOTONIC):")
    for t, what in sorted((t, w) for t, w in events if t):
        print(f"  {s(t):>9}  {what}")


def sees_late_nic(rec, final):
    return rec is not None and final in rec and rec[final][0] == "present"


def no_late_nic(rec):
    return rec is not None and not any(n.startswith(("eth", "ens", "enp")) for n in rec)


def multi_user():
    check(show("multi-user.target").get("ActiveState") == "active", "boot reached multi-user.target")


# --- scenarios --------------------------------------------------------------------


def service():
    final, processed = late_nic()
    ns = "netsettle.service"
    start, done = mono(ns, "ExecMainStartTimestampMonotonic"), mono(ns, "ActiveEnterTimestampMonotonic")
    trig = mono("systemd-udev-trigger.service", "ActiveEnterTimestampMonotonic")
    pre = mono("network-pre.target", "ActiveEnterTimestampMonotonic")
    consumer = mono("nsprobe-net.service", "ExecMainStartTimestampMonotonic")
    rec = probe("net")
    timeline((trig, "systemd-udev-trigger.service done"), (start, "netsettle.service started"),
             (appeared(), f"late NIC registered ({final})"), (processed, "late NIC processed by udev"),
             (done, "netsettle.service finished"), (pre, "network-pre.target reached"),
             (consumer, "nsprobe-net.service (after network-pre.target) started"))
    check(show(ns).get("Result") == "success" and show(ns).get("ExecMainStatus") == "0",
          "netsettle.service succeeded", f"{show(ns).get('Result')} status {show(ns).get('ExecMainStatus')}")
    check(final and final != "eth0", f"late NIC got its final name {final}")
    check(sees_late_nic(rec, final), f"nsprobe-net saw {final} in /sys/class/net with its udev db entry", str(rec))
    check(trig and start and trig <= start, "netsettle started after systemd-udev-trigger.service finished")
    check(processed and start < processed <= done,
          "the NIC was processed while netsettle waited (after its start, before it finished)")
    check(done and pre and done <= pre, "netsettle finished before network-pre.target")
    check(consumer and done <= consumer, "the consumer started after netsettle finished")
    st = dict(line.partition("=")[::2] for line in read("status-while-waiting.txt").splitlines())
    check(st.get("ActiveState") == "activating" and st.get("StatusText"),
          f"while waiting, StatusText was \"{st.get('StatusText')}\"", str(st))
    mine = [e for e in JOURNAL if e.get("_SYSTEMD_UNIT") == ns and e.get("_COMM") == "netsettle"]
    warn = [e for e in mine if int(e.get("PRIORITY", 6)) <= 4]
    info = [e for e in mine if int(e.get("PRIORITY", 6)) == 6]
    check(any("SIGHUP" in e["MESSAGE"] for e in warn), "journalctl -p warning shows netsettle's SIGHUP warning")
    check(not any(re.search(r"->|watching for changes", e["MESSAGE"]) for e in warn),
          "journalctl -p warning shows none of netsettle's info lines")
    check(any("watching for changes" in e["MESSAGE"] for e in info) and any("-> ready" in e["MESSAGE"] for e in info),
          "state changes are in the journal at info priority")
    check(not any(e["MESSAGE"].startswith("<") for e in mine), "no raw <N> priority prefix reached the journal")
    prom = read("netsettle.prom")
    try:
        from prometheus_client.parser import text_string_to_metric_families

        values = {s.name: s.value for f in text_string_to_metric_families(prom) for s in f.samples}
        check(values.get("netsettle_ready") == 1 and values.get("netsettle_exit_code") == 0,
              f"--metrics textfile parses: netsettle_ready=1, duration {values.get('netsettle_duration_seconds')} s")
    except Exception as e:  # noqa: BLE001 - any parse error is the failure to report
        bad(f"--metrics textfile does not parse: {e}: {prom[:200]!r}")


def control():
    final, processed = late_nic()
    app = appeared()
    starts = {p: mono(f"nsprobe-{p}.service", "ExecMainStartTimestampMonotonic") for p in ("net", "settle", "nopre")}
    timeline(*[(t, f"nsprobe-{p}.service started") for p, t in starts.items()],
             (app, f"late NIC registered ({final})"), (processed, "late NIC processed by udev"))
    settle = show("systemd-udev-settle.service").get("ExecStart", "")
    check("udevadm" in settle and "netsettle" not in settle,
          "systemd-udev-settle.service runs udevadm settle (drop-in masked)", settle)
    check(show("netsettle.service").get("ActiveState") == "inactive", "netsettle.service did not run")
    for p, what in (("net", "after network-pre.target"), ("settle", "after systemd-udev-settle.service"),
                    ("nopre", "without ExecStartPre=netsettle")):
        rec = probe(p)
        check(no_late_nic(rec), f"control: nsprobe-{p} ({what}) found no NIC", str(rec))
    check(final and app and all(t and t < app for t in starts.values()),
          f"the card exists: {final} registered after all three consumers had looked")


def dropin():
    final, processed = late_nic()
    u = "systemd-udev-settle.service"
    start, done = mono(u, "ExecMainStartTimestampMonotonic"), mono(u, "ActiveEnterTimestampMonotonic")
    consumer = mono("nsprobe-settle.service", "ExecMainStartTimestampMonotonic")
    timeline((start, f"{u} (netsettle) started"), (appeared(), f"late NIC registered ({final})"),
             (processed, "late NIC processed by udev"), (done, f"{u} finished"),
             (consumer, "nsprobe-settle.service started"))
    check("/usr/bin/netsettle" in show(u).get("ExecStart", ""), f"{u} runs netsettle (drop-in installed)")
    check(show(u).get("Result") == "success", f"{u} succeeded")
    check(sees_late_nic(probe("settle"), final), f"nsprobe-settle saw {final} with its udev db entry",
          str(probe("settle")))
    check(processed and start < processed <= done <= consumer,
          "settle started < NIC processed <= settle finished <= consumer started")


def execstartpre():
    final, processed = late_nic()
    u = "nsprobe-pre.service"
    pre = mono(u, "InactiveExitTimestampMonotonic")
    main = mono(u, "ExecMainStartTimestampMonotonic")
    timeline((pre, f"{u}: ExecStartPre=netsettle started"), (appeared(), f"late NIC registered ({final})"),
             (processed, "late NIC processed by udev"), (main, f"{u}: ExecStart started"))
    check(sees_late_nic(probe("pre"), final), f"ExecStart saw {final} with its udev db entry", str(probe("pre")))
    check(processed and pre < processed <= main, "ExecStartPre started < NIC processed <= ExecStart started")
    check(grep(r"^ready in .*" + re.escape(final or "?"), unit=u),
          "netsettle's report (\"ready in ...\") is in the unit's journal")


def failfast():
    u = "nsprobe-failfast.service"
    sh = show(u)
    begin, end = mono(u, "InactiveExitTimestampMonotonic"), mono(u, "InactiveEnterTimestampMonotonic")
    kfail = grep(r"e1000e: probe of 0000:00:04\.0 failed")
    timeline((begin, f"{u}: ExecStartPre=netsettle --fail-fast started"),
             (kfail[0]["t"] if kfail else None, "kernel: e1000e probe of 0000:00:04.0 failed"),
             (end, f"{u} failed"))
    check(sh.get("ActiveState") == "failed" and sh.get("Result") == "exit-code",
          f"{u} failed ({sh.get('Result')})")
    check(re.search(r"code=exited ; status=3 ", sh.get("ExecStartPre", "")),
          "ExecStartPre=netsettle exited 3 (certain failure)", sh.get("ExecStartPre", ""))
    check(not read("failfast.txt"), "ExecStart= did not run")
    reason = grep(r"0000:00:04\.0.*probe-failed|probe-failed.*0000:00:04\.0|probe of 0000:00:04\.0 failed", unit=u)
    check(reason, "netsettle's reason for 0000:00:04.0 is in the unit's journal",
          "; ".join(e["MESSAGE"] for e in grep(".", unit=u))[:600])
    for e in reason[:3]:
        print(f"  journal: {e['MESSAGE'].splitlines()[0][:160]}")
    check(begin and end and end - begin < 60_000_000,
          f"it failed {s(end - begin) if begin and end else '?'} after starting, before its 60 s deadline")


def deadline():
    ns = "netsettle.service"
    sh = show(ns)
    start, end = mono(ns, "ExecMainStartTimestampMonotonic"), mono(ns, "InactiveEnterTimestampMonotonic")
    consumer = mono("nsprobe-net.service", "ExecMainStartTimestampMonotonic")
    timeline((start, "netsettle.service started"), (end, "netsettle.service gave up"),
             (mono("network-pre.target", "ActiveEnterTimestampMonotonic"), "network-pre.target reached"),
             (consumer, "nsprobe-net.service started"))
    check(sh.get("Result") == "exit-code" and sh.get("ExecMainStatus") == "1",
          "netsettle.service exited 1 (deadline passed, not ready)",
          f"{sh.get('Result')} status {sh.get('ExecMainStatus')}")
    check(start and end and end - start >= 20_000_000, f"it waited its whole 20 s deadline ({s(end - start)})")
    report = grep(r"not ready after", unit=ns)
    check(report, "its report is in the journal")
    check(grep(r"0000:00:03\.0.*virtio_net", unit=ns), "the report names 0000:00:03.0 and virtio_net")
    for e in grep(r"not ready after|0000:00:03\.0", unit=ns)[:3]:
        print(f"  journal: {e['MESSAGE'][:200]}")
    check(probe("net") is not None and end <= consumer, "the boot went on: nsprobe-net ran after netsettle gave up")
    multi_user()


def seedrace():
    final, processed = late_nic()
    settled = grep(r"nsseed-race: udevadm settle rc=", unit="nsseed-race.service")
    released = grep(r"nsseed-race: netsettle is watching")
    rc = grep(r"nsseed-race: netsettle rc=")
    timeline((settled[0]["__MONOTONIC_TIMESTAMP"] and int(settled[0]["__MONOTONIC_TIMESTAMP"]) if settled else None,
              "udevadm settle returned"),
             (int(released[0]["__MONOTONIC_TIMESTAMP"]) if released else None, "netsettle watching; gate released"),
             (appeared(), f"late NIC registered ({final})"), (processed, "late NIC processed by udev"),
             (int(rc[0]["__MONOTONIC_TIMESTAMP"]) if rc else None, "netsettle returned"))
    check(settled and settled[0]["MESSAGE"].endswith("rc=0"), "udevadm settle returned 0")
    check(no_late_nic(probe("after-settle")), "after udevadm settle: no netdev", str(probe("after-settle")))
    mp = read("modprobes.txt")
    check(re.search(r"ppid=2 cmdline=\S*modprobe -q -- virtio_net", mp),
          "the kernel's modprobe virtio_net was in flight, parent kthreadd (PID 2)", mp.strip())
    try:
        st = json.loads(read("status.json"))
    except ValueError:
        st = {}
    dev = next((d for d in st.get("devices", []) if d.get("pci") == "0000:00:03.0"), {})
    check("virtio_net" in st.get("pending_modules", []), f"netsettle status: pending_modules {st.get('pending_modules')}")
    check("virtio_net was requested by" in (dev.get("reason") or ""),
          f"netsettle status: {dev.get('state')}: {dev.get('reason')}")
    try:
        wt = json.loads(read("wait.json"))
    except ValueError:
        wt = {}
    iface = next((i for i in wt.get("interfaces", []) if i.get("name") == final), {})
    check(wt.get("ready") is True and wt.get("exit_code") == 0 and rc and rc[0]["MESSAGE"].endswith("rc=0"),
          f"netsettle waited and returned ready after {wt.get('elapsed_ms')} ms")
    check(iface.get("udev_processed") is True, f"its report has {final} processed by udev", str(iface))
    check(settled and released and rc and processed
          and int(settled[0]["__MONOTONIC_TIMESTAMP"]) < int(released[0]["__MONOTONIC_TIMESTAMP"]) < processed
          <= int(rc[0]["__MONOTONIC_TIMESTAMP"]),
          "order: settle returned < netsettle watching < NIC processed <= netsettle returned")
    check(sees_late_nic(probe("after-netsettle"), final), f"after netsettle: {final} with its udev db entry")


def initrd_switch():
    e = grep(r"^Switching root\.")
    return e[0] if e else None


def dracut():
    sw = initrd_switch()
    rec = probe("prepivot")
    lines = [e for e in JOURNAL if e.get("_COMM") == "netsettle" and "0000:00:03.0" in e["MESSAGE"]]
    initrd = [e for e in lines if sw and e["seq"] < sw["seq"]]
    ready = [e for e in initrd if "-> ready" in e["MESSAGE"]]
    waiting = [e for e in initrd if "-> ready" not in e["MESSAGE"]]
    timeline((gate(), "gate: modprobe virtio_net let through (initrd)"),
             (waiting[0]["__MONOTONIC_TIMESTAMP"] and int(waiting[0]["__MONOTONIC_TIMESTAMP"]) if waiting else None,
              "initqueue: netsettle: not ready"),
             (int(ready[0]["__MONOTONIC_TIMESTAMP"]) if ready else None, "initqueue: netsettle: ready"),
             (int(sw["__MONOTONIC_TIMESTAMP"]) if sw else None, "switch-root"))
    for e in initrd[:2] + initrd[-1:]:
        print(f"  journal ({e.get('_SYSTEMD_UNIT')}): {e['MESSAGE'][:160]}")
    check(sw, "the journal has the initrd part (Switching root.)")
    check(waiting, "initqueue: netsettle saw 0000:00:03.0 not ready (the initqueue waited)")
    check(ready, "initqueue: netsettle saw 0000:00:03.0 become ready before switch-root")
    check(rec and "eth0" in rec and rec["eth0"][0] == "present", "at switch-root (pre-pivot) eth0 was there, processed by udev",
          str(rec))
    multi_user()


def dracut_control():
    rec = probe("prepivot")
    sw = initrd_switch()
    timeline((int(sw["__MONOTONIC_TIMESTAMP"]) if sw else None, "switch-root"),
             (appeared(), "late NIC registered (released after pre-pivot)"))
    check(no_late_nic(rec), "control (rd.netsettle=off): at switch-root the NIC was missing", str(rec))
    multi_user()


def initqueue_lines(pci):
    """netsettle's journal lines about PCI in the initrd, and the switch-root entry."""
    sw = initrd_switch()
    lines = [e for e in JOURNAL if e.get("_COMM") == "netsettle" and pci in e["MESSAGE"]
             and sw and e["seq"] < sw["seq"]]
    return lines, sw


def dracut_probefail():
    lines, sw = initqueue_lines("0000:00:03.0")
    kfail = grep(r"e1000e: probe of 0000:00:04\.0 failed")
    # dracut's warn() in a systemd initrd: "Warning: ..." on the unit's stderr.
    warns = [line for line in CONSOLE_TEXT.splitlines() if "Warning: netsettle: " in line]
    report = grep(r"Warning: netsettle: .*0000:00:04\.0.*probe-failed")
    gave_up = grep(r"Could not boot|Entering emergency mode")
    first = int(lines[0]["__MONOTONIC_TIMESTAMP"]) if lines else None
    swt = int(sw["__MONOTONIC_TIMESTAMP"]) if sw else None
    timeline((first, "initqueue: first netsettle verdict"),
             (kfail[0]["t"] if kfail else None, "kernel: e1000e probe of 0000:00:04.0 failed"),
             (report[0]["t"] if report else None, "timeout hook: netsettle's report"),
             (swt, "switch-root"))
    for line in warns[:4]:
        print(f"  console: {line[:170]}")
    check(kfail, "the e1000e probe of 0000:00:04.0 failed in the initrd")
    check(any("probe-failed" in line and "0000:00:04.0" in line for line in warns),
          "the timeout hook's report on the console names 0000:00:04.0 probe-failed")
    check(sw and report and report[0]["seq"] < sw["seq"], "the report came before switch-root")
    # dracut counts rd.retry in turns of its initqueue loop (modules.d/
    # 90dracut-systemd/dracut-initqueue.sh: timeout hooks after 2/3 of
    # 2*rd.retry turns, "Could not boot" after all of them), and a turn
    # takes longer than its 0.5 s sleep under emulation: the bound to check
    # is dracut's own give-up, not a number of seconds.
    check(not gave_up and sw, f"the boot went on before dracut gave up ({s(swt - first) if first and swt else '?'}"
          " from the initqueue's first turn to switch-root)")
    multi_user()


def dracut_nodriver():
    lines, sw = initqueue_lines("0000:00:04.0")
    timeout_hook = [line for line in CONSOLE_TEXT.splitlines() + [e["MESSAGE"] for e in JOURNAL]
                    if "Warning: netsettle: " in line]
    for e in lines[:3]:
        print(f"  journal: {e['MESSAGE'][:170]}")
    check(sw, "the journal has the initrd part (Switching root.)")
    check(lines and all("ignored" in e["MESSAGE"] for e in lines),
          "initqueue: netsettle calls 0000:00:04.0 (no driver in the image) ignored",
          "; ".join(e["MESSAGE"][:120] for e in lines[:3]))
    check(not timeout_hook, "the initqueue did not wait for it (no timeout hook report)")
    rec = probe("prepivot")
    check(rec and "eth0" in rec, "pre-pivot found the late card eth0", str(rec))
    multi_user()


def itools():
    text = CONSOLE_TEXT
    w = text.find("Waiting for network cards (netsettle)")
    r = text.find("ready in ", w if w >= 0 else 0)
    b = text.find("@@NSBOOT initbottom probe=initbottom")
    bottom = text[b:].split("@@NSBOOT initbottom end")[0] if b >= 0 else ""
    print("console:")
    for line in text.splitlines():
        if re.search(r"Waiting for network cards|^ready in|not ready|@@NSBOOT initbottom", line):
            print(f"  {line[:160]}")
    check(w >= 0, "init-premount ran netsettle (netsettle.expect= on the command line)")
    check(w >= 0 and r > w, "netsettle reported ready during premount")
    check(b > r > w >= 0 and re.search(r"netdev=ens3 ifindex=\d+ udevdb=present", bottom),
          "init-bottom (after premount) found ens3 processed by udev")
    multi_user()


def itools_control():
    text = CONSOLE_TEXT
    b = text.find("@@NSBOOT initbottom probe=initbottom")
    bottom = text[b:].split("@@NSBOOT initbottom end")[0] if b >= 0 else ""
    for line in text.splitlines():
        if "@@NSBOOT initbottom" in line:
            print(f"  {line[:160]}")
    check("Waiting for network cards" not in text, "control: premount did not run netsettle (no key, no ip=)")
    check(b >= 0 and "netdev=e" not in bottom, "control: init-bottom found no NIC")
    multi_user()


{
    "service": service,
    "control": control,
    "dropin": dropin,
    "execstartpre": execstartpre,
    "failfast": failfast,
    "deadline": deadline,
    "seedrace": seedrace,
    "dracut": dracut,
    "dracut-control": dracut_control,
    "dracut-probefail": dracut_probefail,
    "dracut-nodriver": dracut_nodriver,
    "itools": itools,
    "itools-control": itools_control,
}[SCN]()
sys.exit(1 if failures else 0)
