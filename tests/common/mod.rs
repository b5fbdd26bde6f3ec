//! A fake root that looks like the real thing: `bus/pci/devices/ADDR` and
//! `class/net/NAME` are symlinks into `devices/pci0000:00/…`, `driver` links
//! point into `bus/pci/drivers/`, udev's database is written the way udevd
//! writes it (temp file + rename).

#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::ChildStderr;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Generous: only a hung netsettle trips it.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

/// Kernel release every fake root runs.
pub const RELEASE: &str = "6.1.0-test";

/// A root directory for `netsettle --root`.
pub struct FakeRoot {
    dir: tempfile::TempDir,
}

fn write(path: &Path, content: impl AsRef<[u8]>) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

impl FakeRoot {
    /// An empty machine with udevd running and an idle queue.
    ///
    /// It lives on a tmpfs where there is one (`/dev/shm`), as sysfs and
    /// `/run/udev` live in memory: a root with thousands of netdevs costs
    /// seconds of journal writes on a disk file system, paid again by every
    /// test run of every mutant.
    pub fn new() -> FakeRoot {
        let dir = match std::env::var_os("NETSETTLE_TEST_TMPDIR") {
            Some(base) => tempfile::tempdir_in(base),
            None if Path::new("/dev/shm").is_dir() => {
                tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir())
            }
            None => tempfile::tempdir(),
        };
        let root = FakeRoot { dir: dir.unwrap() };
        for d in [
            "sys/bus/pci/devices",
            "sys/bus/pci/drivers",
            "sys/class/net",
            "sys/devices/pci0000:00",
            "sys/module",
            "run/udev/data",
            "etc",
        ] {
            fs::create_dir_all(root.path().join(d)).unwrap();
        }
        root.file("run/udev/control", "");
        root.file("proc/sys/kernel/osrelease", format!("{RELEASE}\n"));
        root.file(
            "proc/cmdline",
            "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet\n",
        );
        root.file("dev/kmsg", "");
        root
    }

    /// The root directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (parents created).
    pub fn file(&self, rel: &str, content: impl AsRef<[u8]>) -> &Self {
        write(&self.path().join(rel), content);
        self
    }

    /// Removes a file or link; absent is fine.
    pub fn remove(&self, rel: &str) -> &Self {
        let _ = fs::remove_file(self.path().join(rel));
        self
    }

    fn dev_dir(&self, addr: &str) -> PathBuf {
        PathBuf::from("sys/devices/pci0000:00").join(addr)
    }

    /// A PCI function with class, vendor, device and a modalias built from them.
    pub fn pci(&self, addr: &str, class: &str, vendor: &str, device: &str) -> &Self {
        let dir = self.dev_dir(addr);
        let d = self.path().join(&dir);
        fs::create_dir_all(&d).unwrap();
        write(&d.join("class"), format!("{class}\n"));
        write(&d.join("vendor"), format!("{vendor}\n"));
        write(&d.join("device"), format!("{device}\n"));
        let hex = |s: &str| s.trim_start_matches("0x").to_ascii_uppercase();
        let c = u32::from_str_radix(class.trim_start_matches("0x"), 16).unwrap_or(0);
        let modalias = format!(
            "pci:v0000{}d0000{}sv00000000sd00000000bc{:02X}sc{:02X}i{:02X}\n",
            hex(vendor),
            hex(device),
            c >> 16,
            (c >> 8) & 0xff,
            c & 0xff
        );
        write(&d.join("modalias"), modalias);
        let _ = symlink(
            Path::new("../../../devices/pci0000:00").join(addr),
            self.path().join("sys/bus/pci/devices").join(addr),
        );
        self
    }

    /// Binds a driver: `driver` → `../../../bus/pci/drivers/NAME`.
    pub fn bind(&self, addr: &str, driver: &str) -> &Self {
        fs::create_dir_all(self.path().join("sys/bus/pci/drivers").join(driver)).unwrap();
        let link = self.path().join(self.dev_dir(addr)).join("driver");
        let _ = fs::remove_file(&link);
        symlink(Path::new("../../../bus/pci/drivers").join(driver), link).unwrap();
        self
    }

    /// Removes the driver link, as the kernel does when probe fails.
    pub fn unbind(&self, addr: &str) -> &Self {
        let _ = fs::remove_file(self.path().join(self.dev_dir(addr)).join("driver"));
        self
    }

    /// Marks a function as an SR-IOV VF of `pf`.
    pub fn vf_of(&self, addr: &str, pf: &str) -> &Self {
        symlink(
            Path::new("..").join(pf),
            self.path().join(self.dev_dir(addr)).join("physfn"),
        )
        .unwrap();
        self
    }

    /// A netdev under the function (or under its child `sub`, e.g. `virtio0`).
    pub fn netdev(
        &self,
        addr: &str,
        sub: Option<&str>,
        name: &str,
        ifindex: u32,
        mac: &str,
    ) -> &Self {
        self.netdev_typed(addr, sub, name, ifindex, mac, 1)
    }

    /// A netdev with an explicit `type` (32 = InfiniBand).
    ///
    /// `name_assign_type` is 4 (`NET_NAME_RENAMED`): the name given is the
    /// final one udev chose, except for InfiniBand: ipoib never sets
    /// `name_assign_type`, so it stays `NET_NAME_UNKNOWN` and reading the
    /// attribute fails with `EINVAL` (`name_assign_type_show` in
    /// net/core/net-sysfs.c). A fake root cannot fail a read of a regular
    /// file, so it has a directory there: listed, opened, never read.
    pub fn netdev_typed(
        &self,
        addr: &str,
        sub: Option<&str>,
        name: &str,
        ifindex: u32,
        mac: &str,
        kind: u32,
    ) -> &Self {
        let mut dir = self.dev_dir(addr);
        if let Some(sub) = sub {
            dir.push(sub);
        }
        let dir = dir.join("net").join(name);
        let d = self.path().join(&dir);
        write(&d.join("ifindex"), format!("{ifindex}\n"));
        write(&d.join("address"), format!("{mac}\n"));
        write(&d.join("type"), format!("{kind}\n"));
        if kind == 32 {
            fs::create_dir_all(d.join("name_assign_type")).unwrap();
        } else {
            write(&d.join("name_assign_type"), "4\n");
        }
        symlink(
            Path::new("../..").join(dir.strip_prefix("sys").unwrap()),
            self.path().join("sys/class/net").join(name),
        )
        .unwrap();
        self
    }

    /// Marks a netdev as still carrying the name the kernel gave it
    /// (`eth0`): `name_assign_type` 1, `NET_NAME_ENUM` (`alloc_etherdev`).
    pub fn named_by_kernel(&self, name: &str) -> &Self {
        let dir = fs::canonicalize(self.path().join("sys/class/net").join(name)).unwrap();
        write(&dir.join("name_assign_type"), "1\n");
        self
    }

    /// Renames a netdev as the kernel does when udev asks (`dev_change_name`
    /// → `device_rename` in drivers/base/core.c): the `class/net` link is
    /// renamed (`sysfs_rename_link_ns`), then the device's own `net/OLD`
    /// directory becomes `net/NEW` (`kobject_rename`), both before the
    /// `move` uevent; `name_assign_type` becomes 4 (`NET_NAME_RENAMED`).
    pub fn rename_netdev(&self, old: &str, new: &str) -> &Self {
        let class = self.path().join("sys/class/net");
        let target = fs::read_link(class.join(old)).unwrap();
        let new_target = target.with_file_name(new);
        // The new link is made beside the old one and renamed into place.
        let tmp = class.join(format!(".#{new}"));
        symlink(&new_target, &tmp).unwrap();
        fs::rename(&tmp, class.join(new)).unwrap();
        fs::remove_file(class.join(old)).unwrap();
        let new_dir = class.join(&new_target);
        fs::rename(class.join(&target), &new_dir).unwrap();
        write(&new_dir.join("name_assign_type"), "4\n");
        self
    }

    /// Writes udev's database entry for a netdev, atomically like udevd.
    pub fn udev_db(&self, ifindex: u32, content: &str) -> &Self {
        let tmp = self.path().join(format!("run/udev/data/.#n{ifindex}"));
        write(&tmp, content);
        fs::rename(tmp, self.path().join(format!("run/udev/data/n{ifindex}"))).unwrap();
        self
    }

    /// The database entry of a processed netdev.
    pub fn processed(&self, ifindex: u32, driver: &str) -> &Self {
        self.udev_db(
            ifindex,
            &format!("I:12345\nE:ID_NET_DRIVER={driver}\nE:ID_NET_NAME_PATH=enp0s3\n"),
        )
    }

    /// A module with `initstate` (`live`, `coming`, `going`).
    pub fn module(&self, name: &str, state: &str) -> &Self {
        self.file(
            &format!("sys/module/{name}/initstate"),
            format!("{state}\n"),
        )
    }

    /// A `modprobe` process; `ppid` 2 means the kernel asked for it.
    pub fn modprobe(&self, pid: u32, ppid: u32, module: &str) -> &Self {
        self.file(
            &format!("proc/{pid}/stat"),
            format!(
                "{pid} (modprobe) S {ppid} 0 0 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 100 0 0\n"
            ),
        );
        self.file(
            &format!("proc/{pid}/cmdline"),
            format!("/sbin/modprobe\0-q\0--\0{module}\0"),
        )
    }

    /// `modules.alias` of the fake kernel, beside the `modules.builtin`
    /// every installed kernel has (empty here: nothing built in, unless a
    /// test writes one).
    pub fn aliases(&self, text: &str) -> &Self {
        let builtin = format!("lib/modules/{RELEASE}/modules.builtin");
        if !self.path().join(&builtin).exists() {
            self.file(&builtin, "");
        }
        self.file(&format!("lib/modules/{RELEASE}/modules.alias"), text)
    }

    /// Appends kernel log records (raw kmsg or dmesg lines).
    pub fn kmsg(&self, text: &str) -> &Self {
        use std::io::Write;
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(self.path().join("dev/kmsg"))
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
        self
    }

    /// An InfiniBand port of RDMA device `dev` on function `addr`.
    pub fn ib_port(&self, dev: &str, addr: &str, port: u32, link_layer: &str) -> &Self {
        let dir = self.dev_dir(addr).join("infiniband").join(dev);
        self.file(
            &format!("{}/ports/{port}/link_layer", dir.display()),
            format!("{link_layer}\n"),
        );
        let link = self.path().join("sys/class/infiniband").join(dev);
        if !link.exists() {
            fs::create_dir_all(link.parent().unwrap()).unwrap();
            symlink(
                Path::new("../..").join(dir.strip_prefix("sys").unwrap()),
                &link,
            )
            .unwrap();
            symlink(
                Path::new("../../..").join(addr),
                self.path().join(&dir).join("device"),
            )
            .unwrap();
        }
        self
    }

    /// The kernel command line.
    pub fn cmdline(&self, text: &str) -> &Self {
        self.file("proc/cmdline", format!("{text}\n"))
    }

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
