//! One fake machine per SPEC state and per failure netsettle exists for,
//! checked through the binary's JSON report and exit code.

mod common;

use common::{device, field, state_of, virtio_nic, FakeRoot};

const MLX4_ALIAS: &str = "alias pci:v000015B3d00001003sv*sd*bc*sc*i* mlx4_core\n";
const MLX5_ALIAS: &str = "alias pci:v000015B3d0000101Bsv*sd*bc*sc*i* mlx5_core\n";
const E1000_ALIAS: &str = "alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000\n\
                           alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000e_fake\n";

#[test]
fn processed_virtio_nic_is_ready_and_exits_0() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["ready"], true);
    assert_eq!(r["exit_code"], 0);
    assert_eq!(state_of(&r, "0000:00:03.0").0, "ready");
    assert_eq!(device(&r, "0000:00:03.0")["netdevs"][0], "ens3");
    assert_eq!(r["interfaces"][0]["name"], "ens3");
    assert_eq!(r["interfaces"][0]["pci"], "0000:00:03.0");
    assert_eq!(r["interfaces"][0]["udev_processed"], true);
    assert_eq!(r["interfaces"][0]["name_assign_type"], 4);
}

#[test]
fn report_has_every_contract_field() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    let (_, r) = root.status_with(&["--expect-iface", "ens3"]);
    for key in [
        "ready",
        "exit_code",
        "elapsed_ms",
        "udev",
        "devices",
        "interfaces",
        "expectations",
        "pending_modules",
        "kernel_problems",
    ] {
        assert!(r.get(key).is_some(), "missing {key}: {r:#}");
    }
    for key in ["running", "queue_empty"] {
        assert!(r["udev"].get(key).is_some(), "udev.{key}");
    }
    let d = device(&r, "0000:00:03.0");
    for key in [
        "pci", "class", "vendor", "device", "driver", "netdevs", "state", "reason",
    ] {
        assert!(d.get(key).is_some(), "devices[].{key}: {d:#}");
    }
    assert_eq!(d["class"], "0x020000");
    assert_eq!(d["vendor"], "0x1af4");
    for key in [
        "name",
        "ifindex",
        "pci",
        "mac",
        "udev_processed",
        "name_assign_type",
    ] {
        assert!(r["interfaces"][0].get(key).is_some(), "interfaces[].{key}");
    }
    assert_eq!(r["expectations"][0]["kind"], "interface");
    assert_eq!(r["expectations"][0]["value"], "ens3");
    assert_eq!(r["expectations"][0]["met"], true);
}

#[test]
fn mlx4_with_mlx4_en_still_loading_is_no_netdev_naming_the_companion() {
    // ConnectX-3: udev loaded mlx4_core, which asked the kernel for mlx4_en.
    let root = FakeRoot::new();
    root.aliases(MLX4_ALIAS)
        .pci("0000:04:00.0", "0x020000", "0x15b3", "0x1003")
        .bind("0000:04:00.0", "mlx4_core")
        .module("mlx4_core", "live")
        .module("mlx4_en", "coming")
        .modprobe(4242, 2, "mlx4_en");
    let (code, r) = root.status();
    assert_eq!(code, 1);
    let (state, reason) = state_of(&r, "0000:04:00.0");
    assert_eq!(state, "no-netdev");
    assert!(
        reason.contains("mlx4_core bound") && reason.contains("mlx4_en"),
        "{reason}"
    );
    assert!(reason.contains("requested by mlx4_core"), "{reason}");
    assert_eq!(r["pending_modules"][0], "mlx4_en");
}

#[test]
fn mlx4_without_mlx4_en_says_how_to_load_it() {
    let root = FakeRoot::new();
    root.pci("0000:04:00.0", "0x020000", "0x15b3", "0x1003")
        .bind("0000:04:00.0", "mlx4_core")
        .module("mlx4_core", "live");
    let (_, r) = root.status();
    let (state, reason) = state_of(&r, "0000:04:00.0");
    assert_eq!(state, "no-netdev");
    assert!(reason.contains("modprobe mlx4_en"), "{reason}");
}

