//! Machines the generic rules get wrong unless they know the hardware:
//! functions that never get a netdev by design, drivers that give a device
//! up after probe, kernels and images whose driver lists are incomplete,
//! reloads, leftover udev markers, netdevs in other namespaces. Ids come
//! from the drivers' id tables, log lines as the drivers print them.

mod common;

use common::{device, finish, state_of, FakeRoot, RELEASE};

/// A raw `dev/kmsg` record of a device message (`dev_printk` adds the
/// SUBSYSTEM/DEVICE continuation lines).
fn dev_record(level: u8, seq: u64, driver: &str, addr: &str, text: &str) -> String {
    format!(
        "{level},{seq},{},-;{driver} {addr}: {text}\n SUBSYSTEM=pci\n DEVICE=+pci:{addr}\n",
        seq * 1000
    )
}

// ---------------------------------------------------------------------------
// no netdev by design

#[test]
fn chelsio_t5_functions_0_to_3_are_ignored_and_function_4_is_waited_for() {
    // t4_pci_id_tbl.h: T520-CR is 0x5001 on PF0-3 and 0x5401 on PF4; cxgb4
    // binds all five and gives ports only to PF4.
    let root = FakeRoot::new();
    for pf in 0..4 {
        let addr = format!("0000:81:00.{pf}");
        root.pci(&addr, "0x020000", "0x1425", "0x5001")
            .bind(&addr, "cxgb4")
            .file(&format!("sys/devices/pci0000:00/{addr}/enable"), "0\n");
    }
    root.pci("0000:81:00.4", "0x020000", "0x1425", "0x5401")
        .bind("0000:81:00.4", "cxgb4")
        .module("cxgb4", "live");
    let (code, r) = root.status();
    assert_eq!(code, 1, "PF4 has no ports yet: {r:#}");
    assert_eq!(state_of(&r, "0000:81:00.4").0, "no-netdev");
    for pf in 0..4 {
        let (state, reason) = state_of(&r, &format!("0000:81:00.{pf}"));
        assert_eq!(state, "ignored");
        assert!(reason.contains("by design"), "{reason}");
        assert!(reason.contains("function 4"), "{reason}");
    }
    root.netdev("0000:81:00.4", None, "enp129s0f4", 5, "00:07:43:3a:bc:40")
        .processed(5, "cxgb4")
        .netdev("0000:81:00.4", None, "enp129s0f4d1", 6, "00:07:43:3a:bc:48")
        .processed(6, "cxgb4");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(state_of(&r, "0000:81:00.4").0, "ready");
}

#[test]
fn vmware_pvrdma_function_is_ignored_because_its_netdev_is_vmxnet3s() {
    // pvrdma_pci_probe pairs function 1 with the vmxnet3 of function 0.
    let root = FakeRoot::new();
    root.pci("0000:0b:00.0", "0x020000", "0x15ad", "0x07b0")
        .bind("0000:0b:00.0", "vmxnet3")
        .netdev("0000:0b:00.0", None, "ens192", 3, "00:50:56:a1:2b:3c")
        .processed(3, "vmxnet3")
        .pci("0000:0b:00.1", "0x020700", "0x15ad", "0x0820")
        .bind("0000:0b:00.1", "vmw_pvrdma")
        .ib_port("vmw_pvrdma0", "0000:0b:00.1", 1, "Ethernet");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    let (state, reason) = state_of(&r, "0000:0b:00.1");
    assert_eq!(state, "ignored");
    assert!(reason.contains("vmxnet3"), "{reason}");
}

#[test]
fn infiniband_class_function_with_only_ethernet_ports_wants_no_ipoib_netdev() {
    // A ConnectX VPI function whose ports run Ethernet (RoCE): its netdev is
    // an Ethernet one, no ib_ipoib involved.
    let root = FakeRoot::new();
    root.pci("0000:4b:00.0", "0x020700", "0x15b3", "0x101b")
        .bind("0000:4b:00.0", "mlx5_core")
        .ib_port("mlx5_0", "0000:4b:00.0", 1, "Ethernet")
        .netdev("0000:4b:00.0", None, "enp75s0np0", 4, "b8:ce:f6:01:02:03")
        .processed(4, "mlx5_core");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
}

