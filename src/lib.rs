//! netsettle: wait until every network card has a bound driver and a netdev
//! that udev finished with, following module loads `udevadm settle` cannot
//! see, and say in plain words why when it never comes.
//!
//! The binary is a thin shell over [`run`]; everything that reads the system
//! goes through one [`root::Root`], and [`readiness::evaluate`] decides from a
//! [`snapshot::Snapshot`] without any I/O.
//!
//! The modules are layers, each using only those above it in this list
//! (`tests/layers.rs` keeps it so):
//! - values as users and the kernel write them: [`value`], [`pci`],
//!   [`cmdline`] (the kernel command line in words), [`cli`];
//! - reading the system: [`root`] (with [`rtnl`]), then [`udevdb`],
//!   [`sysfs`], [`modules`], [`kmsg`], [`rdma`], [`sriov`], [`link`],
//!   [`netconf`];
//! - what is known of drivers: [`drivers`];
//! - the settings from every source: [`config`];
//! - the facts, read whole or by what changed: [`snapshot`];
//! - the decision and its report: [`report`], [`readiness`], [`metrics`];
//! - the wait and its outputs: [`notify`], [`logging`], [`uevent`], [`watch`].

pub mod cli;
pub mod cmdline;
pub mod config;
pub mod drivers;
pub mod kmsg;
pub mod link;
pub mod logging;
pub mod metrics;
pub mod modules;
pub mod netconf;
pub mod notify;
pub mod pci;
pub mod rdma;
pub mod readiness;
pub mod report;
pub mod root;
pub mod rtnl;
pub mod snapshot;
pub mod sriov;
pub mod sysfs;
pub mod udevdb;
pub mod uevent;
pub mod value;
pub mod watch;

use std::io::Write;

use cli::{Cli, CommonArgs, Format};
use config::Settings;
use report::Report;
use root::Root;
use watch::{Evaluator, WaitOptions};

pub use report::Exit;

/// What the command line asked for, after config and kernel command line.
struct Job {
    root: Root,
    settings: Settings,
    blacklist: Vec<(String, String)>,
    common: CommonArgs,
    wait: Option<WaitOptions>,
}

/// What a run leaves behind: its exit code, and a descriptor whose last
/// close is slow (see [`watch::Evaluator::lingering`]).
pub struct Finished {
    /// The process exit status.
    pub code: i32,
    /// The wait's inotify descriptor, still open.
    pub lingering: Option<std::os::fd::OwnedFd>,
    /// What the run read and decided, handed out rather than freed: a big
    /// machine's snapshot, kernel log and report are some hundred thousand
    /// allocations, and a binary that exits right after need not free them
    /// one by one (`std::process::exit` runs no destructors).
    pub spent: Option<Box<dyn std::any::Any>>,
}

impl From<i32> for Finished {
    fn from(code: i32) -> Finished {
        Finished {
            code,
            lingering: None,
            spent: None,
        }
    }
}

/// Runs netsettle as the command line says.
pub fn run(cli: Cli) -> Finished {
    let common = cli.common;
    let wait_args = match cli.command {
        Some(cli::Command::Status) if cli.wait != cli::WaitArgs::default() => {
            eprintln!("netsettle: status evaluates once: --timeout, --exit-if-exists, --fail-fast and --seq-* do not apply");
            return Exit::Usage.code().into();
        }
        Some(cli::Command::Status) => None,
        None => Some(cli.wait),
    };
    logging::init(common.quiet, common.verbose);
    let format = common.format.unwrap_or_default();
    let root = Root::new(common.root.clone().unwrap_or_else(|| "/".into()));

    let job = match prepare(root.clone(), common.clone(), wait_args) {
        Ok(Some(job)) => job,
        Ok(None) => {
            log::info!("disabled by netsettle=off on the kernel command line");
            let report = Report {
                ready: true,
                ..Report::default()
            };
            print(&report, format, common.quiet);
            return Exit::Ready.code().into();
        }
        Err(msg) => {
            log::error!("{msg}");
            // Still show what the devices look like, judged by the defaults,
            // so a typo in a config does not leave the operator blind.
            let mut ev = Evaluator::new(root, Settings::default(), &[]);
            let mut report = ev.evaluate();
            report.ready = false;
            report.exit_code = Exit::Usage.code();
            print(&report, format, false);
            return Exit::Usage.code().into();
        }
    };

    let mut ev = Evaluator::new(job.root.clone(), job.settings.clone(), &job.blacklist);
    let report = match &job.wait {
        Some(opts) => watch::wait(&mut ev, opts),
        None => ev.evaluate(),
    };
    if let Some(path) = &job.common.metrics {
        if let Err(e) = metrics::write(path, &report) {
            log::error!("writing metrics to {}: {e}", path.display());
        }
    }
    print(&report, format, job.common.quiet);
    Finished {
        code: report.exit_code,
        lingering: ev.lingering.take(),
        spent: Some(Box::new((ev, report))),
    }
}

/// Merges config files, the kernel command line and the command line, in
/// that order of precedence (later wins). `None`: disabled by `netsettle=off`.
fn prepare(
    root: Root,
    common: CommonArgs,
    wait: Option<cli::WaitArgs>,
) -> Result<Option<Job>, String> {
    // A mistyped --root would otherwise read as a machine without NICs: ready.
    if !root.base().is_dir() {
        return Err(format!("--root {}: not a directory", root.base().display()));
    }
    let mut settings = config::load(&root, common.config.as_deref()).map_err(|e| e.to_string())?;
    let cmdline_text = root
        .read_text("proc/cmdline", 64 * 1024)
        .unwrap_or_default();
    let kcmd = cmdline::parse(&cmdline_text);
    config::kernel::apply(&kcmd, &mut settings).map_err(|e| format!("proc/cmdline: {e}"))?;
    if settings.off {
        return Ok(None);
    }
    config::args::apply(&common, &mut settings)?;
    config::derive_into(&root, &kcmd, &mut settings);
    let wait = match wait {
        None => None,
        Some(w) => {
            if w.seq_start.is_some() || w.seq_end.is_some() {
                log::warn!("--seq-start and --seq-end are deprecated and ignored");
            }
            if let Some(t) = &w.timeout {
                settings.timeout =
                    value::parse_duration(t).map_err(|e| format!("--timeout {t:?}: {e}"))?;
            }
            if w.fail_fast {
                settings.fail_fast = true;
            }
            Some(WaitOptions {
                timeout: settings.timeout,
                exit_if_exists: w.exit_if_exists,
            })
        }
    };
    Ok(Some(Job {
        root,
        settings,
        blacklist: kcmd.blacklist(),
        common,
        wait,
    }))
}

/// Writes the report to stdout; a closed stdout is not an error worth dying for.
fn print(report: &Report, format: Format, quiet: bool) {
    // 32 KiB: a big machine's report is a few hundred KiB, written in
    // tens of writes rather than hundreds.
    let mut out = std::io::BufWriter::with_capacity(32 * 1024, std::io::stdout().lock());
    // Streamed: a report of thousands of netdevs is never held twice.
    let written = match format {
        Format::Json => serde_json::to_writer_pretty(&mut out, report)
            .map_err(std::io::Error::from)
            .and_then(|_| out.write_all(b"\n")),
        Format::Text if quiet && report.ready => return,
        Format::Text => out.write_all(report.to_text().as_bytes()),
    };
    let _ = written.and_then(|_| out.flush());
}
