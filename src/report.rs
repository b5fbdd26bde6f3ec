//! The report: its JSON shape is a public contract (field names, sort order,
//! state strings), the text form is for operators reading a boot log.

use std::fmt::Write as _;

use serde::Serialize;

/// Exit codes, documented in netsettle(8); the report carries the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Exit {
    /// Ready, or the `--exit-if-exists` file appeared.
    Ready = 0,
    /// The deadline passed and something is not ready.
    NotReady = 1,
    /// Bad usage or configuration.
    Usage = 2,
    /// A device can never become ready by waiting.
    Failed = 3,
    /// Interrupted by SIGINT (128 + 2, as a shell reports it).
    Interrupted = 130,
    /// Stopped by SIGTERM (128 + 15).
    Terminated = 143,
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// A device's state; the strings are part of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Driver bound, netdevs present and processed by udev.
    Ready,
    /// No driver bound (not loaded, loading, or none exists).
    NoDriver,
    /// The kernel log says the driver's probe failed.
    ProbeFailed,
    /// Driver bound, netdev missing (companion module pending).
    NoNetdev,
    /// Netdev present, udev not finished with it.
    NotProcessed,
    /// Bound to a pass-through driver; not waited for.
    Passthrough,
    /// Excluded, a driverless VF, or every matching driver blacklisted.
    Ignored,
}

impl State {
    /// The contract string, e.g. `no-netdev`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ready => "ready",
            State::NoDriver => "no-driver",
            State::ProbeFailed => "probe-failed",
            State::NoNetdev => "no-netdev",
            State::NotProcessed => "not-processed",
            State::Passthrough => "passthrough",
            State::Ignored => "ignored",
        }
    }

    /// Whether netsettle is done waiting for a device in this state.
    pub fn is_settled(self) -> bool {
        matches!(self, State::Ready | State::Passthrough | State::Ignored)
    }
}

/// `udev` in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct UdevReport {
    /// udevd is running.
    pub running: bool,
    /// Its event queue is empty.
    pub queue_empty: bool,
}

/// One watched PCI function.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceReport {
    /// PCI address.
    pub pci: crate::pci::PciAddr,
    /// Class code as the kernel prints it.
    pub class: Option<String>,
    /// Vendor id.
    pub vendor: Option<String>,
    /// Device id.
    pub device: Option<String>,
    /// Bound driver.
    pub driver: Option<String>,
    /// Its netdevs, sorted.
    pub netdevs: Vec<String>,
    /// State.
    pub state: State,
    /// One line naming the next step; `null` when ready.
    pub reason: Option<String>,
    /// Waiting can never make it ready (exit 3).
    #[serde(skip)]
    pub certain_failure: bool,
    /// Its RDMA ports (InfiniBand / RoCE functions only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rdma_ports: Vec<crate::rdma::Port>,
    /// Its VFs (SR-IOV capable PFs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vfs: Option<crate::sriov::VfCounts>,
}

/// One interface.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterfaceReport {
    /// Name (escaped when not printable UTF-8).
    pub name: String,
    /// ifindex.
    pub ifindex: Option<u32>,
    /// PCI function it belongs to.
    pub pci: Option<crate::pci::PciAddr>,
    /// Hardware address.
    pub mac: Option<String>,
    /// udev has finished with it.
    pub udev_processed: bool,
    /// `name_assign_type` (4 = renamed by udev); `null` when unreadable.
    pub name_assign_type: Option<u32>,
}

/// One explicit expectation and whether it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct ExpectationReport {
    /// `interface`, `pci`, `mac`, `driver`, `min_interfaces`, `link`,
    /// `rdma-ports` or `vfs`.
    pub kind: &'static str,
    /// What was expected.
    pub value: String,
    /// Whether it holds.
    pub met: bool,
    /// Why it is not met, naming the next step (set for `link`,
    /// `rdma-ports`, `vfs` and derived expectations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `FILE:LINE` (or `proc/cmdline`) of a derived expectation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A kernel log record that explains a stuck boot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// Kernel timestamp, microseconds since boot.
    pub usec: u64,
    /// The record's text.
    pub text: String,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Report {
    /// Everything expected is there and udev is done.
    pub ready: bool,
    /// The exit code netsettle leaves with.
    pub exit_code: i32,
    /// Time since start.
    pub elapsed_ms: u64,
    /// udev state.
    pub udev: UdevReport,
    /// Watched PCI functions, sorted by address.
    pub devices: Vec<DeviceReport>,
    /// Interfaces, sorted by name.
    pub interfaces: Vec<InterfaceReport>,
    /// Explicit expectations.
    pub expectations: Vec<ExpectationReport>,
    /// Modules being loaded that watched devices wait for.
    pub pending_modules: Vec<String>,
    /// Kernel log records that explain a stuck boot.
    pub kernel_problems: Vec<Problem>,
}