#[test]
fn every_pass_through_driver_family_member_is_passthrough() {
    let root = FakeRoot::new();
    let drivers = [
        "mlx5_vfio_pci",
        "virtio_vfio_pci",
        "pds_vfio_pci",
        "hisi_acc_vfio_pci",
        "pci-pf-stub",
        "pciback",
        "uio_pci_generic",
        "igb_uio",
        "pci-stub",
        "vfio-pci",
    ];
    for (i, driver) in drivers.iter().enumerate() {
        let addr = format!("0000:{:02x}:00.0", 0x10 + i);
        root.pci(&addr, "0x020000", "0x15b3", "0x101e")
            .bind(&addr, driver);
    }
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    for (i, driver) in drivers.iter().enumerate() {
        let addr = format!("0000:{:02x}:00.0", 0x10 + i);
        let (state, reason) = state_of(&r, &addr);
        assert_eq!(state, "passthrough", "{driver}");
        assert!(reason.contains(driver), "{reason}");
    }
}

// ---------------------------------------------------------------------------
// a driver that gives the device up after probe

/// Comet Lake CNVi with an AX201 (iwlwifi's id table: 8086:02f0), driver
/// loaded, firmware absent: iwl-drv.c tries every API version from the
/// newest down, then unbinds the device.
fn iwlwifi_without_firmware() -> FakeRoot {
    iwlwifi_without_firmware_warning_first(None)
}

/// The iwlwifi log of a missing firmware, with one more warning of the same
/// attempt between the firmware loader's lines and the driver's errors.
fn iwlwifi_without_firmware_warning_first(warning: Option<&str>) -> FakeRoot {
    let root = FakeRoot::new();
    let addr = "0000:00:14.3";
    root.aliases("alias pci:v00008086d000002F0sv*sd*bc*sc*i* iwlwifi\n")
        .pci(addr, "0x028000", "0x8086", "0x02f0")
        .module("iwlwifi", "live");
    let mut log = dev_record(6, 900, "iwlwifi", addr, "enabling device (0000 -> 0002)");
    for (i, api) in (75..=77).rev().enumerate() {
        log += &dev_record(
            4,
            901 + i as u64,
            "iwlwifi",
            addr,
            &format!(
                "Direct firmware load for iwlwifi-QuZ-a0-hr-b0-{api}.ucode failed with error -2"
            ),
        );
    }
    if let Some(text) = warning {
        log += &dev_record(4, 905, "iwlwifi", addr, text);
    }
    for (i, text) in [
        "no suitable firmware found!",
        "minimum version required: iwlwifi-QuZ-a0-hr-b0-39",
        "maximum version supported: iwlwifi-QuZ-a0-hr-b0-77",
        "check git://git.kernel.org/pub/scm/linux/kernel/git/firmware/linux-firmware.git",
    ]
    .iter()
    .enumerate()
    {
        log += &dev_record(3, 910 + i as u64, "iwlwifi", addr, text);
    }
    root.kmsg(&log);
    root
}

#[test]
fn wifi_card_its_driver_gave_up_for_missing_firmware_is_probe_failed_naming_the_file() {
    let root = iwlwifi_without_firmware();
    let (code, r) = root.status();
    assert_eq!(code, 3, "{r:#}");
    let (state, reason) = state_of(&r, "0000:00:14.3");
    assert_eq!(state, "probe-failed");
    assert!(
        reason.contains("firmware iwlwifi-QuZ-a0-hr-b0-77.ucode not found"),
        "{reason}"
    );
    assert!(reason.contains("2 other firmware file"), "{reason}");
    assert!(reason.contains("no suitable firmware found!"), "{reason}");
}

#[test]
fn fail_fast_fires_for_a_driver_that_gave_its_device_up() {
    let root = iwlwifi_without_firmware();
    let (code, r, _) = finish(root.spawn(&["--format", "json", "--fail-fast", "-t", "30"]));
    assert_eq!(code, 3, "{r:#}");
    assert!(r["elapsed_ms"].as_u64().unwrap() < 30_000, "{r:#}");
}