#[test]
fn infiniband_port_without_ib_ipoib_is_no_netdev_with_the_fix() {
    // ConnectX-6 in InfiniBand mode: mlx5_ib registered the port, nothing
    // loaded ib_ipoib, so ib0 never appears.
    let root = FakeRoot::new();
    root.aliases(MLX5_ALIAS)
        .pci("0000:4b:00.0", "0x020700", "0x15b3", "0x101b")
        .bind("0000:4b:00.0", "mlx5_core")
        .module("mlx5_core", "live")
        .module("mlx5_ib", "live")
        .ib_port("mlx5_0", "0000:4b:00.0", 1, "InfiniBand");
    let (code, r) = root.status();
    assert_eq!(code, 1);
    let (state, reason) = state_of(&r, "0000:4b:00.0");
    assert_eq!(state, "no-netdev");
    assert!(
        reason.contains("ib_ipoib is not loaded")
            && reason.contains("modprobe ib_ipoib")
            && reason.contains("IPoIB=no"),
        "{reason}"
    );
}

#[test]
fn infiniband_port_with_ipoib_netdev_is_ready() {
    let root = FakeRoot::new();
    root.pci("0000:4b:00.0", "0x020700", "0x15b3", "0x101b")
        .bind("0000:4b:00.0", "mlx5_core")
        .module("ib_ipoib", "live")
        .ib_port("mlx5_0", "0000:4b:00.0", 1, "InfiniBand")
        .netdev_typed(
            "0000:4b:00.0",
            None,
            "ib0",
            5,
            "00:00:10:87:fe:80:00:00:00:00:00:00:b8:59:9f:03:00:1c:2a:3e",
            32,
        )
        .processed(5, "mlx5_core");
    let (code, r) = root.status_with(&["--expect-iface", "ib0"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(state_of(&r, "0000:4b:00.0").0, "ready");
}

#[test]
fn ipoib_no_in_config_does_not_wait_for_ib0() {
    let root = FakeRoot::new();
    root.pci("0000:4b:00.0", "0x020700", "0x15b3", "0x101b")
        .bind("0000:4b:00.0", "mlx5_core")
        .ib_port("mlx5_0", "0000:4b:00.0", 1, "InfiniBand")
        .file("etc/netsettle.conf", "[Settle]\nIPoIB=no\n");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(state_of(&r, "0000:4b:00.0").0, "ready");
}

#[test]
fn ipoib_auto_does_not_wait_when_the_kernel_has_no_ib_ipoib() {
    let root = FakeRoot::new();
    root.pci("0000:4b:00.0", "0x020700", "0x15b3", "0x101b")
        .bind("0000:4b:00.0", "mlx5_core")
        .ib_port("mlx5_0", "0000:4b:00.0", 1, "InfiniBand")
        .file(
            &format!("lib/modules/{}/modules.dep", common::RELEASE),
            "kernel/drivers/net/ethernet/mellanox/mlx5/core/mlx5_core.ko:\n",
        )
        .file(
            &format!("lib/modules/{}/modules.builtin", common::RELEASE),
            "kernel/drivers/pci/pci-stub.ko\n",
        );
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    let (state, reason) = state_of(&r, "0000:4b:00.0");
    assert_eq!(state, "ready");
    assert!(reason.contains("no ib_ipoib"), "{reason}");
}

#[test]
fn mlx5_probe_failure_from_the_kernel_log_is_probe_failed_and_exits_3() {
    // REAL-LOGS.md: IOMMU trouble, -ENOMEM, no driver link left behind.
    let root = FakeRoot::new();
    root.aliases(MLX5_ALIAS)
        .pci("0000:31:00.0", "0x020000", "0x15b3", "0x101b")
        .module("mlx5_core", "live")
        .kmsg(concat!(
            "[   37.502684] mlx5_core 0000:31:00.0: firmware version: XXXXX\n",
            "[   37.516912] mlx5_core 0000:31:00.0: mlx5_function_setup:1283:(pid 5): Failed initializing command interface, aborting\n",
            "[   37.527513] mlx5_core 0000:31:00.0: probe_one:1961:(pid 5): mlx5_init_one failed with error code -12\n",
            "[   37.536789] mlx5_core: probe of 0000:31:00.0 failed with error -12\n",
        ));
    let (code, r) = root.status();
    assert_eq!(code, 3, "{r:#}");
    assert_eq!(r["exit_code"], 3);
    let (state, reason) = state_of(&r, "0000:31:00.0");
    assert_eq!(state, "probe-failed");
    assert!(
        reason.contains("mlx5_core: probe of 0000:31:00.0 failed with error -12"),
        "{reason}"
    );
    assert!(reason.contains("ENOMEM"), "{reason}");
}

#[test]
fn newer_kernel_probe_failure_record_is_recognised() {
    let root = FakeRoot::new();
    // From 6.9 the driver core prints the failure with dev_err(), level 3,
    // with the device's dictionary (call_driver_probe in drivers/base/dd.c);
    // up to 6.8 it was pr_warn(), level 4, without one.
    root.pci("0000:31:00.0", "0x020000", "0x15b3", "0x101b").kmsg(concat!(
        "3,900,37516912,-;mlx5_core 0000:31:00.0: mlx5_function_setup:1283:(pid 5): Failed initializing command interface, aborting\n",
        " SUBSYSTEM=pci\n",
        " DEVICE=+pci:0000:31:00.0\n",
        "3,901,37536789,-;mlx5_core 0000:31:00.0: probe with driver mlx5_core failed with error -12\n",
        " SUBSYSTEM=pci\n",
        " DEVICE=+pci:0000:31:00.0\n",
    ));
    let (code, r) = root.status();
    assert_eq!(code, 3);
    let (state, reason) = state_of(&r, "0000:31:00.0");
    assert_eq!(state, "probe-failed");
    assert!(
        reason.contains("Failed initializing command interface"),
        "{reason}"
    );
}

#[test]
fn probe_failure_followed_by_a_successful_bind_is_history() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.kmsg("4,10,100,-;virtio-pci: probe of 0000:00:03.0 failed with error -12\n");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(state_of(&r, "0000:00:03.0").0, "ready");
}

#[test]
fn kdump_irq_exhaustion_lands_in_kernel_problems() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.kmsg(concat!(
        "3,200,17403222,-;mpt3sas0: unable to allocate interrupt 214, r: -38!\n",
        "4,201,17428239,-;------------[ cut here ]------------\n",
        "2,202,17433467,-;kernel BUG at arch/x86/kernel/apic/io_apic.c:1358!\n",
        "3,203,17500000,-;virtio-pci 0000:00:03.0: unable to allocate interrupt\n",
    ));
    let (_, r) = root.status();
    let texts = field(&r["kernel_problems"], "text");
    assert!(
        texts.contains(&"kernel BUG at arch/x86/kernel/apic/io_apic.c:1358!"),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("0000:00:03.0: unable to allocate interrupt")),
        "{texts:?}"
    );
    assert!(
        !texts.iter().any(|t| t.starts_with("mpt3sas0")),
        "not a watched device: {texts:?}"
    );
    let bug = r["kernel_problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["text"].as_str().unwrap().starts_with("kernel BUG"))
        .unwrap();
    assert_eq!(bug["usec"], 17433467);
}

