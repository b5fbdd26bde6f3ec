//! The command line's expectations and ignores, the last word on the
//! settings after the config files and the kernel command line.

use super::{parse_rdma_ports, Mac, PciAddr, Settings};
use crate::cli::CommonArgs;
use crate::value::parse_iface;

/// Applies `--expect-*`, `--ignore` and `--no-auto` on top of `settings`.
pub fn apply(common: &CommonArgs, settings: &mut Settings) -> Result<(), String> {
    let cli_err = |what: &str, value: &str, e: String| format!("{what} {value:?}: {e}");
    for name in &common.expect_iface {
        if name.is_empty() || name.contains('/') {
            return Err(cli_err(
                "--expect-iface",
                name,
                "not an interface name".into(),
            ));
        }
        settings.expect.interfaces.push(name.clone());
    }
    for addr in &common.expect_pci {
        let pci = addr
            .parse::<PciAddr>()
            .map_err(|e| cli_err("--expect-pci", addr, e))?;
        settings.expect.pci.push(pci);
    }
    for mac in &common.expect_mac {
        let m = mac
            .parse::<Mac>()
            .map_err(|e| cli_err("--expect-mac", mac, e))?;
        settings.expect.macs.push(m);
    }
    for pattern in &common.ignore {
        settings.ignore.add(pattern);
    }
    if common.no_auto {
        settings.auto = false;
    }
    let w = &mut settings.wants;
    for name in &common.expect_link {
        w.links
            .push(parse_iface(name).map_err(|e| format!("--expect-link: {e}"))?);
    }
    if let Some(v) = &common.expect_rdma_ports {
        w.rdma_ports = parse_rdma_ports(v).map_err(|e| format!("--expect-rdma-ports: {e}"))?;
    }
    if common.expect_vfs {
        w.vfs = true;
    }
    for s in &common.expect_from {
        w.from
            .push(s.parse().map_err(|e| format!("--expect-from: {e}"))?);
    }
    settings.dedupe_lists();
    Ok(())
}
