//! Interfaces and hardware addresses the machine's network configuration
//! already names (`ExpectFrom=`): each becomes an `interface` or `mac`
//! expectation with the file and line it came from, so a card that never
//! appeared is reported against the configuration that needs it.
//!
//! Each source is read by one pure parser (text in, [`Derived`] out); only
//! [`derive()`] touches the root.

pub mod cmdline;
pub mod ifupdown;
pub mod netplan;
pub mod networkd;
pub mod nm;

use std::fmt;
use std::str::FromStr;

use crate::cmdline::KernelCmdline;
use crate::root::Root;
use crate::value::{quoted, Mac};

/// Where expectations can be derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// dracut's `ip=`, `ifname=`, `BOOTIF=`, `bond=` on the kernel command line.
    Cmdline,
    /// systemd-networkd `.network` files.
    Networkd,
    /// netplan YAML.
    Netplan,
    /// NetworkManager keyfiles.
    Nm,
    /// ifupdown's `auto` stanzas.
    Ifupdown,
}

impl Source {
    /// The configuration value, e.g. `networkd`.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cmdline => "cmdline",
            Source::Networkd => "networkd",
            Source::Netplan => "netplan",
            Source::Nm => "nm",
            Source::Ifupdown => "ifupdown",
        }
    }

    /// Who expects it, as a reason names it.
    pub fn who(self) -> &'static str {
        match self {
            Source::Cmdline => "the kernel command line",
            Source::Networkd => "networkd",
            Source::Netplan => "netplan",
            Source::Nm => "NetworkManager",
            Source::Ifupdown => "ifupdown",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Source {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        [
            Source::Cmdline,
            Source::Networkd,
            Source::Netplan,
            Source::Nm,
            Source::Ifupdown,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
        .ok_or_else(|| {
            format!(
                "invalid source {}: expected cmdline, networkd, netplan, nm or ifupdown",
                quoted(s)
            )
        })
    }
}

/// What a derived expectation asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Want {
    /// An interface of this name.
    Interface(String),
    /// An interface with this hardware address.
    Mac(Mac),
}

/// One expectation found in the network configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Derived {
    /// What must exist.
    pub want: Want,
    /// Which configuration asks for it.
    pub source: Source,
    /// `FILE:LINE` relative to the root, or `proc/cmdline`.
    pub location: String,
}

impl Derived {
    /// The expectation's `kind` and `value` in the report.
    pub fn kind_value(&self) -> (&'static str, String) {
        match &self.want {
            Want::Interface(n) => ("interface", n.clone()),
            Want::Mac(m) => ("mac", m.to_string()),
        }
    }
}

/// Whether a configured name is one literal interface name: globs,
/// negations and alternatives match whatever exists, so nothing in
/// particular is expected of them.
pub fn literal_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16 // IFNAMSIZ, include/uapi/linux/if.h
        && name != "lo"
        && !name.contains(['*', '?', '[', '!', '/', ' ', ':'])
}

/// Reads what `sources` name, in source order, warning (never failing) about
/// files it cannot use: another program's configuration must not stop a boot.
pub fn derive(root: &Root, kcmd: &KernelCmdline, sources: &[Source]) -> Vec<Derived> {
    let mut out = Vec::new();
    for source in sources {
        let found = match source {
            Source::Cmdline => cmdline::derive(kcmd),
            Source::Networkd => networkd::derive(root),
            Source::Netplan => netplan::derive(root),
            Source::Nm => nm::derive(root),
            Source::Ifupdown => ifupdown::derive(root),
        };
        out.extend(found);
    }
    out
}

/// A text file under the root, bounded; `None` (with a warning) when unreadable.
pub(crate) fn read(root: &Root, rel: &str) -> Option<String> {
    match root.read_text(rel, 1024 * 1024) {
        Ok(t) => Some(t),
        Err(e) => {
            log::warn!("{rel}: cannot read ({e}); no expectations taken from it");
            None
        }
    }
}

/// Config files named `*.SUFFIX` in `dirs` (earlier directories win for a
/// name, as systemd's and netplan's precedence rules say), sorted by file
/// name, as root-relative paths. A file masked by an empty file or a link
/// to /dev/null is left out.
pub(crate) fn layered(root: &Root, dirs: &[&str], suffix: &str) -> Vec<String> {
    let mut by_name: std::collections::BTreeMap<String, String> = Default::default();
    for dir in dirs {
        for name in root.list(dir) {
            let Some(name) = name.to_str() else { continue };
            if !name.ends_with(suffix) || name.starts_with('.') {
                continue;
            }
            by_name
                .entry(name.to_string())
                .or_insert_with(|| format!("{dir}/{name}"));
        }
    }
    by_name
        .into_values()
        .filter(|path| !root.is_masked(path))
        .collect()
}

/// The `key=value` assignments of an INI-style file (systemd.syntax(7),
/// NetworkManager's keyfiles): (section, key, value, line number), values
/// and keys trimmed; comments (`#`, `;`), blank and malformed lines skipped.
pub(crate) fn ini_assignments(text: &str) -> Vec<(String, &str, &str, usize)> {
    let mut out = Vec::new();
    let mut section = String::new();
    for (no, raw) in (1..).zip(text.lines()) {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(h) = line.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            section = h.to_string();
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            out.push((section.clone(), key.trim(), value.trim(), no));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Another program's configuration is input, never a reason to crash
        /// a boot: every parser takes any text.
        #[test]
        fn parsers_take_any_text(text in "(?s).{0,400}", words in "[ -~\n]{0,200}") {
            for t in [text.as_str(), words.as_str()] {
                let _ = networkd::parse(t).expectations("f");
                let _ = networkd::netdev_name(t);
                let mut defs = Default::default();
                netplan::parse_into(&mut defs, "f", t);
                let _ = defs.iter().flat_map(|(id, d): (&String, &netplan::Ethernet)| d.expectations(id)).count();
                let _ = nm::parse("f", t);
                let _ = ifupdown::parse(t);
                let _ = cmdline::derive(&crate::cmdline::parse(t));
                let _ = crate::rdma::strip_number(t);
            }
        }
    }

    #[test]
    fn sources_parse_by_their_configuration_names() {
        for s in ["cmdline", "networkd", "netplan", "nm", "ifupdown"] {
            assert_eq!(s.parse::<Source>().unwrap().as_str(), s);
        }
        let err = "wicked".parse::<Source>().unwrap_err();
        assert!(err.starts_with("invalid source \"wicked\""), "{err}");
    }

    #[test]
    fn only_one_literal_name_singles_out_an_interface() {
        for ok in ["eno1", "ib0", "enp75s0np0", "eno1.5"] {
            assert!(literal_name(ok), "{ok}");
        }
        for bad in [
            "",
            "lo",
            "en*",
            "eth[01]",
            "!eth0",
            "a/b",
            "eth0:1",
            "averyveryverylongname",
        ] {
            assert!(!literal_name(bad), "{bad}");
        }
    }
}