impl Report {
    /// Whether a device is in a state that waiting cannot fix.
    pub fn certain_failure(&self) -> bool {
        !self.ready && self.devices.iter().any(|d| d.certain_failure)
    }

    /// The operator's report: one line when ready, else a table.
    pub fn to_text(&self) -> String {
        let secs = self.elapsed_ms as f64 / 1000.0;
        let mut out = String::new();
        if self.ready {
            let names: Vec<&str> = self
                .devices
                .iter()
                .filter(|d| d.state == State::Ready)
                .flat_map(|d| d.netdevs.iter().map(String::as_str))
                .collect();
            let nics = self
                .devices
                .iter()
                .filter(|d| d.state == State::Ready)
                .count();
            let _ = write!(
                out,
                "ready in {secs:.2} s: {nics} NIC{}",
                if nics == 1 { "" } else { "s" }
            );
            if !names.is_empty() {
                let _ = write!(out, " ({})", names.join(" "));
            }
            self.beyond_summary(&mut out);
            out.push('\n');
            return out;
        }
        let waiting: Vec<&DeviceReport> = self
            .devices
            .iter()
            .filter(|d| !d.state.is_settled())
            .collect();
        let _ = write!(out, "not ready after {secs:.2} s");
        if !waiting.is_empty() {
            let watched = self
                .devices
                .iter()
                .filter(|d| !matches!(d.state, State::Ignored | State::Passthrough));
            let _ = write!(
                out,
                ": {} of {} NICs not ready",
                waiting.len(),
                watched.count()
            );
        }
        out.push('\n');
        if !waiting.is_empty() {
            let w_drv = waiting
                .iter()
                .map(|d| d.driver.as_deref().unwrap_or("-").len())
                .max()
                .unwrap_or(0)
                .max("DRIVER".len());
            let _ = writeln!(
                out,
                "{:<12}  {:<w_drv$}  {:<13}  REASON",
                "PCI", "DRIVER", "STATE"
            );
            for d in waiting {
                let _ = writeln!(
                    out,
                    "{:<12}  {:<w_drv$}  {:<13}  {}",
                    d.pci,
                    d.driver.as_deref().unwrap_or("-"),
                    d.state.as_str(),
                    d.reason.as_deref().unwrap_or("")
                );
            }
        }
        for e in self.expectations.iter().filter(|e| !e.met) {
            let _ = write!(
                out,
                "expected {} {}: not met",
                e.kind.replace(['_', '-'], " "),
                e.value
            );
            match &e.reason {
                Some(r) => {
                    let _ = writeln!(out, ": {r}");
                }
                None => out.push('\n'),
            }
        }
        self.beyond_text(&mut out);
        if self.udev.running && !self.udev.queue_empty {
            let _ = writeln!(out, "udev: event queue not empty (run/udev/queue exists)");
        }
        if !self.pending_modules.is_empty() {
            let _ = writeln!(out, "modules loading: {}", self.pending_modules.join(" "));
        }
        if !self.kernel_problems.is_empty() {
            let _ = writeln!(out, "kernel problems:");
            for p in &self.kernel_problems {
                let _ = writeln!(
                    out,
                    "  [{:>5}.{:06}] {}",
                    p.usec / 1_000_000,
                    p.usec % 1_000_000,
                    p.text
                );
            }
        }
        out
    }

    /// RDMA port states and VF counts on the ready line, which stays one line.
    fn beyond_summary(&self, out: &mut String) {
        let ports: Vec<String> = self
            .devices
            .iter()
            .flat_map(|d| &d.rdma_ports)
            .map(|p| {
                let state = p.state.as_deref().unwrap_or("-");
                format!("{}/{} {state}", p.device, p.port)
            })
            .collect();
        if !ports.is_empty() {
            let _ = write!(out, "; RDMA ports: {}", ports.join(", "));
        }
        let vfs: Vec<String> = self
            .devices
            .iter()
            .filter_map(|d| Some((d, d.vfs.filter(|v| v.expected > 0)?)))
            .map(|(d, v)| format!("{} {}/{} bound", d.pci, v.bound, v.expected))
            .collect();
        if !vfs.is_empty() {
            let _ = write!(out, "; VFs: {}", vfs.join(", "));
        }
    }

    /// RDMA ports and VFs of each function, one line each.
    fn beyond_text(&self, out: &mut String) {
        for d in &self.devices {
            for p in &d.rdma_ports {
                let field = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
                let _ = writeln!(
                    out,
                    "{}  rdma {}/{}: {} ({}, {}, {})",
                    d.pci,
                    p.device,
                    p.port,
                    field(&p.state),
                    field(&p.phys_state),
                    field(&p.link_layer),
                    field(&p.rate)
                );
            }
            if let Some(v) = d.vfs.filter(|v| v.expected > 0) {
                let _ = writeln!(
                    out,
                    "{}  vfs: {} expected, {} bound, {} with netdev",
                    d.pci, v.expected, v.bound, v.with_netdev
                );
            }
        }
    }
}
