//! Documented behaviour that no other suite pins down: each test is named
//! after what the README, netsettle(8) or netsettle.conf(5) promise, and
//! fails when that promise breaks. The real binary runs on a fake root; a
//! wait is observed through what netsettle says and reports (its announced
//! deadline, the report's `elapsed_ms`, sd_notify datagrams), never through
//! how fast it was.

mod common;

use std::io::BufRead;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Output};

use common::{
    device, field, finish_with, read_until, signal, state_of, virtio_nic, FakeRoot, RELEASE,
};
use nix::sys::signal::Signal;
use serde_json::{json, Value};

const PROBE_FAILED: &str = "4,387,8531997,-;e1000e: probe of 0000:00:04.0 failed with error -5\n";
const IPOIB_GID: &str = "00:00:10:87:fe:80:00:00:00:00:00:00:b8:59:9f:03:00:1c:2a:3e";

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `netsettle ARGS --root ROOT` with a clean environment plus `env`.
fn command(root: &FakeRoot, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_netsettle"));
    cmd.args(args).arg("--root").arg(root.path());
    cmd.env_remove("NETSETTLE_LOG")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("JOURNAL_STREAM");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// A wait with `--format json`, under the hang guard: exit code and report.
fn wait_json(root: &FakeRoot, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let (code, r, _) = common::finish(root.spawn(&all));
    (code, r)
}

/// An e1000 at 00:04.0, bound, with no netdev: never ready by itself.
fn stuck_e1000(root: &FakeRoot) {
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .bind("0000:00:04.0", "e1000");
}

/// The deadline a wait announces (`watching for changes; deadline in S s`),
/// in seconds; the wait is then ended with SIGTERM.
fn announced_deadline(root: &FakeRoot, args: &[&str]) -> f64 {
    let mut all = vec!["--format", "json", "-v"];
    all.extend_from_slice(args);
    let mut child = root.spawn(&all);
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let line = read_until(&mut stderr, "watching for changes");
    signal(&child, Signal::SIGTERM);
    let (code, _, _) = finish_with(child, stderr);
    assert_eq!(code, 143);
    line.split("deadline in ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no deadline in {line:?}"))
}

/// A processed Ethernet netdev `name` (ifindex `idx`) on its own e1000.
fn e1000_with(root: &FakeRoot, addr: &str, name: &str, idx: u32, mac: &str) {
    root.pci(addr, "0x020000", "0x8086", "0x100e")
        .bind(addr, "e1000")
        .netdev(addr, None, name, idx, mac)
        .processed(idx, "e1000");
}

// ---------------------------------------------------------------------------
// [Settle]: WaitForUdev, Timeout, FailFast

#[test]
fn wait_for_udev_no_neither_waits_for_the_queue_nor_for_database_entries() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .bind("0000:00:04.0", "e1000")
        .netdev("0000:00:04.0", None, "ens4", 3, "52:54:00:00:00:04")
        .file("run/udev/queue", "");
    // By default both the busy queue and the missing entry hold it.
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(state_of(&r, "0000:00:04.0").0, "not-processed");

    root.file("etc/netsettle.conf", "[Settle]\nWaitForUdev=no\n");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["ready"], true);
    assert_eq!(state_of(&r, "0000:00:04.0").0, "ready");
    // The report still tells the truth about udev.
    assert_eq!(r["udev"], json!({"running": true, "queue_empty": false}));
    assert_eq!(r["interfaces"][0]["udev_processed"], false);

    // And a wait with it ends at once, ready.
    let (code, r) = wait_json(&root, &["-t", "1h"]);
    assert_eq!((code, &r["ready"]), (0, &json!(true)));
}

#[test]
fn command_line_timeout_beats_kernel_command_line_which_beats_the_config() {
    let root = FakeRoot::new();
    stuck_e1000(&root);
    root.file("etc/netsettle.conf", "[Settle]\nTimeout=5min\n");
    let config = announced_deadline(&root, &[]);
    assert!(config > 60.0 && config <= 300.0, "{config}");

    root.cmdline("ro quiet netsettle.timeout=2h");
    let kernel = announced_deadline(&root, &[]);
    assert!(kernel > 3600.0 && kernel <= 7200.0, "{kernel}");

    root.cmdline("ro quiet rd.netsettle.timeout=3h");
    let rd = announced_deadline(&root, &[]);
    assert!(rd > 7200.0 && rd <= 10800.0, "{rd}");

    let cli = announced_deadline(&root, &["-t", "20min"]);
    assert!(cli > 900.0 && cli <= 1200.0, "{cli}");
    let cli = announced_deadline(&root, &["--timeout", "10h"]);
    assert!(cli > 30000.0 && cli <= 36000.0, "{cli}");
}

#[test]
fn default_deadline_is_120_seconds() {
    let root = FakeRoot::new();
    stuck_e1000(&root);
    let d = announced_deadline(&root, &[]);
    assert!(d > 60.0 && d <= 120.0, "{d}");
}

#[test]
fn without_fail_fast_a_probe_failure_waits_for_the_deadline_then_exits_3() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .kmsg(PROBE_FAILED);
    let (code, r) = wait_json(&root, &["-t", "300ms"]);
    assert_eq!(code, 3, "{r:#}");
    assert_eq!(r["exit_code"], 3);
    assert_eq!(state_of(&r, "0000:00:04.0").0, "probe-failed");
    // It waited: the decision came at the deadline, not before it.
    let elapsed = r["elapsed_ms"].as_u64().unwrap();
    assert!(elapsed >= 300, "exited before the deadline: {elapsed} ms");
}

#[test]
fn fail_fast_on_the_command_line_or_in_the_config_exits_3_without_waiting_out_the_deadline() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .kmsg(PROBE_FAILED);
    // A deadline no test run reaches: only the failure can end the wait.
    let (code, r) = wait_json(&root, &["-t", "10h", "--fail-fast"]);
    assert_eq!(code, 3, "{r:#}");
    assert_eq!(state_of(&r, "0000:00:04.0").0, "probe-failed");
    root.file("etc/netsettle.conf", "[Settle]\nFailFast=yes\n");
    let (code, _) = wait_json(&root, &["-t", "10h"]);
    assert_eq!(code, 3);
}

// ---------------------------------------------------------------------------
// sd_notify

