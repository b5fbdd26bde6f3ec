//! The decision: a snapshot, the kernel log and the settings in, a report
//! out. No I/O here, so every state and reason is tested with plain data.

mod beyond;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::config::{IpoibMode, Settings};
use crate::drivers;
use crate::kmsg::{self, ProbeFailure, Record};
use crate::modules::{fnmatch, normalize, ModState};
use crate::pci::PciAddr;
use crate::report::{
    DeviceReport, Exit, ExpectationReport, InterfaceReport, Problem, Report, State, UdevReport,
};
use crate::snapshot::{Dirty, Snapshot};
use crate::sysfs::{Netdev, PciFunction, TYPE_INFINIBAND};
use crate::udevdb::DbState;

pub use beyond::needs_tick;

/// Whether a module is being loaded right now, by either sign of it.
fn loading(snap: &Snapshot, module: &str) -> bool {
    snap.modules.get(module) == Some(&ModState::Coming)
        || snap
            .modprobes
            .iter()
            .any(|m| m.modules.iter().any(|x| x == module))
}

fn requested_by_kernel(snap: &Snapshot, module: &str) -> bool {
    snap.modprobes
        .iter()
        .any(|m| m.by_kernel && m.modules.iter().any(|x| x == module))
}

fn loaded(snap: &Snapshot, module: &str) -> bool {
    matches!(
        snap.modules.get(module),
        Some(ModState::Live | ModState::Builtin)
    )
}

fn interface_ignored(settings: &Settings, name: &str) -> bool {
    settings.ignore.interfaces.iter().any(|g| fnmatch(g, name))
}

fn driver_ignored(settings: &Settings, driver: &str) -> bool {
    let d = normalize(driver);
    settings
        .ignore
        .drivers
        .iter()
        .any(|g| fnmatch(&normalize(g), &d))
}

/// Where in the log each PCI address's latest probe failure is: one pass
/// over the log, instead of one per unbound device (1,024 unbound functions
/// x 7,000 records took 2 s per evaluation).
fn latest_failures(log: &[Record]) -> HashMap<PciAddr, usize> {
    let mut latest = HashMap::new();
    for (i, r) in log.iter().enumerate() {
        if let Some(f) = kmsg::probe_failure(r) {
            latest.insert(f.pci, i);
        }
    }
    latest
}

/// The latest probe failure of a device, with the driver's own error lines
/// for that address just before it.
fn probe_failure<'a>(
    log: &'a [Record],
    latest: &HashMap<PciAddr, usize>,
    addr: PciAddr,
) -> Option<(ProbeFailure, Vec<&'a str>)> {
    let idx = *latest.get(&addr)?;
    let failure = kmsg::probe_failure(&log[idx])?;
    let context = log[..idx]
        .iter()
        .rev()
        .take(8)
        .take_while(|r| kmsg::names_device(r, addr) && kmsg::probe_failure(r).is_none())
        .filter(|r| r.level <= 3 || looks_like_error(&r.text))
        .map(|r| r.text.as_str())
        // The lines right before the failure name its cause; earlier ones
        // are often a fallback that worked (MSI → legacy interrupts).
        .take(2)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    Some((failure, context))
}

/// Lines pasted from dmesg or the journal carry no level; their words
/// still tell an error from a firmware version banner.
fn looks_like_error(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    [
        "fail",
        "error",
        "unable",
        "invalid",
        "not valid",
        "timeout",
        "can't",
        "cannot",
    ]
    .iter()
    .any(|w| t.contains(w))
}

/// What the decision says of one device.
#[derive(Debug, Clone, PartialEq)]
struct Verdict {
    state: State,
    /// One line for the operator; `None` only when plainly ready.
    reason: Option<String>,
    /// Waiting can never make it ready: the reason names the certain cause.
    certain: bool,
}

impl Verdict {
    /// A state that needs no explanation.
    fn plain(state: State) -> Verdict {
        Verdict {
            state,
            reason: None,
            certain: false,
        }
    }

    /// A state with the reason for it; waiting may still change it.
    fn because(state: State, reason: impl Into<String>) -> Verdict {
        Verdict {
            state,
            reason: Some(reason.into()),
            certain: false,
        }
    }

    /// A state waiting cannot change, with its certain cause.
    fn certain(state: State, reason: impl Into<String>) -> Verdict {
        Verdict {
            state,
            reason: Some(reason.into()),
            certain: true,
        }
    }
}

struct Ctx<'a> {
    snap: &'a Snapshot,
    log: &'a [Record],
    settings: &'a Settings,
    udev_matters: bool,
    release: &'a str,
    /// Netdevs by PCI address, in `snap.netdevs` order: built in one pass, so
    /// finding a device's netdevs is not a scan of every netdev per device
    /// (1,024 functions x 4,096 netdevs was 4 M string compares).
    by_pci: std::cell::OnceCell<HashMap<PciAddr, Vec<&'a Netdev>>>,
    /// Few devices to decide: find each one's netdevs by a scan instead of
    /// indexing them all (an event names one device; 4,096 netdevs).
    scan: bool,
    /// Functions owning an interface the user named (by name or MAC).
    owners: BTreeSet<PciAddr>,
    /// [`latest_failures`], computed when the first unbound device asks.
    failures: std::cell::OnceCell<HashMap<PciAddr, usize>>,
    /// Records by the PCI address in their `DRIVER ADDR:` prefix, built when
    /// the first unbound device asks.
    by_device: std::cell::OnceCell<HashMap<PciAddr, Vec<usize>>>,
}