#[test]
fn kdump_blacklisted_i40e_is_ignored_in_auto_mode() {
    let root = FakeRoot::new();
    root.aliases("alias pci:v00008086d00001572sv*sd*bc*sc*i* i40e\n")
        .cmdline("BOOT_IMAGE=/vmlinuz ro irqpoll nr_cpus=1 reset_devices modprobe.blacklist=i40e")
        .pci("0000:3b:00.0", "0x020000", "0x8086", "0x1572");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    let (state, reason) = state_of(&r, "0000:3b:00.0");
    assert_eq!(state, "ignored");
    assert!(
        reason.contains("i40e") && reason.contains("modprobe.blacklist"),
        "{reason}"
    );
}

#[test]
fn blacklisted_driver_of_an_expected_device_is_waited_for_and_named() {
    let root = FakeRoot::new();
    root.aliases("alias pci:v00008086d00001572sv*sd*bc*sc*i* i40e\n")
        .file(
            "etc/modprobe.d/kdump.conf",
            "# no NIC in kdump\nblacklist i40e\n",
        )
        .pci("0000:3b:00.0", "0x020000", "0x8086", "0x1572");
    let (code, r) = root.status_with(&["--expect-pci", "0000:3b:00.0"]);
    assert_eq!(code, 1, "{r:#}");
    let (state, reason) = state_of(&r, "0000:3b:00.0");
    assert_eq!(state, "no-driver");
    assert!(
        reason.contains("blacklisted") && reason.contains("kdump.conf"),
        "{reason}"
    );
    assert_eq!(r["expectations"][0]["met"], false);
}

