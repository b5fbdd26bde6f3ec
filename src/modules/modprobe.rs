//! `modprobe` processes running now, and which of them the kernel's
//! `request_module()` started: `proc/PID/stat` and `proc/PID/cmdline`
//! (proc(5)).

use super::normalize;
use crate::root::{Dir, Root};

/// A running `modprobe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modprobe {
    /// Its process id.
    pub pid: u32,
    /// Started by the kernel's `request_module()` (parent is kthreadd or a
    /// kernel worker), not by udev or a script.
    pub by_kernel: bool,
    /// The modules it loads, normalized.
    pub modules: Vec<String>,
}

/// `PF_KTHREAD` in `proc/PID/stat`'s flags field (include/linux/sched.h).
const PF_KTHREAD: u64 = 0x0020_0000;

/// Finds running `modprobe` processes in `proc/[0-9]*`.
///
/// The kernel runs modprobe from a workqueue (kernel/umh.c): for
/// `request_module_nowait()` (mlx4_core asking for mlx4_en) the child is
/// re-parented to kthreadd, PID 2; for a waiting `request_module()` its parent
/// is the kworker that waits for it. Both count as `by_kernel`.
pub fn modprobes_in_flight(root: &Root) -> Vec<Modprobe> {
    let mut found = Vec::new();
    let entries = root.list("proc");
    // Each process's files are read relative to proc/, held open. Listed
    // but not searchable, none of them could be read anyway.
    let Some(proc) = entries.first().and_then(|_| root.open_dir("proc")) else {
        return found;
    };
    for entry in entries {
        let Some(pid) = entry.to_str().and_then(pid_of) else {
            continue;
        };
        // A process may exit between listing and reading: skip it.
        let Some(stat) = read_stat(&proc, pid) else {
            continue;
        };
        if stat.comm != "modprobe" || stat.state == 'Z' {
            continue;
        }
        let Some(cmdline) = proc.read_bytes_with(format!("{pid}/cmdline"), <[u8]>::to_vec) else {
            continue;
        };
        let parent_is_kthread =
            || read_stat(&proc, stat.ppid).is_some_and(|p| p.flags & PF_KTHREAD != 0);
        found.push(Modprobe {
            pid,
            by_kernel: stat.ppid == 2 || (stat.ppid != 0 && parent_is_kthread()),
            modules: modprobe_args(&cmdline),
        });
    }
    found.sort_by_key(|m| m.pid);
    found
}

fn pid_of(name: &str) -> Option<u32> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

struct Stat {
    comm: String,
    state: char,
    ppid: u32,
    flags: u64,
}

fn read_stat(proc: &Dir, pid: u32) -> Option<Stat> {
    proc.read_bytes_with(format!("{pid}/stat"), |bytes| {
        parse_stat_fields(&String::from_utf8_lossy(bytes))
    })?
}

/// `PID (COMM) STATE PPID PGRP SESSION TTY TPGID FLAGS …`; COMM may hold
/// spaces and parentheses, so it ends at the last `)`.
fn parse_stat_fields(text: &str) -> Option<Stat> {
    let (pid, rest) = text.split_once(" (")?;
    pid_of(pid.trim())?;
    let (comm, rest) = rest.rsplit_once(')')?;
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let flags = fields.nth(4).and_then(|f| f.parse().ok()).unwrap_or(0);
    Some(Stat {
        comm: comm.to_string(),
        state,
        ppid,
        flags,
    })
}

/// The command name and parent PID from `proc/PID/stat`.
pub fn parse_stat(text: &str) -> Option<(String, u32)> {
    parse_stat_fields(text).map(|s| (s.comm, s.ppid))
}

