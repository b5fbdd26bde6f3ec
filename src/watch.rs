//! The wait: re-evaluate on every kernel uevent and every change inotify
//! sees under the root, until ready, the deadline, a certain failure
//! (`--fail-fast`) or a signal. A slow tick is only a safety net for facts
//! that announce themselves through neither (a `modprobe` process, a module's
//! `initstate`).

use std::collections::BTreeMap;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use inotify::{Inotify, WatchMask};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::config::Settings;
use crate::kmsg::KernelLog;
use crate::notify::Notifier;
use crate::readiness::{evaluate, status_code};
use crate::report::{Report, State};
use crate::root::Root;
use crate::snapshot::{self, Static};
use crate::uevent::UeventSocket;

/// Re-evaluation period while something changes that announces itself
/// through no event: a module's `initstate`, a `modprobe` process.
pub const TICK: Duration = Duration::from_secs(1);

/// Re-evaluation period otherwise: only a safety net, since every other
/// change comes as a uevent or an inotify event.
pub const IDLE_TICK: Duration = Duration::from_secs(10);

/// Exit code after SIGINT.
pub const EXIT_SIGINT: i32 = 130;
/// Exit code after SIGTERM.
pub const EXIT_SIGTERM: i32 = 143;

/// How to wait.
#[derive(Debug, Clone)]
pub struct WaitOptions {
    /// Give up after this long; zero evaluates once.
    pub timeout: Duration,
    /// Succeed as soon as this file exists (a real path, like udevadm's).
    pub exit_if_exists: Option<PathBuf>,
}

/// Everything the evaluation loop carries between rounds.
pub struct Evaluator {
    root: Root,
    settings: Settings,
    stat: Static,
    log: KernelLog,
    started: Instant,
    last_states: BTreeMap<String, State>,
    warned_udev: bool,
}

impl Evaluator {
    /// Prepares to evaluate `root` with `settings`.
    pub fn new(
        root: Root,
        settings: Settings,
        cmdline_blacklist: &[(String, String)],
    ) -> Evaluator {
        let stat = Static::load(&root, cmdline_blacklist);
        let log = KernelLog::open(&root);
        Evaluator {
            root,
            settings,
            stat,
            log,
            started: Instant::now(),
            last_states: BTreeMap::new(),
            warned_udev: false,
        }
    }

    /// Reads the system and decides, logging every state change.
    pub fn evaluate(&mut self) -> Report {
        self.log.refresh();
        let mut snap = snapshot::collect(&self.root, &self.settings, &mut self.stat);
        snap.kmsg_unreadable = self.log.unreadable().map(str::to_string);
        if !snap.udev.running && self.settings.wait_for_udev && !self.warned_udev {
            log::warn!(
                "udevd is not running (no live run/udev/control): not waiting for the udev queue or database"
            );
            self.warned_udev = true;
        }
        let mut report = evaluate(&snap, self.log.records(), &self.settings);
        report.elapsed_ms = self.elapsed().as_millis() as u64;
        for d in &report.devices {
            let old = self.last_states.insert(d.pci.clone(), d.state);
            if old != Some(d.state) {
                let from = old.map_or("new", State::as_str);
                // Ready with a reason is ready despite something odd (a
                // leftover udev marker): worth a warning in the journal.
                let level = if d.state == State::Ready && d.reason.is_some() {
                    log::Level::Warn
                } else {
                    log::Level::Info
                };
                log::log!(
                    level,
                    "{}: {} -> {} ({} ms){}",
                    d.pci,
                    from,
                    d.state.as_str(),
                    report.elapsed_ms,
                    d.reason
                        .as_deref()
                        .map_or(String::new(), |r| format!(": {r}"))
                );
            }
        }
        report
    }

    /// Time since this evaluator was made.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The kernel log's pollable descriptor, on a real system.
    fn kmsg_fd(&self) -> Option<BorrowedFd<'_>> {
        self.log.raw_fd()
    }
}

