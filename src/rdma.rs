//! RDMA port states (`sys/class/infiniband/DEV/ports/N/`), as
//! Documentation/ABI/stable/sysfs-class-infiniband describes them and
//! drivers/infiniband/core/sysfs.c prints them: `state` is `4: ACTIVE`
//! (`state_show`, the IB PortInfo PortState: 1 DOWN, 2 INIT, 3 ARMED,
//! 4 ACTIVE, 5 ACTIVE_DEFER), `phys_state` is `5: LinkUp`
//! (`ib_port_phys_state_str`: 1 Sleep, 2 Polling, 3 Disabled,
//! 4 PortConfigurationTraining, 5 LinkUp, 6 LinkErrorRecovery, 7 Phy Test),
//! `rate` is `200 Gb/sec (4X HDR)`.

use std::path::Path;

use serde::Serialize;

use crate::root::{escape_name, Root};
use crate::sysfs::nearest_pci;

/// One port of an RDMA device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Port {
    /// RDMA device name, e.g. `mlx5_0`.
    pub device: String,
    /// Port number, from 1.
    pub port: u32,
    /// PCI function the device belongs to (`None` for soft-RoCE `rxe0`).
    #[serde(skip)]
    pub pci: Option<crate::pci::PciAddr>,
    /// Logical state without its number: `ACTIVE`, `INIT`, `DOWN`, …
    pub state: Option<String>,
    /// Physical state without its number: `LinkUp`, `Polling`, `Disabled`, …
    pub phys_state: Option<String>,
    /// `InfiniBand` or `Ethernet` (RoCE).
    pub link_layer: Option<String>,
    /// Speed and width as the kernel prints them.
    pub rate: Option<String>,
}

/// Drops the `N: ` prefix the kernel prints before a state name.
pub fn strip_number(text: &str) -> String {
    let t = text.trim();
    match t.split_once(':') {
        Some((n, name)) if !n.is_empty() && n.trim().bytes().all(|b| b.is_ascii_digit()) => {
            name.trim().to_string()
        }
        _ => t.to_string(),
    }
}

/// Reads every port of every RDMA device, sorted by device then port.
pub fn ports(root: &Root) -> Vec<Port> {
    let mut out = Vec::new();
    for dev in root.list("sys/class/infiniband") {
        let base = Path::new("sys/class/infiniband").join(&dev);
        let pci = root
            .resolve_link(base.join("device"))
            .and_then(|p| nearest_pci(&p));
        let device = escape_name(std::os::unix::ffi::OsStrExt::as_bytes(dev.as_os_str()));
        for port in root.list(base.join("ports")) {
            let Some(n) = port.to_str().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            let dir = base.join("ports").join(&port);
            let attr = |name: &str| root.read_attr(dir.join(name)).filter(|v| !v.is_empty());
            out.push(Port {
                device: device.clone(),
                port: n,
                pci: pci.or_else(|| netdev_pci(root, &dir)),
                state: attr("state").map(|s| strip_number(&s)),
                phys_state: attr("phys_state").map(|s| strip_number(&s)),
                link_layer: attr("link_layer"),
                rate: attr("rate"),
            });
        }
    }
    out.sort_by(|a, b| (&a.device, a.port).cmp(&(&b.device, b.port)));
    out
}

/// The PCI function of a RoCE port's netdev, for RDMA devices that have no
/// parent of their own: soft-RoCE (`rdma_rxe`, drivers/infiniband/sw/rxe)
/// registers under /sys/devices/virtual, and names its netdev only in the
/// GID table (`gid_attrs/ndevs/0`, drivers/infiniband/core/sysfs.c).
fn netdev_pci(root: &Root, port_dir: &Path) -> Option<crate::pci::PciAddr> {
    let name = root.read_attr(port_dir.join("gid_attrs/ndevs/0"))?;
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return None;
    }
    let real = root.resolve_link(Path::new("sys/class/net").join(&name))?;
    nearest_pci(&real)
}

