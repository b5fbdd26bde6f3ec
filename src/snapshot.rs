//! One consistent read of everything readiness depends on.
//!
//! Collecting is the only I/O; [`crate::readiness::evaluate`] then decides
//! from this data alone, so every decision can be tested without a system.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::config::Settings;
use crate::drivers;
use crate::link::{self, Link};
use crate::modules::{self, AliasDb, AliasMatch, Blacklist, ModState, Modprobe};
use crate::pci::PciAddr;
use crate::rdma::{self, Port};
use crate::root::Root;
use crate::sriov::{self, Pf};
use crate::sysfs::{self, IbPort, Netdev, PciFunction};
use crate::udevdb::{self, DbState, UdevState};

/// Everything netsettle knows about the system at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// udevd state.
    pub udev: UdevState,
    /// Every PCI function, sorted by address.
    pub pci: Vec<PciFunction>,
    /// Interfaces under a device, plus virtual ones the user named.
    pub netdevs: Vec<Netdev>,
    /// InfiniBand ports.
    pub ib_ports: Vec<IbPort>,
    /// State of every module readiness may ask about; absent = not loaded.
    pub modules: BTreeMap<String, ModState>,
    /// `modprobe` processes running now.
    pub modprobes: Vec<Modprobe>,
    /// Running kernel release (`proc/sys/kernel/osrelease`).
    pub kernel_release: Option<String>,
    /// Modules matching each unbound function's modalias; absent when
    /// `modules.alias` is unreadable (then nobody can tell).
    pub matches: BTreeMap<PciAddr, Vec<AliasMatch>>,
    /// Whether the kernel has `ib_ipoib` at all (`None`: cannot tell).
    pub ipoib_available: Option<bool>,
    /// Blacklisted modules and where.
    pub blacklist: Blacklist,
    /// Why the kernel log could not be read, if it could not.
    pub kmsg_unreadable: Option<String>,
    /// A built-in driver could match a device without any alias file
    /// saying so ([`modules::builtin_drivers_hidden`]); asked only when a
    /// device has no matching alias.
    pub builtin_hidden: bool,
    /// Running from an initramfs (`etc/initrd-release`, the marker systemd
    /// and dracut use): `lib/modules` holds the image's modules, not the
    /// kernel's.
    pub in_initramfs: bool,
    /// `enable` of watched bound functions that have no netdev: `false`
    /// when the driver left the function disabled.
    pub enabled: BTreeMap<PciAddr, bool>,
    /// Bound functions without a visible netdev whose `net/` directory
    /// exists but lists nothing here, with the trace of whoever moved the
    /// netdev into another network namespace, when one was found.
    pub netns_moved: BTreeMap<PciAddr, Option<String>>,
    /// RDMA ports, SR-IOV PFs and the links asked for.
    pub extras: Extras,
}

/// The facts of readiness beyond the netdev, read at each evaluation.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// Every RDMA port.
    pub rdma: Vec<Port>,
    /// Every SR-IOV capable network PF (`sriov_numvfs` 0 included: VFs not
    /// enabled is the first thing to see when they are missing).
    pub pfs: Vec<Pf>,
    /// The link of each interface `Link=` names.
    pub links: Vec<Link>,
}

/// Reads the facts: RDMA ports and SR-IOV PFs always (they are reported),
/// links only of the interfaces asked for.
fn collect_extras(root: &Root, settings: &Settings, pci: &[PciFunction]) -> Extras {
    Extras {
        rdma: rdma::ports(root),
        pfs: pci
            .iter()
            .filter(|f| f.is_network() && !f.is_vf)
            .filter_map(|f| sriov::read(root, f.addr))
            .collect(),
        links: settings
            .wants
            .links
            .iter()
            .map(|n| link::read(root, n))
            .collect(),
    }
}

/// Facts that do not change while netsettle runs, read once.
#[derive(Debug, Default)]
pub struct Static {
    release: Option<String>,
    aliases: Option<Option<AliasDb>>,
    ipoib: Option<Option<bool>>,
    builtin_hidden: Option<bool>,
    blacklist: Blacklist,
    in_initramfs: bool,
}

