"""Big fake roots for `netsettle --root`, built by the fake root builder of the tests.

This module only says what a big server has, as scenario lines (the format of
`FakeRoot::apply` in tests/common/builder.rs); the builder, run as the `fakeroot`
example (`cargo build --release --example fakeroot`), writes every file, so bench
roots and test roots share one layout. Sizes are what a big server shows: NICs sit
behind PCIe root ports, 8 functions per bus, the kernel log holds a boot's worth of
records, /proc a boot's worth of processes, modules.alias a distribution's worth of
aliases, and udev entries carry every property systemd 252 writes.

What stays here is what bench/run does to a root while netsettle waits: publish a
udev entry the builder staged, as udevd does (temp file, then rename), and the other
last changes its latency section times.
"""

import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
RELEASE = "6.1.0-test"  # the builder's kernel release (RELEASE in tests/common/builder.rs)
FUNCS_PER_BUS = 8


def builder():
    """The `fakeroot` example binary that `cargo build --release --example fakeroot` made."""
    d = os.environ.get("CARGO_TARGET_DIR", "target")
    d = d if os.path.isabs(d) else os.path.join(TOP, d)
    return os.path.join(d, "release", "examples", "fakeroot")


def esc(text):
    """A scenario TEXT argument: backslashes and newlines escaped."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


class FakeRoot:
    """A built root, and the changes bench/run makes to it at the moment it chooses."""

    def __init__(self, path):
        self.path = path

    def p(self, rel):
        return os.path.join(self.path, rel)

    def take_staged(self, ifindex):
        """Reads and removes the entry the builder staged as udevd's temp file."""
        tmp = self.p("run/udev/data/.#n%d" % ifindex)
        with open(tmp) as f:
            text = f.read()
        os.unlink(tmp)
        return text

    def write_entry(self, ifindex, text):
        """What udevd does to publish an entry: writes a temp file beside it and renames it into
        place (sd-device `device_update_db`: `fopen_temporary`, then `rename`)."""
        tmp = self.p("run/udev/data/.#n%d" % ifindex)
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.p("run/udev/data/n%d" % ifindex))


class BuildError(Exception):
    """The builder refused the scenario or failed."""


