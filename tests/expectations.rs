//! Readiness beyond the netdev: link, RDMA port states, SR-IOV VFs, and the
//! interfaces the network configuration names. Reported always, waited for
//! only when asked. Attribute formats as the kernel prints them
//! (Documentation/ABI/stable/sysfs-class-infiniband,
//! Documentation/ABI/testing/sysfs-class-net, sysfs-bus-pci).

mod common;

use std::os::unix::fs::symlink;
use std::path::Path;

use common::{device, finish_with, state_of, virtio_nic, wait_until_watching, FakeRoot};
use serde_json::Value;

/// The expectation entries of one kind.
fn expectations<'a>(r: &'a Value, kind: &str) -> Vec<&'a Value> {
    r["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

fn reason(e: &Value) -> &str {
    e["reason"].as_str().unwrap_or("")
}

// ---------------------------------------------------------------------------
// link

/// Link attributes of `ens3` (the virtio NIC): `flags` as the kernel prints
/// it (`%#x`), `carrier` absent while the interface is down (reading it
/// fails with EINVAL).
fn set_link(root: &FakeRoot, operstate: &str, carrier: Option<&str>, flags: &str) {
    let dir = "sys/devices/pci0000:00/0000:00:03.0/virtio0/net/ens3";
    root.file(&format!("{dir}/operstate"), format!("{operstate}\n"))
        .file(&format!("{dir}/flags"), format!("{flags}\n"));
    match carrier {
        Some(c) => root.file(&format!("{dir}/carrier"), format!("{c}\n")),
        None => root.remove(&format!("{dir}/carrier")),
    };
}

#[test]
fn link_down_is_reported_only_when_asked_for() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    set_link(&root, "down", Some("0"), "0x1003");
    let (code, r) = root.status();
    assert_eq!(code, 0, "no link wait by default: {r:#}");
    assert!(expectations(&r, "link").is_empty());

    let (code, r) = root.status_with(&["--expect-link", "ens3"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(r["ready"], false);
    assert_eq!(
        state_of(&r, "0000:00:03.0").0,
        "ready",
        "state is about existence"
    );
    let e = expectations(&r, "link");
    assert_eq!(
        (e[0]["value"].as_str(), &e[0]["met"]),
        (Some("ens3"), &Value::Bool(false))
    );
    assert_eq!(reason(e[0]), "no carrier (operstate down): cable or peer");
}

#[test]
fn administratively_down_interface_says_nothing_brought_it_up() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    set_link(&root, "down", None, "0x1002");
    root.file("etc/netsettle.conf", "[Expect]\nLink=ens3\n");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(
        reason(expectations(&r, "link")[0]),
        "down: nothing has brought it up"
    );
    let out = root.run(&["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("expected link ens3: not met: down: nothing has brought it up"),
        "{text}"
    );
}

#[test]
fn link_up_by_operstate_or_by_carrier_is_met() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    set_link(&root, "up", Some("1"), "0x1003");
    let (code, r) = root.status_with(&["--expect-link", "ens3"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(expectations(&r, "link")[0]["met"], true);
    assert!(expectations(&r, "link")[0].get("reason").is_none());
    // A driver that does not track the operational state leaves it unknown.
    set_link(&root, "unknown", Some("1"), "0x1003");
    root.cmdline("ro rd.netsettle.expect_link=ens3");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
}

#[test]
fn link_of_a_missing_interface_is_waited_for_and_named() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    let (code, r) = root.status_with(&["--expect-link", "eth9"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(
        reason(expectations(&r, "link")[0]),
        "no interface eth9 (yet)"
    );
}

#[test]
fn waiting_for_link_ends_when_carrier_comes() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    set_link(&root, "down", Some("0"), "0x1003");
    let mut child = root.spawn(&[
        "-v",
        "--timeout",
        "30",
        "--format",
        "json",
        "--expect-link",
        "ens3",
    ]);
    let stderr = wait_until_watching(&mut child);
    // Carrier changes come with no uevent and no inotify event: the wait
    // loop's fast tick must see them.
    set_link(&root, "up", Some("1"), "0x1003");
    let (code, r, _) = finish_with(child, stderr);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(expectations(&r, "link")[0]["met"], true);
}

#[test]
fn bad_link_names_are_usage_errors() {
    let root = FakeRoot::new();
    let out = root.run(&["status", "--expect-link", "a/b"]);
    assert_eq!(out.status.code(), Some(2));
    root.file("etc/netsettle.conf", "[Expect]\nLink=eth0 x/y\n");
    let out = root.run(&["status"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("netsettle.conf:2: Link: invalid interface name \"x/y\""),
        "{err}"
    );
    // An alias label is no netdev: the kernel's dev_valid_name() refuses ':'.
    root.file("etc/netsettle.conf", "");
    let out = root.run(&["status", "--expect-link", "eth0:1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--expect-link: invalid interface name \"eth0:1\""),
        "{err}"
    );
}

// ---------------------------------------------------------------------------
// RDMA ports

/// A ConnectX-6 (15b3:101b, class 0x0207) with mlx5_0 port 1 and its ib0.
fn connectx6(root: &FakeRoot, state: &str, phys: &str) {
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
    set_port(root, state, phys);
}

fn set_port(root: &FakeRoot, state: &str, phys: &str) {
    let dir = "sys/devices/pci0000:00/0000:4b:00.0/infiniband/mlx5_0/ports/1";
    root.file(&format!("{dir}/state"), format!("{state}\n"))
        .file(&format!("{dir}/phys_state"), format!("{phys}\n"))
        .file(&format!("{dir}/rate"), "200 Gb/sec (4X HDR)\n");
}

#[test]
fn rdma_ports_are_reported_without_the_state_numbers_and_not_waited_for_by_default() {
    let root = FakeRoot::new();
    connectx6(&root, "2: INIT", "5: LinkUp");
    let (code, r) = root.status();
    assert_eq!(
        code, 0,
        "a fabric without a subnet manager must not hold the boot: {r:#}"
    );
    let ports = &device(&r, "0000:4b:00.0")["rdma_ports"];
    assert_eq!(
        ports,
        &serde_json::json!([{"device": "mlx5_0", "port": 1, "state": "INIT",
            "phys_state": "LinkUp", "link_layer": "InfiniBand", "rate": "200 Gb/sec (4X HDR)"}])
    );
    assert!(expectations(&r, "rdma-ports").is_empty());
    let text = String::from_utf8_lossy(&root.run(&["status"]).stdout).to_string();
    assert!(
        text.starts_with("ready in ") && text.ends_with("1 NIC (ib0); RDMA ports: mlx5_0/1 INIT\n"),
        "the ready report stays one line: {text}"
    );
    let out = root.run(&["status", "--expect-rdma-ports", "active"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains(
            "0000:4b:00.0  rdma mlx5_0/1: INIT (LinkUp, InfiniBand, 200 Gb/sec (4X HDR))"
        ),
        "{text}"
    );
}

#[test]
fn rdma_port_in_init_waits_for_a_subnet_manager_when_asked() {
    let root = FakeRoot::new();
    connectx6(&root, "2: INIT", "5: LinkUp");
    let (code, r) = root.status_with(&["--expect-rdma-ports", "active"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(
        state_of(&r, "0000:4b:00.0").0,
        "ready",
        "state is about existence"
    );
    let e = expectations(&r, "rdma-ports");
    assert_eq!(e[0]["value"], "mlx5_0/1");
    assert_eq!(
        reason(e[0]),
        "mlx5_0: no subnet manager has configured port 1 (is opensm running on the fabric?)"
    );
}

#[test]
fn rdma_port_polling_or_disabled_is_a_cable_or_peer_problem() {
    for phys in ["2: Polling", "3: Disabled"] {
        let root = FakeRoot::new();
        connectx6(&root, "1: DOWN", phys);
        root.file("etc/netsettle.conf", "[Expect]\nRDMAPorts=active\n");
        let (code, r) = root.status();
        assert_eq!(code, 1, "{r:#}");
        let why = reason(expectations(&r, "rdma-ports")[0]).to_string();
        assert!(why.ends_with("no link: cable or peer"), "{phys}: {why}");
    }
}

#[test]
fn active_rdma_ports_meet_the_expectation() {
    let root = FakeRoot::new();
    connectx6(&root, "4: ACTIVE", "5: LinkUp");
    root.cmdline("ro netsettle.expect_rdma_ports=active");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(expectations(&r, "rdma-ports")[0]["met"], true);
}

#[test]
fn rdma_port_wait_without_any_rdma_device_names_the_function_still_without_one() {
    let root = FakeRoot::new();
    root.pci("0000:4b:00.0", "0x020700", "0x15b3", "0x101b")
        .bind("0000:4b:00.0", "mlx5_core")
        .file("etc/netsettle.conf", "[Settle]\nIPoIB=no\n");
    let (code, r) = root.status_with(&["--expect-rdma-ports", "active"]);
    assert_eq!(code, 1, "{r:#}");
    let e = expectations(&r, "rdma-ports");
    assert_eq!(e[0]["value"], "active");
    assert!(
        reason(e[0]).starts_with("0000:4b:00.0 has no RDMA device yet"),
        "{r:#}"
    );
    // Nothing RDMA on the machine: nothing to wait for.
    let plain = FakeRoot::new();
    virtio_nic(&plain);
    let (code, r) = plain.status_with(&["--expect-rdma-ports", "active"]);
    assert_eq!(code, 0, "{r:#}");
}

#[test]
fn bad_rdma_port_states_are_usage_errors_naming_the_line() {
    let root = FakeRoot::new();
    assert_eq!(
        root.run(&["status", "--expect-rdma-ports", "up"])
            .status
            .code(),
        Some(2)
    );
    root.file("etc/netsettle.conf", "[Expect]\n\nRDMAPorts=up\n");
    let out = root.run(&["status"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("netsettle.conf:3: RDMAPorts: invalid value \"up\""),
        "{err}"
    );
}

// ---------------------------------------------------------------------------
// SR-IOV

/// An X710 PF (8086:1572, i40e) with `numvfs` VFs enabled; VF k is
/// 0000:3b:02.k (8086:154c), linked as the kernel links them
/// (drivers/pci/iov.c: `virtfnK` in the PF, `physfn` in the VF).
fn x710_with_vfs(root: &FakeRoot, numvfs: u32, autoprobe: &str) {
    let pf = "0000:3b:00.0";
    root.pci(pf, "0x020000", "0x8086", "0x1572")
        .bind(pf, "i40e")
        .netdev(pf, None, "ens1f0", 4, "3c:fd:fe:a0:00:01")
        .processed(4, "i40e");
    let dir = format!("sys/devices/pci0000:00/{pf}");
    root.file(&format!("{dir}/sriov_totalvfs"), "64\n")
        .file(&format!("{dir}/sriov_numvfs"), format!("{numvfs}\n"))
        .file(
            &format!("{dir}/sriov_drivers_autoprobe"),
            format!("{autoprobe}\n"),
        );
    for k in 0..numvfs {
        let vf = format!("0000:3b:02.{k}");
        root.pci(&vf, "0x020000", "0x8086", "0x154c").vf_of(&vf, pf);
        symlink(
            Path::new("..").join(&vf),
            root.path().join(&dir).join(format!("virtfn{k}")),
        )
        .unwrap();
    }
}

#[test]
fn vfs_are_counted_per_pf_and_an_unbound_vf_is_only_waited_for_when_asked() {
    let root = FakeRoot::new();
    x710_with_vfs(&root, 2, "1");
    root.bind("0000:3b:02.0", "iavf")
        .netdev("0000:3b:02.0", None, "ens1f0v0", 10, "02:00:00:00:00:10")
        .processed(10, "iavf");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(
        device(&r, "0000:3b:00.0")["vfs"],
        serde_json::json!({"expected": 2, "bound": 1, "with_netdev": 1})
    );
    assert!(
        device(&r, "0000:3b:02.0").get("vfs").is_none(),
        "VFs have no vfs field"
    );

    let (code, r) = root.status_with(&["--expect-vfs"]);
    assert_eq!(code, 1, "{r:#}");
    let e = expectations(&r, "vfs");
    assert_eq!(e[0]["value"], "0000:3b:00.0");
    assert_eq!(
        reason(e[0]),
        "1 of 2 VFs bound; 0000:3b:02.1 has no driver yet (sriov_drivers_autoprobe is 1)"
    );
}

#[test]
fn vf_bound_without_netdev_is_waited_for_and_a_passed_through_vf_is_not() {
    let root = FakeRoot::new();
    x710_with_vfs(&root, 2, "1");
    root.bind("0000:3b:02.0", "iavf")
        .bind("0000:3b:02.1", "vfio-pci");
    root.file("etc/netsettle.conf", "[Expect]\nVFs=yes\n");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    let why = reason(expectations(&r, "vfs")[0]).to_string();
    assert_eq!(
        why,
        "0 of 2 VFs have a netdev; 0000:3b:02.0 (driver iavf) has none yet"
    );
    root.netdev("0000:3b:02.0", None, "ens1f0v0", 10, "02:00:00:00:00:10")
        .processed(10, "iavf");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(
        device(&r, "0000:3b:00.0")["vfs"],
        serde_json::json!({"expected": 2, "bound": 2, "with_netdev": 1})
    );
}

#[test]
fn vfs_not_yet_created_and_vfs_without_autoprobe() {
    let root = FakeRoot::new();
    x710_with_vfs(&root, 1, "0");
    root.file("sys/devices/pci0000:00/0000:3b:00.0/sriov_numvfs", "4\n");
    let (code, r) = root.status_with(&["--expect-vfs"]);
    assert_eq!(code, 1, "{r:#}");
    assert!(
        reason(expectations(&r, "vfs")[0]).starts_with("1 of 4 VFs exist"),
        "{r:#}"
    );
    root.file("sys/devices/pci0000:00/0000:3b:00.0/sriov_numvfs", "1\n");
    let (code, r) = root.status_with(&["--expect-vfs"]);
    assert_eq!(code, 0, "autoprobe 0 binds nothing by itself: {r:#}");
}

#[test]
fn sr_iov_pfs_that_are_not_network_functions_are_not_waited_for() {
    // A Samsung PM1733 NVMe drive (144d:a824, class 0x010802) with two VFs
    // enabled and none created yet: storage, not a NIC.
    let root = FakeRoot::new();
    virtio_nic(&root);
    let nvme = "0000:c1:00.0";
    root.pci(nvme, "0x010802", "0x144d", "0xa824")
        .bind(nvme, "nvme")
        .module("nvme", "live");
    let dir = format!("sys/devices/pci0000:00/{nvme}");
    root.file(&format!("{dir}/sriov_totalvfs"), "32\n")
        .file(&format!("{dir}/sriov_numvfs"), "2\n")
        .file(&format!("{dir}/sriov_drivers_autoprobe"), "1\n");
    let (code, r) = root.status_with(&["--expect-vfs"]);
    assert_eq!(code, 0, "{r:#}");
    assert!(expectations(&r, "vfs").is_empty(), "{r:#}");
}

// ---------------------------------------------------------------------------
// expectations from the kernel command line (dracut)

#[test]
fn dracut_ip_interface_is_expected_with_its_source_by_default() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.cmdline("ro ip=ens3:dhcp rd.neednet=1");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    let e = expectations(&r, "interface");
    assert_eq!(
        (&e[0]["value"], &e[0]["met"]),
        (&Value::from("ens3"), &Value::Bool(true))
    );
    assert_eq!(e[0]["source"], "proc/cmdline");

    root.cmdline("ro ip=enp1s0:dhcp");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    let e = expectations(&r, "interface");
    assert_eq!(
        reason(e[0]),
        "the kernel command line expects enp1s0 (proc/cmdline): no such interface and no PCI function owns it"
    );
    // ExpectFrom= with an empty value derives nothing.
    root.file("etc/netsettle.conf", "[Expect]\nExpectFrom=\n");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert!(expectations(&r, "interface").is_empty());
}

#[test]
fn initramfs_with_only_the_boot_nic_expected_continues_without_the_other_cards() {
    // rd.netsettle.auto=no and BOOTIF=: the boot NIC is the only expectation.
    let root = FakeRoot::new();
    root.file("etc/initrd-release", "NAME=dracut\n");
    virtio_nic(&root);
    root.pci("0000:5e:00.0", "0x020000", "0x8086", "0x1593")
        .bind("0000:5e:00.0", "ice")
        .module("ice", "live");
    root.cmdline("ro BOOTIF=01-52-54-00-12-34-56");
    let (code, r) = root.status();
    assert_eq!(code, 1, "every card is waited for by default: {r:#}");
    root.cmdline("ro rd.netsettle.auto=no BOOTIF=01-52-54-00-12-34-56");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    let e = expectations(&r, "mac");
    assert_eq!(
        (&e[0]["value"], &e[0]["met"]),
        (&Value::from("52:54:00:12:34:56"), &Value::Bool(true))
    );
    assert_eq!(r["devices"].as_array().unwrap().len(), 1, "{r:#}");
    assert_eq!(r["devices"][0]["pci"], "0000:00:03.0");
}

#[test]
fn boot_nic_whose_card_has_no_netdev_yet_is_waited_for() {
    let root = FakeRoot::new();
    root.pci("0000:5e:00.0", "0x020000", "0x8086", "0x1593")
        .bind("0000:5e:00.0", "ice")
        .module("ice", "live");
    root.cmdline("ro BOOTIF=01-b4-96-91-00-00-01");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    let why = reason(expectations(&r, "mac")[0]).to_string();
    assert!(
        why.contains(
            "no such interface yet; 1 PCI network function(s) still have no netdev (0000:5e:00.0)"
        ),
        "{why}"
    );
}

#[test]
fn a_missing_boot_nic_is_not_blamed_on_cards_that_are_settled_or_have_netdevs() {
    // A NIC passed through to a guest (settled, no netdev) and one whose
    // netdev udev has not finished (not settled, has a netdev) cannot bring
    // the missing interface: only functions still without a netdev can.
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.pci("0000:5e:00.0", "0x020000", "0x8086", "0x1593")
        .bind("0000:5e:00.0", "vfio-pci");
    root.pci("0000:5f:00.0", "0x020000", "0x8086", "0x1593")
        .bind("0000:5f:00.0", "ice")
        .module("ice", "live")
        .netdev("0000:5f:00.0", None, "eth1", 7, "b4:96:91:00:00:07");
    root.cmdline("ro ip=enp9s0:dhcp");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(
        reason(expectations(&r, "interface")[0]),
        "the kernel command line expects enp9s0 (proc/cmdline): no such interface and no PCI function owns it"
    );
}

// ---------------------------------------------------------------------------
// expectations from systemd-networkd

#[test]
fn networkd_files_name_interfaces_and_macs_with_file_and_line() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.file(
        "usr/lib/systemd/network/10-uplink.network",
        "[Match]\nName=eno1\n",
    )
    .file(
        "etc/systemd/network/10-uplink.network",
        "[Match]\nName=ens3\n[Network]\nDHCP=yes\n",
    )
    .file(
        "etc/systemd/network/20-fabric.network",
        "# storage fabric\n[Match]\nMACAddress=0C:42:A1:00:00:01\n",
    )
    .file(
        "run/systemd/network/30-spare.network",
        "[Match]\nName=eno9\n[Link]\nRequiredForOnline=no\n",
    )
    .file("etc/netsettle.conf", "[Expect]\nExpectFrom=networkd\n");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    let ifaces = expectations(&r, "interface");
    assert_eq!(
        ifaces.len(),
        1,
        "the /etc file replaces the one in /usr/lib: {r:#}"
    );
    assert_eq!(
        ifaces[0]["source"],
        "etc/systemd/network/10-uplink.network:2"
    );
    assert_eq!(ifaces[0]["met"], true);
    let mac = expectations(&r, "mac");
    assert_eq!(mac[0]["source"], "etc/systemd/network/20-fabric.network:3");
    assert_eq!(
        reason(mac[0]),
        "networkd expects 0c:42:a1:00:00:01 (etc/systemd/network/20-fabric.network:3): \
         no such interface and no PCI function owns it"
    );
}

#[test]
fn networkd_file_masked_by_dev_null_expects_nothing() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.file(
        "usr/lib/systemd/network/10-uplink.network",
        "[Match]\nName=eno1\n",
    )
    .file("etc/netsettle.conf", "[Expect]\nExpectFrom=networkd\n");
    std::fs::create_dir_all(root.path().join("etc/systemd/network")).unwrap();
    symlink(
        "/dev/null",
        root.path().join("etc/systemd/network/10-uplink.network"),
    )
    .unwrap();
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert!(expectations(&r, "interface").is_empty());
}

// ---------------------------------------------------------------------------
// expectations from netplan, NetworkManager and ifupdown

#[test]
fn netplan_card_that_vanished_from_the_bus_is_reported_against_its_file() {
    // A ConnectX port that failed link training: no PCI function, no netdev.
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.file(
        "etc/netplan/50-cloud-init.yaml",
        "network:\n  version: 2\n  ethernets:\n    ens3:\n      dhcp4: true\n    \
         fabric0:\n      match:\n        macaddress: 0c:42:a1:3b:7c:10\n      set-name: fabric0\n    \
         spare:\n      match:\n        macaddress: 0c:42:a1:3b:7c:11\n      optional: true\n",
    )
    .file("etc/netsettle.conf", "[Expect]\nExpectFrom=netplan\n");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    let iface = expectations(&r, "interface");
    assert_eq!(
        (&iface[0]["value"], &iface[0]["met"], &iface[0]["source"]),
        (
            &Value::from("ens3"),
            &Value::Bool(true),
            &Value::from("etc/netplan/50-cloud-init.yaml:4")
        )
    );
    let mac = expectations(&r, "mac");
    assert_eq!(mac.len(), 1, "optional: true is not expected: {r:#}");
    assert_eq!(
        reason(mac[0]),
        "netplan expects 0c:42:a1:3b:7c:10 (etc/netplan/50-cloud-init.yaml:8): \
         no such interface and no PCI function owns it"
    );
    let text = String::from_utf8_lossy(&root.run(&["status"]).stdout).to_string();
    assert!(
        text.contains("expected mac 0c:42:a1:3b:7c:10: not met: netplan expects"),
        "{text}"
    );
}

#[test]
fn networkmanager_profile_expects_its_interface_unless_it_does_not_autoconnect() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    let dir = "etc/NetworkManager/system-connections";
    root.file(
        &format!("{dir}/uplink.nmconnection"),
        "[connection]\nid=uplink\ntype=ethernet\ninterface-name=ens3\n",
    )
    .file(
        &format!("{dir}/lab.nmconnection"),
        "[connection]\nid=lab\ntype=ethernet\ninterface-name=enp9s0\nautoconnect=false\n",
    );
    let (code, r) = root.status_with(&["--expect-from", "nm"]);
    assert_eq!(code, 0, "{r:#}");
    let e = expectations(&r, "interface");
    assert_eq!(e.len(), 1, "{r:#}");
    assert_eq!(e[0]["source"], format!("{dir}/uplink.nmconnection:4"));
}

#[test]
fn ifupdown_auto_interfaces_are_expected_through_source_lines() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.file(
        "etc/network/interfaces",
        "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\
         allow-hotplug ens4\n",
    )
    .file(
        "etc/network/interfaces.d/uplink",
        "auto ens3 ens5\niface ens3 inet dhcp\n",
    );
    let (code, r) = root.status_with(&["--expect-from", "ifupdown"]);
    assert_eq!(code, 1, "{r:#}");
    let e = expectations(&r, "interface");
    let got: Vec<(&str, bool)> = e
        .iter()
        .map(|e| (e["value"].as_str().unwrap(), e["met"].as_bool().unwrap()))
        .collect();
    assert_eq!(got, [("ens3", true), ("ens5", false)]);
    assert_eq!(e[1]["source"], "etc/network/interfaces.d/uplink:1");
    assert_eq!(
        reason(e[1]),
        "ifupdown expects ens5 (etc/network/interfaces.d/uplink:1): \
         no such interface and no PCI function owns it"
    );
}

#[test]
fn unknown_expect_from_sources_are_usage_errors() {
    let root = FakeRoot::new();
    assert_eq!(
        root.run(&["status", "--expect-from", "wicked"])
            .status
            .code(),
        Some(2)
    );
    root.cmdline("ro netsettle.expect_from=wicked");
    let out = root.run(&["status"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("netsettle.expect_from: invalid source \"wicked\""),
        "{err}"
    );
}

#[test]
fn bonds_and_vlans_the_network_manager_creates_later_are_not_waited_for() {
    // netsettle runs before network-pre.target: bond0 and vlan5 appear only
    // once networkd, ifup or dracut's network scripts run; their ports are cards.
    let root = FakeRoot::new();
    virtio_nic(&root);
    let dir = "etc/systemd/network";
    root.file(&format!("{dir}/10-bond0.netdev"), "[NetDev]\nName=bond0\nKind=bond\n")
        .file(&format!("{dir}/10-bond0.network"), "[Match]\nName=bond0\n[Network]\nDHCP=yes\n")
        .file(&format!("{dir}/20-ens3.network"), "[Match]\nName=ens3\n[Network]\nBond=bond0\n")
        .file(
            "etc/network/interfaces",
            "auto bond1\niface bond1 inet dhcp\n    bond-slaves ens3\nauto ens3.5\niface ens3.5 inet dhcp\n",
        )
        .cmdline("ro bond=bond2:ens3 ip=bond2:dhcp");
    let (code, r) = root.status_with(&["--expect-from", "networkd", "--expect-from", "ifupdown"]);
    assert_eq!(code, 0, "{r:#}");
    let values: Vec<&str> = expectations(&r, "interface")
        .iter()
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["ens3"], "{r:#}");
}

#[test]
fn sr_iov_capable_pf_without_vfs_enabled_reports_zero_and_waits_for_nothing() {
    let root = FakeRoot::new();
    x710_with_vfs(&root, 0, "1");
    let (code, r) = root.status_with(&["--expect-vfs"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(
        device(&r, "0000:3b:00.0")["vfs"],
        serde_json::json!({"expected": 0, "bound": 0, "with_netdev": 0})
    );
    assert!(expectations(&r, "vfs").is_empty(), "{r:#}");
}

#[test]
fn text_report_shows_vf_counts_only_for_pfs_with_vfs_enabled() {
    let text_of = |root: &FakeRoot, args: &[&str]| {
        String::from_utf8_lossy(&root.run(args).stdout).into_owned()
    };
    let root = FakeRoot::new();
    x710_with_vfs(&root, 2, "1");
    root.bind("0000:3b:02.0", "iavf")
        .netdev("0000:3b:02.0", None, "ens1f0v0", 10, "02:00:00:00:00:10")
        .processed(10, "iavf");
    let ready = text_of(&root, &["status"]);
    assert!(ready.starts_with("ready in "), "{ready}");
    assert!(ready.contains("; VFs: 0000:3b:00.0 1/2 bound"), "{ready}");
    let waiting = text_of(&root, &["status", "--expect-vfs"]);
    assert!(
        waiting.contains("0000:3b:00.0  vfs: 2 expected, 1 bound, 1 with netdev"),
        "{waiting}"
    );

    // SR-IOV capable, no VF enabled: nothing to say about VFs.
    let root = FakeRoot::new();
    x710_with_vfs(&root, 0, "1");
    let ready = text_of(&root, &["status", "--expect-vfs"]);
    assert!(ready.starts_with("ready in "), "{ready}");
    assert!(!ready.contains("VFs"), "{ready}");
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e");
    let waiting = text_of(&root, &["status", "--expect-vfs"]);
    assert!(waiting.starts_with("not ready"), "{waiting}");
    assert!(!waiting.contains("vfs:"), "{waiting}");
}

#[test]
fn soft_roce_ports_belong_to_the_function_of_their_netdev() {
    // rdma_rxe registers rxe0 under /sys/devices/virtual with no parent;
    // its port's GID table names the netdev it runs on.
    let root = FakeRoot::new();
    virtio_nic(&root);
    let dir = "sys/devices/virtual/infiniband/rxe0";
    for (attr, value) in [
        ("state", "1: DOWN"),
        ("phys_state", "3: Disabled"),
        ("link_layer", "Ethernet"),
        ("rate", "10 Gb/sec (1X QDR)"),
        ("gid_attrs/ndevs/0", "ens3"),
    ] {
        root.file(&format!("{dir}/ports/1/{attr}"), format!("{value}\n"));
    }
    std::fs::create_dir_all(root.path().join("sys/class/infiniband")).unwrap();
    symlink(
        "../../devices/virtual/infiniband/rxe0",
        root.path().join("sys/class/infiniband/rxe0"),
    )
    .unwrap();
    let (code, r) = root.status_with(&["--expect-rdma-ports", "active"]);
    assert_eq!(code, 1, "{r:#}");
    let ports = &device(&r, "0000:00:03.0")["rdma_ports"];
    assert_eq!(ports[0]["device"], "rxe0");
    assert_eq!(ports[0]["state"], "DOWN");
    assert_eq!(
        reason(expectations(&r, "rdma-ports")[0]),
        "rxe0: port 1 is DOWN: no link: cable or peer, or its netdev is not up \
         (RoCE follows the netdev's link)"
    );
}