/// The datagrams a run sent to `$NOTIFY_SOCKET`, in order. They are read
/// while netsettle runs, as the service manager does: a datagram socket
/// holds only a few unread messages before the sender blocks.
fn notified(root: &FakeRoot, args: &[&str]) -> (i32, Vec<String>) {
    let path = root.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    let mut cmd = command(root, args, &[("NOTIFY_SOCKET", path.to_str().unwrap())]);
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The reader stops at an empty datagram, sent once netsettle is gone.
    let reader = {
        let sock = sock.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut msgs = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                let n = sock.recv(&mut buf).unwrap();
                if n == 0 {
                    return msgs;
                }
                msgs.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        })
    };
    let status = common::wait_guarded(&mut child);
    UnixDatagram::unbound()
        .unwrap()
        .send_to(&[], &path)
        .unwrap();
    (status.code().unwrap(), reader.join().unwrap())
}

#[test]
fn sd_notify_status_names_what_is_awaited_and_then_the_outcome() {
    let root = FakeRoot::new();
    stuck_e1000(&root);
    let (code, msgs) = notified(&root, &["-t", "100ms"]);
    assert_eq!(code, 1);
    assert!(!msgs.is_empty(), "no STATUS= sent");
    assert!(msgs.iter().all(|m| m.starts_with("STATUS=")), "{msgs:?}");
    assert!(
        msgs[0].starts_with("STATUS=waiting for 0000:00:04.0 (no-netdev): driver e1000 bound"),
        "{msgs:?}"
    );
    // Sent again only when the line changes.
    for w in msgs.windows(2) {
        assert_ne!(w[0], w[1], "{msgs:?}");
    }

    let ready = FakeRoot::new();
    virtio_nic(&ready);
    let (code, msgs) = notified(&ready, &["-t", "10s"]);
    assert_eq!(code, 0);
    assert_eq!(msgs, ["STATUS=all network devices ready"]);
}

#[test]
fn sd_notify_status_names_the_udev_queue_when_only_it_is_left() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.file("run/udev/queue", "");
    let (code, msgs) = notified(&root, &["-t", "100ms"]);
    assert_eq!(code, 1);
    assert!(
        msgs[0].starts_with("STATUS=waiting for the udev queue ("),
        "{msgs:?}"
    );
    // And an expected interface that is nowhere.
    let root = FakeRoot::new();
    virtio_nic(&root);
    let (_, msgs) = notified(&root, &["-t", "100ms", "--expect-iface", "ib0"]);
    assert!(
        msgs[0].starts_with("STATUS=waiting for expected interfaces ("),
        "{msgs:?}"
    );
}

// ---------------------------------------------------------------------------
// pass-through, InfiniBand

#[test]
fn every_documented_pass_through_driver_makes_its_device_passthrough_not_awaited() {
    for driver in ["vfio-pci", "pci-stub", "uio_pci_generic", "igb_uio"] {
        let root = FakeRoot::new();
        virtio_nic(&root);
        root.pci("0000:00:06.0", "0x020000", "0x8086", "0x100e")
            .bind("0000:00:06.0", driver);
        let (code, r) = root.status_with(&["--expect-pci", "0000:00:06.0"]);
        assert_eq!(code, 0, "{driver}: {r:#}");
        let (state, reason) = state_of(&r, "0000:00:06.0");
        assert_eq!(state, "passthrough", "{driver}");
        assert_eq!(reason, format!("bound to pass-through driver {driver}"));
        // An expected pass-through function counts as there.
        assert_eq!(r["expectations"][0]["met"], true, "{driver}");
    }
}

#[test]
fn roce_port_with_ethernet_link_layer_waits_for_no_ipoib_netdev() {
    let root = FakeRoot::new();
    root.pci("0000:4b:00.0", "0x020000", "0x15b3", "0x101d")
        .bind("0000:4b:00.0", "mlx5_core")
        .module("mlx5_core", "live")
        .module("mlx5_ib", "live")
        .ib_port("mlx5_0", "0000:4b:00.0", 1, "Ethernet")
        .netdev("0000:4b:00.0", None, "ens4f0np0", 4, "b8:59:9f:1c:2a:3e")
        .processed(4, "mlx5_core");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(state_of(&r, "0000:4b:00.0").0, "ready");
    // IPoIB=yes asks for one per InfiniBand port: a RoCE port is none.
    root.file("etc/netsettle.conf", "[Settle]\nIPoIB=yes\n");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(state_of(&r, "0000:4b:00.0").0, "ready");
}

/// A dual-port ConnectX in InfiniBand mode with ib_ipoib loaded.
fn dual_port_ib(root: &FakeRoot) {
    root.pci("0000:4b:00.0", "0x020700", "0x15b3", "0x101b")
        .bind("0000:4b:00.0", "mlx5_core")
        .module("ib_ipoib", "live")
        .module("mlx5_ib", "live")
        .ib_port("mlx5_0", "0000:4b:00.0", 1, "InfiniBand")
        .ib_port("mlx5_0", "0000:4b:00.0", 2, "InfiniBand")
        .netdev_typed("0000:4b:00.0", None, "ib0", 5, IPOIB_GID, 32)
        .processed(5, "mlx5_core");
}

#[test]
fn multi_port_infiniband_device_waits_for_an_ipoib_netdev_per_port() {
    let root = FakeRoot::new();
    dual_port_ib(&root);
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    let (state, reason) = state_of(&r, "0000:4b:00.0");
    assert_eq!(state, "no-netdev");
    assert_eq!(
        reason,
        "ib_ipoib is loaded but 0000:4b:00.0 has no IPoIB netdev for its InfiniBand port yet"
    );
    root.netdev_typed("0000:4b:00.0", None, "ib1", 6, IPOIB_GID, 32)
        .processed(6, "mlx5_core");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(device(&r, "0000:4b:00.0")["netdevs"], json!(["ib0", "ib1"]));
    // IPoIB netdevs have no readable name_assign_type: null, not a number.
    assert_eq!(r["interfaces"][0]["name_assign_type"], Value::Null);
}

#[test]
fn infiniband_port_with_one_ethernet_port_beside_it_waits_for_both_kinds() {
    // VPI: port 1 InfiniBand, port 2 Ethernet. The Ethernet port's netdev
    // does not stand in for the IPoIB netdev the InfiniBand port gets.
    let root = FakeRoot::new();
    root.pci("0000:4b:00.0", "0x020700", "0x15b3", "0x101b")
        .bind("0000:4b:00.0", "mlx5_core")
        .module("ib_ipoib", "live")
        .ib_port("mlx5_0", "0000:4b:00.0", 1, "InfiniBand")
        .ib_port("mlx5_0", "0000:4b:00.0", 2, "Ethernet")
        .netdev("0000:4b:00.0", None, "ens4f1", 7, "b8:59:9f:1c:2a:3f")
        .processed(7, "mlx5_core");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(state_of(&r, "0000:4b:00.0").0, "no-netdev");
    root.netdev_typed("0000:4b:00.0", None, "ib0", 5, IPOIB_GID, 32)
        .processed(5, "mlx5_core");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
}