impl Static {
    /// Reads the kernel release and blacklists; the large module tables are
    /// loaded on first need.
    pub fn load(root: &Root, cmdline_blacklist: &[(String, String)]) -> Static {
        Static {
            release: root
                .read_attr("proc/sys/kernel/osrelease")
                .filter(|r| !r.is_empty()),
            aliases: None,
            ipoib: None,
            builtin_hidden: None,
            blacklist: Blacklist::load(root, cmdline_blacklist),
            in_initramfs: root.exists("etc/initrd-release"),
        }
    }

    fn builtin_hidden(&mut self, root: &Root) -> bool {
        let release = self.release.clone();
        *self.builtin_hidden.get_or_insert_with(|| {
            release
                .as_deref()
                .map_or(true, |r| modules::builtin_drivers_hidden(root, r))
        })
    }

    fn aliases(&mut self, root: &Root) -> Option<&AliasDb> {
        let release = self.release.clone();
        self.aliases
            .get_or_insert_with(|| AliasDb::load(root, release.as_deref()?))
            .as_ref()
    }

    fn ipoib(&mut self, root: &Root) -> Option<bool> {
        let release = self.release.clone();
        *self
            .ipoib
            .get_or_insert_with(|| modules::ipoib_available(root, release.as_deref()?))
    }
}

/// What an event says may have changed, so that only that is read again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Change {
    /// udev's database entry `run/udev/data/n<ifindex>`.
    UdevEntry(u32),
    /// udev's queue marker (`run/udev/queue`).
    UdevQueue,
    /// udev's control socket: udevd started or went away.
    Udev,
    /// The list of interfaces; with a name, that interface is read again
    /// even if it was known (a remove and an add under the same name).
    Netdevs(Option<String>),
    /// One PCI function: added, removed, bound or unbound.
    Pci(PciAddr),
    /// Module states and `modprobe` processes.
    Modules,
    /// InfiniBand ports.
    IbPorts,
    /// The kernel log has new records.
    Kmsg,
    /// Anything: read everything again.
    Everything,
}

/// Which devices a change may have changed the decision for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Dirty {
    /// None: nothing that readiness reads changed.
    #[default]
    Nothing,
    /// These PCI functions' own facts changed.
    Devices(BTreeSet<PciAddr>),
    /// A fact every device depends on changed.
    All,
}

impl Dirty {
    /// Adds one device.
    pub fn add(&mut self, addr: PciAddr) {
        match self {
            Dirty::Nothing => *self = Dirty::Devices(BTreeSet::from([addr])),
            Dirty::Devices(set) => {
                set.insert(addr);
            }
            Dirty::All => {}
        }
    }

    /// Merges another.
    pub fn merge(&mut self, other: Dirty) {
        match other {
            Dirty::Nothing => {}
            Dirty::All => *self = Dirty::All,
            Dirty::Devices(set) => {
                for a in set {
                    self.add(a);
                }
            }
        }
    }
}

/// Keeps a [`Snapshot`] current: one full read at start, then each
/// [`Change`] re-reads only what it names.
pub struct Collector {
    root: Root,
    settings: Settings,
    stat: Static,
    snap: Snapshot,
}

impl Collector {
    /// Prepares to read `root`; nothing is read until [`Collector::full`].
    pub fn new(root: Root, settings: Settings, stat: Static) -> Collector {
        Collector {
            root,
            settings,
            stat,
            snap: Snapshot::default(),
        }
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snap
    }

    /// Mutable access, for facts read elsewhere (the kernel log's state).
    pub fn snapshot_mut(&mut self) -> &mut Snapshot {
        &mut self.snap
    }

    /// Reads everything.
    pub fn full(&mut self) {
        let kmsg_unreadable = self.snap.kmsg_unreadable.take();
        self.snap = collect(&self.root, &self.settings, &mut self.stat);
        self.snap.kmsg_unreadable = kmsg_unreadable;
    }