def build(path, lines):
    """Runs the builder on the scenario lines; returns the root."""
    r = subprocess.run([builder(), path], input="".join(line + "\n" for line in lines),
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise BuildError("fakeroot %s exited %d: %s" % (path, r.returncode, r.stderr.strip()))
    return FakeRoot(path)


class Kmsg:
    """Kernel log records; the builder numbers and timestamps them."""

    def __init__(self, lines):
        self.lines = lines

    def __call__(self, level, text, device=None):
        self.lines.append("kmsg_record %d %s %s" % (level, device or "-", esc(text)))


def boot_log(kmsg, n):
    """A boot's worth of generic kernel log records (n of them)."""
    kmsg(5, "Linux version %s (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC" % RELEASE)
    kmsg(6, "Command line: BOOT_IMAGE=/vmlinuz-%s root=UUID=0b1c ro quiet" % RELEASE)
    for i in range(n):
        kmsg(6, "ACPI: \\_SB_.PCI0.S%02X: Device [S%02X] enabled" % (i % 256, i % 256)
             if i % 3 else "pci 0000:00:%02x.%d: [8086:1234] type 01 class 0x060400"
             % ((i // 8) % 32, i % 8))
    kmsg(3, "ACPI Error: AE_NOT_FOUND, While resolving a named reference package element")
    kmsg(4, "platform regulatory.0: Direct firmware load for regulatory.db failed with error -2")


def modules_alias(lines, n=20000):
    """A distribution-sized modules.alias (Debian's has ~25,000 lines) that knows ice."""
    text = ["# Aliases extracted from modules themselves."]
    for i in range(n):
        text.append("alias pci:v0000%04Xd0000%04Xsv*sd*bc*sc*i* mod%d" % (0x1000 + i % 512, i, i % 900))
    text.append("alias pci:v00008086d0000159Bsv*sd*bc*sc*i* ice")
    text.append("alias pci:v000015B3d00001007sv*sd*bc*sc*i* mlx4_core")
    lines.append("file lib/modules/%s/modules.builtin" % RELEASE)
    lines.append("file lib/modules/%s/modules.alias %s" % (RELEASE, esc("\n".join(text) + "\n")))


def processes(lines, n=150):
    """A boot's worth of processes: systemd, kernel threads, udev workers, daemons."""
    comms = ["systemd", "kthreadd"] + ["kworker/%d:%d" % (i // 4, i % 4) for i in range(40)] \
        + ["ksoftirqd/%d" % i for i in range(40)] + ["systemd-udevd"] * 30 \
        + ["systemd-journal", "dbus-daemon", "sshd", "agetty", "cron", "rsyslogd"]
    for pid, comm in enumerate(comms[:n], start=1):
        kthread = comm.startswith("k")
        ppid = 0 if pid <= 2 else (2 if kthread else 1)
        lines.append("process %d %d %s%s" % (pid, ppid, comm,
                                             "" if kthread else " /usr/lib/systemd/" + comm))


def root_port(lines, b):
    """The PCIe root port of bus b, bound to pcieport; returns its address."""
    port = "0000:00:%02x.%d" % ((b - 1) // 8 + 1, (b - 1) % 8)
    lines.append("pci %s 0x060400 0x8086 0x347a subsystem=0x8086:0x0001" % port)
    lines.append("bind %s pcieport" % port)
    return port


def server(path, functions, netdevs_per_function=4, udev="written", stuck=None, bound=True):
    """A server whose `functions` Ethernet functions (ice) each have `netdevs_per_function`
    netdevs, behind PCIe root ports, 8 functions per bus.

    `udev`: "written", every netdev processed; "staged", every entry is udevd's temp file,
    for bench/run to take and publish (`take_staged`, `write_entry`); None, no entries.

    `bound=False`: early boot, before ice is loaded: no driver bound, no netdevs yet.

    `stuck`: add one more function in a state that never settles: "no-netdev" (mlx4_core
    bound, mlx4_en never loads: the case from SPEC.md).
    Returns (root, list of (pci_addr, device_dir, [(netdev name, ifindex, netdev dir)])).
    """
    lines = ["# generated by bench/fakeroot.py", "detail full",
             "cmdline BOOT_IMAGE=/vmlinuz-%s root=UUID=0b1c ro quiet" % RELEASE,
             "pci 0000:00:00.0 0x060000 0x8086 0x09a2 subsystem=0x8086:0x0001"]
    kmsg = Kmsg(lines)
    if bound:
        lines.append("module ice live")
    modules_alias(lines)
    boot_log(kmsg, 800)
    lines.append("virtual_netdev lo 1 00:00:00:00:00:00 type=772")
    nics = []
    ifindex = 2
    buses = (functions + FUNCS_PER_BUS - 1) // FUNCS_PER_BUS
    for b in range(1, buses + 1):
        port = root_port(lines, b)
        for fn in range(min(FUNCS_PER_BUS, functions - (b - 1) * FUNCS_PER_BUS)):
            addr = "0000:%02x:00.%d" % (b, fn)
            fdir = "sys/devices/pci0000:00/%s/%s" % (port, addr)
            lines.append("pci %s 0x020000 0x8086 0x159b under=%s subsystem=0x8086:0x0001"
                         % (addr, port))
            if bound:
                lines.append("bind %s ice" % addr)
            # PCI enumeration, early in every boot.
            kmsg(6, "pci %s: [8086:159b] type 00 class 0x020000 PCIe Endpoint" % addr, addr)
            kmsg(6, "pci %s: BAR 0 [mem 0x%x-0x%x 64bit pref]"
                 % (addr, 0x38000000000 + b * 0x4000000, 0x38000000000 + b * 0x4000000 + 0x1ffffff),
                 addr)
            kmsg(6, "pci %s: PME# supported from D0 D3hot" % addr, addr)
            if not bound:
                nics.append((addr, fdir, []))
                continue
            kmsg(6, "ice %s: The DDP package was successfully loaded: ICE OS Default Package"
                 " version 1.3.30.0" % addr, addr)
            kmsg(6, "ice %s: 126.024 Gb/s available PCIe bandwidth (16.0 GT/s PCIe x8 link)"
                 % addr, addr)
            names = []
            for k in range(netdevs_per_function):
                name = "enp%ds0f%dnp%d" % (b, fn, k)
                mac = "b4:96:91:%02x:%02x:%02x" % (b, fn, k)
                lines.append("netdev %s %s %d %s" % (addr, name, ifindex, mac))
                if udev == "written":
                    lines.append("processed %d ice" % ifindex)
                elif udev == "staged":
                    lines.append("processed %d ice staged" % ifindex)
                kmsg(6, "ice %s %s: NIC Link is up 100 Gbps Full Duplex" % (addr, name), addr)
                names.append((name, ifindex, "%s/net/%s" % (fdir, name)))
                ifindex += 1
            nics.append((addr, fdir, names))
    if stuck == "no-netdev":
        port = root_port(lines, buses + 1)
        addr = "0000:%02x:00.0" % (buses + 1)
        lines.append("pci %s 0x020000 0x15b3 0x1007 under=%s subsystem=0x8086:0x0001" % (addr, port))
        lines.append("bind %s mlx4_core" % addr)
        lines.append("module mlx4_core live")
        kmsg(6, "mlx4_core: Mellanox ConnectX core driver v4.0-0")
        kmsg(6, "mlx4_core %s: 63.008 Gb/s available PCIe bandwidth" % addr, addr)
    processes(lines)
    return build(path, lines), nics