#[test]
fn ipoib_yes_waits_for_ib0_even_when_the_kernel_has_no_ib_ipoib() {
    let root = FakeRoot::new();
    root.pci("0000:4b:00.0", "0x020700", "0x15b3", "0x101b")
        .bind("0000:4b:00.0", "mlx5_core")
        .module("mlx5_ib", "live")
        .ib_port("mlx5_0", "0000:4b:00.0", 1, "InfiniBand")
        .file(
            &format!("lib/modules/{RELEASE}/modules.dep"),
            "kernel/drivers/net/ethernet/mellanox/mlx5/core/mlx5_core.ko:\n",
        )
        .file(&format!("lib/modules/{RELEASE}/modules.builtin"), "");
    // auto: the kernel provably lacks ib_ipoib, so nothing is awaited.
    let (code, _) = root.status();
    assert_eq!(code, 0);
    root.file("etc/netsettle.conf", "[Settle]\nIPoIB=yes\n");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    let (state, reason) = state_of(&r, "0000:4b:00.0");
    assert_eq!(state, "no-netdev");
    assert!(reason.contains("modprobe ib_ipoib"), "{reason}");
}

// ---------------------------------------------------------------------------
// companions

#[test]
fn qed_waits_for_qede_and_names_it() {
    let root = FakeRoot::new();
    root.pci("0000:5e:00.0", "0x020000", "0x1077", "0x1656")
        .bind("0000:5e:00.0", "qed")
        .module("qed", "live");
    let (code, r) = root.status();
    assert_eq!(code, 1);
    assert_eq!(
        state_of(&r, "0000:5e:00.0"),
        (
            "no-netdev".to_string(),
            "driver qed bound; qede is not loaded, so no netdev can appear: modprobe qede"
                .to_string()
        )
    );
    root.module("qede", "coming");
    let (_, r) = root.status();
    assert_eq!(
        state_of(&r, "0000:5e:00.0").1,
        "driver qed bound; qede is still loading"
    );
    assert_eq!(r["pending_modules"], json!(["qede"]));
    root.module("qede", "live");
    let (_, r) = root.status();
    assert_eq!(
        state_of(&r, "0000:5e:00.0").1,
        "driver qed bound and qede loaded, but no netdev has appeared yet"
    );
}

#[test]
fn hfi1_waits_for_ib_ipoib_requested_by_the_kernel() {
    let root = FakeRoot::new();
    root.pci("0000:81:00.0", "0x020800", "0x8086", "0x24f0")
        .bind("0000:81:00.0", "hfi1")
        .module("hfi1", "live")
        .ib_port("hfi1_0", "0000:81:00.0", 1, "InfiniBand")
        .modprobe(4321, 2, "ib_ipoib");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(
        state_of(&r, "0000:81:00.0"),
        (
            "no-netdev".to_string(),
            "driver hfi1 bound; ib_ipoib was requested by hfi1 and is still loading".to_string()
        )
    );
    assert_eq!(r["pending_modules"], json!(["ib_ipoib"]));
}

// ---------------------------------------------------------------------------
// expectations

#[test]
fn unmet_driver_expectation_keeps_netsettle_waiting_and_is_reported() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.file("etc/netsettle.conf", "[Expect]\nDriver=mlx4_en\n");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(
        r["expectations"],
        json!([{"kind": "driver", "value": "mlx4_en", "met": false}])
    );
    let text = String::from_utf8(root.run(&["status"]).stdout).unwrap();
    assert!(text.contains("expected driver mlx4_en: not met"), "{text}");
    // The netdev's own driver (ID_NET_DRIVER) meets it, `-` and `_` alike.
    root.file("etc/netsettle.conf", "[Expect]\nDriver=virtio-net\n");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    // So does the PCI driver of a ready function.
    root.file("etc/netsettle.conf", "[Expect]\nDriver=virtio_pci\n");
    let (code, _) = root.status();
    assert_eq!(code, 0);
}

#[test]
fn min_interfaces_is_met_by_exactly_that_many_processed_interfaces() {
    let root = FakeRoot::new();
    e1000_with(&root, "0000:00:04.0", "ens4", 3, "52:54:00:00:00:04");
    e1000_with(&root, "0000:00:05.0", "ens5", 4, "52:54:00:00:00:05");
    root.file("etc/netsettle.conf", "[Expect]\nMinInterfaces=2\n");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(
        r["expectations"],
        json!([{"kind": "min_interfaces", "value": "2", "met": true}])
    );
    root.file("etc/netsettle.conf", "[Expect]\nMinInterfaces=3\n");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(r["expectations"][0]["met"], false);
    let text = String::from_utf8(root.run(&["status"]).stdout).unwrap();
    assert!(
        text.contains("expected min interfaces 3: not met"),
        "{text}"
    );
    // An interface udev has not finished with does not count.
    root.remove("run/udev/data/n4")
        .file("etc/netsettle.conf", "[Expect]\nMinInterfaces=2\n");
    let (_, r) = root.status();
    assert_eq!(r["expectations"][0]["met"], false, "{r:#}");
}

