//! A fake root that looks like the real thing: `bus/pci/devices/ADDR` and
//! `class/net/NAME` are symlinks into `devices/pci0000:00/…`, `driver` links
//! point into `bus/pci/drivers/`, udev's database is written the way udevd
//! writes it (temp file + rename).
//!
//! Shared by the integration tests (through `tests/common/mod.rs`), the
//! `fakeroot` example that `bench/run` and `tests/packaging/run` build their
//! roots with, and the scenario files in `tests/roots/`, whose line format
//! [`FakeRoot::apply`] reads.

#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// Kernel release every fake root runs.
pub const RELEASE: &str = "6.1.0-test";

/// The PCI host bridge's directory: every function sits under it.
const HOST: &str = "sys/devices/pci0000:00";

/// A root directory for `netsettle --root`.
pub struct FakeRoot {
    dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    /// Whether to write the attributes real sysfs and udevd have but netsettle
    /// does not read (see [`FakeRoot::full_detail`]).
    full: Cell<bool>,
    /// ifindex → (netdev name, PCI address), for udev entries that name them.
    netdevs: RefCell<HashMap<u32, (String, String)>>,
    /// Loaded modules and their `initstate`, for `proc/modules`.
    modules: RefCell<BTreeMap<String, String>>,
    /// Sequence number and timestamp of the last kernel log record written
    /// by [`FakeRoot::kmsg_record`].
    kmsg_seq: Cell<u64>,
}

fn write(path: &Path, content: impl AsRef<[u8]>) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

fn append(path: &Path, content: impl AsRef<[u8]>) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(content.as_ref())
        .unwrap();
}

/// Names from the PCI ID and OUI databases udev's hwdb carries, for the
/// devices fake roots use: (vendor, device, vendor name, model name, the
/// OUI name of the MACs such a card ships with).
const HWDB: &[(&str, &str, &str, &str, &str)] = &[
    (
        "0x8086",
        "0x159b",
        "Intel Corporation",
        "Ethernet Controller E810-C for SFP",
        "Intel Corporate",
    ),
    (
        "0x15b3",
        "0x1003",
        "Mellanox Technologies",
        "MT27500 Family [ConnectX-3]",
        "Mellanox Technologies, Inc.",
    ),
    (
        "0x1af4",
        "0x1000",
        "Red Hat, Inc.",
        "Virtio network device",
        // QEMU's 52:54:00 is locally administered: no OUI entry.
        "",
    ),
];