/// The modules a modprobe command line loads (NUL-separated `proc/PID/cmdline`).
///
/// Options are skipped (`-q`, `-v`, `-b`, `--`; `-C`/`-d`/`-S` with their
/// values). With `-a`/`--all` every other argument is a module; without it
/// only the first is, the rest being `key=value` parameters. Runs that load
/// nothing (`-r`, `-n`, `-D`, `-c` and their long forms) give no modules.
pub fn modprobe_args(cmdline: &[u8]) -> Vec<String> {
    let args: Vec<String> = cmdline
        .split(|&b| b == 0)
        .skip(1)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let mut all = false;
    let mut operands = Vec::new();
    let mut options_done = false;
    let mut takes_value = false;
    for arg in &args {
        if std::mem::take(&mut takes_value) {
            continue;
        }
        if options_done || !arg.starts_with('-') || arg == "-" {
            operands.push(arg.as_str());
        } else if arg == "--" {
            options_done = true;
        } else if let Some(long) = arg.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((name, _)) => (name, true),
                None => (long, false),
            };
            match name {
                "all" => all = true,
                "remove" | "dry-run" | "show" | "show-depends" | "showconfig" | "show-config"
                | "show-modversions" | "dump-modversions" | "show-exports" => return Vec::new(),
                "config" | "dirname" | "set-version" => takes_value = !value,
                _ => {}
            }
        } else {
            let shorts = &arg[1..];
            for (i, c) in shorts.char_indices() {
                match c {
                    'a' => all = true,
                    'r' | 'n' | 'D' | 'c' => return Vec::new(),
                    // The value is the rest of this word, or the next word.
                    'C' | 'd' | 'S' => {
                        takes_value = i + 1 == shorts.len();
                        break;
                    }
                    _ => {}
                }
            }
        }
    }
    let modules = operands.into_iter().take(if all { usize::MAX } else { 1 });
    modules
        .filter(|m| !m.contains('='))
        .map(normalize)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::write;
    use std::fs;
    use std::path::Path;

    #[test]
    fn parse_stat_uses_the_last_parenthesis() {
        let table = [
            (
                "1234 (modprobe) S 2 0 0 0 -1 4194560 …",
                Some(("modprobe", 2)),
            ),
            ("77 (a) b) (c) R 1 77 77 0 -1 0", Some(("a) b) (c", 1))),
            (
                "9 (kworker/u8:1) I 2 0 0 0 -1 69238880",
                Some(("kworker/u8:1", 2)),
            ),
            ("1 (sh) S", None),
            ("garbage", None),
            ("", None),
            ("x (sh) S 1", None),
            ("5 (sh) S -1", None),
        ];
        for (text, want) in table {
            let want = want.map(|(c, p)| (c.to_string(), p));
            assert_eq!(parse_stat(text), want, "case {text}");
        }
    }

    #[test]
    fn process_directories_are_pids_only_when_all_digits() {
        for (name, want) in [("42", Some(42)), ("+5", None), ("", None), ("self", None)] {
            assert_eq!(pid_of(name), want, "{name:?}");
        }
    }

    #[test]
    fn modprobe_args_finds_the_modules() {
        let table: [(&[u8], &[&str]); 16] = [
            (b"/sbin/modprobe\0-q\0--\0mlx4_en\0", &["mlx4_en"]),
            (b"/sbin/modprobe\0-q\0--\0net-pf-10\0", &["net_pf_10"]),
            (b"modprobe\0ib_ipoib\0", &["ib_ipoib"]),
            (
                b"modprobe\0-v\0-b\0mlx4_core\0log_num_mgm_entry_size=-1\0debug_level=1\0",
                &["mlx4_core"],
            ),
            (b"modprobe\0mlx4_core\0other\0", &["mlx4_core"]),
            (
                b"modprobe\0-a\0virtio_pci\0virtio-net\0e1000\0",
                &["virtio_pci", "virtio_net", "e1000"],
            ),
            (b"modprobe\0-qa\0a\0b\0", &["a", "b"]),
            (b"modprobe\0--all\0a\0b=1\0c\0", &["a", "c"]),
            (
                b"modprobe\0-S\x006.1.0\0-C\0/etc/x.conf\0e1000\0",
                &["e1000"],
            ),
            (b"modprobe\0-S6.1.0\0--config=/x\0e1000\0", &["e1000"]),
            (
                b"modprobe\0--set-version\x006.1.0\0--dirname\0/x\0e1000\0",
                &["e1000"],
            ),
            (b"modprobe\0--config\0/etc/x.conf\0e1000\0", &["e1000"]),
            (b"modprobe\0-r\0e1000\0", &[]),
            (b"modprobe\0--show-depends\0e1000\0", &[]),
            (b"modprobe\0", &[]),
            (b"", &[]),
        ];
        for (cmdline, want) in table {
            assert_eq!(
                modprobe_args(cmdline),
                want,
                "case {:?}",
                String::from_utf8_lossy(cmdline)
            );
        }
        assert_eq!(modprobe_args(b"modprobe\0\xffbad\0"), ["\u{fffd}bad"]);
    }

    fn fake_proc(base: &Path, pid: u32, comm: &str, ppid: u32, flags: u64, cmdline: &[u8]) {
        write(
            base,
            &format!("proc/{pid}/stat"),
            format!("{pid} ({comm}) S {ppid} 0 0 0 -1 {flags} 0 0"),
        );
        write(base, &format!("proc/{pid}/cmdline"), cmdline);
    }

    #[test]
    fn modprobes_in_flight_finds_kernel_requests() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        fake_proc(base, 1, "systemd", 0, 0x400100, b"/sbin/init\0");
        fake_proc(base, 2, "kthreadd", 0, PF_KTHREAD | 0x40, b"");
        fake_proc(base, 57, "kworker/u8:3", 2, PF_KTHREAD | 0x4208060, b"");
        // request_module_nowait(): parent kthreadd.
        fake_proc(
            base,
            812,
            "modprobe",
            2,
            0x400100,
            b"/sbin/modprobe\0-q\0--\0mlx4_en\0",
        );
        // request_module(): parent is the waiting kworker.
        fake_proc(
            base,
            813,
            "modprobe",
            57,
            0x400100,
            b"/sbin/modprobe\0-q\0--\0ib_ipoib\0",
        );
        // A script's modprobe.
        fake_proc(
            base,
            900,
            "modprobe",
            1,
            0x400100,
            b"modprobe\0-a\0virtio_net\0e1000\0",
        );
        fake_proc(base, 901, "bash", 1, 0, b"bash\0-c\0modprobe x\0");
        // Exited between listing and reading: stat without cmdline, or nothing.
        write(base, "proc/902/stat", "902 (modprobe) S 2 0 0 0 -1 0");
        fs::create_dir_all(base.join("proc/903")).unwrap();
        write(base, "proc/904/stat", "904 (modprobe) Z 2 0 0 0 -1 0");
        write(base, "proc/self/stat", "1 (x) S 0");
        write(base, "proc/cmdline", "ro quiet");
        let want = [
            Modprobe {
                pid: 812,
                by_kernel: true,
                modules: vec!["mlx4_en".into()],
            },
            Modprobe {
                pid: 813,
                by_kernel: true,
                modules: vec!["ib_ipoib".into()],
            },
            Modprobe {
                pid: 900,
                by_kernel: false,
                modules: vec!["virtio_net".into(), "e1000".into()],
            },
        ];
        assert_eq!(modprobes_in_flight(&Root::new(base)), want);
        assert!(modprobes_in_flight(&Root::new(base.join("nothing"))).is_empty());
    }
}