#[test]
fn mac_expectation_matches_in_any_case_and_marks_its_device_explicit() {
    let root = FakeRoot::new();
    e1000_with(&root, "0000:00:04.0", "ens4", 3, "52:54:00:ab:cd:ef");
    let (code, r) = root.status_with(&["--no-auto", "--expect-mac", "52:54:00:AB:CD:EF"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(field(&r["devices"], "pci"), ["0000:00:04.0"]);
    assert_eq!(
        r["expectations"],
        json!([{"kind": "mac", "value": "52:54:00:ab:cd:ef", "met": true}])
    );
    let (code, r) = root.status_with(&["--expect-mac", "52:54:00:00:00:99"]);
    assert_eq!(code, 1);
    assert_eq!(r["expectations"][0]["met"], false);
}

// ---------------------------------------------------------------------------
// kernel command line

#[test]
fn kernel_command_line_ignore_excludes_by_address_driver_or_interface() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    stuck_e1000(&root);
    root.pci("0000:00:05.0", "0x020000", "0x8086", "0x10d3")
        .bind("0000:00:05.0", "e1000e");
    let (code, _) = root.status();
    assert_eq!(code, 1);

    root.cmdline("ro netsettle.ignore=0000:00:04.0,e1000e");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(
        state_of(&r, "0000:00:04.0"),
        (
            "ignored".to_string(),
            "0000:00:04.0 is on the ignore list".to_string()
        )
    );
    assert_eq!(
        state_of(&r, "0000:00:05.0"),
        (
            "ignored".to_string(),
            "driver e1000e is on the ignore list".to_string()
        )
    );
    // The rd. form, and an interface glob.
    root.netdev("0000:00:04.0", None, "ens4", 3, "52:54:00:00:00:04");
    root.cmdline("ro rd.netsettle.ignore=ens*,e1000e");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(field(&r["interfaces"], "name"), Vec::<&str>::new());
}

#[test]
fn kernel_command_line_adds_to_the_config_and_off_beats_it() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.file("etc/netsettle.conf", "[Expect]\nInterface=ens3\n")
        .cmdline("ro rd.netsettle.expect=ib0");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(field(&r["expectations"], "value"), ["ens3", "ib0"]);
    root.cmdline("ro netsettle.expect=ib0 netsettle=off");
    let (code, r) = wait_json(&root, &["-t", "10h"]);
    assert_eq!(code, 0);
    assert_eq!(r["ready"], true);
    // `netsettle=on` later on the line wins again.
    root.cmdline("ro netsettle=off netsettle.expect=ib0 rd.netsettle=on");
    let (code, _) = root.status();
    assert_eq!(code, 1);
}

// ---------------------------------------------------------------------------
// report values

#[test]
fn report_carries_the_device_id_mac_and_ifindex_as_sysfs_shows_them() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x10d3")
        .bind("0000:00:04.0", "e1000e")
        .netdev("0000:00:04.0", None, "ens4", 7, "52:54:00:0a:0b:0c")
        .processed(7, "e1000e");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    let d = device(&r, "0000:00:04.0");
    assert_eq!(d["class"], "0x020000");
    assert_eq!(d["vendor"], "0x8086");
    assert_eq!(d["device"], "0x10d3");
    assert_eq!(d["driver"], "e1000e");
    assert_eq!(
        r["interfaces"],
        json!([{
            "name": "ens4",
            "ifindex": 7,
            "pci": "0000:00:04.0",
            "mac": "52:54:00:0a:0b:0c",
            "udev_processed": true,
            "name_assign_type": 4
        }])
    );
}

#[test]
fn text_report_lists_kernel_problems_with_their_timestamps() {
    let root = FakeRoot::new();
    stuck_e1000(&root);
    root.kmsg("4,12,17433467,-;kernel BUG at arch/x86/kernel/apic/io_apic.c:1358!\n");
    let (_, r) = root.status();
    assert_eq!(
        r["kernel_problems"],
        json!([{"usec": 17433467, "text": "kernel BUG at arch/x86/kernel/apic/io_apic.c:1358!"}])
    );
    let text = String::from_utf8(root.run(&["status"]).stdout).unwrap();
    assert!(
        text.contains(
            "kernel problems:\n  [   17.433467] kernel BUG at arch/x86/kernel/apic/io_apic.c:1358!\n"
        ),
        "{text}"
    );
}

#[test]
fn text_report_names_the_busy_queue_and_the_loading_modules() {
    let root = FakeRoot::new();
    root.pci("0000:04:00.0", "0x020000", "0x15b3", "0x1003")
        .bind("0000:04:00.0", "mlx4_core")
        .module("mlx4_core", "live")
        .module("mlx4_en", "coming")
        .file("run/udev/queue", "");
    let text = String::from_utf8(root.run(&["status"]).stdout).unwrap();
    assert!(text.starts_with("not ready after "), "{text}");
    assert!(text.contains(": 1 of 1 NICs not ready\n"), "{text}");
    assert!(
        text.contains("udev: event queue not empty (run/udev/queue exists)\n"),
        "{text}"
    );
    assert!(text.contains("modules loading: mlx4_en\n"), "{text}");
    assert!(
        text.contains("0000:04:00.0  mlx4_core  no-netdev      driver mlx4_core bound; mlx4_en is still loading"),
        "{text}"
    );
}

#[test]
fn text_report_when_ready_counts_nics_and_lists_their_interfaces() {
    let root = FakeRoot::new();
    e1000_with(&root, "0000:00:04.0", "ens4", 3, "52:54:00:00:00:04");
    let text = String::from_utf8(root.run(&["status"]).stdout).unwrap();
    assert!(text.starts_with("ready in "), "{text}");
    assert!(text.ends_with(" s: 1 NIC (ens4)\n"), "{text}");
    e1000_with(&root, "0000:00:05.0", "ens5", 4, "52:54:00:00:00:05");
    let text = String::from_utf8(root.run(&["status"]).stdout).unwrap();
    assert!(text.ends_with(" s: 2 NICs (ens4 ens5)\n"), "{text}");
}

// ---------------------------------------------------------------------------
// logging and udevadm compatibility

#[test]
fn netsettle_log_overrides_the_verbosity_options() {
    let root = FakeRoot::new();
    stuck_e1000(&root);
    let plain = command(&root, &["status"], &[]).output().unwrap();
    assert!(!stderr_of(&plain).contains("-> no-netdev"));
    // info from the environment, with no -v.
    let out = command(&root, &["status"], &[("NETSETTLE_LOG", "info")])
        .output()
        .unwrap();
    assert!(
        stderr_of(&out).contains("0000:00:04.0: new -> no-netdev"),
        "{}",
        stderr_of(&out)
    );
    // off, even with -vv and udevd missing (a warning otherwise).
    root.remove("run/udev/control");
    let out = command(&root, &["status", "-vv"], &[("NETSETTLE_LOG", "off")])
        .output()
        .unwrap();
    assert_eq!(stderr_of(&out), "");
    let out = command(&root, &["status", "-vv"], &[]).output().unwrap();
    assert!(stderr_of(&out).contains("udevd is not running"));
}