/// Directories whose changes matter, relative to the root.
///
/// On the running system sysfs changes arrive as uevents (sysfs itself
/// sends no inotify events) and the kernel log is polled directly; the
/// watches there are for udev's files. A fake root has only inotify.
fn watch_dirs(root: &Root, report: &Report) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = ["run/udev", "run/udev/data"]
        .iter()
        .map(PathBuf::from)
        .collect();
    if !root.path("run/udev").is_dir() {
        // udevd has not started yet: see it create its directory.
        dirs.push("run".into());
    }
    if !root.is_system() {
        for d in [
            "sys/class/net",
            "sys/bus/pci/devices",
            "sys/class/infiniband",
            "sys/module",
            "dev",
        ] {
            dirs.push(d.into());
        }
        // Driver links appear inside the function's own directory.
        for d in report.devices.iter().filter(|d| !d.state.is_settled()) {
            dirs.push(Path::new("sys/bus/pci/devices").join(&d.pci));
        }
    }
    dirs
}

const DIR_MASK: WatchMask = WatchMask::CREATE
    .union(WatchMask::DELETE)
    .union(WatchMask::MOVED_TO)
    .union(WatchMask::MOVED_FROM)
    .union(WatchMask::CLOSE_WRITE)
    .union(WatchMask::MODIFY)
    .union(WatchMask::ATTRIB);

/// Waits until ready, the deadline, a certain failure with `fail_fast`, or a
/// signal; returns the final report with its exit code set.
pub fn wait(ev: &mut Evaluator, opts: &WaitOptions) -> Report {
    let deadline = ev.started + opts.timeout;
    let fail_fast = ev.settings.fail_fast;
    let mut notifier = Notifier::from_env();

    // Signals become readable events, so the report is printed from the
    // normal path and nothing runs in a signal handler.
    let mut mask = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        mask.add(s);
    }
    let signals = mask.thread_block().ok().and_then(|_| {
        SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC).ok()
    });
    let uevents = if ev.root.is_system() {
        UeventSocket::open()
            .map_err(|e| log::warn!("cannot listen to kernel uevents ({e}); falling back to inotify and a {TICK:?} tick"))
            .ok()
    } else {
        None
    };
    let mut inotify = Inotify::init()
        .map_err(|e| log::warn!("inotify unavailable ({e}); falling back to a {TICK:?} tick"))
        .ok();
    let exit_file_dir = opts
        .exit_if_exists
        .as_ref()
        .and_then(|p| p.parent().map(Path::to_path_buf));

    let mut buf = [0u8; 4096];
    let mut announced = false;
    loop {
        let mut report = ev.evaluate();
        let now = Instant::now();
        let done_code = if report.ready {
            Some(0)
        } else if opts.exit_if_exists.as_ref().is_some_and(|p| p.exists()) {
            log::info!(
                "{} exists: done",
                opts.exit_if_exists
                    .as_ref()
                    .map_or(String::new(), |p| p.display().to_string())
            );
            Some(0)
        } else if fail_fast && report.certain_failure() {
            Some(3)
        } else if now >= deadline {
            Some(status_code(&report))
        } else {
            None
        };
        if let Some(code) = done_code {
            report.exit_code = code;
            // The time of the decision, not of the read before it: past the
            // deadline, the report never says less than the deadline.
            let decided = now.duration_since(ev.started).as_millis() as u64;
            report.elapsed_ms = report.elapsed_ms.max(decided);
            notifier.status(&status_line(&report));
            // Without watches (ready at the first look) the close is cheap.
            if let Some(ino) = inotify.take().filter(|_| announced) {
                close_in_child(ino);
            }
            return report;
        }
        notifier.status(&status_line(&report));

        if let Some(ino) = inotify.as_mut() {
            for dir in watch_dirs(&ev.root, &report) {
                // Absent directories are normal (no udevd yet, no IB stack).
                let _ = ino.watches().add(ev.root.path(&dir), DIR_MASK);
            }
            if let Some(dir) = &exit_file_dir {
                let _ = ino.watches().add(dir, DIR_MASK);
            }
        }

        if !announced {
            // Tests and operators key on this line: from here on, every
            // change is seen.
            log::info!(
                "watching for changes; deadline in {:.1} s",
                (deadline - now).as_secs_f64()
            );
            announced = true;
        }
        let blind = (ev.root.is_system() && uevents.is_none())
            || inotify.is_none()
            || exit_file_dir.as_ref().is_some_and(|d| !d.is_dir());
        // Links and RDMA ports change without a uevent (src/extras.rs).
        let blind = blind || crate::extras::needs_tick(&report);
        let tick = if blind || !report.pending_modules.is_empty() {
            TICK
        } else {
            IDLE_TICK
        };
        let timeout = (deadline - now).min(tick);
        let mut fds: Vec<PollFd> = Vec::with_capacity(4);
        let mut slots = [usize::MAX; 4];
        if let Some(s) = &signals {
            slots[0] = fds.len();
            fds.push(PollFd::new(s.as_fd(), PollFlags::POLLIN));
        }
        if let Some(u) = &uevents {
            slots[1] = fds.len();
            fds.push(PollFd::new(u.as_fd(), PollFlags::POLLIN));
        }
        if let Some(i) = &inotify {
            slots[2] = fds.len();
            fds.push(PollFd::new(i.as_fd(), PollFlags::POLLIN));
        }
        if let Some(k) = ev.kmsg_fd() {
            slots[3] = fds.len();
            fds.push(PollFd::new(k, PollFlags::POLLIN));
        }
        let ms = u16::try_from(timeout.as_millis().max(1)).unwrap_or(u16::MAX);
        let _ = poll(&mut fds, PollTimeout::from(ms));
        let readable = |slot: usize| {
            fds.get(slot).and_then(|f| f.revents()).is_some_and(|r| {
                r.intersects(PollFlags::POLLIN | PollFlags::POLLERR | PollFlags::POLLHUP)
            })
        };
        let sig_ready = readable(slots[0]);
        let uev_ready = readable(slots[1]);
        let ino_ready = readable(slots[2]);
        drop(fds);

        if sig_ready {
            if let Some(sig) = signals
                .as_ref()
                .and_then(|s| s.read_signal().ok().flatten())
            {
                match Signal::try_from(sig.ssi_signo as i32) {
                    Ok(Signal::SIGHUP) => {
                        log::warn!(
                            "SIGHUP: current state follows; still waiting\n{}",
                            report.to_text()
                        );
                    }
                    Ok(s) => {
                        let code = if s == Signal::SIGINT {
                            EXIT_SIGINT
                        } else {
                            EXIT_SIGTERM
                        };
                        log::warn!("{s}: stopping before the devices are ready");
                        let mut report = ev.evaluate();
                        report.exit_code = code;
                        return report;
                    }
                    Err(_) => {}
                }
            }
        }
        if uev_ready {
            if let Some(u) = &uevents {
                if u.drain().overflow {
                    log::debug!("uevent buffer overflowed; re-reading everything");
                }
            }
        }
        if ino_ready {
            if let Some(i) = inotify.as_mut() {
                // Any event means "look again"; their content does not matter.
                while i
                    .read_events(&mut buf)
                    .is_ok_and(|mut evs| evs.next().is_some())
                {}
            }
        }
    }
}

