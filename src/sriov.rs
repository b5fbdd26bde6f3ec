//! SR-IOV physical functions and their VFs (Documentation/ABI/testing/
//! sysfs-bus-pci: `sriov_numvfs`, `sriov_drivers_autoprobe`, and the
//! `virtfnN` links drivers/pci/iov.c `pci_iov_add_virtfn` creates in the
//! PF's directory, pointing at each VF).

use serde::Serialize;

use crate::pci::PciAddr;
use crate::root::Root;

/// An SR-IOV capable PF (it has `sriov_numvfs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pf {
    /// PF address.
    pub pci: PciAddr,
    /// `sriov_numvfs`: how many VFs are enabled.
    pub numvfs: u32,
    /// `sriov_drivers_autoprobe`: VFs get bound to a driver as they appear.
    pub autoprobe: bool,
    /// VF addresses from `virtfn0`, `virtfn1`, … in VF order.
    pub vfs: Vec<PciAddr>,
}

/// `vfs` in a PF's report entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VfCounts {
    /// `sriov_numvfs`.
    pub expected: u32,
    /// VFs with a driver bound (pass-through drivers included).
    pub bound: u32,
    /// VFs with at least one netdev.
    pub with_netdev: u32,
}

/// Reads a function's SR-IOV state; `None` unless it is an SR-IOV capable PF.
pub fn read(root: &Root, addr: PciAddr) -> Option<Pf> {
    let dir = format!("sys/bus/pci/devices/{addr}");
    let numvfs = root
        .read_attr(format!("{dir}/sriov_numvfs"))?
        .parse::<u32>()
        .ok()?;
    // The kernel's default is 1 (drivers/pci/iov.c `sriov_init`).
    let autoprobe = root
        .read_attr(format!("{dir}/sriov_drivers_autoprobe"))
        .map_or(true, |v| v != "0");
    let mut links: Vec<(u32, PciAddr)> = root
        .list(&dir)
        .into_iter()
        .filter_map(|n| {
            let k = n.to_str()?.strip_prefix("virtfn")?.parse::<u32>().ok()?;
            let target = root.resolve_link(format!("{dir}/virtfn{k}"))?;
            Some((k, PciAddr::from_kernel(target.file_name()?.to_str()?)?))
        })
        .collect();
    links.sort();
    Some(Pf {
        pci: addr,
        numvfs,
        autoprobe,
        vfs: links.into_iter().map(|(_, vf)| vf).collect(),
    })
}

/// One VF as the readiness decision sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vf<'a> {
    /// Address.
    pub pci: PciAddr,
    /// Bound driver.
    pub driver: Option<&'a str>,
    /// Bound to a pass-through driver (no netdev expected).
    pub passthrough: bool,
    /// Has a netdev.
    pub has_netdev: bool,
}

/// Counts VFs and says why the PF's VFs are not all there yet (`None` when
/// they are): every enabled VF exists, and with autoprobe each is bound and,
/// unless passed through, has its netdev.
pub fn judge(pf: &Pf, vfs: &[Vf]) -> (VfCounts, Option<String>) {
    let counts = VfCounts {
        expected: pf.numvfs,
        bound: vfs.iter().filter(|v| v.driver.is_some()).count() as u32,
        with_netdev: vfs.iter().filter(|v| v.has_netdev).count() as u32,
    };
    let present = vfs.len() as u32;
    if present < pf.numvfs {
        return (
            counts,
            Some(format!(
                "{present} of {} VFs exist (sriov_numvfs {}): the PF driver is still creating them",
                pf.numvfs, pf.numvfs
            )),
        );
    }
    if !pf.autoprobe {
        // sriov_drivers_autoprobe=0: nothing binds VFs by itself; whoever set
        // it (a VM manager) binds them when it needs them.
        return (counts, None);
    }
    if let Some(v) = vfs.iter().find(|v| v.driver.is_none()) {
        return (
            counts,
            Some(format!(
                "{} of {} VFs bound; {} has no driver yet (sriov_drivers_autoprobe is 1)",
                counts.bound, pf.numvfs, v.pci
            )),
        );
    }
    if let Some(v) = vfs.iter().find(|v| !v.passthrough && !v.has_netdev) {
        return (
            counts,
            Some(format!(
                "{} of {} VFs have a netdev; {} (driver {}) has none yet",
                counts.with_netdev,
                pf.numvfs,
                v.pci,
                v.driver.unwrap_or("-")
            )),
        );
    }
    (counts, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pf(numvfs: u32, autoprobe: bool) -> Pf {
        Pf {
            pci: "0000:3b:00.0".parse().unwrap(),
            numvfs,
            autoprobe,
            vfs: Vec::new(),
        }
    }

    fn vf(pci: &'static str, driver: Option<&'static str>, has_netdev: bool) -> Vf<'static> {
        Vf {
            pci: pci.parse().unwrap(),
            driver,
            passthrough: driver == Some("vfio-pci"),
            has_netdev,
        }
    }

    #[test]
    fn all_vfs_bound_with_netdevs_or_passed_through_are_met() {
        let vfs = [
            vf("0000:3b:02.0", Some("iavf"), true),
            vf("0000:3b:02.1", Some("vfio-pci"), false),
        ];
        let (c, why) = judge(&pf(2, true), &vfs);
        assert_eq!((c.expected, c.bound, c.with_netdev, why), (2, 2, 1, None));
    }

    #[test]
    fn missing_unbound_and_netdevless_vfs_are_named() {
        let one = [vf("0000:3b:02.0", Some("iavf"), true)];
        let (_, why) = judge(&pf(2, true), &one);
        assert!(why.unwrap().starts_with("1 of 2 VFs exist"));
        let vfs = [
            vf("0000:3b:02.0", Some("iavf"), true),
            vf("0000:3b:02.1", None, false),
        ];
        let (c, why) = judge(&pf(2, true), &vfs);
        assert_eq!(c.bound, 1);
        assert!(why.unwrap().contains("0000:3b:02.1 has no driver yet"));
        let vfs = [vf("0000:3b:02.0", Some("iavf"), false)];
        let (_, why) = judge(&pf(1, true), &vfs);
        assert!(why
            .unwrap()
            .contains("0000:3b:02.0 (driver iavf) has none yet"));
    }

    #[test]
    fn without_autoprobe_existing_vfs_are_enough() {
        let vfs = [vf("0000:3b:02.0", None, false)];
        assert_eq!(judge(&pf(1, false), &vfs).1, None);
    }
}