#[test]
fn firmware_errors_do_not_count_while_the_driver_is_loading_again() {
    let root = iwlwifi_without_firmware();
    root.module("iwlwifi", "coming");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    let (state, reason) = state_of(&r, "0000:00:14.3");
    assert_eq!(state, "no-driver");
    assert!(reason.contains("iwlwifi is loading"), "{reason}");
}

#[test]
fn a_device_unbound_by_hand_after_working_is_not_a_failure() {
    // The last words of the driver about it are ordinary ones.
    let root = iwlwifi_without_firmware();
    root.kmsg(&dev_record(
        6,
        950,
        "iwlwifi",
        "0000:00:14.3",
        "Detected Intel(R) Wi-Fi 6 AX201 160MHz, REV=0x354",
    ));
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(state_of(&r, "0000:00:14.3").0, "no-driver");
}

// ---------------------------------------------------------------------------
// "no driver in this kernel" only when it is true

const NO_MATCH_ALIAS: &str = "alias pci:v00008086d00001572sv*sd*bc*sc*i* i40e\n";

fn unknown_nic(root: &FakeRoot) {
    // RTL8125 (10ec:8125): r8169 would drive it, but this kernel lists no module for it.
    root.pci("0000:05:00.0", "0x020000", "0x10ec", "0x8125");
}

#[test]
fn no_matching_module_is_certain_only_when_no_builtin_driver_can_hide() {
    let root = FakeRoot::new();
    unknown_nic(&root);
    root.aliases(NO_MATCH_ALIAS);
    let (code, r) = root.status();
    assert_eq!(code, 3, "empty modules.builtin: {r:#}");

    // Before 6.18, built-in drivers' device aliases are not listed anywhere.
    root.file(
        &format!("lib/modules/{RELEASE}/modules.builtin"),
        "kernel/drivers/net/ethernet/realtek/r8169.ko\n",
    );
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    let (state, reason) = state_of(&r, "0000:05:00.0");
    assert_eq!(state, "no-driver");
    assert!(reason.contains("cannot be ruled out"), "{reason}");

    // No modules.builtin at all: nobody can tell.
    root.remove(&format!("lib/modules/{RELEASE}/modules.builtin"));
    assert_eq!(root.status().0, 1);
}

#[test]
fn builtin_driver_aliases_come_from_modules_builtin_modinfo() {
    const REL: &str = "6.18.0-test";
    let root = FakeRoot::new();
    unknown_nic(&root);
    root.file("proc/sys/kernel/osrelease", format!("{REL}\n"))
        .file(&format!("lib/modules/{REL}/modules.alias"), NO_MATCH_ALIAS)
        .file(
            &format!("lib/modules/{REL}/modules.builtin"),
            "kernel/drivers/net/ethernet/realtek/r8169.ko\n",
        )
        .file(
            &format!("lib/modules/{REL}/modules.builtin.modinfo"),
            "r8169.license=GPL\0r8169.alias=pci:v000010ECd00008125sv*sd*bc*sc*i*\0r8169.alias=pci:v000010ECd00008168sv*sd*bc*sc*i*\0",
        );
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    let (state, reason) = state_of(&r, "0000:05:00.0");
    assert_eq!(state, "no-driver");
    assert!(
        reason.contains("r8169 is loaded but has not bound"),
        "{reason}"
    );

    // 6.18 lists every built-in device alias: no match there is certain.
    root.file(
        &format!("lib/modules/{REL}/modules.builtin.modinfo"),
        "r8169.license=GPL\0r8169.alias=pci:v000010ECd00008168sv*sd*bc*sc*i*\0",
    );
    let (code, r) = root.status();
    assert_eq!(code, 3, "{r:#}");
}