#[test]
fn device_no_module_matches_is_no_driver_and_certain() {
    let root = FakeRoot::new();
    root.aliases(E1000_ALIAS)
        .pci("0000:00:05.0", "0x020000", "0x10ec", "0x8139");
    let (code, r) = root.status();
    assert_eq!(code, 3, "{r:#}");
    let (state, reason) = state_of(&r, "0000:00:05.0");
    assert_eq!(state, "no-driver");
    assert!(
        reason.contains("no module of kernel 6.1.0-test matches pci:v000010ECd00008139"),
        "{reason}"
    );
}

#[test]
fn unbound_device_with_an_unloaded_module_names_the_module() {
    let root = FakeRoot::new();
    root.aliases(E1000_ALIAS)
        .pci("0000:00:04.0", "0x020000", "0x8086", "0x100e");
    let (code, r) = root.status();
    assert_eq!(code, 1);
    let (state, reason) = state_of(&r, "0000:00:04.0");
    assert_eq!(state, "no-driver");
    assert!(reason.contains("modprobe e1000"), "{reason}");
}

#[test]
fn unbound_device_whose_module_is_loading_says_so() {
    let root = FakeRoot::new();
    root.aliases(E1000_ALIAS)
        .pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .module("e1000", "coming");
    let (_, r) = root.status();
    let (state, reason) = state_of(&r, "0000:00:04.0");
    assert_eq!(state, "no-driver");
    assert!(reason.contains("e1000 is loading"), "{reason}");
}

#[test]
fn missing_modules_alias_means_no_driver_but_not_certain() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e");
    let (code, r) = root.status();
    assert_eq!(code, 1);
    let (_, reason) = state_of(&r, "0000:00:04.0");
    assert!(reason.contains("modules.alias"), "{reason}");
}

#[test]
fn netdev_without_udev_database_entry_is_not_processed() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .bind("0000:00:04.0", "e1000")
        .netdev("0000:00:04.0", None, "eth0", 3, "52:54:00:00:00:04");
    let (code, r) = root.status();
    assert_eq!(code, 1);
    let (state, reason) = state_of(&r, "0000:00:04.0");
    assert_eq!(state, "not-processed");
    assert!(reason.contains("run/udev/data/n3"), "{reason}");
    assert_eq!(r["interfaces"][0]["udev_processed"], false);
}

