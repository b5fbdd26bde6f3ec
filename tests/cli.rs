//! The command line as users and units call it: option forms, exit codes,
//! configuration errors.

mod common;

use common::{json_of, virtio_nic, FakeRoot};

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn timeout_accepts_udevadm_seconds_and_humantime() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    for t in ["30", "90s", "2min", "1h 30m", "0", "1ms", "100years"] {
        let out = root.run(&["-t", t, "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "-t {t}: {}", stderr_of(&out));
        let out = root.run(&[&format!("--timeout={t}"), "-q"]);
        assert_eq!(out.status.code(), Some(0), "--timeout={t}");
    }
}

#[test]
fn bad_timeout_is_a_usage_error_with_the_report_still_printed() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    for t in ["garbage", "-5", "", "5 parsecs"] {
        let out = root.run(&["--format", "json", &format!("--timeout={t}")]);
        let (code, r) = json_of(&out);
        assert_eq!(code, 2, "-t {t:?}");
        assert_eq!(r["exit_code"], 2);
        assert_eq!(r["ready"], false);
        assert!(
            stderr_of(&out).contains("--timeout"),
            "-t {t:?}: {}",
            stderr_of(&out)
        );
    }
}

#[test]
fn unknown_option_is_a_usage_error() {
    let out = FakeRoot::new().run(&["--frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("--frobnicate"));
}

#[test]
fn bad_expectations_on_the_command_line_are_usage_errors() {
    let root = FakeRoot::new();
    for args in [
        ["--expect-pci", "04:00"],
        ["--expect-mac", "52:54:00:12:34"],
        ["--expect-iface", ""],
    ] {
        let out = root.run(&["status", args[0], args[1]]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr_of(&out));
        assert!(
            stderr_of(&out).contains(args[0]),
            "{args:?}: {}",
            stderr_of(&out)
        );
    }
}

#[test]
fn deprecated_seq_options_are_accepted_with_a_warning() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    let out = root.run(&["-s", "10", "--seq-end", "20", "-t", "5"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("deprecated"));
}

#[test]
fn version_and_help_exit_0() {
    let root = FakeRoot::new();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netsettle"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("netsettle "));
    let out = root.run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("--exit-if-exists"));
}

#[test]
fn config_error_names_file_and_line_and_exits_2() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.file(
        "etc/netsettle.conf",
        "[Settle]\nTimeout=10s\n\n[Expect]\nColour=blue\n",
    );
    let out = root.run(&["--format", "json", "-t", "60"]);
    let (code, r) = json_of(&out);
    assert_eq!(code, 2);
    assert_eq!(r["exit_code"], 2);
    let err = stderr_of(&out);
    assert!(err.contains("etc/netsettle.conf:5:"), "{err}");
    assert!(err.contains("Colour"), "{err}");
    // The devices are still shown, so a typo does not leave the operator blind.
    assert_eq!(r["devices"][0]["pci"], "0000:00:03.0");
}

#[test]
fn config_error_in_a_drop_in_names_the_drop_in() {
    let root = FakeRoot::new();
    root.file("etc/netsettle.conf", "[Settle]\nAuto=yes\n")
        .file(
            "etc/netsettle.conf.d/10-site.conf",
            "[Expect]\nPCI=0000:04:00.0\nMAC=zz:zz\n",
        );
    let out = root.run(&["status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("etc/netsettle.conf.d/10-site.conf:3:"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn explicit_config_path_replaces_the_default_files() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.file("etc/netsettle.conf", "[Expect]\nInterface=missing0\n");
    let alt = root.path().join("alt.conf");
    std::fs::write(&alt, "[Expect]\nInterface=ens3\n").unwrap();
    let (code, r) =
        json_of(&root.run(&["status", "--format", "json", "-c", alt.to_str().unwrap()]));
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["expectations"][0]["value"], "ens3");

    let out = root.run(&["status", "-c", "/nonexistent/netsettle.conf"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("/nonexistent/netsettle.conf"));
}

#[test]
fn config_timeout_is_used_and_the_command_line_overrides_it() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .bind("0000:00:04.0", "e1000")
        .file("etc/netsettle.conf", "[Settle]\nTimeout=0\n");
    // Timeout=0 evaluates once: not ready, exit 1 without waiting 120 s.
    let (code, _) = json_of(&root.run(&["--format", "json"]));
    assert_eq!(code, 1);
    // -t replaces it: the wait announces the deadline -t gave.
    let mut child = root.spawn(&["--format", "json", "-v", "-t", "2h"]);
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let line = common::read_until(&mut stderr, "watching for changes");
    common::signal(&child, nix::sys::signal::Signal::SIGTERM);
    let (code, _, _) = common::finish_with(child, stderr);
    assert_eq!(code, 143);
    let secs: f64 = line
        .split("deadline in ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no deadline in {line:?}"));
    assert!(secs > 3600.0 && secs <= 7200.0, "{line}");
    root.cmdline("ro netsettle.timeout=garbage");
    let out = root.run(&["--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("proc/cmdline"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn quiet_prints_nothing_when_ready() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    let out = root.run(&["-q", "-t", "5"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert!(out.stderr.is_empty());
}

#[test]
fn journal_stream_gets_priority_prefixes_only_while_stderr_is_that_stream() {
    use std::os::unix::fs::MetadataExt;
    let root = FakeRoot::new();
    root.remove("run/udev/control");
    // stderr goes to a file whose device and inode JOURNAL_STREAM names, as
    // systemd sets it up for a unit's stderr.
    let path = root.path().join("stderr.log");
    let file = std::fs::File::create(&path).unwrap();
    let meta = file.metadata().unwrap();
    let stream = format!("{}:{}", meta.dev(), meta.ino());
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_netsettle"))
        .args(["status", "--root"])
        .arg(root.path())
        .env("JOURNAL_STREAM", &stream)
        .env_remove("NETSETTLE_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(file)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let err = std::fs::read_to_string(&path).unwrap();
    assert!(err.starts_with("<4>udevd is not running"), "{err}");
    // The variable inherited by a command whose stderr was piped elsewhere
    // (a script under a unit): plain lines.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netsettle"))
        .args(["status", "--root"])
        .arg(root.path())
        .env("JOURNAL_STREAM", &stream)
        .env_remove("NETSETTLE_LOG")
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert!(err.starts_with("netsettle: udevd is not running"), "{err}");
}

#[test]
fn metrics_file_is_written_at_exit() {
    let root = FakeRoot::new();
    root.pci("0000:04:00.0", "0x020000", "0x15b3", "0x1003")
        .bind("0000:04:00.0", "mlx4_core");
    let metrics = root.path().join("netsettle.prom");
    let out = root.run(&["-t", "0", "--metrics", metrics.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(text.contains("netsettle_ready 0\n"), "{text}");
    assert!(text.contains("netsettle_exit_code 1\n"), "{text}");
    assert!(
        text.contains("netsettle_device_not_ready{pci=\"0000:04:00.0\",driver=\"mlx4_core\",state=\"no-netdev\"} 1"),
        "{text}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary file left behind");
}

#[test]
fn common_options_may_come_before_or_after_status() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netsettle"))
        .arg("--root")
        .arg(root.path())
        .args(["--format", "json", "status"])
        .output()
        .unwrap();
    let (code, r) = json_of(&out);
    assert_eq!(code, 0);
    assert_eq!(r["ready"], true);
}

#[test]
fn waiting_options_with_status_are_a_usage_error() {
    let root = FakeRoot::new();
    for args in [
        &["status", "--fail-fast"][..],
        &["-t", "5", "status"],
        &["status", "-E", "/x"],
    ] {
        let out = root.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}