#[test]
fn in_an_initramfs_a_card_without_a_driver_in_the_image_is_not_waited_for() {
    let root = FakeRoot::new();
    unknown_nic(&root);
    root.aliases(NO_MATCH_ALIAS)
        .file("etc/initrd-release", "NAME=dracut\nID=dracut\n");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    let (state, reason) = state_of(&r, "0000:05:00.0");
    assert_eq!(state, "ignored");
    assert!(reason.contains("initramfs"), "{reason}");

    // Asked for by name it is waited for, and never a certain failure.
    let (code, r) = root.status_with(&["--expect-pci", "0000:05:00.0"]);
    assert_eq!(code, 1, "{r:#}");
    let (state, reason) = state_of(&r, "0000:05:00.0");
    assert_eq!(state, "no-driver");
    assert!(reason.contains("this initramfs"), "{reason}");
}

// ---------------------------------------------------------------------------
// an old probe failure does not outlive a reload

fn mlx5_failed_then_bound_then_unbound() -> FakeRoot {
    let root = FakeRoot::new();
    let addr = "0000:31:00.0";
    root.aliases("alias pci:v000015B3d0000101Bsv*sd*bc*sc*i* mlx5_core\n")
        .pci(addr, "0x020000", "0x15b3", "0x101b")
        .kmsg(&dev_record(
            3,
            100,
            "mlx5_core",
            addr,
            "mlx5_function_setup:1283:(pid 5): Failed initializing command interface, aborting",
        ))
        .kmsg(&dev_record(
            3,
            101,
            "mlx5_core",
            addr,
            "probe with driver mlx5_core failed with error -12",
        ));
    root
}

#[test]
fn probe_failure_is_certain_until_the_driver_tries_again() {
    let root = mlx5_failed_then_bound_then_unbound();
    root.module("mlx5_core", "live");
    assert_eq!(root.status().0, 3);

    // openibd restarts: modprobe -r, then modprobe mlx5_core, in flight.
    root.remove("sys/module/mlx5_core/initstate")
        .modprobe(4321, 1200, "mlx5_core");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    let (state, reason) = state_of(&r, "0000:31:00.0");
    assert_eq!(state, "no-driver");
    assert!(reason.contains("mlx5_core is loading"), "{reason}");
}

#[test]
fn probe_failure_followed_by_a_later_probe_and_an_unbind_is_history() {
    let root = mlx5_failed_then_bound_then_unbound();
    root.module("mlx5_core", "live").kmsg(&dev_record(
        6,
        200,
        "mlx5_core",
        "0000:31:00.0",
        "firmware version: 16.35.2000",
    ));
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    let (state, reason) = state_of(&r, "0000:31:00.0");
    assert_eq!(state, "no-driver");
    assert!(!reason.contains("error -12"), "{reason}");
}

// ---------------------------------------------------------------------------
// leftover udev markers

fn renamed_nic(db: &str) -> FakeRoot {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .bind("0000:00:04.0", "e1000")
        .netdev("0000:00:04.0", None, "eth0", 3, "52:54:00:00:00:04")
        .udev_db(3, db);
    root
}

#[test]
fn rename_marker_left_by_a_failed_rename_is_ready_with_a_warning() {
    let root = renamed_nic("I:1\nE:ID_RENAMING=1\nE:ID_NET_NAME_PATH=enp0s4\n");
    // Without -v only warnings reach stderr.
    let out = root.run(&["status", "--format", "json"]);
    let (code, r) = common::json_of(&out);
    assert_eq!(code, 0, "{r:#}");
    let (state, reason) = state_of(&r, "0000:00:04.0");
    assert_eq!(state, "ready");
    assert!(reason.contains("ID_RENAMING"), "{reason}");
    assert!(reason.contains("eth0 keeps its name"), "{reason}");
    assert_eq!(r["interfaces"][0]["udev_processed"], true);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.lines()
            .any(|l| l.contains("-> ready") && l.contains("ID_RENAMING")),
        "{err}"
    );

    // The same entry while udev's queue holds events is a rename in progress.
    root.file("run/udev/queue", "");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(state_of(&r, "0000:00:04.0").0, "not-processed");
}

#[test]
fn processing_marker_with_an_empty_queue_is_a_leftover_too() {
    let root = renamed_nic("I:1\nE:ID_PROCESSING=1\n");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert!(state_of(&r, "0000:00:04.0").1.contains("ID_PROCESSING"));
    root.file("run/udev/queue", "");
    assert_eq!(root.status().0, 1);
}

