//! What netsettle knows about particular drivers, in one place: which ones
//! hand a device to user space or a VM, which load a companion module to
//! create their netdevs, and which bind functions that by design never get
//! a netdev. The snapshot asks it what to read; the decision asks it what a
//! bound function without a netdev means.
//!
//! Drivers that load firmware after probe, and what that means here:
//! - `iwlwifi` requests its firmware with `request_firmware_nowait()` from
//!   probe (`iwl_drv_start` → `iwl_request_firmware`); the callback tries
//!   every API version down to the oldest it supports, then prints "no
//!   suitable firmware found!" (`IWL_ERR`, a `dev_err`) and gives the device
//!   up: `out_unbind: … device_release_driver(drv->trans->dev)`
//!   (drivers/net/wireless/intel/iwlwifi/iwl-drv.c). No "probe … failed"
//!   line is printed: the readiness rule for a function its loaded driver
//!   left unbound, with error lines after it, covers it.
//! - `qede` (the PCI driver of QLogic FastLinQ; `qed` is its core library
//!   and has no `pci_driver` of its own) loads `qed/qed_init_values_*.fw` in
//!   `qed_slowpath_start()` during probe ("Failed to find fw file"), so
//!   missing firmware fails `__qede_probe` and the driver core's line
//!   reports it.
//! - `bnx2x` loads its firmware in `bnx2x_nic_load()`, called from
//!   `bnx2x_open()` (moved back there from probe by "bnx2x: fix driver load
//!   from initrd", 5.17): the netdev exists at boot and the missing file
//!   only shows when the interface is brought up. Nothing to wait for.
//! - `ice` without its DDP package prints "Entering Safe Mode" and still
//!   registers its netdevs: ready, with fewer offloads. (6.10 and 6.11
//!   failed the probe instead, fixed by "ice: Fix entering Safe Mode"; the
//!   driver core's line reports that.)

use crate::modules::normalize;
use crate::sysfs::PciFunction;

/// Whether a driver claims devices for user space or a virtual machine, so
/// no netdev will come: `vfio-pci` and every vendor variant (`mlx5_vfio_pci`,
/// `virtio_vfio_pci`, `pds_vfio_pci`, `hisi_acc_vfio_pci`, … in
/// drivers/vfio/pci/), the PCI stubs (`pci-stub`, and `pci-pf-stub` for
/// SR-IOV PFs, drivers/pci/), Xen's `pciback` (module `xen-pciback`,
/// drivers/xen/xen-pciback/pci_stub.c), and the UIO drivers `uio_pci_generic`
/// and DPDK's `igb_uio`.
pub fn is_passthrough(driver: &str) -> bool {
    let d = normalize(driver);
    d == "vfio_pci"
        || d.ends_with("_vfio_pci")
        || matches!(
            d.as_str(),
            "pci_stub" | "pci_pf_stub" | "pciback" | "xen_pciback" | "uio_pci_generic" | "igb_uio"
        )
}

/// Modules a bound driver loads later to create its netdevs: the reason a
/// bound device can still lack an interface (`request_module_nowait` in
/// mlx4_core, the virtio bus driver, qed's protocol drivers).
pub fn companions(driver: &str) -> &'static [&'static str] {
    match normalize(driver).as_str() {
        "mlx4_core" => &["mlx4_en", "mlx4_ib"],
        "mlx5_core" => &["mlx5_ib", "ib_ipoib"],
        "qed" => &["qede"],
        "virtio_pci" => &["virtio_net"],
        "hfi1" | "ib_qib" | "qib" => &["ib_ipoib"],
        _ => &[],
    }
}

/// The companion that creates Ethernet netdevs, if the driver has one.
pub fn eth_companion(driver: &str) -> Option<&'static str> {
    match normalize(driver).as_str() {
        "mlx4_core" => Some("mlx4_en"),
        "qed" => Some("qede"),
        "virtio_pci" => Some("virtio_net"),
        _ => None,
    }
}

/// The module that registers the RDMA device (and so the InfiniBand ports)
/// of a driver's function.
pub fn ib_module(driver: &str) -> Option<&'static str> {
    match normalize(driver).as_str() {
        "mlx4_core" => Some("mlx4_ib"),
        "mlx5_core" => Some("mlx5_ib"),
        _ => None,
    }
}