    /// Re-reads what the changes name; returns the devices whose facts changed.
    pub fn apply(&mut self, changes: &BTreeSet<Change>) -> Dirty {
        if changes.contains(&Change::Everything) {
            self.full();
            return Dirty::All;
        }
        let mut dirty = Dirty::Nothing;
        let mut derive = false;
        for change in changes {
            match change {
                Change::UdevEntry(ifindex) => dirty.merge(self.udev_entry(*ifindex)),
                Change::UdevQueue => {
                    let empty = udevdb::queue_empty(&self.root);
                    if empty != self.snap.udev.queue_empty {
                        self.snap.udev.queue_empty = empty;
                        // Only a leftover udev marker depends on the queue
                        // (readiness itself asks it directly).
                        for n in &self.snap.netdevs {
                            if matches!(n.udev, DbState::Renaming | DbState::Processing) {
                                match &n.pci {
                                    Some(p) => dirty.add(*p),
                                    None => dirty = Dirty::All,
                                }
                            }
                        }
                    }
                }
                Change::Udev => {
                    let udev = udevdb::udev_state(&self.root);
                    if udev != self.snap.udev {
                        self.snap.udev = udev;
                        dirty = Dirty::All;
                    }
                }
                Change::Netdevs(name) => {
                    dirty.merge(self.netdevs(name.as_deref()));
                    derive = true;
                }
                Change::Pci(addr) => {
                    dirty.merge(self.pci(*addr));
                    derive = true;
                }
                Change::Modules => derive = true,
                // Read by the evaluator, which holds the log.
                Change::Kmsg => {}
                Change::IbPorts => {
                    let ports = sysfs::ib_ports(&self.root);
                    if ports != self.snap.ib_ports {
                        self.snap.ib_ports = ports;
                        dirty = Dirty::All;
                        derive = true;
                    }
                }
                Change::Everything => unreachable!("handled above"),
            }
        }
        if derive {
            dirty.merge(self.derive());
        }
        // Link and port states announce themselves through no event named
        // here: read again with every change but a udev entry, a udev state
        // or the kernel log (the tick brings Modules when they are waited
        // for; readiness/beyond.rs). VFs change with PCI and netdev events. They
        // decide no device's state, so nothing is dirty by them.
        let due = changes.iter().any(|c| {
            matches!(
                c,
                Change::Netdevs(_) | Change::Pci(_) | Change::Modules | Change::IbPorts
            )
        });
        if due {
            self.snap.extras = collect_extras(&self.root, &self.settings, &self.snap.pci);
        }
        dirty
    }

    fn udev_entry(&mut self, ifindex: u32) -> Dirty {
        let names_expected = self.names_expected();
        let Some(n) = self
            .snap
            .netdevs
            .iter_mut()
            .find(|n| n.ifindex == Some(ifindex))
        else {
            // Not a netdev known here (yet): its entry is read when it appears.
            return Dirty::Nothing;
        };
        // udev's entry is all that changed; the netdev's own attributes
        // change with events of their own (a rename moves its class link).
        let (udev, driver) = (n.udev, n.driver.take());
        join_udev(&self.root, n);
        if n.udev == udev && n.driver == driver {
            return Dirty::Nothing;
        }
        match &n.pci {
            // Expectations by name or MAC decide which functions count as
            // named by the user, and a driver expectation looks at every
            // netdev: then any change may move that.
            Some(pci) if !names_expected => {
                let mut d = Dirty::Nothing;
                d.add(*pci);
                d
            }
            _ => Dirty::All,
        }
    }

    fn names_expected(&self) -> bool {
        !self.settings.expect.interfaces.is_empty() || !self.settings.expect.macs.is_empty()
    }

    fn netdevs(&mut self, reread: Option<&str>) -> Dirty {
        let settings = &self.settings;
        let named = |name: &str| settings.expect.interfaces.iter().any(|n| n == name);
        let listed = sysfs::netdev_names(&self.root);
        let mut dirty = Dirty::Nothing;
        let touched = |pci: &Option<PciAddr>, dirty: &mut Dirty| match pci {
            Some(p) => dirty.add(*p),
            None => *dirty = Dirty::All,
        };
        // Gone, or to be read again.
        let mut kept = Vec::with_capacity(self.snap.netdevs.len());
        for n in std::mem::take(&mut self.snap.netdevs) {
            if listed.contains(&n.name) && reread != Some(n.name.as_str()) {
                kept.push(n);
            } else {
                touched(&n.pci, &mut dirty);
            }
        }
        let known: BTreeSet<String> = kept.iter().map(|n| n.name.clone()).collect();
        for name in listed.iter().filter(|n| !known.contains(*n)) {
            if let Some(mut n) = sysfs::netdev(&self.root, name, &named) {
                join_udev(&self.root, &mut n);
                touched(&n.pci, &mut dirty);
                kept.push(n);
            }
        }
        kept.sort_by(|a, b| a.name.cmp(&b.name));
        self.snap.netdevs = kept;
        if dirty != Dirty::Nothing && self.names_expected() {
            dirty = Dirty::All;
        }
        dirty
    }

