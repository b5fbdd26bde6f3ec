//! What every integration test shares: the fake root builder (builder.rs,
//! also built into the `fakeroot` example) and the helpers that run
//! netsettle on a root and read its JSON report.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::process::ChildStderr;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Generous: only a hung netsettle trips it.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

mod builder;

#[allow(unused_imports)]
pub use builder::{FakeRoot, RELEASE};

/// Running netsettle on the root and reading its report.
impl FakeRoot {
    /// Runs `netsettle ARGS --root ROOT`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Starts `netsettle ARGS --root ROOT` in the background.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_netsettle"));
        cmd.args(args).arg("--root").arg(self.path());
        cmd.env_remove("NETSETTLE_LOG")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("JOURNAL_STREAM");
        cmd
    }

    /// `netsettle status --format json`: exit code and parsed report.
    pub fn status(&self) -> (i32, Value) {
        self.status_with(&[])
    }

    /// `status` with extra options.
    pub fn status_with(&self, extra: &[&str]) -> (i32, Value) {
        let mut args = vec!["status", "--format", "json"];
        args.extend_from_slice(extra);
        json_of(&self.run(&args))
    }
}

/// Exit code and JSON report of a finished run.
pub fn json_of(out: &Output) -> (i32, Value) {
    let text = String::from_utf8_lossy(&out.stdout);
    let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), value)
}

/// The report entry of one device.
pub fn device<'a>(report: &'a Value, pci: &str) -> &'a Value {
    report["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["pci"] == pci)
        .unwrap_or_else(|| panic!("no device {pci} in {report:#}"))
}

/// One string field of every entry of a report array, in report order.
pub fn field<'a>(list: &'a Value, key: &str) -> Vec<&'a str> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list:#}"))
        .iter()
        .map(|e| {
            e[key]
                .as_str()
                .unwrap_or_else(|| panic!("no string {key} in {e:#}"))
        })
        .collect()
}

/// State and reason of one device.
pub fn state_of(report: &Value, pci: &str) -> (String, String) {
    let d = device(report, pci);
    (
        d["state"].as_str().unwrap().to_string(),
        d["reason"].as_str().unwrap_or("").to_string(),
    )
}

/// A QEMU-like virtio-net NIC at 00:03.0, bound, named, processed.
pub fn virtio_nic(root: &FakeRoot) {
    root.pci("0000:00:03.0", "0x020000", "0x1af4", "0x1000")
        .bind("0000:00:03.0", "virtio-pci")
        .netdev(
            "0000:00:03.0",
            Some("virtio0"),
            "ens3",
            2,
            "52:54:00:12:34:56",
        )
        .processed(2, "virtio_net");
}

/// Waits for a child whose stderr nobody read yet.
pub fn finish(mut child: Child) -> (i32, Value, String) {
    let stderr = BufReader::new(child.stderr.take().unwrap());
    finish_with(child, stderr)
}

/// Reads stderr lines until one contains `needle`; fails if the child exits first.
pub fn read_until(reader: &mut BufReader<ChildStderr>, needle: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "netsettle exited before {needle:?}"
        );
        if line.contains(needle) {
            return line;
        }
    }
}

/// Blocks until netsettle has started watching (its `-v` "watching" line).
pub fn wait_until_watching(child: &mut Child) -> BufReader<ChildStderr> {
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    read_until(&mut reader, "watching for changes");
    reader
}

/// Sends a signal to the child.
pub fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
}

/// Waits for the child with a hang guard; returns exit code, JSON report and
/// the rest of stderr.
pub fn finish_with(mut child: Child, stderr: BufReader<ChildStderr>) -> (i32, Value, String) {
    let drain = std::thread::spawn(move || {
        let mut s = String::new();
        let mut r = stderr;
        let _ = r.read_to_string(&mut s);
        s
    });
    let mut stdout = child.stdout.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let status = wait_guarded(&mut child);
    let err = drain.join().unwrap();
    let out = out.join().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    let code = status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {status:?}\n{err}"));
    let value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}\n{err}"));
    (code, value, err)
}

/// Waits for the child; kills it and fails if it hangs.
pub fn wait_guarded(child: &mut Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > HANG_GUARD {
            let _ = child.kill();
            panic!("netsettle still running after {HANG_GUARD:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
