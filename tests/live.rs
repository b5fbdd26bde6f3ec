//! netsettle waiting for real: the test changes the fake root while the
//! binary waits and checks that it reacts to the change itself. Each wait has
//! a hang guard of many seconds; no test depends on how fast it reacts.

mod common;

use common::{
    device, finish, finish_with, json_of, read_until, signal, state_of, wait_until_watching,
    FakeRoot,
};

#[test]
fn waits_for_the_late_companion_netdev_and_its_udev_entry() {
    // The mlx4 pattern with virtio: the PCI driver is bound, the module that
    // creates the netdev arrives later, then udev processes the netdev.
    let root = FakeRoot::new();
    root.pci("0000:00:03.0", "0x020000", "0x1af4", "0x1000")
        .bind("0000:00:03.0", "virtio-pci");
    let mut child = root.spawn(&["--format", "json", "-v", "-t", "60"]);
    let stderr = wait_until_watching(&mut child);

    root.module("virtio_net", "live")
        .netdev(
            "0000:00:03.0",
            Some("virtio0"),
            "eth0",
            2,
            "52:54:00:12:34:56",
        )
        .named_by_kernel("eth0");
    // The kernel name is not final until udev has renamed it.
    root.rename_netdev("eth0", "ens3")
        .processed(2, "virtio_net");

    let (code, r, _) = finish_with(child, stderr);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["ready"], true);
    assert_eq!(
        device(&r, "0000:00:03.0")["netdevs"],
        serde_json::json!(["ens3"])
    );
    assert_eq!(r["interfaces"][0]["name"], "ens3");
    assert_eq!(r["interfaces"][0]["name_assign_type"], 4);
    assert!(r["elapsed_ms"].as_u64().unwrap() < 60_000);
}

#[test]
fn exits_when_the_udev_queue_marker_goes_away() {
    let root = FakeRoot::new();
    common::virtio_nic(&root);
    root.file("run/udev/queue", "");
    let mut child = root.spawn(&["--format", "json", "-v", "-t", "60"]);
    let stderr = wait_until_watching(&mut child);
    root.remove("run/udev/queue");
    let (code, r, _) = finish_with(child, stderr);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["udev"]["queue_empty"], true);
}

#[test]
fn exits_when_udev_writes_the_database_entry() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .bind("0000:00:04.0", "e1000")
        .netdev("0000:00:04.0", None, "ens4", 3, "52:54:00:00:00:04");
    let mut child = root.spawn(&["--format", "json", "-v", "--expect-iface", "ens4"]);
    let stderr = wait_until_watching(&mut child);
    root.processed(3, "e1000");
    let (code, r, _) = finish_with(child, stderr);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["expectations"][0]["met"], true);
}

#[test]
fn exits_when_the_driver_binds_and_the_netdev_appears() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e");
    let mut child = root.spawn(&["--format", "json", "-v", "-t", "60"]);
    let stderr = wait_until_watching(&mut child);
    root.bind("0000:00:04.0", "e1000")
        .netdev("0000:00:04.0", None, "ens4", 3, "52:54:00:00:00:04")
        .processed(3, "e1000");
    let (code, r, _) = finish_with(child, stderr);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(state_of(&r, "0000:00:04.0").0, "ready");
}

#[test]
fn fail_fast_exits_3_when_the_probe_failure_is_logged() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e");
    let mut child = root.spawn(&["--format", "json", "-v", "--fail-fast", "-t", "60"]);
    let stderr = wait_until_watching(&mut child);
    root.kmsg(concat!(
        "3,386,8159366,-;e1000e 0000:00:04.0: The NVM Checksum Is Not Valid\n",
        " SUBSYSTEM=pci\n",
        " DEVICE=+pci:0000:00:04.0\n",
        "4,387,8531997,-;e1000e: probe of 0000:00:04.0 failed with error -5\n",
    ));
    let (code, r, _) = finish_with(child, stderr);
    assert_eq!(code, 3, "{r:#}");
    let (state, reason) = state_of(&r, "0000:00:04.0");
    assert_eq!(state, "probe-failed");
    assert!(reason.contains("The NVM Checksum Is Not Valid"), "{reason}");
}

#[test]
fn exit_if_exists_file_ends_the_wait_with_success() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e");
    let flag = root.path().join("stop-waiting");
    let mut child = root.spawn(&["--format", "json", "-v", "-E", flag.to_str().unwrap()]);
    let stderr = wait_until_watching(&mut child);
    std::fs::write(&flag, "").unwrap();
    let (code, r, _) = finish_with(child, stderr);
    assert_eq!(code, 0);
    assert_eq!(r["ready"], false, "the file does not make devices ready");
    assert_eq!(r["exit_code"], 0);
}

#[test]
fn deadline_gives_exit_1_and_the_report() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .bind("0000:00:04.0", "e1000");
    let (code, r, _) = finish(root.spawn(&["--format", "json", "-t", "1"]));
    assert_eq!(code, 1);
    assert_eq!(r["exit_code"], 1);
    assert_eq!(r["ready"], false);
    assert!(r["elapsed_ms"].as_u64().unwrap() >= 1000, "{r:#}");
    assert_eq!(state_of(&r, "0000:00:04.0").0, "no-netdev");
}

#[test]
fn certain_failure_at_the_deadline_gives_exit_3() {
    let root = FakeRoot::new();
    root.aliases("alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000\n")
        .pci("0000:00:05.0", "0x020000", "0x10ec", "0x8139");
    let (code, _, _) = finish(root.spawn(&["--format", "json", "-t", "1"]));
    assert_eq!(code, 3);
}

#[test]
fn timeout_zero_evaluates_once() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .bind("0000:00:04.0", "e1000");
    let (code, r) = json_of(&root.run(&["--format", "json", "-t", "0"]));
    assert_eq!(code, 1);
    assert_eq!(r["ready"], false);
}

fn signal_test(signal: nix::sys::signal::Signal, want: i32) {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .bind("0000:00:04.0", "e1000");
    let mut child = root.spawn(&["--format", "json", "-v", "-t", "60"]);
    let stderr = wait_until_watching(&mut child);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
    let (code, r, _) = finish_with(child, stderr);
    assert_eq!(code, want);
    assert_eq!(r["exit_code"], want);
    assert_eq!(state_of(&r, "0000:00:04.0").0, "no-netdev");
}

#[test]
fn sigterm_prints_the_report_and_exits_143() {
    signal_test(nix::sys::signal::Signal::SIGTERM, 143);
}

#[test]
fn sigint_prints_the_report_and_exits_130() {
    signal_test(nix::sys::signal::Signal::SIGINT, 130);
}

#[test]
fn sighup_logs_the_state_and_keeps_waiting() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .bind("0000:00:04.0", "e1000");
    let mut child = root.spawn(&["--format", "json", "-v", "-t", "60"]);
    let mut stderr = wait_until_watching(&mut child);
    signal(&child, nix::sys::signal::Signal::SIGHUP);
    read_until(&mut stderr, "SIGHUP");
    assert!(
        child.try_wait().unwrap().is_none(),
        "still waiting after SIGHUP"
    );
    root.netdev("0000:00:04.0", None, "ens4", 3, "52:54:00:00:00:04")
        .processed(3, "e1000");
    let (code, _, _) = finish_with(child, stderr);
    assert_eq!(code, 0);
}