    fn pci(&mut self, addr: PciAddr) -> Dirty {
        let fresh = sysfs::pci_function_if_present(&self.root, addr);
        let pos = self.snap.pci.binary_search_by_key(&addr, |f| f.addr);
        let changed = match (pos, fresh) {
            (Ok(i), Some(f)) => {
                let changed = self.snap.pci[i] != f;
                self.snap.pci[i] = f;
                changed
            }
            (Ok(i), None) => {
                self.snap.pci.remove(i);
                true
            }
            (Err(i), Some(f)) => {
                self.snap.pci.insert(i, f);
                true
            }
            (Err(_), None) => false,
        };
        let mut d = Dirty::Nothing;
        if changed {
            d.add(addr);
        }
        d
    }

    /// Recomputes what follows from the functions and netdevs (which
    /// modules matter, their states, modprobes, per-function extras) and
    /// says which devices that changed.
    fn derive(&mut self) -> Dirty {
        let derived = derive(&self.root, &self.settings, &mut self.stat, &self.snap);
        let mut dirty = Dirty::Nothing;
        let s = &mut self.snap;
        if derived.modules != s.modules
            || derived.modprobes != s.modprobes
            || derived.ipoib_available != s.ipoib_available
            || derived.builtin_hidden != s.builtin_hidden
        {
            dirty = Dirty::All;
        }
        for addr in keys_differing(&s.matches, &derived.matches)
            .chain(keys_differing(&s.enabled, &derived.enabled))
            .chain(keys_differing(&s.netns_moved, &derived.netns_moved))
        {
            dirty.add(addr);
        }
        derived.apply_to(s);
        dirty
    }
}

/// Joins a netdev read from sysfs with udev's database entry for its
/// ifindex: what udev has done with it, and its driver (`ID_NET_DRIVER`,
/// else the parent device's driver link).
fn join_udev(root: &Root, n: &mut Netdev) {
    join_udev_with(root, n, |i| udevdb::netdev_entry(root, i));
}

/// [`join_udev`], with the entry read by `entry`.
fn join_udev_with(
    root: &Root,
    n: &mut Netdev,
    entry: impl FnOnce(u32) -> (DbState, Option<String>),
) {
    let (udev, db_driver) = match n.ifindex {
        Some(i) => entry(i),
        None => (DbState::Missing, None),
    };
    n.udev = udev;
    n.driver = db_driver.or_else(|| sysfs::parent_driver_of(root, &n.name));
}

/// Keys whose values differ between two maps (present in one only, too).
fn keys_differing<'a, V: PartialEq>(
    a: &'a BTreeMap<PciAddr, V>,
    b: &'a BTreeMap<PciAddr, V>,
) -> impl Iterator<Item = PciAddr> + 'a {
    a.iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, _)| *k)
        .chain(b.keys().filter(|k| !a.contains_key(*k)).copied())
}

/// Facts that follow from the functions and netdevs.
struct Derived {
    modules: BTreeMap<String, ModState>,
    modprobes: Vec<Modprobe>,
    matches: BTreeMap<PciAddr, Vec<AliasMatch>>,
    ipoib_available: Option<bool>,
    builtin_hidden: bool,
    enabled: BTreeMap<PciAddr, bool>,
    netns_moved: BTreeMap<PciAddr, Option<String>>,
}

impl Derived {
    fn apply_to(self, snap: &mut Snapshot) {
        snap.modules = self.modules;
        snap.modprobes = self.modprobes;
        snap.matches = self.matches;
        snap.ipoib_available = self.ipoib_available;
        snap.builtin_hidden = self.builtin_hidden;
        snap.enabled = self.enabled;
        snap.netns_moved = self.netns_moved;
    }
}

