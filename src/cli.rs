//! Command line, drop-in compatible with `udevadm settle`.
//!
//! Kept in the library so the man page test and the shell completion
//! generator see the same definition as the binary.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// netsettle: wait until every network card has its interface, under its final name.
#[derive(Debug, Parser)]
#[command(
    name = "netsettle",
    version,
    about = "Wait until every network card has a bound driver and a netdev that udev finished",
    long_about = None,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub wait: WaitArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Subcommands; without one, netsettle waits.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate once and exit: 0 ready, 1 not ready, 3 certain failure
    Status,
}

/// Options shared by waiting and `status`; accepted before or after `status`.
#[derive(Debug, Args, Clone, Default)]
pub struct CommonArgs {
    /// Final report format on stdout
    #[arg(long, value_enum, value_name = "FORMAT", global = true)]
    pub format: Option<Format>,

    /// Read DIR/sys, DIR/run/udev, DIR/proc, DIR/dev/kmsg, DIR/etc and DIR/lib/modules instead of the real ones
    #[arg(long, value_name = "DIR", global = true)]
    pub root: Option<PathBuf>,

    /// Configuration file (default: /etc/netsettle.conf plus /etc/netsettle.conf.d/*.conf)
    #[arg(short = 'c', long, value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,

    /// Also expect this interface name (repeatable)
    #[arg(long = "expect-iface", value_name = "NAME", global = true)]
    pub expect_iface: Vec<String>,

    /// Also expect this PCI function, e.g. 0000:04:00.0 (repeatable)
    #[arg(long = "expect-pci", value_name = "ADDR", global = true)]
    pub expect_pci: Vec<String>,

    /// Also expect an interface with this MAC address (repeatable)
    #[arg(long = "expect-mac", value_name = "MAC", global = true)]
    pub expect_mac: Vec<String>,

    /// Do not wait for a PCI address, driver name or interface glob (repeatable)
    #[arg(long, value_name = "PATTERN", global = true)]
    pub ignore: Vec<String>,

    /// Expect only what is listed; do not discover PCI network functions
    #[arg(long = "no-auto", global = true)]
    pub no_auto: bool,

    /// Also wait until this interface's link is up (repeatable)
    #[arg(long = "expect-link", value_name = "IFACE", global = true)]
    pub expect_link: Vec<String>,

    /// Also wait until every RDMA port is in this state (only "active")
    #[arg(long = "expect-rdma-ports", value_name = "STATE", global = true)]
    pub expect_rdma_ports: Option<String>,

    /// Also wait until every enabled SR-IOV VF is bound and has its netdev
    #[arg(long = "expect-vfs", global = true)]
    pub expect_vfs: bool,

    /// Also expect what this network configuration names: cmdline, networkd, netplan, nm, ifupdown (repeatable)
    #[arg(long = "expect-from", value_name = "SOURCE", global = true)]
    pub expect_from: Vec<String>,

    /// Print only errors
    #[arg(short = 'q', long, conflicts_with = "verbose", global = true)]
    pub quiet: bool,

    /// Log every state change (repeat for debug output)
    #[arg(short = 'v', long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Also write a Prometheus node_exporter textfile at exit
    #[arg(long, value_name = "FILE", global = true)]
    pub metrics: Option<PathBuf>,
}

/// Options that only make sense while waiting.
#[derive(Debug, Args, Clone, Default, PartialEq, Eq)]
pub struct WaitArgs {
    /// Deadline: "90" (seconds), "90s", "2min"; 0 evaluates once [default: 120s]
    #[arg(short = 't', long, value_name = "DURATION")]
    pub timeout: Option<String>,

    /// Stop waiting, with success, as soon as FILE exists
    #[arg(short = 'E', long = "exit-if-exists", value_name = "FILE")]
    pub exit_if_exists: Option<PathBuf>,

    /// Exit 3 as soon as a probe failure is certain
    #[arg(long = "fail-fast")]
    pub fail_fast: bool,

    /// Deprecated udevadm settle option; accepted and ignored
    #[arg(short = 's', long = "seq-start", value_name = "SEQNUM", hide = true)]
    pub seq_start: Option<String>,

    /// Deprecated udevadm settle option; accepted and ignored
    #[arg(short = 'e', long = "seq-end", value_name = "SEQNUM", hide = true)]
    pub seq_end: Option<String>,
}

/// Report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// One line when ready, a table of the devices that are not otherwise
    #[default]
    Text,
    /// One JSON object, see netsettle(8)
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
