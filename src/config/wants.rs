//! The opt-in waits beyond the netdev: RDMA port states, SR-IOV VFs, the
//! link of named interfaces, and interfaces the network configuration names.
//! Always reported; waited for only when asked (`[Expect] RDMAPorts=`,
//! `VFs=`, `Link=`, `ExpectFrom=`), so a fabric without a subnet manager
//! or an unplugged port never holds a boot that did not ask.

use super::Settings;
use crate::cmdline::KernelCmdline;
use crate::netconf::{self, Derived, Source, Want};
use crate::root::Root;
use crate::value::{dedupe, parse_bool, quoted};

/// The opt-in waits, from config, kernel command line and command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wants {
    /// `RDMAPorts=active`: every RDMA port must be ACTIVE.
    pub rdma_ports: bool,
    /// `VFs=yes`: every enabled VF must be bound and have its netdev.
    pub vfs: bool,
    /// `Link=`: interfaces whose link must be up.
    pub links: Vec<String>,
    /// `ExpectFrom=`: configurations to derive expectations from.
    pub from: Vec<Source>,
    /// The expectations derived from them (filled once, at start).
    pub derived: Vec<Derived>,
}

impl Default for Wants {
    fn default() -> Self {
        Wants {
            rdma_ports: false,
            vfs: false,
            links: Vec::new(),
            from: vec![Source::Cmdline],
            derived: Vec::new(),
        }
    }
}

impl Wants {
    /// Keeps the first of each repeated list item.
    pub fn dedupe(&mut self) {
        dedupe(&mut self.links);
        dedupe(&mut self.from);
    }
}

/// Parses `RDMAPorts=`: `active`, or a false boolean for "report only".
pub fn parse_rdma_ports(v: &str) -> Result<bool, String> {
    if v.eq_ignore_ascii_case("active") {
        return Ok(true);
    }
    match parse_bool(v) {
        Ok(false) => Ok(false),
        _ => Err(format!(
            "invalid value {}: expected active or no",
            quoted(v)
        )),
    }
}

/// Reads the configurations `ExpectFrom=` names and adds what they expect
/// to the interface and MAC expectations (so their functions count as
/// named by the user), remembering where each came from.
pub fn derive_into(root: &Root, kcmd: &KernelCmdline, settings: &mut Settings) {
    let derived = netconf::derive(root, kcmd, &settings.wants.from);
    for d in &derived {
        log::debug!("{} expects {:?} ({})", d.source.who(), d.want, d.location);
        match &d.want {
            Want::Interface(n) => settings.expect.interfaces.push(n.clone()),
            Want::Mac(m) => settings.expect.macs.push(m.clone()),
        }
    }
    settings.dedupe_lists();
    settings.wants.derived = derived;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rdma_ports_values_parse_or_say_what_is_expected() {
        assert_eq!(parse_rdma_ports("ACTIVE"), Ok(true));
        assert_eq!(parse_rdma_ports("no"), Ok(false));
        assert!(parse_rdma_ports("yes")
            .unwrap_err()
            .contains("expected active or no"));
    }
}