#[test]
fn rename_in_progress_is_not_processed() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .bind("0000:00:04.0", "e1000")
        .netdev("0000:00:04.0", None, "eth0", 3, "52:54:00:00:00:04")
        .udev_db(3, "I:1\nE:ID_RENAMING=1\nE:ID_NET_NAME_PATH=enp0s4\n")
        // udev renames while the add event is still in its queue.
        .file("run/udev/queue", "");
    let (_, r) = root.status();
    let (state, reason) = state_of(&r, "0000:00:04.0");
    assert_eq!(state, "not-processed");
    assert!(reason.contains("renaming eth0"), "{reason}");
}

#[test]
fn busy_udev_queue_keeps_netsettle_waiting() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.file("run/udev/queue", "");
    let (code, r) = root.status();
    assert_eq!(code, 1);
    assert_eq!(r["ready"], false);
    assert_eq!(r["udev"]["queue_empty"], false);
}

#[test]
fn without_udevd_the_udev_conditions_are_skipped_with_one_warning() {
    let root = FakeRoot::new();
    root.pci("0000:00:03.0", "0x020000", "0x1af4", "0x1000")
        .bind("0000:00:03.0", "virtio-pci")
        .netdev(
            "0000:00:03.0",
            Some("virtio2"),
            "eth0",
            4,
            "02:fc:00:00:00:01",
        )
        .file("run/udev/queue", "")
        .remove("run/udev/control");
    let out = root.run(&["status", "--format", "json"]);
    let (code, r) = common::json_of(&out);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["udev"]["running"], false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("udevd is not running").count(),
        1,
        "{stderr}"
    );
}

#[test]
fn vfio_bound_function_is_passthrough_and_not_waited_for() {
    let root = FakeRoot::new();
    root.pci("0000:00:06.0", "0x020000", "0x8086", "0x100e")
        .bind("0000:00:06.0", "vfio-pci");
    let (code, r) = root.status();
    assert_eq!(code, 0);
    assert_eq!(state_of(&r, "0000:00:06.0").0, "passthrough");
}

#[test]
fn driverless_sriov_vf_is_ignored() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.pci("0000:00:03.2", "0x020000", "0x15b3", "0x1018")
        .vf_of("0000:00:03.2", "0000:00:03.0");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    let (state, reason) = state_of(&r, "0000:00:03.2");
    assert_eq!(state, "ignored");
    assert!(reason.contains("virtual function"), "{reason}");
}

#[test]
fn ignore_option_excludes_a_function_by_address_or_driver() {
    let root = FakeRoot::new();
    root.pci("0000:00:1f.6", "0x020000", "0x8086", "0x15bb");
    let (code, r) = root.status_with(&["--ignore", "0000:00:1f.6"]);
    assert_eq!(code, 0);
    assert_eq!(state_of(&r, "0000:00:1f.6").0, "ignored");

    root.bind("0000:00:1f.6", "e1000e");
    let (code, r) = root.status_with(&["--ignore", "e1000e"]);
    assert_eq!(code, 0);
    assert_eq!(state_of(&r, "0000:00:1f.6").0, "ignored");
}

#[test]
fn no_auto_ignores_undeclared_nics_and_checks_expectations() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e");
    virtio_nic(&root);
    let (code, r) = root.status_with(&["--no-auto", "--expect-mac", "52:54:00:12:34:56"]);
    assert_eq!(code, 0, "{r:#}");
    // Only the function behind the expected interface is watched.
    let pcis = field(&r["devices"], "pci");
    assert_eq!(pcis, ["0000:00:03.0"]);
    assert_eq!(r["expectations"][0]["kind"], "mac");
    assert_eq!(r["expectations"][0]["met"], true);

    let (code, r) = root.status_with(&["--no-auto", "--expect-iface", "eth9"]);
    assert_eq!(code, 1);
    assert_eq!(r["expectations"][0]["met"], false);
}