impl FakeRoot {
    /// An empty machine with udevd running and an idle queue.
    ///
    /// It lives on a tmpfs where there is one (`/dev/shm`), as sysfs and
    /// `/run/udev` live in memory: a root with thousands of netdevs costs
    /// seconds of journal writes on a disk file system, paid again by every
    /// test run of every mutant.
    pub fn new() -> FakeRoot {
        let dir = match std::env::var_os("NETSETTLE_TEST_TMPDIR") {
            Some(base) => tempfile::tempdir_in(base),
            None if Path::new("/dev/shm").is_dir() => {
                tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir())
            }
            None => tempfile::tempdir(),
        }
        .unwrap();
        FakeRoot::build(dir.path().to_path_buf(), Some(dir))
    }

    /// The same empty machine in `dir` (created if missing), kept after the
    /// builder is gone.
    pub fn at(dir: &Path) -> FakeRoot {
        fs::create_dir_all(dir).unwrap();
        FakeRoot::build(dir.to_path_buf(), None)
    }

    /// A machine from a scenario file of `tests/roots/`.
    pub fn scenario(name: &str) -> FakeRoot {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/roots")
            .join(name);
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let root = FakeRoot::new();
        root.apply(&format!("tests/roots/{name}"), &text)
            .unwrap_or_else(|e| panic!("{e}"));
        root
    }

    fn build(dir: PathBuf, temp: Option<tempfile::TempDir>) -> FakeRoot {
        let root = FakeRoot {
            dir,
            _temp: temp,
            full: Cell::new(false),
            netdevs: RefCell::new(HashMap::new()),
            modules: RefCell::new(BTreeMap::new()),
            kmsg_seq: Cell::new(0),
        };
        for d in [
            "sys/bus/pci/devices",
            "sys/bus/pci/drivers",
            "sys/class/net",
            HOST,
            "sys/module",
            "run/udev/data",
            "etc",
        ] {
            fs::create_dir_all(root.path().join(d)).unwrap();
        }
        root.file("run/udev/control", "");
        root.file("proc/sys/kernel/osrelease", format!("{RELEASE}\n"));
        root.file(
            "proc/cmdline",
            "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet\n",
        );
        root.file("dev/kmsg", "");
        root
    }

    /// The root directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// From here on, also writes what real sysfs and udevd have that
    /// netsettle does not read: subsystem ids, `numa_node`, `enable` and
    /// `uevent` of functions, udev's `+pci:` entries, `iflink`, `mtu`,
    /// `operstate`, `carrier` and `uevent` of netdevs, module `holders`,
    /// `proc/modules`, and udev entries with every property systemd 252
    /// writes. A scan passes these by, as it does on a real machine.
    pub fn full_detail(&self) -> &Self {
        self.full.set(true);
        self
    }

    /// Writes a file (parents created).
    pub fn file(&self, rel: &str, content: impl AsRef<[u8]>) -> &Self {
        write(&self.path().join(rel), content);
        self
    }

    /// Removes a file or link; absent is fine.
    pub fn remove(&self, rel: &str) -> &Self {
        let _ = fs::remove_file(self.path().join(rel));
        self
    }

    /// Whether a PCI function `addr` exists.
    pub fn has_pci(&self, addr: &str) -> bool {
        fs::symlink_metadata(self.path().join("sys/bus/pci/devices").join(addr)).is_ok()
    }

    /// The function's directory, relative to the root: where its
    /// `bus/pci/devices` link points (under a root port for functions behind
    /// one).
    fn dev_dir(&self, addr: &str) -> PathBuf {
        match fs::read_link(self.path().join("sys/bus/pci/devices").join(addr)) {
            // The link is `../../../devices/…`, relative to `sys/bus/pci/devices`.
            Ok(target) => Path::new("sys").join(target.strip_prefix("../../..").unwrap()),
            Err(_) => Path::new(HOST).join(addr),
        }
    }

    /// A PCI function with class, vendor, device and a modalias built from them.
    pub fn pci(&self, addr: &str, class: &str, vendor: &str, device: &str) -> &Self {
        self.pci_with(addr, class, vendor, device, None, None)
    }

    /// A PCI function behind the bridge or root port `parent`: its directory
    /// is a child of the port's, as the kernel nests a device below its
    /// bridge (`pci_setup_device` sets `dev.parent` to the bus's bridge,
    /// drivers/pci/probe.c).
    pub fn pci_under(
        &self,
        parent: &str,
        addr: &str,
        class: &str,
        vendor: &str,
        device: &str,
    ) -> &Self {
        self.pci_with(addr, class, vendor, device, Some(parent), None)
    }

    /// A PCI function, optionally behind `parent`, optionally with subsystem
    /// vendor and device ids (which the modalias carries: `pci_uevent` in
    /// drivers/pci/pci-driver.c).
    pub fn pci_with(
        &self,
        addr: &str,
        class: &str,
        vendor: &str,
        device: &str,
        parent: Option<&str>,
        subsystem: Option<(&str, &str)>,
    ) -> &Self {
        let dir = match parent {
            Some(p) => self.dev_dir(p).join(addr),
            None => Path::new(HOST).join(addr),
        };
        let d = self.path().join(&dir);
        fs::create_dir_all(&d).unwrap();
        write(&d.join("class"), format!("{class}\n"));
        write(&d.join("vendor"), format!("{vendor}\n"));
        write(&d.join("device"), format!("{device}\n"));
        let hex = |s: &str| s.trim_start_matches("0x").to_ascii_uppercase();
        let c = u32::from_str_radix(class.trim_start_matches("0x"), 16).unwrap_or(0);
        let (sv, sd) = subsystem.unwrap_or(("0x0000", "0x0000"));
        let modalias = format!(
            "pci:v0000{}d0000{}sv0000{}sd0000{}bc{:02X}sc{:02X}i{:02X}",
            hex(vendor),
            hex(device),
            hex(sv),
            hex(sd),
            c >> 16,
            (c >> 8) & 0xff,
            c & 0xff
        );
        write(&d.join("modalias"), format!("{modalias}\n"));
        if subsystem.is_some() || self.full.get() {
            write(&d.join("subsystem_vendor"), format!("{sv}\n"));
            write(&d.join("subsystem_device"), format!("{sd}\n"));
        }
        if self.full.get() {
            write(&d.join("numa_node"), "0\n");
            write(&d.join("enable"), "1\n");
            write(
                &d.join("uevent"),
                format!("PCI_CLASS={c:X}\nPCI_SLOT_NAME={addr}\nMODALIAS={modalias}\n"),
            );
            // udevd keeps a database entry for every device it handled.
            self.file(
                &format!("run/udev/data/+pci:{addr}"),
                format!(
                    "I:{}\nE:ID_PCI_CLASS_FROM_DATABASE=Network controller\nG:systemd\nQ:systemd\nV:1\n",
                    1_000_000 + addr.len()
                ),
            );
        }
        let _ = symlink(
            Path::new("../../..").join(dir.strip_prefix("sys").unwrap()),
            self.path().join("sys/bus/pci/devices").join(addr),
        );
        self
    }

    /// Binds a driver: `driver` → `../../../bus/pci/drivers/NAME` (as many
    /// `..` as the function is deep).
    pub fn bind(&self, addr: &str, driver: &str) -> &Self {
        fs::create_dir_all(self.path().join("sys/bus/pci/drivers").join(driver)).unwrap();
        let dir = self.dev_dir(addr);
        let link = self.path().join(&dir).join("driver");
        let _ = fs::remove_file(&link);
        symlink(up_to_sys(&dir).join("bus/pci/drivers").join(driver), link).unwrap();
        self
    }

    /// Removes the driver link, as the kernel does when probe fails.
    pub fn unbind(&self, addr: &str) -> &Self {
        let _ = fs::remove_file(self.path().join(self.dev_dir(addr)).join("driver"));
        self
    }

    /// Marks a function as an SR-IOV VF of `pf`.
    pub fn vf_of(&self, addr: &str, pf: &str) -> &Self {
        symlink(
            Path::new("..").join(pf),
            self.path().join(self.dev_dir(addr)).join("physfn"),
        )
        .unwrap();
        self
    }

    /// A netdev under the function (or under its child `sub`, e.g. `virtio0`).
    pub fn netdev(
        &self,
        addr: &str,
        sub: Option<&str>,
        name: &str,
        ifindex: u32,
        mac: &str,
    ) -> &Self {
        self.netdev_typed(addr, sub, name, ifindex, mac, 1)
    }

    /// A netdev with an explicit `type` (32 = InfiniBand).
    ///
    /// `name_assign_type` is 4 (`NET_NAME_RENAMED`): the name given is the
    /// final one udev chose, except for InfiniBand: ipoib never sets
    /// `name_assign_type`, so it stays `NET_NAME_UNKNOWN` and reading the
    /// attribute fails with `EINVAL` (`name_assign_type_show` in
    /// net/core/net-sysfs.c). A fake root cannot fail a read of a regular
    /// file, so it has a directory there: listed, opened, never read.
    pub fn netdev_typed(
        &self,
        addr: &str,
        sub: Option<&str>,
        name: &str,
        ifindex: u32,
        mac: &str,
        kind: u32,
    ) -> &Self {
        let mut dir = self.dev_dir(addr);
        if let Some(sub) = sub {
            dir.push(sub);
        }
        self.netdev_in(&dir, name, ifindex, mac, kind);
        self.netdevs
            .borrow_mut()
            .insert(ifindex, (name.to_string(), addr.to_string()));
        self
    }

    /// A netdev of no device (`lo`, bonds, bridges): `devices/virtual/net/NAME`
    /// (`get_device_parent` in drivers/base/core.c for a class device
    /// without a parent).
    pub fn virtual_netdev(&self, name: &str, ifindex: u32, mac: &str, kind: u32) -> &Self {
        self.netdev_in(Path::new("sys/devices/virtual"), name, ifindex, mac, kind);
        self
    }

    fn netdev_in(&self, parent: &Path, name: &str, ifindex: u32, mac: &str, kind: u32) {
        let dir = parent.join("net").join(name);
        let d = self.path().join(&dir);
        write(&d.join("ifindex"), format!("{ifindex}\n"));
        write(&d.join("address"), format!("{mac}\n"));
        write(&d.join("type"), format!("{kind}\n"));
        if kind == 32 {
            fs::create_dir_all(d.join("name_assign_type")).unwrap();
        } else {
            write(&d.join("name_assign_type"), "4\n");
        }
        if self.full.get() {
            let addr_len = if kind == 32 { 20 } else { 6 };
            for (attr, value) in [
                ("iflink", ifindex.to_string()),
                ("addr_len", addr_len.to_string()),
                ("mtu", "1500".to_string()),
                ("operstate", "up".to_string()),
                ("carrier", "1".to_string()),
            ] {
                write(&d.join(attr), format!("{value}\n"));
            }
            write(
                &d.join("uevent"),
                format!("INTERFACE={name}\nIFINDEX={ifindex}\n"),
            );
        }
        symlink(
            Path::new("../..").join(dir.strip_prefix("sys").unwrap()),
            self.path().join("sys/class/net").join(name),
        )
        .unwrap();
    }

    /// Marks a netdev as still carrying the name the kernel gave it
    /// (`eth0`): `name_assign_type` 1, `NET_NAME_ENUM` (`alloc_etherdev`).
    pub fn named_by_kernel(&self, name: &str) -> &Self {
        let dir = fs::canonicalize(self.path().join("sys/class/net").join(name)).unwrap();
        write(&dir.join("name_assign_type"), "1\n");
        self
    }

    /// Renames a netdev as the kernel does when udev asks (`dev_change_name`
    /// → `device_rename` in drivers/base/core.c): the `class/net` link is
    /// renamed (`sysfs_rename_link_ns`), then the device's own `net/OLD`
    /// directory becomes `net/NEW` (`kobject_rename`), both before the
    /// `move` uevent; `name_assign_type` becomes 4 (`NET_NAME_RENAMED`).
    pub fn rename_netdev(&self, old: &str, new: &str) -> &Self {
        let class = self.path().join("sys/class/net");
        let target = fs::read_link(class.join(old)).unwrap();
        let new_target = target.with_file_name(new);
        // The new link is made beside the old one and renamed into place.
        let tmp = class.join(format!(".#{new}"));
        symlink(&new_target, &tmp).unwrap();
        fs::rename(&tmp, class.join(new)).unwrap();
        fs::remove_file(class.join(old)).unwrap();
        let new_dir = class.join(&new_target);
        fs::rename(class.join(&target), &new_dir).unwrap();
        write(&new_dir.join("name_assign_type"), "4\n");
        let mut netdevs = self.netdevs.borrow_mut();
        if let Some(entry) = netdevs.values_mut().find(|(name, _)| name == old) {
            entry.0 = new.to_string();
        }
        self
    }

    /// Writes udev's database entry for a netdev, atomically like udevd.
    pub fn udev_db(&self, ifindex: u32, content: &str) -> &Self {
        let tmp = self.stage_udev_db(ifindex, content);
        fs::rename(tmp, self.path().join(format!("run/udev/data/n{ifindex}"))).unwrap();
        self
    }

    /// Writes only the temp file udevd renames into place a moment later
    /// (`device_update_db` in systemd's sd-device: `fopen_temporary`, then
    /// `rename`): `run/udev/data/.#n<ifindex>`. Renaming it to `n<ifindex>`
    /// is the whole change a waiter sees, for those who time it.
    pub fn stage_udev_db(&self, ifindex: u32, content: &str) -> PathBuf {
        let tmp = self.path().join(format!("run/udev/data/.#n{ifindex}"));
        write(&tmp, content);
        tmp
    }

    /// The database entry of a processed netdev: the few properties netsettle
    /// reads or, with [`FakeRoot::full_detail`], every property systemd 252
    /// writes, in `udevadm info` order (a 23-line entry).
    pub fn udev_entry(&self, ifindex: u32, driver: &str) -> String {
        if !self.full.get() {
            return format!("I:12345\nE:ID_NET_DRIVER={driver}\nE:ID_NET_NAME_PATH=enp0s3\n");
        }
        let (name, addr) = self
            .netdevs
            .borrow()
            .get(&ifindex)
            .cloned()
            .unwrap_or_else(|| panic!("no netdev with ifindex {ifindex}"));
        let dir = self.path().join(self.dev_dir(&addr));
        let attr = |a: &str| {
            fs::read_to_string(dir.join(a))
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        let (vendor, device) = (attr("vendor"), attr("device"));
        let mac = fs::read_to_string(
            self.path()
                .join("sys/class/net")
                .join(&name)
                .join("address"),
        )
        .unwrap_or_default()
        .trim()
        .replace(':', "");
        let (vendor_name, model_name, oui) = HWDB
            .iter()
            .find(|h| h.0 == vendor && h.1 == device)
            .map(|h| (h.2, h.3, h.4))
            .unwrap_or(("", "", ""));
        let tag = addr.replace([':', '.'], "_");
        let mut lines = vec![
            format!("I:{}", 4_000_000 + u64::from(ifindex) * 1237),
            "E:ID_NET_NAMING_SCHEME=v252".to_string(),
            format!("E:ID_NET_NAME_MAC=enx{mac}"),
            format!("E:ID_OUI_FROM_DATABASE={oui}"),
            format!("E:ID_NET_NAME_PATH={name}"),
            "E:ID_BUS=pci".to_string(),
            format!("E:ID_VENDOR_ID={vendor}"),
            format!("E:ID_MODEL_ID={device}"),
            "E:ID_PCI_CLASS_FROM_DATABASE=Network controller".to_string(),
            "E:ID_PCI_SUBCLASS_FROM_DATABASE=Ethernet controller".to_string(),
            format!("E:ID_VENDOR_FROM_DATABASE={vendor_name}"),
            format!("E:ID_MODEL_FROM_DATABASE={model_name}"),
            format!("E:ID_PATH=pci-{addr}"),
            format!("E:ID_PATH_TAG=pci-{tag}"),
            format!("E:ID_NET_DRIVER={driver}"),
            "E:ID_NET_LINK_FILE=/usr/lib/systemd/network/99-default.link".to_string(),
            format!("E:ID_NET_NAME={name}"),
            format!("E:SYSTEMD_ALIAS=/sys/subsystem/net/devices/{name}"),
            "E:TAGS=:systemd:".to_string(),
            "E:CURRENT_TAGS=:systemd:".to_string(),
            "G:systemd".to_string(),
            "Q:systemd".to_string(),
            "V:1".to_string(),
        ];
        // hwdb has no names for ids it does not know: udev writes no property.
        lines.retain(|l| !l.ends_with('='));
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    /// The database entry of a processed netdev.
    pub fn processed(&self, ifindex: u32, driver: &str) -> &Self {
        self.udev_db(ifindex, &self.udev_entry(ifindex, driver))
    }

    /// A module with `initstate` (`live`, `coming`, `going`).
    pub fn module(&self, name: &str, state: &str) -> &Self {
        self.file(
            &format!("sys/module/{name}/initstate"),
            format!("{state}\n"),
        );
        if self.full.get() {
            fs::create_dir_all(self.path().join(format!("sys/module/{name}/holders"))).unwrap();
            let mut modules = self.modules.borrow_mut();
            modules.insert(name.to_string(), state.to_string());
            // The state column of `m_show` in kernel/module/procfs.c.
            let text: String = modules
                .iter()
                .map(|(m, s)| {
                    let shown = match s.as_str() {
                        "coming" => "Loading",
                        "going" => "Unloading",
                        _ => "Live",
                    };
                    format!("{m} 688128 0 - {shown} 0x0000000000000000\n")
                })
                .collect();
            self.file("proc/modules", text);
        }
        self
    }

    /// A `modprobe` process; `ppid` 2 means the kernel asked for it.
    pub fn modprobe(&self, pid: u32, ppid: u32, module: &str) -> &Self {
        self.file(
            &format!("proc/{pid}/stat"),
            format!(
                "{pid} (modprobe) S {ppid} 0 0 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n"
            ),
        );
        self.file(
            &format!("proc/{pid}/cmdline"),
            format!("/sbin/modprobe\0-q\0--\0{module}\0"),
        )
    }

    /// Any process. Without `argv` it is a kernel thread: `PF_KTHREAD` in its
    /// flags and an empty `cmdline` (`get_mm_cmdline` in fs/proc/base.c
    /// reads nothing without an mm).
    pub fn process(&self, pid: u32, ppid: u32, comm: &str, argv: &[&str]) -> &Self {
        // PF_KTHREAD | PF_NOFREEZE | PF_FORKNOEXEC, or PF_SUPERPRIV | PF_RANDOMIZE.
        let flags: u32 = if argv.is_empty() {
            0x0020_8040
        } else {
            0x0040_0100
        };
        self.file(
            &format!("proc/{pid}/stat"),
            format!(
                "{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 {flags} 0 0 0 0 0 0 0 0 20 0 1 0 {} 0 0\n",
                100 + pid
            ),
        );
        let cmdline: String = argv.iter().map(|a| format!("{a}\0")).collect();
        self.file(&format!("proc/{pid}/cmdline"), cmdline)
    }

    /// `modules.alias` of the fake kernel, beside the `modules.builtin`
    /// every installed kernel has (empty here: nothing built in, unless a
    /// test writes one).
    pub fn aliases(&self, text: &str) -> &Self {
        self.builtin_index();
        self.file(&format!("lib/modules/{RELEASE}/modules.alias"), text)
    }

    /// Appends one `alias PATTERN MODULE` line to `modules.alias`.
    pub fn alias(&self, pattern: &str, module: &str) -> &Self {
        self.builtin_index();
        append(
            &self
                .path()
                .join(format!("lib/modules/{RELEASE}/modules.alias")),
            format!("alias {pattern} {module}\n"),
        );
        self
    }

    fn builtin_index(&self) {
        let builtin = format!("lib/modules/{RELEASE}/modules.builtin");
        if !self.path().join(&builtin).exists() {
            self.file(&builtin, "");
        }
    }

    /// Appends kernel log records (raw kmsg or dmesg lines).
    pub fn kmsg(&self, text: &str) -> &Self {
        append(&self.path().join("dev/kmsg"), text);
        self
    }

    /// Appends one kmsg record with the next sequence number, 1.733 ms after
    /// the last; a record a driver logged with `dev_printk` carries the
    /// `SUBSYSTEM` and `DEVICE` dictionary lines (`dev_printk_emit` in
    /// drivers/base/core.c, printed by `devkmsg_read` in
    /// kernel/printk/printk.c as continuation lines starting with a space).
    pub fn kmsg_record(&self, level: u32, text: &str, device: Option<&str>) -> &Self {
        let seq = self.kmsg_seq.get() + 1;
        self.kmsg_seq.set(seq);
        let usec = 1_000_000 + 1733 * seq;
        let mut record = format!("{level},{seq},{usec},-;{text}\n");
        if let Some(addr) = device {
            record.push_str(&format!(" SUBSYSTEM=pci\n DEVICE=+pci:{addr}\n"));
        }
        self.kmsg(&record)
    }

    /// An InfiniBand port of RDMA device `dev` on function `addr`.
    pub fn ib_port(&self, dev: &str, addr: &str, port: u32, link_layer: &str) -> &Self {
        let dir = self.dev_dir(addr).join("infiniband").join(dev);
        self.file(
            &format!("{}/ports/{port}/link_layer", dir.display()),
            format!("{link_layer}\n"),
        );
        let link = self.path().join("sys/class/infiniband").join(dev);
        if !link.exists() {
            fs::create_dir_all(link.parent().unwrap()).unwrap();
            symlink(
                Path::new("../..").join(dir.strip_prefix("sys").unwrap()),
                &link,
            )
            .unwrap();
            symlink(
                Path::new("../../..").join(addr),
                self.path().join(&dir).join("device"),
            )
            .unwrap();
        }
        self
    }

    /// The kernel command line.
    pub fn cmdline(&self, text: &str) -> &Self {
        self.file("proc/cmdline", format!("{text}\n"))
    }

    /// Applies a scenario: one builder call per line, `#` starts a comment
    /// line. `source` names the text in errors (`source:line: …`).
    ///
    /// ```text
    /// detail full
    /// pci ADDR CLASS VENDOR DEVICE [under=ADDR] [subsystem=VENDOR:DEVICE]
    /// bind ADDR DRIVER              unbind ADDR            vf_of ADDR PF
    /// netdev ADDR[/SUB] NAME IFINDEX MAC [type=N]
    /// virtual_netdev NAME IFINDEX MAC [type=N]
    /// named_by_kernel NAME          rename_netdev OLD NEW
    /// processed IFINDEX DRIVER [staged]
    /// udev_db IFINDEX TEXT          (TEXT: rest of the line, escapes below)
    /// module NAME STATE             modprobe PID PPID MODULE
    /// process PID PPID COMM [ARG...]
    /// alias PATTERN MODULE          ib_port DEV ADDR PORT LINK_LAYER
    /// kmsg RECORD                   (one record; the newline is added)
    /// kmsg_record LEVEL DEVICE|- TEXT
    /// cmdline TEXT                  file REL TEXT          remove REL
    /// ```
    ///
    /// TEXT runs to the end of the line, leading blanks dropped; `\n`, `\t`,
    /// `\0`, `\\` and `\xHH` stand for the bytes they name.
    pub fn apply(&self, source: &str, text: &str) -> Result<(), String> {
        for (i, line) in text.lines().enumerate() {
            self.apply_line(line)
                .map_err(|e| format!("{source}:{}: {e}", i + 1))?;
        }
        Ok(())
    }

    fn apply_line(&self, line: &str) -> Result<(), String> {
        let line = line.trim_end();
        let mut l = Line { rest: line };
        let Some(cmd) = l.word() else {
            return Ok(());
        };
        if cmd.starts_with('#') {
            return Ok(());
        }
        match cmd {
            "detail" => match l.word() {
                Some("full") => {
                    self.full_detail();
                }
                Some(other) => return Err(format!("detail '{other}': only 'full' is known")),
                None => return Err("detail: missing LEVEL".to_string()),
            },
            "pci" => {
                let addr = l.addr("ADDR")?;
                let class = l.hex("CLASS")?;
                let vendor = l.hex("VENDOR")?;
                let device = l.hex("DEVICE")?;
                let (mut parent, mut subsystem) = (None, None);
                while let Some(opt) = l.word() {
                    match opt.split_once('=') {
                        Some(("under", p)) => {
                            check_addr(p)?;
                            if !self.has_pci(p) {
                                return Err(format!("under={p}: no such PCI function yet"));
                            }
                            parent = Some(p);
                        }
                        Some(("subsystem", ids)) => {
                            let (v, d) = ids
                                .split_once(':')
                                .ok_or_else(|| format!("subsystem '{ids}': not VENDOR:DEVICE"))?;
                            check_hex(v)?;
                            check_hex(d)?;
                            subsystem = Some((v, d));
                        }
                        _ => return Err(format!("pci: unknown option '{opt}'")),
                    }
                }
                self.pci_with(addr, class, vendor, device, parent, subsystem);
            }
            "bind" => {
                let addr = self.known(&mut l)?;
                let driver = l.name("DRIVER")?;
                l.end()?;
                self.bind(addr, driver);
            }
            "unbind" => {
                let addr = self.known(&mut l)?;
                l.end()?;
                self.unbind(addr);
            }
            "vf_of" => {
                let addr = self.known(&mut l)?;
                let pf = self.known(&mut l)?;
                l.end()?;
                self.vf_of(addr, pf);
            }
            "netdev" => {
                let at = l.need("ADDR[/SUB]")?;
                let (addr, sub) = match at.split_once('/') {
                    Some((a, s)) => (a, Some(s)),
                    None => (at, None),
                };
                check_addr(addr)?;
                if !self.has_pci(addr) {
                    return Err(format!("{addr}: no such PCI function yet"));
                }
                let name = l.name("NAME")?;
                let ifindex = l.number("IFINDEX")?;
                let mac = l.need("MAC")?;
                let kind = l.kind()?;
                self.netdev_typed(addr, sub, name, ifindex, mac, kind);
            }
            "virtual_netdev" => {
                let name = l.name("NAME")?;
                let ifindex = l.number("IFINDEX")?;
                let mac = l.need("MAC")?;
                let kind = l.kind()?;
                self.virtual_netdev(name, ifindex, mac, kind);
            }
            "named_by_kernel" => {
                let name = self.known_netdev(&mut l)?;
                l.end()?;
                self.named_by_kernel(name);
            }
            "rename_netdev" => {
                let old = self.known_netdev(&mut l)?;
                let new = l.name("NEW")?;
                l.end()?;
                self.rename_netdev(old, new);
            }
            "processed" => {
                let ifindex = l.number("IFINDEX")?;
                let driver = l.name("DRIVER")?;
                let staged = match l.word() {
                    None => false,
                    Some("staged") => true,
                    Some(other) => return Err(format!("processed: unknown option '{other}'")),
                };
                l.end()?;
                if self.full.get() && !self.netdevs.borrow().contains_key(&ifindex) {
                    return Err(format!("no netdev with ifindex {ifindex} yet"));
                }
                let entry = self.udev_entry(ifindex, driver);
                if staged {
                    self.stage_udev_db(ifindex, &entry);
                } else {
                    self.udev_db(ifindex, &entry);
                }
            }
            "udev_db" => {
                let ifindex = l.number("IFINDEX")?;
                let text = l.text()?;
                self.udev_db(ifindex, &String::from_utf8_lossy(&text));
            }
            "module" => {
                let name = l.name("NAME")?;
                let state = l.need("STATE")?;
                if !["live", "coming", "going"].contains(&state) {
                    return Err(format!("module state '{state}': not live, coming or going"));
                }
                l.end()?;
                self.module(name, state);
            }
            "modprobe" => {
                let pid = l.number("PID")?;
                let ppid = l.number("PPID")?;
                let module = l.name("MODULE")?;
                l.end()?;
                self.modprobe(pid, ppid, module);
            }
            "process" => {
                let pid = l.number("PID")?;
                let ppid = l.number("PPID")?;
                let comm = l.need("COMM")?;
                let mut argv = Vec::new();
                while let Some(a) = l.word() {
                    argv.push(a);
                }
                self.process(pid, ppid, comm, &argv);
            }
            "alias" => {
                let pattern = l.need("PATTERN")?;
                let module = l.name("MODULE")?;
                l.end()?;
                self.alias(pattern, module);
            }
            "ib_port" => {
                let dev = l.name("DEV")?;
                let addr = self.known(&mut l)?;
                let port = l.number("PORT")?;
                let layer = l.need("LINK_LAYER")?;
                l.end()?;
                self.ib_port(dev, addr, port, layer);
            }
            "kmsg" => {
                let mut record = l.text()?;
                record.push(b'\n');
                append(&self.path().join("dev/kmsg"), record);
            }
            "kmsg_record" => {
                let level = l.number("LEVEL")?;
                if level > 7 {
                    return Err(format!("kmsg_record LEVEL '{level}': not 0 to 7"));
                }
                let device = match l.need("DEVICE")? {
                    "-" => None,
                    addr => {
                        check_addr(addr)?;
                        Some(addr)
                    }
                };
                let text = l.text()?;
                self.kmsg_record(level, &String::from_utf8_lossy(&text), device);
            }
            "cmdline" => {
                let text = l.text()?;
                self.cmdline(&String::from_utf8_lossy(&text));
            }
            "file" => {
                let rel = l.rel()?;
                let text = l.text_or_empty()?;
                self.file(rel, text);
            }
            "remove" => {
                let rel = l.rel()?;
                l.end()?;
                self.remove(rel);
            }
            other => return Err(format!("unknown word '{other}'")),
        }
        Ok(())
    }

    /// The next word, a PCI address of a function that exists.
    fn known<'a>(&self, l: &mut Line<'a>) -> Result<&'a str, String> {
        let addr = l.addr("ADDR")?;
        if !self.has_pci(addr) {
            return Err(format!("{addr}: no such PCI function yet"));
        }
        Ok(addr)
    }

    /// The next word, the name of a netdev that exists.
    fn known_netdev<'a>(&self, l: &mut Line<'a>) -> Result<&'a str, String> {
        let name = l.name("NAME")?;
        if fs::symlink_metadata(self.path().join("sys/class/net").join(name)).is_err() {
            return Err(format!("{name}: no such netdev yet"));
        }
        Ok(name)
    }
}

