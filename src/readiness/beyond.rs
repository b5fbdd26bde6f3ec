//! Readiness beyond the netdev, decided: the asked-for RDMA port states,
//! SR-IOV VFs and links, and the reasons of expectations a network
//! configuration derived. Waited for only when asked (`[Expect]
//! RDMAPorts=`, `VFs=`, `Link=`, `ExpectFrom=`); the per-device fields are
//! always reported.

use std::collections::{HashMap, HashSet};

use crate::config::Settings;
use crate::link;
use crate::modules::{fnmatch, normalize};
use crate::netconf::Want;
use crate::pci::PciAddr;
use crate::rdma::{self, Port};
use crate::report::{DeviceReport, ExpectationReport, Report, State};
use crate::snapshot::Snapshot;
use crate::sriov::{self, Pf, Vf};
use crate::sysfs::PciFunction;
use crate::udevdb::DbState;

fn entry(kind: &'static str, value: String, why: Option<String>) -> ExpectationReport {
    ExpectationReport {
        kind,
        value,
        met: why.is_none(),
        reason: why,
        source: None,
    }
}

/// VF counts and verdicts of every SR-IOV capable PF.
fn vf_verdicts<'a>(
    snap: &'a Snapshot,
    pci_of: &HashMap<PciAddr, &'a PciFunction>,
) -> Vec<(&'a Pf, (sriov::VfCounts, Option<String>))> {
    let with_netdev: HashSet<PciAddr> = snap.netdevs.iter().filter_map(|n| n.pci).collect();
    snap.extras
        .pfs
        .iter()
        .map(|pf| {
            let vfs: Vec<Vf> = pf
                .vfs
                .iter()
                .map(|a| {
                    let driver = pci_of.get(a).and_then(|f| f.driver.as_deref());
                    Vf {
                        pci: *a,
                        driver,
                        passthrough: driver.is_some_and(crate::drivers::is_passthrough),
                        has_netdev: with_netdev.contains(a),
                    }
                })
                .collect();
            (pf, sriov::judge(pf, &vfs))
        })
        .collect()
}

/// The asked-for `link`, `rdma-ports` and `vfs` expectations, given the
/// decided devices.
fn asked<'d>(
    snap: &Snapshot,
    settings: &Settings,
    devices: impl Iterator<Item = &'d DeviceReport>,
) -> Vec<ExpectationReport> {
    let facts = &snap.extras;
    let w = &settings.wants;
    if facts.links.is_empty() && !w.rdma_ports && !w.vfs {
        return Vec::new();
    }
    let pci_of: HashMap<PciAddr, &PciFunction> = snap.pci.iter().map(|f| (f.addr, f)).collect();
    // A function on the ignore list, by address or by its driver, is not
    // waited for here either.
    let ignored_pci = |a: &PciAddr| {
        settings.ignore.pci.contains(a)
            || pci_of
                .get(a)
                .and_then(|f| f.driver.as_deref())
                .is_some_and(|d| {
                    settings
                        .ignore
                        .drivers
                        .iter()
                        .any(|g| fnmatch(&normalize(g), &normalize(d)))
                })
    };
    let mut out = Vec::new();
    for l in &facts.links {
        out.push(entry("link", l.name.clone(), link::not_up(l)));
    }
    if w.rdma_ports {
        let ports: Vec<&Port> = facts
            .rdma
            .iter()
            .filter(|p| !p.pci.as_ref().is_some_and(ignored_pci))
            .collect();
        for p in &ports {
            let why = rdma::not_active(p).map(|r| format!("{}: {r}", p.device));
            out.push(entry("rdma-ports", format!("{}/{}", p.device, p.port), why));
        }
        if ports.is_empty() {
            // An InfiniBand function whose RDMA device is not registered yet
            // has ports to come; a machine without any has nothing to wait for.
            let pending = devices
                .filter(|d| !matches!(d.state, State::Ignored | State::Passthrough))
                .find(|d| d.class.as_deref().is_some_and(|c| c.starts_with("0x0207")));
            let why = pending.map(|d| {
                format!(
                    "{} has no RDMA device yet, so no port can become ACTIVE",
                    d.pci
                )
            });
            out.push(entry("rdma-ports", "active".into(), why));
        }
    }
    if w.vfs {
        let enabled = |pf: &&Pf| pf.numvfs > 0 && !ignored_pci(&pf.pci);
        for (pf, (_, why)) in vf_verdicts(snap, &pci_of)
            .into_iter()
            .filter(|(pf, _)| enabled(pf))
        {
            out.push(entry("vfs", pf.pci.to_string(), why));
        }
    }
    out
}

/// Whether every asked-for `link`, `rdma-ports` and `vfs` expectation is
/// met: the cheap question the wait asks besides the devices'.
pub(super) fn asked_met<'d>(
    snap: &Snapshot,
    settings: &Settings,
    devices: impl Iterator<Item = &'d DeviceReport>,
) -> bool {
    asked(snap, settings, devices).iter().all(|e| e.met)
}