// ---------------------------------------------------------------------------
// --root follows the contract

#[test]
fn control_socket_node_in_a_captured_tree_counts_by_existence() {
    let root = FakeRoot::new();
    common::virtio_nic(&root);
    root.remove("run/udev/control").file("run/udev/queue", "");
    let path = root.path().join("run/udev/control");
    // Nothing listens and nothing ever will; no socket table in the tree.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let (code, r) = root.status();
    assert_eq!(r["udev"]["running"], true, "{r:#}");
    assert_eq!(code, 1, "the queue marker holds the wait");
}

// ---------------------------------------------------------------------------
// a netdev moved into another network namespace

fn vf_in_a_pod() -> FakeRoot {
    // ConnectX-5 VF (mlx5's id table: 15b3:1018) whose netdev the SR-IOV
    // CNI plugin moved into a pod: the net/ class directory stays.
    let root = FakeRoot::new();
    root.pci("0000:3b:00.2", "0x020000", "0x15b3", "0x1018")
        .bind("0000:3b:00.2", "mlx5_core")
        .module("mlx5_core", "live")
        .file("sys/devices/pci0000:00/0000:3b:00.2/enable", "1\n");
    std::fs::create_dir_all(root.path().join("sys/devices/pci0000:00/0000:3b:00.2/net")).unwrap();
    root
}

#[test]
fn netdev_moved_into_a_pod_is_ignored_when_the_cni_plugin_recorded_it() {
    let root = vf_in_a_pod();
    let (code, r) = root.status();
    assert_eq!(code, 1, "without a trace it is only a hint: {r:#}");
    let (state, reason) = state_of(&r, "0000:3b:00.2");
    assert_eq!(state, "no-netdev");
    assert!(reason.contains("another network namespace"), "{reason}");

    root.file(
        "var/lib/cni/sriov/5a3c2f9e1b7d-net1",
        r#"{"cniVersion":"0.3.1","name":"sriov-net","type":"sriov","deviceID":"0000:3b:00.2","vlan":0}"#,
    );
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    let (state, reason) = state_of(&r, "0000:3b:00.2");
    assert_eq!(state, "ignored");
    assert!(
        reason.contains("var/lib/cni/sriov/5a3c2f9e1b7d-net1"),
        "{reason}"
    );
    assert_eq!(device(&r, "0000:3b:00.2")["driver"], "mlx5_core");
}

// ---------------------------------------------------------------------------
// read errors other than absence are said, with the path

#[test]
fn an_unreadable_attribute_is_a_warning_naming_the_file() {
    let root = FakeRoot::new();
    common::virtio_nic(&root);
    // A symlink loop where the MAC address should be: ELOOP, not absence.
    let attr = root
        .path()
        .join("sys/devices/pci0000:00/0000:00:03.0/virtio0/net/ens3/address");
    std::fs::remove_file(&attr).unwrap();
    std::os::unix::fs::symlink("address", &attr).unwrap();
    let out = root.run(&["status", "--format", "json"]);
    let (code, r) = common::json_of(&out);
    assert_eq!(code, 0, "{r:#}");
    let err = String::from_utf8_lossy(&out.stderr);
    let warned: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("cannot read") && l.contains("ens3/address"))
        .collect();
    assert_eq!(warned.len(), 1, "{err}");
}

#[test]
fn pci_core_errors_about_an_unbound_function_are_not_its_driver_giving_up() {
    // The bus prefixes messages about an unbound function with "pci"; the
    // loaded iwlwifi said nothing about it.
    let root = FakeRoot::new();
    let addr = "0000:00:14.3";
    root.aliases("alias pci:v00008086d000002F0sv*sd*bc*sc*i* iwlwifi\n")
        .pci(addr, "0x028000", "0x8086", "0x02f0")
        .module("iwlwifi", "live")
        .kmsg(&dev_record(
            3,
            50,
            "pci",
            addr,
            "BAR 0: failed to assign [mem size 0x00004000 64bit]",
        ));
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    let (state, reason) = state_of(&r, addr);
    assert_eq!(state, "no-driver");
    assert!(
        reason.contains("iwlwifi is loaded but has not bound"),
        "{reason}"
    );
}