/// The `..` steps from a directory under `sys/` back up to `sys/`.
fn up_to_sys(dir: &Path) -> PathBuf {
    let depth = dir.components().count() - 1;
    (0..depth).map(|_| "..").collect()
}

/// `DDDD:BB:DD.F`, as the kernel names PCI functions (`pci_setup_device`).
fn check_addr(addr: &str) -> Result<(), String> {
    let b = addr.as_bytes();
    let hex = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_hexdigit);
    let ok = b.len() == 12
        && hex(0..4)
        && b[4] == b':'
        && hex(5..7)
        && b[7] == b':'
        && hex(8..10)
        && b[10] == b'.'
        && (b'0'..=b'7').contains(&b[11]);
    if ok {
        Ok(())
    } else {
        Err(format!("'{addr}': not a PCI address (DDDD:BB:DD.F)"))
    }
}

/// `0x` and hex digits, as sysfs shows ids and classes.
fn check_hex(word: &str) -> Result<(), String> {
    match word.strip_prefix("0x") {
        Some(h) if !h.is_empty() && h.bytes().all(|c| c.is_ascii_hexdigit()) => Ok(()),
        _ => Err(format!("'{word}': not a 0x hex number")),
    }
}

/// The unread part of a scenario line.
struct Line<'a> {
    rest: &'a str,
}