impl Ctx<'_> {
    /// Whether the user named this function, by address or by one of its interfaces.
    fn explicit(&self, f: &PciFunction) -> bool {
        self.owners.contains(&f.addr) || self.settings.expect.pci.contains(&f.addr)
    }

    /// The netdevs of a function, in `snap.netdevs` order.
    fn netdevs_of(&self, addr: PciAddr) -> Vec<&Netdev> {
        if self.scan {
            return self
                .snap
                .netdevs
                .iter()
                .filter(|n| n.pci == Some(addr))
                .collect();
        }
        let map = self.by_pci.get_or_init(|| {
            let mut by_pci: HashMap<PciAddr, Vec<&Netdev>> = HashMap::new();
            for n in &self.snap.netdevs {
                if let Some(pci) = n.pci {
                    by_pci.entry(pci).or_default().push(n);
                }
            }
            by_pci
        });
        map.get(&addr).cloned().unwrap_or_default()
    }

    fn device(&self, f: &PciFunction) -> DeviceReport {
        let all: Vec<&Netdev> = self.netdevs_of(f.addr);
        let netdevs: Vec<&Netdev> = all
            .iter()
            .copied()
            .filter(|n| !interface_ignored(self.settings, &n.name))
            .collect();
        let verdict = if !all.is_empty() && netdevs.is_empty() && !self.explicit(f) {
            // Its interfaces exist and the user said not to care about them.
            Verdict::because(
                State::Ignored,
                "every interface of it is on the ignore list",
            )
        } else {
            self.decide(f, &netdevs)
        };
        DeviceReport {
            pci: f.addr,
            class: f.class.clone(),
            vendor: f.vendor.clone(),
            device: f.device.clone(),
            driver: f.driver.clone(),
            netdevs: all.iter().map(|n| n.name.clone()).collect(),
            state: verdict.state,
            reason: verdict.reason,
            certain_failure: verdict.certain,
            // Filled by beyond::apply.
            rdma_ports: Vec::new(),
            vfs: None,
        }
    }

    fn decide(&self, f: &PciFunction, netdevs: &[&Netdev]) -> Verdict {
        let explicit = self.explicit(f);
        if self.settings.ignore.pci.contains(&f.addr) {
            return Verdict::because(State::Ignored, format!("{} is on the ignore list", f.addr));
        }
        if let Some(d) = f.driver.as_deref() {
            if drivers::is_passthrough(d) {
                return Verdict::because(
                    State::Passthrough,
                    format!("bound to pass-through driver {d}"),
                );
            }
            if driver_ignored(self.settings, d) {
                return Verdict::because(
                    State::Ignored,
                    format!("driver {d} is on the ignore list"),
                );
            }
            return self.bound(f, d, netdevs);
        }
        if f.is_vf && !explicit {
            return Verdict::because(State::Ignored, "SR-IOV virtual function without a driver");
        }
        // The kernel removes the driver link when probe fails, so a failure
        // in the log with no driver bound now is the current state, unless
        // the driver has been at it again since.
        let latest = self.failures.get_or_init(|| latest_failures(self.log));
        if let Some((failure, context)) = probe_failure(self.log, latest, f.addr) {
            if !self.loading_again(f, &failure.driver) && !self.probed_since(&failure) {
                return Verdict::certain(State::ProbeFailed, probe_reason(&failure, &context));
            }
        }
        if let Some(why) = self.given_up(f) {
            return Verdict::certain(State::ProbeFailed, why);
        }
        self.unbound(f, explicit)
    }

    /// Whether the failed driver's module, or any module matching the
    /// function, is being loaded again (a reload by hand, openibd, driverctl):
    /// the old failure says nothing about the load in flight.
    fn loading_again(&self, f: &PciFunction, driver: &str) -> bool {
        loading(self.snap, &normalize(driver))
            || self
                .snap
                .matches
                .get(&f.addr)
                .is_some_and(|m| m.iter().any(|m| loading(self.snap, &m.module)))
    }

    /// Whether the failed driver printed about the function at notice level
    /// or below after the failure: a later probe ran (a reload, a manual
    /// bind), so the failure is history. Error and warning lines do not count:
    /// they may belong to the failed probe's own teardown.
    fn probed_since(&self, failure: &ProbeFailure) -> bool {
        let driver = normalize(&failure.driver);
        self.device_records(failure.pci).iter().any(|&i| {
            let r = &self.log[i];
            r.seq > failure.seq
                && r.level >= 5
                && kmsg::dev_prefix(r).is_some_and(|(d, _)| normalize(d) == driver)
        })
    }

    /// Indexes of the records a device printed (`DRIVER ADDR: …`), in order.
    fn device_records(&self, addr: PciAddr) -> &[usize] {
        self.by_device
            .get_or_init(|| {
                let mut map: HashMap<PciAddr, Vec<usize>> = HashMap::new();
                for (i, r) in self.log.iter().enumerate() {
                    if let Some((_, a)) = kmsg::dev_prefix(r) {
                        map.entry(a).or_default().push(i);
                    }
                }
                map
            })
            .get(&addr)
            .map_or(&[], Vec::as_slice)
    }

    /// A driver that is loaded, a function it left unbound, and the last
    /// words that driver printed about the function are errors: it gave the
    /// function up after probe returned, as `iwlwifi` does when no firmware
    /// file is found (`iwl_req_fw_callback` calls `device_release_driver()`;
    /// drivers/net/wireless/intel/iwlwifi/iwl-drv.c). The driver core prints
    /// no "probe … failed" line for that, and no later load will retry it.
    fn given_up(&self, f: &PciFunction) -> Option<String> {
        let matches = self.snap.matches.get(&f.addr)?;
        let loaded_driver = |d: &str| {
            let d = normalize(d);
            matches
                .iter()
                .any(|m| m.module == d && (m.builtin || loaded(self.snap, &m.module)))
        };
        if matches.iter().any(|m| loading(self.snap, &m.module)) {
            return None;
        }
        let records = self.device_records(f.addr);
        let (last, driver) = records.iter().rev().find_map(|&i| {
            let (d, _) = kmsg::dev_prefix(&self.log[i])?;
            loaded_driver(d).then_some((i, d))
        })?;
        if self.log[last].level > 3 {
            return None;
        }
        // The failed attempt: the driver's trailing warnings and errors,
        // back to its last ordinary line (e.g. "enabling device").
        let attempt: Vec<&Record> = records
            .iter()
            .rev()
            .map(|&i| &self.log[i])
            .filter(|r| r.seq <= self.log[last].seq)
            .take_while(|r| r.level <= 4)
            .collect();
        let errors: Vec<&str> = attempt
            .iter()
            .filter(|r| r.level <= 3 && kmsg::firmware_failure(r).is_none())
            .map(|r| r.text.as_str())
            .collect();
        let firmware: Vec<(String, i32)> = attempt
            .iter()
            .rev()
            .filter_map(|r| kmsg::firmware_failure(r))
            .collect();
        let quoted = errors
            .iter()
            .rev()
            .take(2)
            .map(|t| format!("\"{t}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let reload = format!("reload the driver (modprobe -r {driver}; modprobe {driver})");
        Some(match firmware.first() {
            Some((file, errno)) => {
                let what = if *errno == 2 {
                    "not found".to_string()
                } else {
                    format!("failed to load (error -{errno})")
                };
                let more = match firmware.len() - 1 {
                    0 => String::new(),
                    n => format!(", nor {n} other firmware file(s)"),
                };
                format!(
                    "{driver} gave {} up after probe: firmware {file} {what}{more}; {quoted}; install the firmware and {reload}",
                    f.addr
                )
            }
            None => format!(
                "{driver} is loaded but gave {} up after probe with errors: {quoted}; fix the cause and {reload}",
                f.addr
            ),
        })
    }

    fn unbound(&self, f: &PciFunction, explicit: bool) -> Verdict {
        let modalias = f.modalias.as_deref().unwrap_or("(no modalias)");
        let Some(matches) = self.snap.matches.get(&f.addr) else {
            let why = match &self.snap.kernel_release {
                Some(rel) if f.modalias.is_some() => {
                    format!("lib/modules/{rel}/modules.alias is not readable")
                }
                Some(_) => "the device has no modalias".to_string(),
                None => "the kernel release is unknown".to_string(),
            };
            return Verdict::because(
                State::NoDriver,
                format!("no driver bound yet; cannot tell which module would bind it ({why})"),
            );
        };
        if matches.is_empty() {
            return self.no_driver_anywhere(f, explicit, modalias);
        }
        let names: Vec<&str> = matches.iter().map(|m| m.module.as_str()).collect();
        if let Some(m) = names.iter().find(|m| loading(self.snap, m)) {
            return Verdict::because(State::NoDriver, format!("module {m} is loading"));
        }
        let blacklisted: Vec<(&str, &str)> = matches
            .iter()
            .filter(|m| !m.builtin)
            .filter_map(|m| Some((m.module.as_str(), self.snap.blacklist.source(&m.module)?)))
            .collect();
        if !matches.iter().any(|m| m.builtin) && blacklisted.len() == matches.len() {
            let list = blacklisted
                .iter()
                .map(|(m, src)| format!("{m} ({src})"))
                .collect::<Vec<_>>()
                .join(", ");
            if explicit {
                return Verdict::because(State::NoDriver, format!(
                        "every driver that matches is blacklisted: {list}; remove the blacklist entry or stop expecting {}",
                        f.addr
                    ));
            }
            return Verdict::because(
                State::Ignored,
                format!("every driver that matches is blacklisted: {list}"),
            );
        }
        if let Some(m) = matches
            .iter()
            .find(|m| loaded(self.snap, &m.module) || m.builtin)
        {
            return Verdict::because(
                State::NoDriver,
                format!(
                    "{} is loaded but has not bound {} (probe running or deferred)",
                    m.module, f.addr
                ),
            );
        }
        Verdict::because(
            State::NoDriver,
            format!(
                "no driver bound; {} matches but is not loaded: modprobe {}",
                names.join(", "),
                names[0]
            ),
        )
    }

    /// No alias of any module matches the function.
    fn no_driver_anywhere(&self, f: &PciFunction, explicit: bool, modalias: &str) -> Verdict {
        // An initramfs image carries only the modules its builder chose
        // (dracut's hostonly mode, initramfs-tools' MODULES=dep): the real
        // root's lib/modules may well have the driver.
        if self.snap.in_initramfs {
            if explicit {
                return Verdict::because(State::NoDriver, format!(
                        "no driver for {} in this initramfs (nothing in its modules.alias matches {modalias}): add the driver to the image",
                        f.addr
                    ));
            }
            return Verdict::because(State::Ignored, format!(
                    "no driver for it in this initramfs (nothing matches {modalias}); the real root loads it later"
                ));
        }
        if self.snap.builtin_hidden {
            return Verdict::because(State::NoDriver, format!(
                    "no loadable module of kernel {} matches {modalias}, and a driver built into the kernel cannot be ruled out (its device aliases are not listed before Linux 6.18)",
                    self.release
                ));
        }
        Verdict::certain(State::NoDriver, format!(
                "no module of kernel {} matches {modalias}: this kernel has no driver for the device",
                self.release
            ))
    }

    fn bound(&self, f: &PciFunction, driver: &str, netdevs: &[&Netdev]) -> Verdict {
        let ports: Vec<_> = self
            .snap
            .ib_ports
            .iter()
            .filter(|p| p.pci == Some(f.addr))
            .collect();
        let ib_ports = ports.iter().filter(|p| p.is_infiniband()).count();
        let ipoib_netdevs = netdevs
            .iter()
            .filter(|n| n.kind == Some(TYPE_INFINIBAND))
            .count();
        let ipoib_wanted = match self.settings.ipoib {
            IpoibMode::No => false,
            IpoibMode::Yes => true,
            IpoibMode::Auto => self.snap.ipoib_available != Some(false),
        };
        // An InfiniBand function whose RDMA device is not registered yet
        // still has (at least) one InfiniBand port to come.
        let only_ib = if ports.is_empty() {
            f.is_infiniband()
        } else {
            ib_ports == ports.len()
        };
        let ipoib_needed = match (ipoib_wanted, ports.is_empty() && f.is_infiniband()) {
            (false, _) => 0,
            (true, true) => 1,
            (true, false) => ib_ports,
        };

        if netdevs.is_empty() {
            if let Some(why) = drivers::no_netdev_by_design(driver, f) {
                return Verdict::because(State::Ignored, why);
            }
            // An empty net/ directory is also what a first netdev's
            // registration shows for a moment (the class directory is made
            // before the netdev is added under it), so only a trace of the
            // move settles it.
            match self.snap.netns_moved.get(&f.addr) {
                Some(Some(trace)) if !self.explicit(f) => {
                    return Verdict::because(
                        State::Ignored,
                        format!(
                            "its netdev was moved into another network namespace (a pod: {trace})"
                        ),
                    );
                }
                Some(trace) => {
                    let by = trace
                        .as_deref()
                        .map_or(String::new(), |t| format!(" (a pod: {t})"));
                    return Verdict::because(State::NoNetdev, format!(
                            "driver {driver} bound; its net/ directory lists no netdev here, as when one was moved into another network namespace{by}: if a container or VM took it, ignore the function (--ignore {})",
                            f.addr
                        ));
                }
                None => {}
            }
        }
        for c in drivers::companions(driver) {
            if loading(self.snap, c) {
                let by = if requested_by_kernel(self.snap, c) {
                    format!(" was requested by {driver} and")
                } else {
                    String::new()
                };
                return Verdict::because(
                    State::NoNetdev,
                    format!("driver {driver} bound; {c}{by} is still loading"),
                );
            }
        }
        if ipoib_netdevs < ipoib_needed {
            return Verdict::because(
                State::NoNetdev,
                self.ipoib_reason(f, driver, ports.is_empty()),
            );
        }
        if netdevs.is_empty() && !only_ib {
            return Verdict::because(State::NoNetdev, self.eth_reason(f, driver));
        }
        if only_ib && !ipoib_wanted && self.settings.ipoib == IpoibMode::Auto && netdevs.is_empty()
        {
            return Verdict::because(
                State::Ready,
                format!(
                    "InfiniBand only; kernel {} has no ib_ipoib, so no IPoIB netdev is expected",
                    self.release
                ),
            );
        }
        if let Some(n) = netdevs.iter().find(|n| !self.processed(n)) {
            let idx = n.ifindex.map_or("?".into(), |i| i.to_string());
            let why = match n.udev {
                DbState::Renaming => format!("udev is renaming {}", n.name),
                DbState::Processing => format!("udev is still processing {}", n.name),
                // Garbage or zero in sysfs: there is no entry name to look for.
                _ if n.ifindex.is_none() => format!(
                    "{} has no readable ifindex, so its udev database entry cannot be found",
                    n.name
                ),
                _ => format!(
                    "{} (ifindex {idx}) has no udev database entry yet (run/udev/data/n{idx})",
                    n.name
                ),
            };
            return Verdict::because(State::NotProcessed, why);
        }
        if let Some(n) = netdevs.iter().find(|n| self.leftover(n)) {
            let marker = if n.udev == DbState::Renaming {
                "ID_RENAMING (a rename that failed: systemd up to v252 leaves it behind)"
            } else {
                "ID_PROCESSING"
            };
            return Verdict::because(State::Ready, format!(
                    "udev's queue is empty but its database entry of {} still carries {marker}; {} keeps its name",
                    n.name, n.name
                ));
        }
        Verdict::plain(State::Ready)
    }

    /// Whether udev is done with a netdev (or need not be asked).
    fn processed(&self, n: &Netdev) -> bool {
        !self.udev_matters || n.udev == DbState::Done || self.leftover(n)
    }

    /// A rename or a RUN program of udev happens while the event is in its
    /// queue (`run/udev/queue` exists, src/udev/udevd.c
    /// `event_queue_update`); with udevd running and its queue empty, an
    /// `ID_RENAMING` or `ID_PROCESSING` line is a leftover. `rename_netif()`
    /// (src/udev/udev-event.c) saves `ID_RENAMING` to the database before
    /// asking the kernel for the new name; only v253 ("udev,pid1: gracefully
    /// handle failure in renaming network interface") drops it again when
    /// the rename fails (`File exists`).
    fn leftover(&self, n: &Netdev) -> bool {
        self.udev_matters
            && self.snap.udev.queue_empty
            && matches!(n.udev, DbState::Renaming | DbState::Processing)
    }

    fn ipoib_reason(&self, f: &PciFunction, driver: &str, no_rdma_device: bool) -> String {
        if no_rdma_device {
            if let Some(ib) = drivers::ib_module(driver).filter(|m| !loaded(self.snap, m)) {
                return format!(
                    "driver {driver} bound; {ib} is not loaded, so the InfiniBand port and its IPoIB netdev cannot appear: load it (modprobe {ib}) or set IPoIB=no"
                );
            }
        }
        if loaded(self.snap, "ib_ipoib") {
            format!(
                "ib_ipoib is loaded but {} has no IPoIB netdev for its InfiniBand port yet",
                f.addr
            )
        } else {
            "ib_ipoib is not loaded, so no IPoIB netdev can appear: load it (modprobe ib_ipoib) or set IPoIB=no"
                .to_string()
        }
    }

    fn eth_reason(&self, f: &PciFunction, driver: &str) -> String {
        let settled = !loading(self.snap, &normalize(driver));
        if settled && self.snap.enabled.get(&f.addr) == Some(&false) {
            return format!(
                "driver {driver} bound but left {} disabled (enable = 0) without a netdev: it may never create one here; if that is by design, ignore the function (--ignore {})",
                f.addr, f.addr
            );
        }
        match drivers::eth_companion(driver) {
            Some(c) if loaded(self.snap, c) => {
                format!("driver {driver} bound and {c} loaded, but no netdev has appeared yet")
            }
            Some(c) => format!("driver {driver} bound; {c} is not loaded, so no netdev can appear: modprobe {c}"),
            None => format!(
                "driver {driver} bound but no netdev yet: probe still running, or it failed after binding (see dmesg)"
            ),
        }
    }
}

fn probe_reason(f: &ProbeFailure, context: &[&str]) -> String {
    let errno = kmsg::errno_name(f.errno).map_or(String::new(), |n| format!(" ({n})"));
    let mut s = format!(
        "probe by {} failed with error -{}{errno}: ",
        f.driver, f.errno
    );
    for line in context {
        s.push_str(&format!("\"{line}\", then "));
    }
    s.push_str(&format!(
        "\"{}\"; waiting will not help: fix the cause in the kernel log and reload the driver",
        f.line
    ));
    s
}

impl<'a> Ctx<'a> {
    fn new(snap: &'a Snapshot, log: &'a [Record], settings: &'a Settings) -> Ctx<'a> {
        let named = !settings.expect.interfaces.is_empty() || !settings.expect.macs.is_empty();
        Ctx {
            snap,
            log,
            settings,
            udev_matters: settings.wait_for_udev && snap.udev.running,
            release: snap.kernel_release.as_deref().unwrap_or("(unknown)"),
            by_pci: std::cell::OnceCell::new(),
            scan: false,
            owners: snap
                .netdevs
                .iter()
                .filter(|_| named)
                .filter(|n| {
                    settings.expect.interfaces.contains(&n.name)
                        || n.mac.as_deref().is_some_and(|m| {
                            settings
                                .expect
                                .macs
                                .iter()
                                .any(|x| x.as_str().eq_ignore_ascii_case(m))
                        })
                })
                .filter_map(|n| n.pci)
                .collect(),
            failures: std::cell::OnceCell::new(),
            by_device: std::cell::OnceCell::new(),
        }
    }

    /// Whether the function is watched at all.
    fn watched(&self, f: &PciFunction) -> bool {
        (self.settings.auto && f.is_network()) || self.explicit(f)
    }
}

/// The decision of every watched device, kept between events: an event
/// re-decides only the devices whose facts it changed ([`Dirty`]), and
/// [`Decisions::report`] equals [`evaluate`] of the same snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decisions {
    devices: BTreeMap<PciAddr, DeviceReport>,
}

impl Decisions {
    /// Re-decides the devices `dirty` names (every one for [`Dirty::All`]);
    /// returns the addresses whose decision changed, with their earlier
    /// state (`None`: newly watched).
    pub fn update(
        &mut self,
        snap: &Snapshot,
        log: &[Record],
        settings: &Settings,
        dirty: &Dirty,
    ) -> Vec<(PciAddr, Option<State>)> {
        let mut changed = Vec::new();
        if *dirty == Dirty::Nothing {
            return changed;
        }
        let mut ctx = Ctx::new(snap, log, settings);
        ctx.scan = matches!(dirty, Dirty::Devices(set) if set.len() <= 4);
        let gone: Vec<PciAddr> = match dirty {
            Dirty::All => self
                .devices
                .keys()
                .filter(|a| snap.pci.binary_search_by_key(*a, |f| f.addr).is_err())
                .copied()
                .collect(),
            _ => Vec::new(),
        };
        let mut decide = |addr: PciAddr, f: Option<&PciFunction>| {
            let new = f.filter(|f| ctx.watched(f)).map(|f| ctx.device(f));
            let old = match &new {
                Some(d) => self.devices.insert(addr, d.clone()),
                None => self.devices.remove(&addr),
            };
            if old != new {
                changed.push((addr, old.map(|d| d.state)));
            }
        };
        match dirty {
            Dirty::Nothing => {}
            Dirty::All => {
                for a in gone {
                    decide(a, None);
                }
                for f in &snap.pci {
                    decide(f.addr, Some(f));
                }
            }
            Dirty::Devices(addrs) => {
                for a in addrs {
                    let f = snap
                        .pci
                        .binary_search_by_key(a, |f| f.addr)
                        .ok()
                        .map(|i| &snap.pci[i]);
                    decide(*a, f);
                }
            }
        }
        changed
    }

    /// The decision of one device, if it is watched.
    pub fn device(&self, addr: PciAddr) -> Option<&DeviceReport> {
        self.devices.get(&addr)
    }

    /// Whether everything is ready: udev's queue, every device and every
    /// expectation; the cheap question the wait asks after every event.
    pub fn ready(&self, snap: &Snapshot, log: &[Record], settings: &Settings) -> bool {
        let ctx = Ctx::new(snap, log, settings);
        let udev_ok = !ctx.udev_matters || snap.udev.queue_empty;
        udev_ok
            && self.devices.values().all(|d| d.state.is_settled())
            && expectations(&ctx, self.devices.values())
                .iter()
                .all(|e| e.met)
            // Readiness beyond the netdev: links, RDMA ports, VFs (readiness/beyond.rs).
            && beyond::asked_met(snap, settings, self.devices.values())
    }

    /// Whether some device can never get ready by waiting.
    pub fn certain_failure(&self) -> bool {
        self.devices.values().any(|d| d.certain_failure)
    }

    /// Addresses of every watched device.
    pub fn watched(&self) -> impl Iterator<Item = PciAddr> + '_ {
        self.devices.keys().copied()
    }

    /// The first device still waited for.
    pub fn first_unsettled(&self) -> Option<&DeviceReport> {
        self.devices.values().find(|d| !d.state.is_settled())
    }

    /// The whole report.
    pub fn report(&self, snap: &Snapshot, log: &[Record], settings: &Settings) -> Report {
        let ctx = Ctx::new(snap, log, settings);
        assemble(&ctx, self.devices.values().cloned().collect())
    }

    /// The whole report, the decisions moved into it: for the last look,
    /// when holding both would double the memory of a big machine's report.
    pub fn into_report(self, snap: &Snapshot, log: &[Record], settings: &Settings) -> Report {
        let ctx = Ctx::new(snap, log, settings);
        assemble(&ctx, self.devices.into_values().collect())
    }
}

