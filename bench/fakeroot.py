"""Fake roots for `netsettle --root`, laid out like the real thing.

Mirrors tests/common/mod.rs: `sys/bus/pci/devices/ADDR` and
`sys/class/net/NAME` are relative symlinks into `sys/devices/pci0000:00/...`,
`driver` links point into `sys/bus/pci/drivers/`, udev's database entries are
written the way udevd writes them (temp file + rename) with the properties a
real `n<ifindex>` entry carries. Sizes are what a big server shows: NICs sit
behind PCIe root ports, the kernel log holds a boot's worth of records, /proc
holds a boot's worth of processes.
"""

import os

RELEASE = "6.1.0-bench"
FUNCS_PER_BUS = 8


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


class FakeRoot:
    """A root directory with udevd running and an idle queue."""

    def __init__(self, path):
        self.path = path
        for d in ("sys/bus/pci/devices", "sys/bus/pci/drivers", "sys/class/net",
                  "sys/devices/pci0000:00", "sys/devices/virtual/net", "sys/module",
                  "run/udev/data", "etc", "dev"):
            os.makedirs(self.p(d), exist_ok=True)
        self.file("run/udev/control", "")
        self.file("proc/sys/kernel/osrelease", RELEASE + "\n")
        self.file("proc/cmdline", "BOOT_IMAGE=/vmlinuz-%s root=UUID=0b1c ro quiet\n" % RELEASE)
        self.kmsg_lines = []
        self.modules = {}
        self._seq = 0
        self._usec = 1_000_000

    def p(self, rel):
        return os.path.join(self.path, rel)

    def file(self, rel, text):
        _write(self.p(rel), text)

    # --- PCI -----------------------------------------------------------------------------------
    def pci(self, parent, addr, cls, vendor, device, driver=None):
        """A PCI function under `parent` (a root-relative directory); returns its directory."""
        rel = os.path.join(parent, addr)
        d = self.p(rel)
        os.makedirs(d, exist_ok=True)
        c = int(cls, 16)
        hexid = lambda s: s[2:].upper()
        modalias = "pci:v0000%sd0000%ssv00008086sd00000001bc%02Xsc%02Xi%02X" % (
            hexid(vendor), hexid(device), c >> 16, (c >> 8) & 0xFF, c & 0xFF)
        for name, value in (("class", cls), ("vendor", vendor), ("device", device),
                            ("subsystem_vendor", "0x8086"), ("subsystem_device", "0x0001"),
                            ("modalias", modalias), ("numa_node", "0"), ("enable", "1"),
                            ("uevent", "PCI_CLASS=%X\nPCI_SLOT_NAME=%s\nMODALIAS=%s\n"
                             % (c, addr, modalias))):
            _write(os.path.join(d, name), value + "\n")
        os.symlink(os.path.relpath(d, self.p("sys/bus/pci/devices")),
                   self.p("sys/bus/pci/devices/" + addr))
        # udevd keeps a database entry for every device it handled.
        self.file("run/udev/data/+pci:" + addr,
                  "I:%d\nE:ID_PCI_CLASS_FROM_DATABASE=Network controller\nG:systemd\nQ:systemd\nV:1\n"
                  % (1000000 + len(addr)))
        if driver:
            self.bind(rel, driver)
        return rel

    def bind(self, rel, driver):
        os.makedirs(self.p("sys/bus/pci/drivers/" + driver), exist_ok=True)
        link = self.p(rel + "/driver")
        os.symlink(os.path.relpath(self.p("sys/bus/pci/drivers/" + driver), self.p(rel)), link)

    def module(self, name, state="live"):
        self.file("sys/module/%s/initstate" % name, state + "\n")
        os.makedirs(self.p("sys/module/%s/holders" % name), exist_ok=True)
        self.modules[name] = state

    # --- netdevs -------------------------------------------------------------------------------
    def netdev_dir(self, parent, name, ifindex, mac):
        """The netdev's sysfs directory, not yet linked from class/net."""
        rel = os.path.join(parent, "net", name)
        d = self.p(rel)
        for attr, value in (("ifindex", ifindex), ("iflink", ifindex), ("address", mac),
                            ("type", 1), ("name_assign_type", 4), ("addr_len", 6),
                            ("mtu", 1500), ("operstate", "up"), ("carrier", 1),
                            ("uevent", "INTERFACE=%s\nIFINDEX=%d" % (name, ifindex))):
            _write(os.path.join(d, attr), "%s\n" % value)
        return rel

    def link_netdev(self, rel, name):
        """The kernel's class/net link: the netdev becomes visible."""
        os.symlink(os.path.relpath(self.p(rel), self.p("sys/class/net")),
                   self.p("sys/class/net/" + name))

    def udev_entry(self, ifindex, name, driver, pci_addr):
        """What udevd writes for a processed netdev (systemd 252, `udevadm info` order)."""
        return "".join(line + "\n" for line in (
            "I:%d" % (4_000_000 + ifindex * 1237),
            "E:ID_NET_NAMING_SCHEME=v252",
            "E:ID_NET_NAME_MAC=enx%s" % "0000c0ffee%02x" % (ifindex % 256),
            "E:ID_OUI_FROM_DATABASE=Intel Corporate",
            "E:ID_NET_NAME_PATH=%s" % name,
            "E:ID_BUS=pci",
            "E:ID_VENDOR_ID=0x8086",
            "E:ID_MODEL_ID=0x159b",
            "E:ID_PCI_CLASS_FROM_DATABASE=Network controller",
            "E:ID_PCI_SUBCLASS_FROM_DATABASE=Ethernet controller",
            "E:ID_VENDOR_FROM_DATABASE=Intel Corporation",
            "E:ID_MODEL_FROM_DATABASE=Ethernet Controller E810-C for SFP",
            "E:ID_PATH=pci-%s" % pci_addr,
            "E:ID_PATH_TAG=pci-%s" % pci_addr.replace(":", "_").replace(".", "_"),
            "E:ID_NET_DRIVER=%s" % driver,
            "E:ID_NET_LINK_FILE=/usr/lib/systemd/network/99-default.link",
            "E:ID_NET_NAME=%s" % name,
            "E:SYSTEMD_ALIAS=/sys/subsystem/net/devices/%s" % name,
            "E:TAGS=:systemd:",
            "E:CURRENT_TAGS=:systemd:",
            "G:systemd",
            "Q:systemd",
            "V:1",
        ))

    def udev_db(self, ifindex, content):
        """Atomically, like udevd: write a temp file, rename it into place."""
        tmp = self.p("run/udev/data/.#n%dXXXXXX" % ifindex)
        with open(tmp, "w") as f:
            f.write(content)
        os.rename(tmp, self.p("run/udev/data/n%d" % ifindex))

    # --- kernel log, processes -----------------------------------------------------------------
    def kmsg(self, level, text, device=None):
        self._seq += 1
        self._usec += 1733
        self.kmsg_lines.append("%d,%d,%d,-;%s" % (level, self._seq, self._usec, text))
        if device:
            self.kmsg_lines.append(" SUBSYSTEM=pci")
            self.kmsg_lines.append(" DEVICE=+pci:" + device)

    def finish(self, processes=150):
        """Writes the kernel log, module list and a boot's worth of processes."""
        self.file("dev/kmsg", "\n".join(self.kmsg_lines) + "\n")
        self.file("proc/modules", "".join(
            "%s 688128 0 - %s 0x0000000000000000\n"
            % (m, "Live" if s == "live" else "Loading") for m, s in sorted(self.modules.items())))
        comms = ["systemd", "kthreadd"] + ["kworker/%d:%d" % (i // 4, i % 4) for i in range(40)] \
            + ["ksoftirqd/%d" % i for i in range(40)] + ["systemd-udevd"] * 30 \
            + ["systemd-journal", "dbus-daemon", "sshd", "agetty", "cron", "rsyslogd"]
        for pid, comm in enumerate(comms[:processes], start=1):
            kthread = comm.startswith(("k", "ksoft"))
            ppid = 0 if pid <= 2 else (2 if kthread else 1)
            flags = 0x00208040 if kthread else 0x00400100
            self.file("proc/%d/stat" % pid,
                      "%d (%s) S %d %d %d 0 -1 %d 0 0 0 0 0 0 0 0 20 0 1 0 %d 0 0\n"
                      % (pid, comm, ppid, pid, pid, flags, 100 + pid))
            self.file("proc/%d/cmdline" % pid, "" if kthread else "/usr/lib/systemd/%s\0" % comm)


def boot_log(root, n):
    """A boot's worth of generic kernel log records (n of them)."""
    root.kmsg(5, "Linux version %s (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC" % RELEASE)
    root.kmsg(6, "Command line: BOOT_IMAGE=/vmlinuz-%s root=UUID=0b1c ro quiet" % RELEASE)
    for i in range(n):
        root.kmsg(6, "ACPI: \\_SB_.PCI0.S%02X: Device [S%02X] enabled" % (i % 256, i % 256)
                  if i % 3 else "pci 0000:00:%02x.%d: [8086:1234] type 01 class 0x060400"
                  % ((i // 8) % 32, i % 8))
    root.kmsg(3, "ACPI Error: AE_NOT_FOUND, While resolving a named reference package element")
    root.kmsg(4, "platform regulatory.0: Direct firmware load for regulatory.db failed with error -2")


def modules_alias(root, lines=20000):
    """A distribution-sized modules.alias (Debian's has ~25,000 lines) that knows ice."""
    out = ["# Aliases extracted from modules themselves."]
    for i in range(lines):
        out.append("alias pci:v0000%04Xd0000%04Xsv*sd*bc*sc*i* mod%d" % (0x1000 + i % 512, i, i % 900))
    out.append("alias pci:v00008086d0000159Bsv*sd*bc*sc*i* ice")
    out.append("alias pci:v000015B3d00001007sv*sd*bc*sc*i* mlx4_core")
    root.file("lib/modules/%s/modules.alias" % RELEASE, "\n".join(out) + "\n")


def server(path, functions, netdevs_per_function=4, ready=True, stuck=None, bound=True):
    """A server whose `functions` Ethernet functions (ice) each have `netdevs_per_function`
    processed netdevs, behind PCIe root ports, 8 functions per bus.

    `bound=False`: early boot, before ice is loaded: no driver bound, no netdevs yet.

    `stuck`: add one more function in a state that never settles: "no-netdev" (mlx4_core
    bound, mlx4_en never loads: the case from SPEC.md).
    Returns (root, list of (pci_addr, device_dir, [netdev names])).
    """
    root = FakeRoot(path)
    host = "sys/devices/pci0000:00"
    root.pci(host, "0000:00:00.0", "0x060000", "0x8086", "0x09a2")
    if bound:
        root.module("ice")
    modules_alias(root)
    boot_log(root, 800)
    lo = root.netdev_dir("sys/devices/virtual", "lo", 1, "00:00:00:00:00:00")
    root.link_netdev(lo, "lo")
    nics = []
    ifindex = 2
    buses = (functions + FUNCS_PER_BUS - 1) // FUNCS_PER_BUS
    for b in range(1, buses + 1):
        port = "0000:00:%02x.%d" % ((b - 1) // 8 + 1, (b - 1) % 8)
        port_dir = root.pci(host, port, "0x060400", "0x8086", "0x347a", driver="pcieport")
        for fn in range(min(FUNCS_PER_BUS, functions - (b - 1) * FUNCS_PER_BUS)):
            addr = "0000:%02x:00.%d" % (b, fn)
            fdir = root.pci(port_dir, addr, "0x020000", "0x8086", "0x159b",
                            driver="ice" if bound else None)
            # PCI enumeration, early in every boot.
            root.kmsg(6, "pci %s: [8086:159b] type 00 class 0x020000 PCIe Endpoint" % addr, addr)
            root.kmsg(6, "pci %s: BAR 0 [mem 0x%x-0x%x 64bit pref]"
                      % (addr, 0x38000000000 + b * 0x4000000, 0x38000000000 + b * 0x4000000 + 0x1ffffff), addr)
            root.kmsg(6, "pci %s: PME# supported from D0 D3hot" % addr, addr)
            if not bound:
                nics.append((addr, fdir, []))
                continue
            root.kmsg(6, "ice %s: The DDP package was successfully loaded: ICE OS Default Package"
                      " version 1.3.30.0" % addr, addr)
            root.kmsg(6, "ice %s: 126.024 Gb/s available PCIe bandwidth (16.0 GT/s PCIe x8 link)"
                      % addr, addr)
            names = []
            for k in range(netdevs_per_function):
                name = "enp%ds0f%dnp%d" % (b, fn, k)
                mac = "b4:96:91:%02x:%02x:%02x" % (b, fn, k)
                nd = root.netdev_dir(fdir, name, ifindex, mac)
                root.link_netdev(nd, name)
                if ready:
                    root.udev_db(ifindex, root.udev_entry(ifindex, name, "ice", addr))
                root.kmsg(6, "ice %s %s: NIC Link is up 100 Gbps Full Duplex" % (addr, name), addr)
                names.append((name, ifindex, nd))
                ifindex += 1
            nics.append((addr, fdir, names))
    if stuck == "no-netdev":
        b = buses + 1
        port = "0000:00:%02x.%d" % ((b - 1) // 8 + 1, (b - 1) % 8)
        port_dir = root.pci(host, port, "0x060400", "0x8086", "0x347a", driver="pcieport")
        addr = "0000:%02x:00.0" % b
        root.pci(port_dir, addr, "0x020000", "0x15b3", "0x1007", driver="mlx4_core")
        root.module("mlx4_core")
        root.kmsg(6, "mlx4_core: Mellanox ConnectX core driver v4.0-0")
        root.kmsg(6, "mlx4_core %s: 63.008 Gb/s available PCIe bandwidth" % addr, addr)
    root.finish()
    return root, nics