#[test]
fn verbosity_options_choose_what_is_logged() {
    let root = FakeRoot::new();
    stuck_e1000(&root);
    root.remove("run/udev/control");
    let err = |args: &[&str]| stderr_of(&command(&root, args, &[]).output().unwrap());
    // Default: warnings, no state changes.
    let e = err(&["status"]);
    assert!(
        e.contains("udevd is not running") && !e.contains("-> no-netdev"),
        "{e}"
    );
    // -q: errors only.
    assert_eq!(err(&["status", "-q"]), "");
    // -v: state changes.
    assert!(err(&["status", "-v"]).contains("0000:00:04.0: new -> no-netdev"));
}

#[test]
fn every_deprecated_udevadm_seq_option_form_is_accepted_with_a_warning() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    for args in [
        &["-e", "20"][..],
        &["--seq-start", "10"],
        &["--seq-start=10", "-e", "20"],
        &["-s", "10"],
    ] {
        let mut all = vec!["-t", "5"];
        all.extend_from_slice(args);
        let out = root.run(&all);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr_of(&out));
        assert!(
            stderr_of(&out).contains("--seq-start and --seq-end are deprecated and ignored"),
            "{args:?}: {}",
            stderr_of(&out)
        );
    }
    // They belong to the wait: with status they are a usage error.
    for args in [&["status", "-e", "20"][..], &["status", "--seq-start", "1"]] {
        assert_eq!(root.run(args).status.code(), Some(2), "{args:?}");
    }
    // Without them, no warning.
    assert!(!stderr_of(&root.run(&["-t", "5"])).contains("deprecated"));
}

#[test]
fn exit_if_exists_ends_a_wait_that_would_otherwise_go_on() {
    let root = FakeRoot::new();
    stuck_e1000(&root);
    let flag = root.path().join("flag");
    std::fs::write(&flag, "").unwrap();
    let (code, r) = wait_json(&root, &["-t", "10h", "-E", flag.to_str().unwrap()]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["exit_code"], 0);
    assert_eq!(r["ready"], false);
}

#[test]
fn sighup_report_lines_go_to_stderr_and_the_wait_goes_on() {
    let root = FakeRoot::new();
    stuck_e1000(&root);
    let mut child = root.spawn(&["--format", "json", "-v", "-t", "10h"]);
    let mut stderr = common::wait_until_watching(&mut child);
    signal(&child, Signal::SIGHUP);
    read_until(&mut stderr, "SIGHUP: current state follows; still waiting");
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.starts_with("not ready after "), "{line}");
    signal(&child, Signal::SIGINT);
    let (code, r, _) = finish_with(child, stderr);
    assert_eq!((code, &r["exit_code"]), (130, &json!(130)));
}

// ---------------------------------------------------------------------------
// limits: exactly at a documented bound is accepted, one byte more is not

/// `status` on a ready root with `etc/netsettle.conf` = `text`: exit code and stderr.
fn with_config(text: &str) -> (i32, String) {
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.file("etc/netsettle.conf", text);
    let out = root.run(&["status"]);
    (out.status.code().unwrap(), stderr_of(&out))
}

#[test]
fn config_file_of_exactly_one_mebibyte_is_read_and_one_byte_more_is_refused() {
    const MIB: usize = 1 << 20;
    let mut text = String::from("[Settle]\nTimeout=10s\n");
    let comment = format!("#{}\n", "c".repeat(998));
    while text.len() + comment.len() <= MIB {
        text.push_str(&comment);
    }
    text.push_str(&"\n".repeat(MIB - text.len()));
    assert_eq!(text.len(), MIB);
    assert_eq!(with_config(&text), (0, String::new()));
    text.push('\n');
    let (code, err) = with_config(&text);
    assert_eq!(code, 2);
    assert!(err.contains("larger than 1048576 bytes"), "{err}");
}

#[test]
fn config_line_of_exactly_64_kib_is_read_and_one_byte_more_is_refused() {
    const LIMIT: usize = 64 * 1024;
    let line = format!("Interface={}", "x".repeat(LIMIT - "Interface=".len()));
    assert_eq!(line.len(), LIMIT);
    assert_eq!(
        with_config(&format!("[Ignore]\n{line}\n")),
        (0, String::new())
    );
    let (code, err) = with_config(&format!("[Ignore]\n{line}x\n"));
    assert_eq!(code, 2);
    assert!(err.contains("line is longer than 65536 bytes"), "{err}");
    // A continued line counts as one.
    let half = &line[..LIMIT / 2];
    let (code, err) = with_config(&format!(
        "[Ignore]\n{half}\\\n{}x\\\n\n",
        &line[LIMIT / 2..]
    ));
    assert_eq!(code, 2, "{err}");
}

#[test]
fn kernel_command_line_is_read_up_to_64_kib() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    // Architectures allow command lines far longer than x86's 2048 bytes.
    let filler = "x=y ".repeat(4000);
    root.cmdline(&format!("{filler}netsettle.expect=ib0"));
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(field(&r["expectations"], "value"), ["ib0"]);
}

#[test]
fn a_timeout_too_large_to_count_says_so() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    for t in ["99999999999999999999", "99999999999999999999s"] {
        let out = root.run(&["-t", t]);
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr_of(&out).contains("number is too large"),
            "-t {t}: {}",
            stderr_of(&out)
        );
    }
    let out = root.run(&["-t", "soon"]);
    assert!(
        stderr_of(&out)
            .contains(r#"expected seconds ("90") or a time span ("90s", "2min", "1h 30m")"#),
        "{}",
        stderr_of(&out)
    );
}

// ---------------------------------------------------------------------------
// the wait loop's own reports

#[test]
fn a_wait_without_udevd_warns_once_announces_once_and_logs_each_change_once() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .remove("run/udev/control");
    let mut child = root.spawn(&["--format", "json", "-v", "-t", "10h"]);
    let mut stderr = common::wait_until_watching(&mut child);
    // Each change is a new evaluation; the second one changes no state.
    root.bind("0000:00:04.0", "e1000");
    read_until(&mut stderr, "0000:00:04.0: no-driver -> no-netdev");
    root.module("e1000", "live");
    root.bind("0000:00:04.0", "e1000");
    root.netdev("0000:00:04.0", None, "ens4", 3, "52:54:00:00:00:04");
    read_until(&mut stderr, "0000:00:04.0: no-netdev -> ready");
    let (code, _, rest) = finish_with(child, stderr);
    assert_eq!(code, 0, "{rest}");
    assert!(
        !rest.contains("udevd is not running"),
        "warned again: {rest}"
    );
    assert!(
        !rest.contains("watching for changes"),
        "announced again: {rest}"
    );
    assert!(!rest.contains("-> "), "a state logged twice: {rest}");

    // With WaitForUdev=no, udevd's absence does not matter: no warning.
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.remove("run/udev/control")
        .file("etc/netsettle.conf", "[Settle]\nWaitForUdev=no\n");
    let out = root.run(&["status"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stderr_of(&out), "");
}