/// Lets a short-lived child make the last close of the inotify descriptor.
///
/// Closing an inotify instance that has watches waits for an SRCU grace
/// period (`fsnotify_destroy_group` flushes the mark reaper, which calls
/// `synchronize_srcu`): about 6 ms, up to 15 ms on a busy machine, spent
/// between the decision and the exit a boot script waits for (see
/// docs/benchmarks.md). The child pays it; nobody waits for the child, and
/// init reaps it once netsettle has exited. If fork fails, the close happens
/// here, as it would have anyway.
fn close_in_child(ino: Inotify) {
    use std::os::fd::AsRawFd;
    let fd = ino.as_fd().as_raw_fd();
    // SAFETY: the child only calls close() and _exit(), which are
    // async-signal-safe, so fork() is sound even in a threaded caller.
    if unsafe { libc::fork() } == 0 {
        unsafe {
            // Do not hold the caller's pipes (stdout, the journal) open.
            for stdio in 0..3 {
                libc::close(stdio);
            }
            libc::close(fd);
            libc::_exit(0);
        }
    }
    // Here the descriptor has another reference (or fork failed): cheap.
    drop(ino);
}

/// One line for systemd's STATUS=, naming what is still awaited.
fn status_line(report: &Report) -> String {
    let secs = report.elapsed_ms / 1000;
    if report.ready {
        return "all network devices ready".into();
    }
    match report.devices.iter().find(|d| !d.state.is_settled()) {
        Some(d) => format!(
            "waiting for {} ({}): {} ({secs} s)",
            d.pci,
            d.state.as_str(),
            d.reason.as_deref().unwrap_or("")
        ),
        None if !report.udev.queue_empty && report.udev.running => {
            format!("waiting for the udev queue ({secs} s)")
        }
        None => format!("waiting for expected interfaces ({secs} s)"),
    }
}