/// Why a port is not `ACTIVE`, in words naming the next step; `None` when it is.
pub fn not_active(p: &Port) -> Option<String> {
    let state = p.state.as_deref().unwrap_or("");
    // ACTIVE_DEFER is ACTIVE with deferred errors pending: traffic flows.
    if matches!(state, "ACTIVE" | "ACTIVE_DEFER") {
        return None;
    }
    let phys = p.phys_state.as_deref().unwrap_or("");
    let n = p.port;
    let ib = p.link_layer.as_deref() != Some("Ethernet");
    Some(match (state, phys) {
        // The physical link is up and trained; an IB port then waits in INIT
        // until a subnet manager assigns its LID and moves it to ACTIVE.
        ("INIT", _) if ib => {
            format!("no subnet manager has configured port {n} (is opensm running on the fabric?)")
        }
        ("ARMED", _) => format!("the subnet manager has armed port {n} but not yet made it ACTIVE"),
        // A RoCE port's state follows its netdev: DOWN/Disabled unless the
        // netdev is running with carrier (drivers/infiniband/hw/mlx5/main.c
        // `mlx5_query_port_roce`; rdma_rxe's `rxe_port_up`/`rxe_port_down`
        // on netdev events), so an interface nobody brought up looks like a
        // missing cable here.
        (_, "Polling" | "Disabled" | "Sleep") if !ib => format!(
            "port {n} is {}: no link: cable or peer, or its netdev is not up (RoCE follows the netdev's link)",
            or_unknown(state)
        ),
        (_, "Polling" | "Disabled" | "Sleep") => {
            format!("port {n} is {}: no link: cable or peer", or_unknown(state))
        }
        (_, "PortConfigurationTraining" | "LinkErrorRecovery") => {
            format!("port {n} is training its link ({phys})")
        }
        ("", _) => format!("port {n} has no readable state"),
        _ => format!("port {n} is {state} (physical state {})", or_unknown(phys)),
    })
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() {
        "unknown"
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(state: &str, phys: &str, layer: &str) -> Port {
        Port {
            device: "mlx5_0".into(),
            port: 1,
            pci: Some("0000:4b:00.0".parse().unwrap()),
            state: Some(state.into()).filter(|s: &String| !s.is_empty()),
            phys_state: Some(phys.into()).filter(|s: &String| !s.is_empty()),
            link_layer: Some(layer.into()),
            rate: Some("200 Gb/sec (4X HDR)".into()),
        }
    }

    #[test]
    fn state_numbers_are_stripped_as_sysfs_prints_them() {
        #[rustfmt::skip]
        let cases = [
            ("4: ACTIVE\n", "ACTIVE"), ("2: INIT", "INIT"), ("5: LinkUp", "LinkUp"),
            ("4: PortConfigurationTraining", "PortConfigurationTraining"),
            ("7: Phy Test", "Phy Test"), ("ACTIVE", "ACTIVE"), ("x: y", "x: y"), ("", ""),
        ];
        for (case, want) in cases {
            assert_eq!(strip_number(case), want, "case {case:?}");
        }
    }

    #[test]
    fn reasons_name_the_subnet_manager_or_the_cable() {
        #[rustfmt::skip]
        let cases = [
            (("ACTIVE", "LinkUp", "InfiniBand"), None),
            (("ACTIVE_DEFER", "LinkUp", "InfiniBand"), None),
            (("INIT", "LinkUp", "InfiniBand"),
             Some("no subnet manager has configured port 1 (is opensm running on the fabric?)")),
            (("DOWN", "Polling", "InfiniBand"), Some("port 1 is DOWN: no link: cable or peer")),
            (("DOWN", "Disabled", "InfiniBand"), Some("port 1 is DOWN: no link: cable or peer")),
            (("DOWN", "Disabled", "Ethernet"), Some("port 1 is DOWN: no link: cable or peer, or its \
                netdev is not up (RoCE follows the netdev's link)")),
            (("ARMED", "LinkUp", "InfiniBand"),
             Some("the subnet manager has armed port 1 but not yet made it ACTIVE")),
            (("DOWN", "PortConfigurationTraining", "InfiniBand"),
             Some("port 1 is training its link (PortConfigurationTraining)")),
            (("", "", "InfiniBand"), Some("port 1 has no readable state")),
            (("INIT", "LinkUp", "Ethernet"), Some("port 1 is INIT (physical state LinkUp)")),
        ];
        for ((state, phys, layer), want) in cases {
            let got = not_active(&port(state, phys, layer));
            assert_eq!(got.as_deref(), want, "case {state} {phys} {layer}");
        }
    }
}