/// The `S` of `(S s)` at the end of a STATUS= line.
fn status_seconds(msg: &str) -> u64 {
    msg.rsplit_once('(')
        .and_then(|(_, s)| s.strip_suffix(" s)"))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no seconds in {msg:?}"))
}

#[test]
fn sd_notify_status_counts_whole_seconds_waited() {
    let root = FakeRoot::new();
    stuck_e1000(&root);
    let path = root.path().join("metrics.prom");
    let (code, msgs) = notified(
        &root,
        &["-t", "1500ms", "--metrics", path.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    let waited_ms: u64 = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("netsettle_duration_seconds "))
        .map(|s| (s.parse::<f64>().unwrap() * 1000.0) as u64)
        .unwrap();
    let secs: Vec<u64> = msgs.iter().map(|m| status_seconds(m)).collect();
    assert!(secs.windows(2).all(|w| w[0] <= w[1]), "{msgs:?}");
    // The last line is the final report's, in whole seconds.
    assert!(waited_ms >= 1500, "{waited_ms}");
    assert_eq!(
        *secs.last().unwrap(),
        waited_ms / 1000,
        "{msgs:?} after {waited_ms} ms"
    );
}

#[test]
fn sighup_and_sigterm_reports_say_how_long_netsettle_has_waited() {
    let root = FakeRoot::new();
    stuck_e1000(&root);
    let mut child = root.spawn(&["--format", "json", "-v", "-t", "10h"]);
    let mut stderr = common::wait_until_watching(&mut child);
    // Ask until the report shows time passing; each answer comes from a
    // fresh evaluation, so it does within a few rounds.
    let mut shown = 0.0;
    for _ in 0..100_000 {
        signal(&child, Signal::SIGHUP);
        read_until(&mut stderr, "SIGHUP: current state follows");
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        shown = line
            .strip_prefix("not ready after ")
            .and_then(|l| l.split(' ').next())
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{line:?}"));
        if shown > 0.0 {
            break;
        }
    }
    assert!(shown > 0.0, "the SIGHUP report always says 0.00 s");
    signal(&child, Signal::SIGTERM);
    let (code, r, _) = finish_with(child, stderr);
    assert_eq!(code, 143);
    assert!(
        r["elapsed_ms"].as_u64().unwrap() as f64 >= shown * 1000.0 - 5.0,
        "{} ms after a SIGHUP report of {shown} s",
        r["elapsed_ms"]
    );
}

// ---------------------------------------------------------------------------
// what sysfs shows

/// A virtual netdev (`devices/virtual/net/NAME`), processed by udev.
fn virtual_netdev(root: &FakeRoot, name: &str, ifindex: u32) {
    let dir = format!("sys/devices/virtual/net/{name}");
    root.file(&format!("{dir}/ifindex"), format!("{ifindex}\n"))
        .file(&format!("{dir}/address"), "02:00:00:00:00:01\n")
        .file(&format!("{dir}/type"), "1\n");
    std::os::unix::fs::symlink(
        format!("../../devices/virtual/net/{name}"),
        root.path().join("sys/class/net").join(name),
    )
    .unwrap();
    root.processed(ifindex, "bonding");
}

#[test]
fn virtual_interfaces_count_only_when_named() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    virtual_netdev(&root, "bond0", 10);
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(field(&r["interfaces"], "name"), ["ens3"]);
    let (code, r) = root.status_with(&["--expect-iface", "bond0"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(field(&r["interfaces"], "name"), ["bond0", "ens3"]);
    assert_eq!(r["interfaces"][0]["pci"], Value::Null);
    // Not a PCI function's interface: MinInterfaces does not count it.
    root.file("etc/netsettle.conf", "[Expect]\nMinInterfaces=2\n");
    let (code, r) = root.status_with(&["--expect-iface", "bond0"]);
    assert_eq!(code, 1, "{r:#}");
}

#[test]
fn plain_directories_in_class_net_of_a_copied_tree_count_only_when_named() {
    // `cp -r` of /sys/class/net makes directories of the links.
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.file("sys/class/net/br0/ifindex", "11\n")
        .file("sys/class/net/br0/address", "02:00:00:00:00:02\n")
        .processed(11, "bridge")
        .file("sys/class/net/stray", "");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(field(&r["interfaces"], "name"), ["ens3"]);
    let (code, r) = root.status_with(&["--expect-iface", "br0", "--expect-iface", "stray"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(field(&r["interfaces"], "name"), ["br0", "ens3"]);
    assert_eq!(r["interfaces"][0]["ifindex"], 11);
    assert_eq!(
        field(&r["expectations"], "value"),
        ["br0", "stray"],
        "{r:#}"
    );
    assert_eq!(r["expectations"][0]["met"], true);
    assert_eq!(r["expectations"][1]["met"], false);
}

#[test]
fn a_class_net_link_whose_device_is_gone_is_no_interface() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    std::os::unix::fs::symlink(
        "../../devices/pci0000:00/0000:00:03.0/virtio0/net/eth9",
        root.path().join("sys/class/net/eth9"),
    )
    .unwrap();
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(field(&r["interfaces"], "name"), ["ens3"]);
}

#[test]
fn empty_attributes_read_as_absent() {
    let root = FakeRoot::new();
    root.aliases("alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000\n")
        .pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .bind("0000:00:04.0", "e1000")
        .netdev("0000:00:04.0", None, "ens4", 3, "")
        .processed(3, "e1000")
        .file("sys/devices/pci0000:00/0000:00:04.0/vendor", "\n")
        .pci("0000:00:05.0", "0x020000", "0x8086", "0x100e")
        .file("sys/devices/pci0000:00/0000:00:05.0/modalias", "\n");
    let (code, r) = root.status();
    // An empty modalias matches no alias, but is no proof of a missing driver.
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(device(&r, "0000:00:04.0")["vendor"], Value::Null);
    assert_eq!(r["interfaces"][0]["mac"], Value::Null);
    let (state, reason) = state_of(&r, "0000:00:05.0");
    assert_eq!(state, "no-driver");
    assert!(reason.contains("the device has no modalias"), "{reason}");
}

#[test]
fn ifindex_zero_is_no_ifindex() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .bind("0000:00:04.0", "e1000")
        .netdev("0000:00:04.0", None, "ens4", 0, "52:54:00:00:00:04")
        .processed(0, "e1000");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(r["interfaces"][0]["ifindex"], Value::Null);
    assert!(state_of(&r, "0000:00:04.0")
        .1
        .contains("no readable ifindex"));
}

// ---------------------------------------------------------------------------
// metrics, text report numbers, udevd's socket table

/// The value of a metrics line that starts with `series `.
fn metric(text: &str, series: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {series} in {text}"))
        .to_string()
}

#[test]
fn metrics_count_devices_by_state_and_the_text_report_shows_the_same_duration() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    stuck_e1000(&root);
    root.pci("0000:00:06.0", "0x020000", "0x8086", "0x100e")
        .bind("0000:00:06.0", "vfio-pci");
    let path = root.path().join("m.prom");
    let out = root.run(&["-t", "300ms", "--metrics", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = std::fs::read_to_string(&path).unwrap();
    for (state, n) in [
        ("ready", "1"),
        ("no-driver", "0"),
        ("probe-failed", "0"),
        ("no-netdev", "1"),
        ("not-processed", "0"),
        ("passthrough", "1"),
        ("ignored", "0"),
    ] {
        assert_eq!(
            metric(&text, &format!("netsettle_devices{{state=\"{state}\"}}")),
            n,
            "{state}: {text}"
        );
    }
    // The operator's report and the fleet's metric agree on how long it took.
    let secs: f64 = metric(&text, "netsettle_duration_seconds").parse().unwrap();
    assert!(secs >= 0.3, "{secs}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with(&format!(
            "not ready after {secs:.2} s: 1 of 2 NICs not ready\n"
        )),
        "{stdout} vs {secs}"
    );
}

#[test]
fn text_report_mentions_the_udev_queue_only_while_udevd_runs_and_it_is_busy() {
    let root = FakeRoot::new();
    stuck_e1000(&root);
    let text = |root: &FakeRoot| String::from_utf8(root.run(&["status"]).stdout).unwrap();
    assert!(!text(&root).contains("udev:"), "{}", text(&root));
    root.file("run/udev/queue", "");
    assert!(text(&root).contains("udev: event queue not empty"));
    // A queue file left behind by a udevd that is gone is not waited for.
    root.remove("run/udev/control");
    assert!(!text(&root).contains("udev:"), "{}", text(&root));
}

/// A `proc/net/unix` with one socket bound to `path`, with `flags`.
fn socket_table(path: &str, flags: &str) -> String {
    format!(
        "Num       RefCount Protocol Flags    Type St Inode Path\n\
         0000000000000000: 00000002 00000000 {flags} 0005 01 12345 {path}\n"
    )
}

#[test]
fn udevd_counts_as_running_when_the_socket_table_shows_it_listening() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.remove("run/udev/control").file("run/udev/queue", "");
    let path = root.path().join("run/udev/control");
    // A socket file nobody here listens on: only the table can tell.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let running = |table: String| {
        root.file("proc/net/unix", table);
        root.status().1["udev"]["running"].clone()
    };
    // Bound as udevd sees it, from its own root, and listening.
    assert_eq!(running(socket_table("/run/udev/control", "00010000")), true);
    // Bound by the path as seen from here.
    assert_eq!(
        running(socket_table(path.to_str().unwrap(), "00010000")),
        true
    );
    // Not listening (no __SO_ACCEPTCON), or another socket.
    assert_eq!(
        running(socket_table("/run/udev/control", "00000000")),
        false
    );
    assert_eq!(
        running(socket_table("/run/systemd/notify", "00010000")),
        false
    );
}