/// Reads a snapshot.
pub fn collect(root: &Root, settings: &Settings, stat: &mut Static) -> Snapshot {
    let udev = udevdb::udev_state(root);
    let pci = sysfs::pci_functions(root);
    let named = |name: &str| settings.expect.interfaces.iter().any(|n| n == name);
    let mut netdevs = sysfs::netdevs(root, &named);
    let entries = udevdb::Entries::open(root);
    for n in &mut netdevs {
        join_udev_with(root, n, |i| entries.netdev_entry(i));
    }
    let ib_ports = sysfs::ib_ports(root);
    // A rename that starts after the queue was read and is still marked in a
    // database entry read since must not look like a leftover: the queue
    // counts as empty only if it was empty on both sides of those reads.
    let mut udev = udev;
    udev.queue_empty &= udevdb::queue_empty(root);
    let mut snap = Snapshot {
        udev,
        pci,
        netdevs,
        ib_ports,
        kernel_release: stat.release.clone(),
        blacklist: stat.blacklist.clone(),
        in_initramfs: stat.in_initramfs,
        ..Snapshot::default()
    };
    derive(root, settings, stat, &snap).apply_to(&mut snap);
    // RDMA ports, SR-IOV PFs and asked-for links.
    snap.extras = collect_extras(root, settings, &snap.pci);
    snap
}

fn derive(root: &Root, settings: &Settings, stat: &mut Static, snap: &Snapshot) -> Derived {
    let (pci, netdevs, ib_ports) = (&snap.pci, &snap.netdevs, &snap.ib_ports);
    let watched = |f: &&PciFunction| {
        (settings.auto && f.is_network()) || settings.expect.pci.contains(&f.addr)
    };
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    let mut matches = BTreeMap::new();
    let mut any_unbound = false;
    for f in pci.iter().filter(watched) {
        match &f.driver {
            Some(driver) => {
                wanted.insert(modules::normalize(driver));
                wanted.extend(drivers::companions(driver).iter().map(|c| c.to_string()));
            }
            None => {
                any_unbound = true;
                let Some(modalias) = &f.modalias else {
                    continue;
                };
                if let Some(db) = stat.aliases(root) {
                    let m = db.matches(modalias);
                    wanted.extend(m.iter().map(|m| m.module.clone()));
                    matches.insert(f.addr, m);
                }
            }
        }
    }
    let has_ib = pci.iter().filter(watched).any(|f| f.is_infiniband()) || !ib_ports.is_empty();
    if has_ib {
        wanted.extend(drivers::IB_MODULES.map(String::from));
    }
    let mut module_states = BTreeMap::new();
    for name in &wanted {
        if let Some(s) = modules::module_state(root, name) {
            module_states.insert(name.clone(), s);
        }
    }
    // Processes only matter while something is still missing; skipping the
    // /proc walk keeps the common all-ready evaluation cheap.
    let with_netdev: HashSet<PciAddr> = netdevs.iter().filter_map(|n| n.pci).collect();
    let all_have_netdevs = pci
        .iter()
        .filter(watched)
        .all(|f| f.driver.is_some() && with_netdev.contains(&f.addr));
    let modprobes = if any_unbound || !all_have_netdevs || has_ib {
        modules::modprobes_in_flight(root)
    } else {
        Vec::new()
    };
    let ipoib_available = if has_ib { stat.ipoib(root) } else { None };
    let builtin_hidden = matches.values().any(Vec::is_empty) && stat.builtin_hidden(root);

    // Only a bound function still without a netdev needs these two reads.
    let mut enabled = BTreeMap::new();
    let mut netns_moved = BTreeMap::new();
    for f in pci.iter().filter(watched) {
        if f.driver.is_none() || with_netdev.contains(&f.addr) {
            continue;
        }
        let dir = format!("sys/bus/pci/devices/{}", f.addr);
        if let Some(e) = root.read_attr(format!("{dir}/enable")) {
            if let Ok(n) = e.parse::<u32>() {
                enabled.insert(f.addr, n > 0);
            }
        }
        if sysfs::netdevs_in_other_namespace(root, &dir) {
            netns_moved.insert(f.addr, sysfs::cni_attachment(root, f.addr));
        }
    }

    Derived {
        modules: module_states,
        modprobes,
        matches,
        ipoib_available,
        builtin_hidden,
        enabled,
        netns_moved,
    }
}