/// Evaluates readiness: the heart of netsettle, pure.
pub fn evaluate(snap: &Snapshot, log: &[Record], settings: &Settings) -> Report {
    let mut d = Decisions::default();
    d.update(snap, log, settings, &Dirty::All);
    d.into_report(snap, log, settings)
}

fn assemble(ctx: &Ctx, devices: Vec<DeviceReport>) -> Report {
    let (snap, log, settings) = (ctx.snap, ctx.log, ctx.settings);
    let udev_matters = ctx.udev_matters;
    let interfaces: Vec<InterfaceReport> = snap
        .netdevs
        .iter()
        .filter(|n| !interface_ignored(settings, &n.name))
        .map(|n| InterfaceReport {
            name: n.name.clone(),
            ifindex: n.ifindex,
            pci: n.pci,
            mac: n.mac.clone(),
            udev_processed: n.udev == DbState::Done || ctx.leftover(n),
            name_assign_type: n.name_assign_type,
        })
        .collect();

    let expectations = expectations(ctx, devices.iter());

    // The first function of each address, as a linear `find` would pick.
    let mut pci_by_addr: HashMap<PciAddr, &PciFunction> = HashMap::new();
    for f in &snap.pci {
        pci_by_addr.entry(f.addr).or_insert(f);
    }
    let mut pending: BTreeSet<String> = BTreeSet::new();
    for d in &devices {
        let Some(f) = pci_by_addr.get(&d.pci).copied() else {
            continue;
        };
        let mut names: Vec<String> = match &f.driver {
            Some(drv) => drivers::companions(drv)
                .iter()
                .map(|c| c.to_string())
                .collect(),
            None => snap
                .matches
                .get(&f.addr)
                .map_or(Vec::new(), |m| m.iter().map(|m| m.module.clone()).collect()),
        };
        names.retain(|m| loading(snap, m));
        pending.extend(names);
    }
    pending.extend(
        snap.modprobes
            .iter()
            .filter(|m| m.by_kernel)
            .flat_map(|m| m.modules.iter().cloned()),
    );

    let kernel_problems = problems(log, &devices);
    let udev_ok = !udev_matters || snap.udev.queue_empty;
    let ready = udev_ok
        && devices.iter().all(|d| d.state.is_settled())
        && expectations.iter().all(|e| e.met);
    let mut report = Report {
        ready,
        exit_code: 0,
        elapsed_ms: 0,
        udev: UdevReport {
            running: snap.udev.running,
            queue_empty: snap.udev.queue_empty,
        },
        devices,
        interfaces,
        expectations,
        pending_modules: pending.into_iter().collect(),
        kernel_problems,
    };
    // Readiness beyond the netdev: RDMA ports, VFs, links, derived expectations.
    beyond::apply(&mut report, snap, settings);
    report.exit_code = status_code(&report);
    if let Some(why) = &snap.kmsg_unreadable {
        // Without the kernel log a probe failure looks like a missing driver:
        // say so where the operator looks, instead of guessing.
        for d in report
            .devices
            .iter_mut()
            .filter(|d| d.state == State::NoDriver)
        {
            if let Some(r) = &mut d.reason {
                r.push_str(&format!(
                    " (kernel log unreadable: {why}; a probe failure would not be seen)"
                ));
            }
        }
    }
    report
}