#[test]
fn a_failed_driver_loading_again_holds_even_without_a_module_list() {
    // No modules.alias to say which modules match: the failed driver's own
    // module loading again is enough to stop calling the failure certain.
    let root = FakeRoot::new();
    let addr = "0000:31:00.0";
    root.pci(addr, "0x020000", "0x15b3", "0x101b")
        .kmsg(&dev_record(
            3,
            101,
            "mlx5_core",
            addr,
            "probe with driver mlx5_core failed with error -12",
        ));
    assert_eq!(root.status().0, 3);
    root.modprobe(4321, 1200, "mlx5_core");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(state_of(&r, addr).0, "no-driver");
}

#[test]
fn a_driver_that_gave_up_is_quoted_by_its_errors_not_its_warnings() {
    // A warning of the same attempt, before the errors: not the cause.
    let root = iwlwifi_without_firmware_warning_first(Some(
        "api flags index 2 larger than supported by driver",
    ));
    let (code, r) = root.status();
    assert_eq!(code, 3, "{r:#}");
    let reason = state_of(&r, "0000:00:14.3").1;
    assert!(reason.contains("no suitable firmware found!\""), "{reason}");
    assert!(!reason.contains("api flags"), "{reason}");
    assert!(!reason.contains("Direct firmware load"), "{reason}");
}

#[test]
fn a_function_left_disabled_by_an_unknown_driver_says_so_and_waits() {
    let root = FakeRoot::new();
    let dir = "sys/devices/pci0000:00/0000:02:00.0";
    root.pci("0000:02:00.0", "0x020000", "0x1d6a", "0x07b1")
        .bind("0000:02:00.0", "atlantic")
        .module("atlantic", "live")
        .file(&format!("{dir}/enable"), "0\n");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    let (state, reason) = state_of(&r, "0000:02:00.0");
    assert_eq!(state, "no-netdev");
    assert!(reason.contains("enable = 0"), "{reason}");
    assert!(reason.contains("--ignore 0000:02:00.0"), "{reason}");
    // Enabled: probe may still be creating the netdev; no such hint.
    root.file(&format!("{dir}/enable"), "1\n");
    let reason = state_of(&root.status().1, "0000:02:00.0").1;
    assert!(!reason.contains("enable = 0"), "{reason}");
    // While its module is still loading, enable = 0 is the probe's start.
    root.file(&format!("{dir}/enable"), "0\n")
        .module("atlantic", "coming");
    let reason = state_of(&root.status().1, "0000:02:00.0").1;
    assert!(!reason.contains("enable = 0"), "{reason}");
}

#[test]
fn a_pod_netdev_of_a_function_named_by_the_user_is_still_waited_for() {
    let root = vf_in_a_pod();
    root.file(
        "var/lib/cni/sriov/5a3c2f9e1b7d-net1",
        r#"{"deviceID":"0000:3b:00.2"}"#,
    );
    let (code, r) = root.status_with(&["--expect-pci", "0000:3b:00.2"]);
    assert_eq!(code, 1, "{r:#}");
    let (state, reason) = state_of(&r, "0000:3b:00.2");
    assert_eq!(state, "no-netdev");
    assert!(reason.contains("5a3c2f9e1b7d-net1"), "{reason}");
}

#[test]
fn a_function_named_without_auto_discovery_gets_its_module_named() {
    let root = FakeRoot::new();
    root.aliases("alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000\n")
        .pci("0000:00:04.0", "0x020000", "0x8086", "0x100e");
    let (code, r) = root.status_with(&["--no-auto", "--expect-pci", "0000:00:04.0"]);
    assert_eq!(code, 1, "{r:#}");
    let (state, reason) = state_of(&r, "0000:00:04.0");
    assert_eq!(state, "no-driver");
    assert!(reason.contains("modprobe e1000"), "{reason}");
}