/// Fills the per-device fields, appends the asked-for expectations and
/// annotates derived ones; the report is not ready while one is unmet.
pub(super) fn apply(report: &mut Report, snap: &Snapshot, settings: &Settings) {
    let pci_of: HashMap<PciAddr, &PciFunction> = snap.pci.iter().map(|f| (f.addr, f)).collect();
    let verdicts = vf_verdicts(snap, &pci_of);
    for d in &mut report.devices {
        d.rdma_ports = snap
            .extras
            .rdma
            .iter()
            .filter(|p| p.pci == Some(d.pci))
            .cloned()
            .collect();
        d.vfs = verdicts
            .iter()
            .find(|(pf, _)| pf.pci == d.pci)
            .map(|(_, (counts, _))| *counts);
    }
    let extra = asked(snap, settings, report.devices.iter());
    annotate_derived(report, snap, settings);
    report.ready &= extra.iter().all(|e| e.met);
    report.expectations.extend(extra);
}

/// Gives each derived `interface` / `mac` expectation its source and, when
/// unmet, a reason naming the configuration that wants it.
fn annotate_derived(report: &mut Report, snap: &Snapshot, settings: &Settings) {
    let derived = &settings.wants.derived;
    if derived.is_empty() {
        return;
    }
    // PCI network functions still without any netdev could yet bring the
    // missing interface; when there are none, nothing on the bus owns it.
    let waiting: Vec<String> = report
        .devices
        .iter()
        .filter(|d| d.netdevs.is_empty() && !d.state.is_settled())
        .map(|d| d.pci.to_string())
        .collect();
    for e in report
        .expectations
        .iter_mut()
        .filter(|e| e.source.is_none())
    {
        let Some(d) = derived
            .iter()
            .find(|d| d.kind_value() == (e.kind, e.value.clone()))
        else {
            continue;
        };
        e.source = Some(d.location.clone());
        if e.met {
            continue;
        }
        let found = snap.netdevs.iter().find(|n| match &d.want {
            Want::Interface(name) => &n.name == name,
            Want::Mac(m) => n
                .mac
                .as_deref()
                .is_some_and(|x| x.eq_ignore_ascii_case(m.as_str())),
        });
        let what = match found {
            Some(n)
                if matches!(
                    n.udev,
                    DbState::Renaming | DbState::Processing | DbState::Missing
                ) =>
            {
                format!("{} exists but udev has not finished with it", n.name)
            }
            Some(n) => format!("{} exists but is on the ignore list", n.name),
            None if !waiting.is_empty() => format!(
                "no such interface yet; {} PCI network function(s) still have no netdev ({})",
                waiting.len(),
                waiting.join(", ")
            ),
            None => "no such interface and no PCI function owns it".to_string(),
        };
        e.reason = Some(format!(
            "{} expects {} ({}): {what}",
            d.source.who(),
            e.value,
            d.location
        ));
    }
}

/// Whether the wait loop must look again soon: link and port states change
/// without a uevent (carrier changes come only over rtnetlink, port state
/// changes only as IB events), so the slow safety-net tick would be late.
pub fn needs_tick(snap: &Snapshot, settings: &Settings) -> bool {
    let facts = &snap.extras;
    facts.links.iter().any(|l| link::not_up(l).is_some())
        || (settings.wants.rdma_ports && facts.rdma.iter().any(|p| rdma::not_active(p).is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readiness::evaluate;
    use crate::snapshot::Snapshot;
    use crate::udevdb::UdevState;

    fn port(dev: &str, pci: Option<&str>, state: &str) -> Port {
        Port {
            device: dev.into(),
            port: 1,
            pci: pci.map(|a| a.parse().unwrap()),
            state: Some(state.into()),
            phys_state: Some("LinkUp".into()),
            link_layer: Some("InfiniBand".into()),
            rate: None,
        }
    }

    fn snap(ports: Vec<Port>) -> Snapshot {
        let mut s = Snapshot {
            udev: UdevState {
                running: true,
                queue_empty: true,
            },
            ..Snapshot::default()
        };
        s.extras.rdma = ports;
        s
    }

    #[test]
    fn rdma_ports_of_ignored_functions_are_not_waited_for_but_soft_roce_ports_are() {
        let mut settings = Settings::default();
        settings.wants.rdma_ports = true;
        settings.ignore.pci = vec!["0000:4b:00.0".parse().unwrap()];
        settings.ignore.drivers = vec!["mlx4-*".into()];
        let mut s = snap(vec![
            port("mlx5_0", Some("0000:4b:00.0"), "INIT"),
            port("mlx4_0", Some("0000:05:00.0"), "INIT"),
            port("rxe0", None, "ACTIVE"),
        ]);
        s.pci.push(PciFunction {
            addr: "0000:05:00.0".parse().unwrap(),
            class: Some("0x020000".into()),
            vendor: Some("0x15b3".into()),
            device: Some("0x1003".into()),
            modalias: None,
            driver: Some("mlx4_core".into()),
            is_vf: false,
        });
        let r = evaluate(&s, &[], &settings);
        let got: Vec<(&str, bool)> = r
            .expectations
            .iter()
            .map(|e| (e.value.as_str(), e.met))
            .collect();
        assert_eq!(got, [("rxe0/1", true)]);
        assert!(r.ready);
    }

    #[test]
    fn nothing_is_waited_for_unless_asked() {
        let s = snap(vec![port("mlx5_0", Some("0000:4b:00.0"), "DOWN")]);
        let r = evaluate(&s, &[], &Settings::default());
        assert!(r.ready && r.expectations.is_empty());
    }
}