#[test]
fn config_driver_and_min_interfaces_expectations_are_evaluated() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.file(
        "etc/netsettle.conf",
        "[Expect]\nDriver=virtio_net\nMinInterfaces=2\n",
    );
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    let exp = r["expectations"].as_array().unwrap();
    assert_eq!(exp[0]["kind"], "driver");
    assert_eq!(exp[0]["met"], true);
    assert_eq!(exp[1]["kind"], "min_interfaces");
    assert_eq!(exp[1]["value"], "2");
    assert_eq!(exp[1]["met"], false);
}

#[test]
fn netdev_under_a_virtio_child_belongs_to_its_pci_function() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    let (_, r) = root.status();
    assert_eq!(device(&r, "0000:00:03.0")["netdevs"][0], "ens3");
}

#[test]
fn non_network_functions_are_not_watched() {
    let root = FakeRoot::new();
    root.pci("0000:00:02.0", "0x018000", "0x1af4", "0x1001");
    let (code, r) = root.status();
    assert_eq!(code, 0);
    assert!(r["devices"].as_array().unwrap().is_empty());
}

#[test]
fn devices_are_sorted_by_address_and_interfaces_by_name() {
    let root = FakeRoot::new();
    root.pci("0000:00:05.0", "0x020000", "0x8086", "0x100e")
        .bind("0000:00:05.0", "e1000")
        .netdev("0000:00:05.0", None, "ens5", 3, "52:54:00:00:00:05")
        .processed(3, "e1000");
    virtio_nic(&root);
    let (_, r) = root.status();
    let pcis = field(&r["devices"], "pci");
    assert_eq!(pcis, ["0000:00:03.0", "0000:00:05.0"]);
    let names = field(&r["interfaces"], "name");
    assert_eq!(names, ["ens3", "ens5"]);
}

#[test]
fn netsettle_off_on_the_kernel_command_line_exits_0_at_once() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .cmdline("ro rd.netsettle=off");
    let (code, _) = root.status();
    assert_eq!(code, 0);
}

#[test]
fn kernel_command_line_expect_adds_an_interface() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.cmdline("ro netsettle.expect=ens3,ib0");
    let (code, r) = root.status();
    assert_eq!(code, 1);
    let values: Vec<(&str, bool)> = r["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["value"].as_str().unwrap(), e["met"].as_bool().unwrap()))
        .collect();
    assert_eq!(values, [("ens3", true), ("ib0", false)]);
}

#[test]
fn text_report_is_one_line_when_ready_and_a_table_otherwise() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    let out = root.run(&["status"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("ready in ") && text.contains("1 NIC (ens3)"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1);

    root.pci("0000:04:00.0", "0x020000", "0x15b3", "0x1003")
        .bind("0000:04:00.0", "mlx4_core");
    let out = root.run(&["status"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("0000:04:00.0  mlx4_core  no-netdev"),
        "{text}"
    );
    assert!(
        !text.contains("0000:00:03.0"),
        "ready devices stay out of the table: {text}"
    );
}

#[test]
fn control_characters_in_interface_names_stay_escaped() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .bind("0000:00:04.0", "e1000")
        .netdev(
            "0000:00:04.0",
            None,
            "bad\u{1b}[2Jname",
            3,
            "52:54:00:00:00:04",
        );
    let out = root.run(&["status"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(text.contains("bad\\x1b[2Jname"), "{text}");
    let (_, r) = root.status();
    assert_eq!(r["interfaces"][0]["name"], "bad\\x1b[2Jname");
}

#[test]
fn device_whose_every_interface_is_ignored_is_not_waited_for() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .bind("0000:00:04.0", "e1000")
        .netdev("0000:00:04.0", None, "eth0", 3, "52:54:00:00:00:04");
    let (code, r) = root.status_with(&["--ignore", "eth*"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(state_of(&r, "0000:00:04.0").0, "ignored");
    assert!(
        r["interfaces"].as_array().unwrap().is_empty(),
        "ignored interfaces are not listed"
    );
}