impl<'a> Line<'a> {
    fn word(&mut self) -> Option<&'a str> {
        let s = self.rest.trim_start();
        if s.is_empty() {
            self.rest = s;
            return None;
        }
        let end = s.find(char::is_whitespace).unwrap_or(s.len());
        self.rest = &s[end..];
        Some(&s[..end])
    }

    fn need(&mut self, what: &str) -> Result<&'a str, String> {
        self.word().ok_or_else(|| format!("missing {what}"))
    }

    fn addr(&mut self, what: &str) -> Result<&'a str, String> {
        let w = self.need(what)?;
        check_addr(w)?;
        Ok(w)
    }

    fn hex(&mut self, what: &str) -> Result<&'a str, String> {
        let w = self.need(what)?;
        check_hex(w)?;
        Ok(w)
    }

    fn number(&mut self, what: &str) -> Result<u32, String> {
        let w = self.need(what)?;
        w.parse().map_err(|_| format!("{what} '{w}': not a number"))
    }

    /// A name that is one path component.
    fn name(&mut self, what: &str) -> Result<&'a str, String> {
        let w = self.need(what)?;
        if w.contains('/') || w == "." || w == ".." {
            return Err(format!("{what} '{w}': not a name"));
        }
        Ok(w)
    }

    /// A path inside the root.
    fn rel(&mut self) -> Result<&'a str, String> {
        let w = self.need("REL")?;
        if w.starts_with('/') || w.split('/').any(|c| c == "..") {
            return Err(format!("'{w}': not a path inside the root"));
        }
        Ok(w)
    }

    /// An optional last `type=N`; 1 (Ethernet) without.
    fn kind(&mut self) -> Result<u32, String> {
        let kind = match self.word() {
            None => 1,
            Some(w) => match w.strip_prefix("type=").map(str::parse) {
                Some(Ok(n)) => n,
                _ => return Err(format!("'{w}': not type=N")),
            },
        };
        self.end()?;
        Ok(kind)
    }

    fn end(&mut self) -> Result<(), String> {
        match self.word() {
            None => Ok(()),
            Some(w) => Err(format!("unexpected '{w}'")),
        }
    }

    fn text(&mut self) -> Result<Vec<u8>, String> {
        let t = self.text_or_empty()?;
        if t.is_empty() {
            return Err("missing TEXT".to_string());
        }
        Ok(t)
    }

    fn text_or_empty(&mut self) -> Result<Vec<u8>, String> {
        let s = self.rest.trim_start();
        self.rest = "";
        unescape(s)
    }
}

/// Decodes `\n`, `\t`, `\0`, `\\` and `\xHH`.
fn unescape(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'0') => out.push(0),
            Some(b'\\') => out.push(b'\\'),
            Some(b'x') => {
                let hi = bytes.next();
                let lo = bytes.next();
                let digits = [hi.unwrap_or(b' '), lo.unwrap_or(b' ')];
                let hex = std::str::from_utf8(&digits).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) if digits.iter().all(u8::is_ascii_hexdigit) => out.push(v),
                    _ => {
                        return Err(format!(
                            "escape '\\x{}': not two hex digits",
                            String::from_utf8_lossy(&digits).trim_end()
                        ))
                    }
                }
            }
            Some(c) => return Err(format!("unknown escape '\\{}'", c as char)),
            None => return Err("'\\' at the end of the line".to_string()),
        }
    }
    Ok(out)
}