#[test]
fn driver_expectation_falls_back_to_the_netdevs_parent_driver_when_udev_names_none() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    std::fs::create_dir_all(root.path().join("sys/bus/virtio/drivers/virtio_net")).unwrap();
    std::os::unix::fs::symlink(
        "../../../../bus/virtio/drivers/virtio_net",
        root.path()
            .join("sys/devices/pci0000:00/0000:00:03.0/virtio0/driver"),
    )
    .unwrap();
    root.udev_db(2, "I:1\nE:ID_NET_DRIVER=\n")
        .file("etc/netsettle.conf", "[Expect]\nDriver=virtio_net\n");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["expectations"][0]["met"], true);
    // udev's own word wins when it has one.
    root.udev_db(2, "I:1\nE:ID_NET_DRIVER=virtio_something\n");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
}

#[test]
fn virtio_waits_for_virtio_net_and_names_it() {
    let root = FakeRoot::new();
    root.pci("0000:00:03.0", "0x020000", "0x1af4", "0x1000")
        .bind("0000:00:03.0", "virtio-pci")
        .module("virtio_net", "coming");
    let (code, r) = root.status();
    assert_eq!(code, 1);
    assert_eq!(
        state_of(&r, "0000:00:03.0").1,
        "driver virtio-pci bound; virtio_net is still loading"
    );
    assert_eq!(r["pending_modules"], json!(["virtio_net"]));
    root.module("virtio_net", "live");
    let (_, r) = root.status();
    assert_eq!(
        state_of(&r, "0000:00:03.0").1,
        "driver virtio-pci bound and virtio_net loaded, but no netdev has appeared yet"
    );
}

#[test]
fn mlx5_waits_for_ib_ipoib_requested_by_the_kernel() {
    let root = FakeRoot::new();
    root.pci("0000:4b:00.0", "0x020700", "0x15b3", "0x101b")
        .bind("0000:4b:00.0", "mlx5_core")
        .module("mlx5_ib", "live")
        .ib_port("mlx5_0", "0000:4b:00.0", 1, "InfiniBand")
        .modprobe(4321, 2, "ib_ipoib");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(
        state_of(&r, "0000:4b:00.0").1,
        "driver mlx5_core bound; ib_ipoib was requested by mlx5_core and is still loading"
    );
}

