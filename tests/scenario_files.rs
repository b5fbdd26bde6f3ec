//! The scenario line format of the fake root builder, and the shared
//! scenario files of tests/roots/ that tests/packaging/run builds its roots
//! from.

mod common;

use std::fs;

use common::{state_of, FakeRoot};

fn applied(text: &str) -> FakeRoot {
    let root = FakeRoot::new();
    root.apply("t", text).unwrap_or_else(|e| panic!("{e}"));
    root
}

fn error_of(text: &str) -> String {
    FakeRoot::new()
        .apply("scenario", text)
        .expect_err("the scenario should be refused")
}

fn read(root: &FakeRoot, rel: &str) -> String {
    fs::read_to_string(root.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn link(root: &FakeRoot, rel: &str) -> String {
    fs::read_link(root.path().join(rel))
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
        .display()
        .to_string()
}

#[test]
fn lines_lay_out_what_the_builder_calls_do() {
    let root = applied(
        "# a comment, then a blank line\n\
         \n\
         pci 0000:00:03.0 0x020000 0x1af4 0x1000\n\
         bind 0000:00:03.0 virtio-pci\n\
         module virtio_net live\n\
         netdev 0000:00:03.0/virtio0 ens3 2 52:54:00:12:34:56\n\
         processed 2 virtio_net\n\
         modprobe 300 2 mlx4_en\n\
         cmdline root=/dev/vda1 netsettle.timeout=5\n\
         file etc/netsettle.conf [Settle]\\nTimeout=5s\\n\n",
    );
    let dev = "sys/devices/pci0000:00/0000:00:03.0";
    assert_eq!(read(&root, &format!("{dev}/vendor")), "0x1af4\n");
    assert_eq!(
        read(&root, &format!("{dev}/modalias")),
        "pci:v00001AF4d00001000sv00000000sd00000000bc02sc00i00\n"
    );
    assert_eq!(
        link(&root, "sys/bus/pci/devices/0000:00:03.0"),
        "../../../devices/pci0000:00/0000:00:03.0"
    );
    assert_eq!(
        link(&root, &format!("{dev}/driver")),
        "../../../bus/pci/drivers/virtio-pci"
    );
    assert_eq!(
        link(&root, "sys/class/net/ens3"),
        "../../devices/pci0000:00/0000:00:03.0/virtio0/net/ens3"
    );
    assert_eq!(read(&root, "sys/module/virtio_net/initstate"), "live\n");
    assert!(read(&root, "run/udev/data/n2").contains("E:ID_NET_DRIVER=virtio_net\n"));
    assert!(read(&root, "proc/300/cmdline").ends_with("mlx4_en\0"));
    assert_eq!(
        read(&root, "proc/cmdline"),
        "root=/dev/vda1 netsettle.timeout=5\n"
    );
    assert_eq!(read(&root, "etc/netsettle.conf"), "[Settle]\nTimeout=5s\n");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
}

#[test]
fn a_function_behind_a_root_port_nests_in_the_ports_directory() {
    let root = applied(
        "pci 0000:00:01.0 0x060400 0x8086 0x347a\n\
         bind 0000:00:01.0 pcieport\n\
         pci 0000:01:00.0 0x020000 0x8086 0x159b under=0000:00:01.0 subsystem=0x8086:0x0001\n\
         bind 0000:01:00.0 ice\n\
         netdev 0000:01:00.0 enp1s0f0np0 2 b4:96:91:01:00:00\n\
         processed 2 ice\n",
    );
    let dev = "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0";
    assert_eq!(
        link(&root, "sys/bus/pci/devices/0000:01:00.0"),
        format!("../../../{}", &dev[4..])
    );
    assert_eq!(
        link(&root, &format!("{dev}/driver")),
        "../../../../bus/pci/drivers/ice"
    );
    assert_eq!(
        read(&root, &format!("{dev}/modalias")),
        "pci:v00008086d0000159Bsv00008086sd00000001bc02sc00i00\n"
    );
    assert_eq!(
        link(&root, "sys/class/net/enp1s0f0np0"),
        format!("../../{}/net/enp1s0f0np0", &dev[4..])
    );
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(state_of(&r, "0000:01:00.0").0, "ready");
}

#[test]
fn full_detail_writes_what_real_sysfs_and_udevd_have() {
    let root = applied(
        "detail full\n\
         pci 0000:01:00.0 0x020000 0x8086 0x159b subsystem=0x8086:0x0001\n\
         bind 0000:01:00.0 ice\n\
         module ice live\n\
         module mlx4_en coming\n\
         netdev 0000:01:00.0 enp1s0f0np0 2 b4:96:91:01:00:00\n\
         processed 2 ice\n\
         virtual_netdev lo 1 00:00:00:00:00:00 type=772\n",
    );
    let dev = "sys/devices/pci0000:00/0000:01:00.0";
    assert_eq!(read(&root, &format!("{dev}/subsystem_device")), "0x0001\n");
    assert_eq!(
        read(&root, &format!("{dev}/uevent")),
        "PCI_CLASS=20000\nPCI_SLOT_NAME=0000:01:00.0\n\
         MODALIAS=pci:v00008086d0000159Bsv00008086sd00000001bc02sc00i00\n"
    );
    assert!(read(&root, "run/udev/data/+pci:0000:01:00.0").contains("Network controller"));
    assert_eq!(
        read(&root, &format!("{dev}/net/enp1s0f0np0/uevent")),
        "INTERFACE=enp1s0f0np0\nIFINDEX=2\n"
    );
    assert_eq!(
        read(&root, "proc/modules"),
        "ice 688128 0 - Live 0x0000000000000000\n\
         mlx4_en 688128 0 - Loading 0x0000000000000000\n"
    );
    assert!(root.path().join("sys/module/ice/holders").is_dir());
    let entry = read(&root, "run/udev/data/n2");
    assert_eq!(entry.lines().count(), 23, "{entry}");
    for want in [
        "E:ID_NET_NAME_MAC=enxb49691010000\n",
        "E:ID_NET_NAME_PATH=enp1s0f0np0\n",
        "E:ID_MODEL_FROM_DATABASE=Ethernet Controller E810-C for SFP\n",
        "E:ID_PATH_TAG=pci-0000_01_00_0\n",
        "E:ID_NET_DRIVER=ice\n",
    ] {
        assert!(entry.contains(want), "{want:?} not in {entry}");
    }
    assert!(entry.starts_with("I:") && entry.ends_with("G:systemd\nQ:systemd\nV:1\n"));
    assert_eq!(
        link(&root, "sys/class/net/lo"),
        "../../devices/virtual/net/lo"
    );
    assert_eq!(read(&root, "sys/devices/virtual/net/lo/type"), "772\n");
}

#[test]
fn a_staged_entry_is_only_udevds_temp_file_until_renamed() {
    let root = applied(
        "pci 0000:00:03.0 0x020000 0x1af4 0x1000\n\
         bind 0000:00:03.0 virtio-pci\n\
         netdev 0000:00:03.0/virtio0 ens3 2 52:54:00:12:34:56\n\
         processed 2 virtio_net staged\n",
    );
    let data = root.path().join("run/udev/data");
    assert!(data.join(".#n2").is_file());
    assert!(!data.join("n2").exists());
    let (_, r) = root.status();
    assert_eq!(state_of(&r, "0000:00:03.0").0, "not-processed");
    fs::rename(data.join(".#n2"), data.join("n2")).unwrap();
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
}

#[test]
fn kmsg_records_count_up_and_carry_the_device_dictionary() {
    let root = applied(
        "kmsg_record 6 - mlx4_core: Mellanox ConnectX core driver v4.0-0\n\
         kmsg_record 3 0000:04:00.0 mlx4_core 0000:04:00.0: PME# supported\n\
         kmsg 4,9,5000000,-;raw\\n SUBSYSTEM=pci\n",
    );
    assert_eq!(
        read(&root, "dev/kmsg"),
        "6,1,1001733,-;mlx4_core: Mellanox ConnectX core driver v4.0-0\n\
         3,2,1003466,-;mlx4_core 0000:04:00.0: PME# supported\n \
         SUBSYSTEM=pci\n DEVICE=+pci:0000:04:00.0\n\
         4,9,5000000,-;raw\n SUBSYSTEM=pci\n"
    );
}

#[test]
fn processes_without_arguments_are_kernel_threads() {
    let root = applied(
        "process 1 0 systemd /usr/lib/systemd/systemd --switched-root\n\
         process 2 0 kthreadd\n",
    );
    assert_eq!(
        read(&root, "proc/1/cmdline"),
        "/usr/lib/systemd/systemd\0--switched-root\0"
    );
    assert_eq!(read(&root, "proc/2/cmdline"), "");
    let flags = |pid| -> u32 {
        read(&root, &format!("proc/{pid}/stat"))
            .split(' ')
            .nth(8)
            .unwrap()
            .parse()
            .unwrap()
    };
    // PF_KTHREAD, include/linux/sched.h.
    assert_eq!(flags(1) & 0x0020_0000, 0);
    assert_ne!(flags(2) & 0x0020_0000, 0);
}

#[test]
fn each_bad_line_is_named_by_source_line_and_word() {
    let pci = "pci 0000:04:00.0 0x020000 0x15b3 0x1003\n";
    for (text, want) in [
        ("frobnicate 1\n", "scenario:1: unknown word 'frobnicate'"),
        ("\n# c\npci 0000:04:00.0\n", "scenario:3: missing CLASS"),
        (
            "pci 04:00.0 0x020000 0x15b3 0x1003\n",
            "scenario:1: '04:00.0': not a PCI address",
        ),
        (
            "pci 0000:04:00.0 020000 0x15b3 0x1003\n",
            "scenario:1: '020000': not a 0x hex number",
        ),
        (
            "pci 0000:04:00.0 0x020000 0x15b3 0x1003 slot=3\n",
            "scenario:1: pci: unknown option 'slot=3'",
        ),
        (
            "pci 0000:04:00.0 0x020000 0x15b3 0x1003 under=0000:00:01.0\n",
            "scenario:1: under=0000:00:01.0: no such PCI function yet",
        ),
        (
            "pci 0000:04:00.0 0x020000 0x15b3 0x1003 subsystem=0x8086\n",
            "scenario:1: subsystem '0x8086': not VENDOR:DEVICE",
        ),
        (
            "bind 0000:04:00.0 mlx4_core\n",
            "scenario:1: 0000:04:00.0: no such PCI function yet",
        ),
        (
            &format!("{pci}bind 0000:04:00.0\n"),
            "scenario:2: missing DRIVER",
        ),
        (
            &format!("{pci}bind 0000:04:00.0 mlx4_core now\n"),
            "scenario:2: unexpected 'now'",
        ),
        (
            &format!("{pci}bind 0000:04:00.0 ../x\n"),
            "scenario:2: DRIVER '../x': not a name",
        ),
        (
            &format!("{pci}netdev 0000:04:00.0 eth0 two 00:02:c9:00:00:01\n"),
            "scenario:2: IFINDEX 'two': not a number",
        ),
        (
            &format!("{pci}netdev 0000:04:00.0 eth0 2 00:02:c9:00:00:01 kind=32\n"),
            "scenario:2: 'kind=32': not type=N",
        ),
        (
            "named_by_kernel eth0\n",
            "scenario:1: eth0: no such netdev yet",
        ),
        (
            "processed 2 ice later\n",
            "scenario:1: processed: unknown option 'later'",
        ),
        (
            "detail full\nprocessed 2 ice\n",
            "scenario:2: no netdev with ifindex 2 yet",
        ),
        (
            "detail some\n",
            "scenario:1: detail 'some': only 'full' is known",
        ),
        (
            "module mlx4_en loading\n",
            "scenario:1: module state 'loading': not live, coming or going",
        ),
        (
            "kmsg_record 9 - text\n",
            "scenario:1: kmsg_record LEVEL '9': not 0 to 7",
        ),
        ("kmsg\n", "scenario:1: missing TEXT"),
        ("kmsg a\\qb\n", "scenario:1: unknown escape '\\q'"),
        (
            "kmsg a\\x4\n",
            "scenario:1: escape '\\x4': not two hex digits",
        ),
        ("kmsg a\\\n", "scenario:1: '\\' at the end of the line"),
        (
            "file /etc/passwd x\n",
            "scenario:1: '/etc/passwd': not a path inside the root",
        ),
        (
            "remove ../x\n",
            "scenario:1: '../x': not a path inside the root",
        ),
    ] {
        let err = error_of(text);
        assert!(
            err.starts_with(want),
            "{text:?}: got {err:?}, want {want:?}"
        );
    }
}

#[test]
fn escapes_stand_for_their_bytes() {
    let root = applied("file f a\\tb\\0c\\\\d\\x41\\n\n");
    assert_eq!(read(&root, "f"), "a\tb\0c\\dA\n");
}

#[test]
fn mlx4_scenario_is_no_netdev_naming_mlx4_en() {
    let root = FakeRoot::scenario("mlx4-without-mlx4_en");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(r["ready"], false);
    let (state, reason) = state_of(&r, "0000:04:00.0");
    assert_eq!(state, "no-netdev");
    assert!(reason.contains("modprobe mlx4_en"), "{reason}");
    assert_eq!(common::device(&r, "0000:04:00.0")["driver"], "mlx4_core");
}

#[test]
fn mlx4_scenario_metrics_carry_the_device_that_is_not_ready() {
    let root = FakeRoot::scenario("mlx4-without-mlx4_en");
    let metrics = root.path().join("netsettle.prom");
    let out = root.run(&["-t", "0", "-q", "--metrics", metrics.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = fs::read_to_string(&metrics).unwrap();
    assert!(text.contains("netsettle_ready 0\n"), "{text}");
    assert!(
        text.contains("netsettle_device_not_ready{pci=\"0000:04:00.0\",driver=\"mlx4_core\",state=\"no-netdev\"} 1"),
        "{text}"
    );
}

#[test]
fn empty_scenario_has_no_devices_and_no_udev() {
    let root = FakeRoot::scenario("empty");
    assert!(!root.path().join("run/udev/control").exists());
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["devices"], serde_json::json!([]));
}

#[test]
fn virtio_scenario_is_ready() {
    let root = FakeRoot::scenario("virtio");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(state_of(&r, "0000:00:03.0").0, "ready");
}