/// The exit code a one-shot evaluation gives: 0 ready, 3 certain failure, 1 otherwise.
pub fn status_code(report: &Report) -> i32 {
    if report.ready {
        Exit::Ready
    } else if report.certain_failure() {
        Exit::Failed
    } else {
        Exit::NotReady
    }
    .code()
}

fn expectations<'d>(
    ctx: &Ctx,
    devices: impl Iterator<Item = &'d DeviceReport> + Clone,
) -> Vec<ExpectationReport> {
    let s = ctx.settings;
    let usable = |n: &&Netdev| ctx.processed(n) && !interface_ignored(s, &n.name);
    let netdevs = &ctx.snap.netdevs;
    let mut out = Vec::new();
    for name in &s.expect.interfaces {
        let met = netdevs.iter().filter(usable).any(|n| &n.name == name);
        out.push(ExpectationReport {
            kind: "interface",
            value: name.clone(),
            met,
            ..Default::default()
        });
    }
    for pci in &s.expect.pci {
        let met = devices
            .clone()
            .any(|d| d.pci == *pci && matches!(d.state, State::Ready | State::Passthrough));
        out.push(ExpectationReport {
            kind: "pci",
            value: pci.to_string(),
            met,
            ..Default::default()
        });
    }
    for mac in &s.expect.macs {
        let met = netdevs.iter().filter(usable).any(|n| {
            n.mac
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case(mac.as_str()))
        });
        out.push(ExpectationReport {
            kind: "mac",
            value: mac.to_string(),
            met,
            ..Default::default()
        });
    }
    for drv in &s.expect.drivers {
        let want = normalize(drv);
        let met = netdevs
            .iter()
            .filter(usable)
            .any(|n| n.driver.as_deref().is_some_and(|d| normalize(d) == want))
            || devices.clone().any(|d| {
                d.state == State::Ready && d.driver.as_deref().is_some_and(|x| normalize(x) == want)
            });
        out.push(ExpectationReport {
            kind: "driver",
            value: drv.clone(),
            met,
            ..Default::default()
        });
    }
    if let Some(min) = s.expect.min_interfaces {
        let count = netdevs
            .iter()
            .filter(usable)
            .filter(|n| n.pci.is_some())
            .count();
        out.push(ExpectationReport {
            kind: "min_interfaces",
            value: min.to_string(),
            met: count >= min as usize,
            ..Default::default()
        });
    }
    out
}

