//! One consistent read of everything readiness depends on.
//!
//! Collecting is the only I/O; [`crate::readiness::evaluate`] then decides
//! from this data alone, so every decision can be tested without a system.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::config::Settings;
use crate::drivers;
use crate::modules::{self, AliasDb, AliasMatch, Blacklist, ModState, Modprobe};
use crate::root::Root;
use crate::sysfs::{self, IbPort, Netdev, PciFunction};
use crate::udevdb::{self, UdevState};

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
    pub matches: BTreeMap<String, Vec<AliasMatch>>,
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
    pub enabled: BTreeMap<String, bool>,
    /// Bound functions without a visible netdev whose `net/` directory
    /// exists but lists nothing here, with the trace of whoever moved the
    /// netdev into another network namespace, when one was found.
    pub netns_moved: BTreeMap<String, Option<String>>,
    /// RDMA ports, SR-IOV PFs and asked-for links (src/extras.rs).
    pub extras: crate::extras::Facts,
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

/// Reads a snapshot.
pub fn collect(root: &Root, settings: &Settings, stat: &mut Static) -> Snapshot {
    let udev = udevdb::udev_state(root);
    let pci = sysfs::pci_functions(root);
    let named = |name: &str| settings.expect.interfaces.iter().any(|n| n == name);
    let netdevs = sysfs::netdevs(root, &named);
    let ib_ports = sysfs::ib_ports(root);
    // A rename that starts after the queue was read and is still marked in a
    // database entry read since must not look like a leftover: the queue
    // counts as empty only if it was empty on both sides of those reads.
    let mut udev = udev;
    udev.queue_empty &= udevdb::queue_empty(root);

    let watched = |f: &&PciFunction| {
        (settings.auto && f.is_network())
            || settings.expect.pci.iter().any(|p| p.as_str() == f.addr)
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
                    matches.insert(f.addr.clone(), m);
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
    let with_netdev: HashSet<&str> = netdevs.iter().filter_map(|n| n.pci.as_deref()).collect();
    let all_have_netdevs = pci
        .iter()
        .filter(watched)
        .all(|f| f.driver.is_some() && with_netdev.contains(f.addr.as_str()));
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
        if f.driver.is_none() || with_netdev.contains(f.addr.as_str()) {
            continue;
        }
        let dir = format!("sys/bus/pci/devices/{}", f.addr);
        if let Some(e) = root.read_attr(format!("{dir}/enable")) {
            if let Ok(n) = e.parse::<u32>() {
                enabled.insert(f.addr.clone(), n > 0);
            }
        }
        if sysfs::netdevs_in_other_namespace(root, &dir) {
            netns_moved.insert(f.addr.clone(), sysfs::cni_attachment(root, &f.addr));
        }
    }

    let extras = crate::extras::collect(root, settings, &pci);
    Snapshot {
        udev,
        pci,
        netdevs,
        ib_ports,
        modules: module_states,
        modprobes,
        kernel_release: stat.release.clone(),
        matches,
        ipoib_available,
        blacklist: stat.blacklist.clone(),
        kmsg_unreadable: None,
        builtin_hidden,
        in_initramfs: stat.in_initramfs,
        enabled,
        netns_moved,
        extras,
    }
}