#[test]
fn a_companion_is_requested_by_the_kernel_only_if_its_own_modprobe_says_so() {
    let root = FakeRoot::new();
    root.pci("0000:04:00.0", "0x020000", "0x15b3", "0x1003")
        .bind("0000:04:00.0", "mlx4_core")
        .module("mlx4_core", "live")
        .module("mlx4_en", "coming")
        // The kernel asked for something else; mlx4_en loads by hand.
        .modprobe(4242, 2, "snd_hda_intel")
        .modprobe(4243, 1234, "mlx4_en");
    let (_, r) = root.status();
    assert_eq!(
        state_of(&r, "0000:04:00.0").1,
        "driver mlx4_core bound; mlx4_en is still loading"
    );
}

#[test]
fn probe_failure_reason_quotes_the_drivers_error_lines_for_that_device_just_before_it() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .kmsg(concat!(
            // Error level, no error word: quoted.
            "3,1,100,-;e1000e 0000:00:04.0: PHY reset is blocked due to SOL/IDER session.\n",
            // A banner at info level: not quoted.
            "6,2,200,-;e1000e 0000:00:04.0: Intel(R) PRO/1000 Network Connection\n",
            "4,3,300,-;e1000e: probe of 0000:00:04.0 failed with error -5\n",
        ));
    let (code, r) = root.status();
    assert_eq!(code, 3);
    assert_eq!(
        state_of(&r, "0000:00:04.0").1,
        "probe by e1000e failed with error -5 (EIO): \
         \"e1000e 0000:00:04.0: PHY reset is blocked due to SOL/IDER session.\", then \
         \"e1000e: probe of 0000:00:04.0 failed with error -5\"; \
         waiting will not help: fix the cause in the kernel log and reload the driver"
    );

    // A line about something else in between ends the context.
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .kmsg(concat!(
            "3,1,100,-;e1000e 0000:00:04.0: Failed to init PHY\n",
            "4,2,200,-;usb 1-1: device descriptor read/64, error -71\n",
            "4,3,300,-;e1000e: probe of 0000:00:04.0 failed with error -5\n",
        ));
    let (_, r) = root.status();
    assert_eq!(
        state_of(&r, "0000:00:04.0").1,
        "probe by e1000e failed with error -5 (EIO): \
         \"e1000e: probe of 0000:00:04.0 failed with error -5\"; \
         waiting will not help: fix the cause in the kernel log and reload the driver"
    );
}

#[test]
fn probe_failure_reason_from_pasted_dmesg_quotes_the_lines_that_read_as_errors() {
    // dmesg and journal lines carry no level: their words decide.
    let root = FakeRoot::new();
    root.pci("0000:31:00.0", "0x020000", "0x15b3", "0x101b").kmsg(concat!(
        "[   37.502684] mlx5_core 0000:31:00.0: firmware version: 16.35.2000\n",
        "[   37.516912] mlx5_core 0000:31:00.0: mlx5_function_setup:1283:(pid 5): Failed initializing command interface, aborting\n",
        "[   37.520000] mlx5_core 0000:31:00.0: PCIe link speed is 8.0GT/s\n",
        "[   37.536789] mlx5_core: probe of 0000:31:00.0 failed with error -12\n",
    ));
    let (code, r) = root.status();
    assert_eq!(code, 3);
    let reason = state_of(&r, "0000:31:00.0").1;
    assert!(
        reason.starts_with(
            "probe by mlx5_core failed with error -12 (ENOMEM): \
             \"mlx5_core 0000:31:00.0: mlx5_function_setup:1283:(pid 5): Failed initializing command interface, aborting\", then"
        ),
        "{reason}"
    );
    assert!(!reason.contains("firmware version"), "{reason}");
    assert!(!reason.contains("link speed"), "{reason}");
}

#[test]
fn ipoib_no_makes_an_infiniband_only_device_plainly_ready() {
    let root = FakeRoot::new();
    root.pci("0000:4b:00.0", "0x020700", "0x15b3", "0x101b")
        .bind("0000:4b:00.0", "mlx5_core")
        .ib_port("mlx5_0", "0000:4b:00.0", 1, "InfiniBand")
        .file("etc/netsettle.conf", "[Settle]\nIPoIB=no\n");
    let (code, r) = root.status();
    assert_eq!(code, 0, "{r:#}");
    // Ready as asked, not for want of ib_ipoib in the kernel.
    assert_eq!(device(&r, "0000:4b:00.0")["state"], "ready");
    assert_eq!(device(&r, "0000:4b:00.0")["reason"], Value::Null);
}

#[test]
fn unbound_device_whose_module_is_loaded_is_probing_or_deferred() {
    let root = FakeRoot::new();
    root.aliases("alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000\n")
        .pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .module("e1000", "live");
    let (code, r) = root.status();
    assert_eq!(code, 1);
    assert_eq!(
        state_of(&r, "0000:00:04.0"),
        (
            "no-driver".to_string(),
            "e1000 is loaded but has not bound 0000:00:04.0 (probe running or deferred)"
                .to_string()
        )
    );
}

#[test]
fn a_netdev_udev_is_still_running_rules_for_is_not_processed_and_says_so() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .bind("0000:00:04.0", "e1000")
        .netdev("0000:00:04.0", None, "ens4", 3, "52:54:00:00:00:04")
        .udev_db(3, "I:1\nE:ID_NET_DRIVER=e1000\nE:ID_PROCESSING=1\n")
        .file("run/udev/queue", "");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(
        state_of(&r, "0000:00:04.0"),
        (
            "not-processed".to_string(),
            "udev is still processing ens4".to_string()
        )
    );
}

#[test]
fn mlx4_infiniband_function_without_mlx4_ib_names_mlx4_ib() {
    let root = FakeRoot::new();
    root.pci("0000:04:00.0", "0x020700", "0x15b3", "0x1003")
        .bind("0000:04:00.0", "mlx4_core")
        .module("mlx4_core", "live")
        .module("ib_ipoib", "live");
    let (code, r) = root.status();
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(
        state_of(&r, "0000:04:00.0").1,
        "driver mlx4_core bound; mlx4_ib is not loaded, so the InfiniBand port and its IPoIB netdev cannot appear: load it (modprobe mlx4_ib) or set IPoIB=no"
    );
}

#[test]
fn pci_expectation_is_met_only_by_that_function() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    stuck_e1000(&root);
    let (code, r) = root.status_with(&["--no-auto", "--expect-pci", "0000:00:04.0"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(
        r["expectations"],
        json!([{"kind": "pci", "value": "0000:00:04.0", "met": false}])
    );
    let (code, r) = root.status_with(&["--no-auto", "--expect-pci", "0000:00:03.0"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(field(&r["devices"], "pci"), ["0000:00:03.0"]);
}