fn problems(log: &[Record], devices: &[DeviceReport]) -> Vec<Problem> {
    let pcis: Vec<PciAddr> = devices.iter().map(|d| d.pci).collect();
    let drivers: Vec<&str> = devices.iter().filter_map(|d| d.driver.as_deref()).collect();
    let mut out: Vec<Problem> = log
        .iter()
        .filter(|r| kmsg::is_problem(r, &pcis, &drivers))
        .map(|r| Problem {
            usec: r.usec,
            text: r.text.clone(),
        })
        .collect();
    // A flood (a warning per packet) must not drown the report.
    if out.len() > 20 {
        out.drain(..out.len() - 20);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::{AliasMatch, Blacklist, Modprobe};
    use crate::udevdb::UdevState;

    fn function(addr: &str, class: &str, driver: Option<&str>) -> PciFunction {
        PciFunction {
            addr: addr.parse().unwrap(),
            class: Some(class.into()),
            vendor: Some("0x8086".into()),
            device: Some("0x100e".into()),
            modalias: Some("pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00".into()),
            driver: driver.map(str::to_string),
            is_vf: false,
        }
    }

    fn netdev(name: &str, pci: &str, ifindex: u32, udev: DbState) -> Netdev {
        Netdev {
            name: name.into(),
            pci: Some(pci.parse().unwrap()),
            ifindex: Some(ifindex),
            mac: Some("52:54:00:00:00:01".into()),
            kind: Some(1),
            name_assign_type: Some(4),
            udev,
            driver: Some("e1000".into()),
        }
    }

    fn snapshot() -> Snapshot {
        Snapshot {
            udev: UdevState {
                running: true,
                queue_empty: true,
            },
            kernel_release: Some("6.1.0-56-amd64".into()),
            ..Snapshot::default()
        }
    }

    fn record(level: u8, text: &str) -> Record {
        Record {
            level,
            seq: 0,
            usec: 0,
            text: text.into(),
            subsystem: None,
            device: None,
        }
    }

    fn only(report: &Report) -> (&State, &str) {
        let d = &report.devices[0];
        (&d.state, d.reason.as_deref().unwrap_or(""))
    }

    #[test]
    fn bound_device_with_processed_netdev_is_ready() {
        let mut s = snapshot();
        s.pci
            .push(function("0000:00:04.0", "0x020000", Some("e1000")));
        s.netdevs
            .push(netdev("ens4", "0000:00:04.0", 3, DbState::Done));
        let r = evaluate(&s, &[], &Settings::default());
        assert!(r.ready);
        assert_eq!(only(&r), (&State::Ready, ""));
        assert_eq!(status_code(&r), 0);
    }

    #[test]
    fn unprocessed_netdev_counts_only_while_udevd_runs() {
        let mut s = snapshot();
        s.pci
            .push(function("0000:00:04.0", "0x020000", Some("e1000")));
        s.netdevs
            .push(netdev("eth0", "0000:00:04.0", 3, DbState::Missing));
        assert_eq!(
            *only(&evaluate(&s, &[], &Settings::default())).0,
            State::NotProcessed
        );
        s.udev.running = false;
        assert!(evaluate(&s, &[], &Settings::default()).ready);
        s.udev.running = true;
        let settings = Settings {
            wait_for_udev: false,
            ..Settings::default()
        };
        assert!(evaluate(&s, &[], &settings).ready);
    }

    #[test]
    fn probe_failure_without_driver_is_certain_and_quotes_the_driver_lines() {
        let mut s = snapshot();
        s.pci.push(function("0000:00:04.0", "0x020000", None));
        let log = [
            record(3, "e1000e 0000:00:04.0: an old complaint"),
            record(6, "e1000e 0000:00:04.0: enabling device"),
            record(3, "e1000e 0000:00:04.0 (uninitialized): Failed to initialize MSI interrupts.  Falling back to legacy interrupts."),
            record(3, "e1000e 0000:00:04.0: The NVM Checksum Is Not Valid"),
            record(4, "e1000e: probe of 0000:00:04.0 failed with error -5"),
        ];
        let r = evaluate(&s, &log, &Settings::default());
        let (state, reason) = only(&r);
        assert_eq!(*state, State::ProbeFailed);
        assert!(reason.contains("error -5 (EIO)"), "{reason}");
        assert!(reason.contains("The NVM Checksum Is Not Valid"), "{reason}");
        assert!(!reason.contains("enabling device"), "{reason}");
        assert!(
            !reason.contains("old complaint"),
            "only the lines right before: {reason}"
        );
        assert_eq!(status_code(&r), 3);
    }

    #[test]
    fn probe_failure_of_another_device_does_not_count() {
        let mut s = snapshot();
        s.pci.push(function("0000:00:04.0", "0x020000", None));
        let log = [record(
            4,
            "e1000e: probe of 0000:00:05.0 failed with error -5",
        )];
        let r = evaluate(&s, &log, &Settings::default());
        assert_eq!(*only(&r).0, State::NoDriver);
        assert_eq!(status_code(&r), 1);
    }

    #[test]
    fn kernel_requested_companion_is_pending() {
        let mut s = snapshot();
        s.pci
            .push(function("0000:04:00.0", "0x020000", Some("mlx4_core")));
        s.modprobes.push(Modprobe {
            pid: 77,
            by_kernel: true,
            modules: vec!["mlx4_en".into()],
        });
        let r = evaluate(&s, &[], &Settings::default());
        let (state, reason) = only(&r);
        assert_eq!(*state, State::NoNetdev);
        assert_eq!(
            reason,
            "driver mlx4_core bound; mlx4_en was requested by mlx4_core and is still loading"
        );
        assert_eq!(r.pending_modules, ["mlx4_en"]);
    }

    #[test]
    fn companion_still_loading_holds_a_device_that_has_some_netdevs() {
        // mlx4_en creates one port after the other.
        let mut s = snapshot();
        s.pci
            .push(function("0000:04:00.0", "0x020000", Some("mlx4_core")));
        s.netdevs
            .push(netdev("enp4s0", "0000:04:00.0", 3, DbState::Done));
        s.modules.insert("mlx4_en".into(), ModState::Coming);
        assert_eq!(
            *only(&evaluate(&s, &[], &Settings::default())).0,
            State::NoNetdev
        );
    }

    #[test]
    fn ipoib_yes_waits_even_when_the_kernel_lacks_ib_ipoib() {
        let mut s = snapshot();
        s.pci
            .push(function("0000:4b:00.0", "0x020700", Some("mlx5_core")));
        s.ipoib_available = Some(false);
        s.modules.insert("mlx5_ib".into(), ModState::Live);
        let auto = evaluate(&s, &[], &Settings::default());
        assert_eq!(*only(&auto).0, State::Ready);
        let yes = Settings {
            ipoib: IpoibMode::Yes,
            ..Settings::default()
        };
        let r = evaluate(&s, &[], &yes);
        assert_eq!(*only(&r).0, State::NoNetdev);
        assert!(only(&r).1.contains("ib_ipoib"), "{}", only(&r).1);
    }

    #[test]
    fn infiniband_function_without_rdma_device_names_mlx5_ib() {
        let mut s = snapshot();
        s.pci
            .push(function("0000:4b:00.0", "0x020700", Some("mlx5_core")));
        let r = evaluate(&s, &[], &Settings::default());
        assert!(
            only(&r).1.contains("mlx5_ib is not loaded"),
            "{}",
            only(&r).1
        );
    }

    #[test]
    fn every_matching_module_builtin_or_not_decides_the_blacklist() {
        let mut s = snapshot();
        s.pci.push(function("0000:3b:00.0", "0x020000", None));
        s.blacklist = Blacklist {
            entries: vec![(
                "i40e".into(),
                "module_blacklist= on the kernel command line".into(),
            )],
        };
        s.matches.insert(
            "0000:3b:00.0".parse().unwrap(),
            vec![AliasMatch {
                module: "i40e".into(),
                builtin: false,
            }],
        );
        let r = evaluate(&s, &[], &Settings::default());
        assert_eq!(*only(&r).0, State::Ignored);
        assert!(r.ready);
        s.matches
            .get_mut(&"0000:3b:00.0".parse().unwrap())
            .unwrap()
            .push(AliasMatch {
                module: "iavf".into(),
                builtin: false,
            });
        assert_eq!(
            *only(&evaluate(&s, &[], &Settings::default())).0,
            State::NoDriver
        );
    }

    #[test]
    fn queue_busy_means_not_ready_even_with_every_device_ready() {
        let mut s = snapshot();
        s.udev.queue_empty = false;
        let r = evaluate(&s, &[], &Settings::default());
        assert!(!r.ready);
        assert_eq!(status_code(&r), 1);
    }

    #[test]
    fn problems_keep_only_the_last_twenty() {
        let s = snapshot();
        let log: Vec<Record> = (0..50)
            .map(|i| record(2, &format!("kernel BUG at x.c:{i}!")))
            .collect();
        let r = evaluate(&s, &log, &Settings::default());
        assert_eq!(r.kernel_problems.len(), 20);
        assert_eq!(r.kernel_problems[19].text, "kernel BUG at x.c:49!");
    }
}