/// Modules whose state matters as soon as an InfiniBand function is watched.
pub const IB_MODULES: [&str; 4] = ["ib_ipoib", "ib_core", "mlx5_ib", "mlx4_ib"];

/// Why a function bound to `driver` will never have a netdev of its own,
/// when the driver is known to bind such functions.
pub fn no_netdev_by_design(driver: &str, f: &PciFunction) -> Option<String> {
    match normalize(driver).as_str() {
        // cxgb4_main.c `init_one`: "We control everything through one PF".
        // Every id table entry's `driver_data` is CXGB4_UNIFIED_PF (4); on
        // any other function probe calls pci_disable_device() and returns 0
        // without ports (T4, T5 and T6 alike: t4_pci_id_tbl.h lists PF0-3
        // and PF4 ids).
        "cxgb4" if f.addr.function() != 4 => Some(format!(
            "cxgb4 drives the card through physical function 4 and binds {} without ports, by design",
            f.addr
        )),
        // pvrdma_main.c `pvrdma_pci_probe`: the RDMA function finds the
        // vmxnet3 netdev of function 0 in its slot and uses it; its ports
        // are RoCE (`pvrdma_port_link_layer` is Ethernet).
        "vmw_pvrdma" => Some(format!(
            "VMware paravirtual RDMA function: its RoCE ports use the vmxnet3 netdev of function 0 in its slot; {} has none of its own, by design",
            f.addr
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passthrough_family_is_recognised_not_listed() {
        for d in [
            "vfio-pci",
            "vfio_pci",
            "mlx5_vfio_pci",
            "virtio-vfio-pci",
            "pds_vfio_pci",
            "hisi_acc_vfio_pci",
            "pci-stub",
            "pci-pf-stub",
            "pciback",
            "xen-pciback",
            "uio_pci_generic",
            "igb_uio",
        ] {
            assert!(is_passthrough(d), "{d}");
        }
        for d in ["e1000e", "mlx5_core", "vfio", "vfio_pci_core", "virtio-pci"] {
            assert!(!is_passthrough(d), "{d}");
        }
    }

    #[test]
    fn companion_table_is_the_one_the_spec_gives() {
        type Row = (
            &'static str,
            &'static [&'static str],
            Option<&'static str>,
            Option<&'static str>,
        );
        let table: [Row; 8] = [
            (
                "mlx4_core",
                &["mlx4_en", "mlx4_ib"],
                Some("mlx4_en"),
                Some("mlx4_ib"),
            ),
            ("mlx5_core", &["mlx5_ib", "ib_ipoib"], None, Some("mlx5_ib")),
            ("qed", &["qede"], Some("qede"), None),
            ("virtio-pci", &["virtio_net"], Some("virtio_net"), None),
            ("hfi1", &["ib_ipoib"], None, None),
            ("ib_qib", &["ib_ipoib"], None, None),
            ("qib", &["ib_ipoib"], None, None),
            ("e1000e", &[], None, None),
        ];
        for (driver, companions_, eth, ib) in table {
            assert_eq!(companions(driver), companions_, "{driver}");
            assert_eq!(eth_companion(driver), eth, "{driver}");
            assert_eq!(ib_module(driver), ib, "{driver}");
        }
    }

    #[test]
    fn cxgb4_functions_other_than_4_have_no_ports_by_design() {
        let f = |addr: &str| PciFunction {
            addr: addr.parse().unwrap(),
            class: Some("0x020000".into()),
            vendor: Some("0x1425".into()),
            device: Some("0x5410".into()),
            modalias: None,
            driver: Some("cxgb4".into()),
            is_vf: false,
        };
        for pf in 0..4 {
            let addr = format!("0000:81:00.{pf}");
            assert!(no_netdev_by_design("cxgb4", &f(&addr)).is_some(), "{addr}");
        }
        assert_eq!(no_netdev_by_design("cxgb4", &f("0000:81:00.4")), None);
        assert_eq!(no_netdev_by_design("e1000e", &f("0000:81:00.0")), None);
        assert!(no_netdev_by_design("vmw_pvrdma", &f("0000:0b:00.1")).is_some());
    }
}
