//! The wait: one full read at start, then every kernel uevent and every
//! change inotify sees under the root re-reads only what it names, until
//! ready, the deadline, a certain failure (`--fail-fast`) or a signal. A
//! slow tick is only a safety net for facts that announce themselves
//! through neither (a `modprobe` process, a module's `initstate`), and
//! reads everything again.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use inotify::{Inotify, WatchDescriptor, WatchMask};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::config::Settings;
use crate::kmsg::KernelLog;
use crate::modules::ModState;
use crate::notify::Notifier;
use crate::pci::PciAddr;
use crate::readiness::Decisions;
use crate::report::{Exit, Report, State};
use crate::root::Root;
use crate::snapshot::{Change, Collector, Dirty, Static};
use crate::udevdb;
use crate::uevent::UeventSocket;

/// Re-evaluation period while something changes that announces itself
/// through no event: a module's `initstate`, a `modprobe` process.
pub const TICK: Duration = Duration::from_secs(1);

/// Re-evaluation period otherwise: only a safety net, since every other
/// change comes as a uevent or an inotify event.
pub const IDLE_TICK: Duration = Duration::from_secs(10);

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
    collector: Collector,
    log: KernelLog,
    decisions: Decisions,
    started: Instant,
    warned_udev: bool,
    /// The wait's inotify descriptor, left open for the caller: its last
    /// close waits for an SRCU grace period (`fsnotify_destroy_group`
    /// flushes the mark reaper, which calls `synchronize_srcu`), 6 to 15 ms
    /// that a binary may hand to a child instead of spending them before its
    /// exit (see main.rs).
    pub lingering: Option<std::os::fd::OwnedFd>,
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
            collector: Collector::new(root.clone(), settings.clone(), stat),
            root,
            settings,
            log,
            decisions: Decisions::default(),
            started: Instant::now(),
            warned_udev: false,
            lingering: None,
        }
    }

    /// Reads the whole system and decides: the last look, so the
    /// decisions move into the report.
    pub fn evaluate(&mut self) -> Report {
        self.refresh(&BTreeSet::from([Change::Everything]));
        self.final_report()
    }

    /// The report, with the decisions moved into it (they are gone after).
    fn final_report(&mut self) -> Report {
        let decisions = std::mem::take(&mut self.decisions);
        let mut report = decisions.into_report(
            self.collector.snapshot(),
            self.log.records(),
            &self.settings,
        );
        report.elapsed_ms = self.elapsed().as_millis() as u64;
        report
    }

    /// Re-reads what `changes` name and the kernel log's new records, and
    /// re-decides the devices that touched, logging every state change.
    pub fn refresh(&mut self, changes: &BTreeSet<Change>) {
        let log_changed = (changes.contains(&Change::Kmsg)
            || changes.contains(&Change::Everything))
            && self.log.refresh();
        let mut dirty = self.collector.apply(changes);
        let unreadable = self.log.unreadable().map(str::to_string);
        let snap = self.collector.snapshot_mut();
        if snap.kmsg_unreadable != unreadable {
            snap.kmsg_unreadable = unreadable;
            dirty = Dirty::All;
        }
        let snap = self.collector.snapshot();
        if log_changed {
            // Only an unbound function's decision reads the kernel log.
            for f in snap.pci.iter().filter(|f| f.driver.is_none()) {
                dirty.add(f.addr);
            }
        }
        if !snap.udev.running && self.settings.wait_for_udev && !self.warned_udev {
            log::warn!(
                "udevd is not running (no live run/udev/control): not waiting for the udev queue or database"
            );
            self.warned_udev = true;
        }
        let changed = self
            .decisions
            .update(snap, self.log.records(), &self.settings, &dirty);
        let ms = self.elapsed().as_millis();
        for (addr, old) in changed {
            let Some(d) = self.decisions.device(addr) else {
                log::info!("{addr}: gone ({ms} ms)");
                continue;
            };
            if old == Some(d.state) {
                continue;
            }
            // Ready with a reason is ready despite something odd (a
            // leftover udev marker): worth a warning in the journal.
            let level = if d.state == State::Ready && d.reason.is_some() {
                log::Level::Warn
            } else {
                log::Level::Info
            };
            log::log!(
                level,
                "{addr}: {} -> {} ({ms} ms){}",
                old.map_or("new", State::as_str),
                d.state.as_str(),
                d.reason
                    .as_deref()
                    .map_or(String::new(), |r| format!(": {r}"))
            );
        }
    }

    /// The report of the current decisions.
    pub fn report(&self) -> Report {
        let mut report = self.decisions.report(
            self.collector.snapshot(),
            self.log.records(),
            &self.settings,
        );
        report.elapsed_ms = self.elapsed().as_millis() as u64;
        report
    }

    /// Whether everything is ready now.
    fn ready(&self) -> bool {
        self.decisions.ready(
            self.collector.snapshot(),
            self.log.records(),
            &self.settings,
        )
    }

    /// Whether a module is being loaded: its end announces itself through
    /// no event a fake root sends, so the tick shortens.
    fn loading_modules(&self) -> bool {
        let snap = self.collector.snapshot();
        !snap.modprobes.is_empty() || snap.modules.values().any(|s| *s == ModState::Coming)
    }

    /// Time since this evaluator was made.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The kernel log's pollable descriptor, on a real system.
    fn kmsg_fd(&self) -> Option<BorrowedFd<'_>> {
        self.log.raw_fd()
    }

    /// One line for systemd's STATUS=, naming what is still awaited.
    fn status_line(&self, ready: bool) -> String {
        let secs = self.elapsed().as_secs();
        if ready {
            return "all network devices ready".into();
        }
        let udev = self.collector.snapshot().udev;
        match self.decisions.first_unsettled() {
            Some(d) => format!(
                "waiting for {} ({}): {} ({secs} s)",
                d.pci,
                d.state.as_str(),
                d.reason.as_deref().unwrap_or("")
            ),
            None if !udev.queue_empty && udev.running => {
                format!("waiting for the udev queue ({secs} s)")
            }
            None => format!("waiting for expected interfaces ({secs} s)"),
        }
    }
}

/// What the wait loop sees at one look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Look {
    /// Everything is ready.
    pub ready: bool,
    /// The `--exit-if-exists` file exists.
    pub exit_file: bool,
    /// `--fail-fast` was asked for.
    pub fail_fast: bool,
    /// Some device can never get ready by waiting.
    pub certain_failure: bool,
    /// The deadline has passed.
    pub past_deadline: bool,
}

/// The wait loop's decision: stop with this exit code, or keep waiting.
pub fn decide(look: Look) -> Option<Exit> {
    if look.ready || look.exit_file {
        Some(Exit::Ready)
    } else if look.certain_failure && (look.fail_fast || look.past_deadline) {
        Some(Exit::Failed)
    } else if look.past_deadline {
        Some(Exit::NotReady)
    } else {
        None
    }
}

/// Directories whose changes matter, relative to the root.
///
/// On the running system sysfs changes arrive as uevents (sysfs itself
/// sends no inotify events) and the kernel log is polled directly; the
/// watches there are for udev's files. A fake root has only inotify.
///
/// udevd's database directory is watched unless udevd's own broadcasts are
/// heard (`udev_monitor`): it announces each netdev it finished there, after
/// writing its entry, and an entry of every other device (a storm of `mem`
/// or `block` events) would wake netsettle for nothing.
fn watch_dirs(
    root: &Root,
    functions: impl Iterator<Item = PciAddr>,
    udev_monitor: bool,
) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = vec!["run/udev".into()];
    if !(udev_monitor && root.is_system()) {
        dirs.push("run/udev/data".into());
    }
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
        // Driver links and `enable` change inside the function's own directory.
        for addr in functions {
            dirs.push(Path::new("sys/bus/pci/devices").join(addr.to_string()));
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

/// inotify watches, each knowing the root-relative directory it watches, so
/// an event names what to read again.
struct Watches {
    inotify: Inotify,
    dirs: HashMap<WatchDescriptor, PathBuf>,
    watched: HashSet<PathBuf>,
    /// udevd's broadcasts are heard: its database directory need not be watched.
    udev_monitor: bool,
    /// A watch could not be added for another reason than absence (ENOSPC:
    /// `fs.inotify.max_user_watches`): changes there are only seen by the tick.
    incomplete: bool,
}

impl Watches {
    fn new() -> Option<Watches> {
        let inotify = Inotify::init()
            .map_err(|e| log::warn!("inotify unavailable ({e}); falling back to a {TICK:?} tick"))
            .ok()?;
        Some(Watches {
            inotify,
            dirs: HashMap::new(),
            watched: HashSet::new(),
            udev_monitor: false,
            incomplete: false,
        })
    }

    fn add(&mut self, root: &Root, dir: &Path, real: &Path) {
        match self.inotify.watches().add(real, DIR_MASK) {
            Ok(wd) => {
                self.dirs.insert(wd, dir.to_path_buf());
                self.watched.insert(dir.to_path_buf());
            }
            // Absent directories are normal (no udevd yet, no IB stack).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                if !self.incomplete {
                    log::warn!(
                        "cannot watch {} ({e}); re-reading every {TICK:?} instead",
                        root.path(dir).display()
                    );
                }
                self.incomplete = true;
            }
        }
    }

    /// Watches every directory whose changes matter now.
    fn cover(&mut self, ev: &Evaluator) {
        for dir in watch_dirs(&ev.root, ev.decisions.watched(), self.udev_monitor) {
            if !self.watched.contains(&dir) {
                self.add(&ev.root, &dir, &ev.root.path(&dir));
            }
        }
    }

    /// Reads the queued events into the changes they name.
    fn read(&mut self, buf: &mut [u8], changes: &mut BTreeSet<Change>) {
        while let Ok(events) = self.inotify.read_events(buf) {
            let mut any = false;
            for e in events {
                any = true;
                if e.mask.contains(inotify::EventMask::Q_OVERFLOW) {
                    changes.insert(Change::Everything);
                    continue;
                }
                if e.mask.contains(inotify::EventMask::IGNORED) {
                    // The directory is gone (a removed function): watch it
                    // again if it comes back.
                    if let Some(dir) = self.dirs.remove(&e.wd) {
                        self.watched.remove(&dir);
                    }
                    continue;
                }
                match self.dirs.get(&e.wd) {
                    Some(dir) => changes.extend(change_of(dir, e.name)),
                    None => {
                        changes.insert(Change::Everything);
                    }
                }
            }
            if !any {
                break;
            }
        }
    }
}

/// An [`Evaluator`] that follows a root through inotify one step at a
/// time, as the wait does between polls: the incremental path, without the
/// waiting (tests and benchmarks drive it).
pub struct Follower {
    ev: Evaluator,
    watches: Watches,
    buf: Vec<u8>,
}

impl Follower {
    /// Reads everything once and starts watching; `None` without inotify.
    pub fn new(mut ev: Evaluator) -> Option<Follower> {
        let mut watches = Watches::new()?;
        ev.refresh(&BTreeSet::from([Change::Everything]));
        watches.cover(&ev);
        Some(Follower {
            ev,
            watches,
            buf: vec![0; 4096],
        })
    }

    /// Takes in the events queued so far; `tick` adds what the wait's
    /// short tick reads (module states and `modprobe` processes, which send
    /// no inotify events).
    pub fn step(&mut self, tick: bool) {
        let mut changes = BTreeSet::new();
        self.watches.read(&mut self.buf, &mut changes);
        if tick {
            changes.insert(Change::Modules);
            changes.insert(Change::Kmsg);
        }
        self.ev.refresh(&changes);
        if changes.iter().any(moves_watches) {
            self.watches.cover(&self.ev);
        }
    }

    /// The report of the current decisions.
    pub fn report(&self) -> Report {
        self.ev.report()
    }
}

/// Whether a change can add a directory worth watching: a function, udev's
/// directories, a netdev a user named (which makes its function watched).
fn moves_watches(c: &Change) -> bool {
    matches!(
        c,
        Change::Everything | Change::Pci(_) | Change::Udev | Change::Netdevs(_)
    )
}

/// What a change of `name` in the watched directory `dir` may have changed.
fn change_of(dir: &Path, name: Option<&OsStr>) -> Option<Change> {
    let name = name.and_then(OsStr::to_str);
    let dir = dir.to_str()?;
    match (dir, name) {
        // Complete entries are renamed into place; `.#n42…` temp files are not news.
        ("run/udev/data", Some(n)) => n
            .strip_prefix('n')
            .and_then(|i| i.parse().ok())
            .map(Change::UdevEntry),
        ("run/udev/data", None) => Some(Change::Everything),
        ("run/udev", Some("queue")) => Some(Change::UdevQueue),
        ("run/udev", Some("control")) => Some(Change::Udev),
        ("run/udev", Some("data")) | ("run", Some("udev")) => Some(Change::Everything),
        ("run/udev" | "run", _) => None,
        ("sys/class/net", n) => Some(Change::Netdevs(n.map(str::to_string))),
        ("sys/bus/pci/devices", Some(addr)) => PciAddr::from_kernel(addr).map(Change::Pci),
        ("sys/class/infiniband", _) => Some(Change::IbPorts),
        ("sys/module", _) => Some(Change::Modules),
        ("dev", Some("kmsg")) => Some(Change::Kmsg),
        ("dev", _) => None,
        // Anything else is the --exit-if-exists directory: checked on every wake.
        (d, _) => d
            .strip_prefix("sys/bus/pci/devices/")
            .and_then(PciAddr::from_kernel)
            .map(Change::Pci),
    }
}

/// Which descriptor a poll entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Signals,
    Uevents,
    Inotify,
    Kmsg,
}

/// The descriptors one poll waits on, each knowing what it is.
struct PollSet<'a> {
    fds: Vec<PollFd<'a>>,
    sources: Vec<Source>,
}

impl<'a> PollSet<'a> {
    fn new() -> Self {
        PollSet {
            fds: Vec::with_capacity(4),
            sources: Vec::with_capacity(4),
        }
    }

    fn add(&mut self, source: Source, fd: Option<BorrowedFd<'a>>) {
        if let Some(fd) = fd {
            self.fds.push(PollFd::new(fd, PollFlags::POLLIN));
            self.sources.push(source);
        }
    }

    /// Polls until something is readable or `timeout`; returns what is.
    fn wait(mut self, timeout: Duration) -> Vec<Source> {
        let ms = u16::try_from(timeout.as_millis().max(1)).unwrap_or(u16::MAX);
        let _ = poll(&mut self.fds, PollTimeout::from(ms));
        let wake = PollFlags::POLLIN | PollFlags::POLLERR | PollFlags::POLLHUP;
        self.fds
            .iter()
            .zip(&self.sources)
            .filter(|(f, _)| f.revents().is_some_and(|r| r.intersects(wake)))
            .map(|(_, s)| *s)
            .collect()
    }
}

/// udevd's broadcasts (filtered to the relevant subsystems in the kernel)
/// when it runs, else the kernel's uevents; `None`, with a warning, when
/// neither socket opens. The flag says whether udevd's broadcasts it is.
fn open_events(udev_running: bool) -> (Option<UeventSocket>, bool) {
    if udev_running {
        match UeventSocket::open_udev() {
            Ok(sock) => return (Some(sock), true),
            Err(e) => log::debug!("cannot listen to udevd's broadcasts ({e})"),
        }
    }
    let kernel = UeventSocket::open()
        .map_err(|e| log::warn!("cannot listen to kernel uevents ({e}); falling back to inotify and a {TICK:?} tick"))
        .ok();
    (kernel, false)
}

/// Everything the wait listens to.
struct Sources {
    /// SIGINT, SIGTERM and SIGHUP as readable events, so the report is
    /// printed from the normal path and nothing runs in a signal handler.
    signals: Option<SignalFd>,
    uevents: Option<UeventSocket>,
    /// The udevd state the event source was chosen for: its broadcasts
    /// while it runs, the kernel's own uevents while it does not (before it
    /// starts in an initramfs, or without it).
    heard: bool,
    watches: Option<Watches>,
    exit_file_dir: Option<PathBuf>,
    buf: [u8; 4096],
}

/// What a wake brought.
enum Wake {
    /// These changes (none: a wake that named nothing worth reading).
    Changes(BTreeSet<Change>),
    /// A signal that ends the wait.
    Stop(Exit),
}

impl Sources {
    fn open(ev: &Evaluator, opts: &WaitOptions) -> Sources {
        let mut mask = SigSet::empty();
        for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
            mask.add(s);
        }
        let signals = mask.thread_block().ok().and_then(|_| {
            SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC).ok()
        });
        let heard = udevdb::udev_state(&ev.root).running;
        let (uevents, via_udev) = if ev.root.is_system() {
            open_events(heard)
        } else {
            (None, false)
        };
        let mut watches = Watches::new();
        if let Some(w) = watches.as_mut() {
            w.udev_monitor = via_udev;
        }
        Sources {
            signals,
            uevents,
            heard,
            watches,
            exit_file_dir: opts
                .exit_if_exists
                .as_ref()
                .and_then(|p| p.parent().map(Path::to_path_buf)),
            buf: [0; 4096],
        }
    }

    /// Switches the event source when udevd started or went away; true
    /// when it did (events in between may be lost: read everything).
    fn follow_udev(&mut self, ev: &Evaluator) -> bool {
        let running = ev.collector.snapshot().udev.running;
        if !ev.root.is_system() || running == self.heard {
            return false;
        }
        log::debug!("udevd running: {running}; switching event source");
        self.heard = running;
        let (sock, via_udev) = open_events(running);
        self.uevents = sock;
        if let Some(w) = self.watches.as_mut() {
            w.udev_monitor = via_udev;
            w.cover(ev);
        }
        true
    }

    /// Watches what the changes may have added.
    fn cover(&mut self, ev: &Evaluator, changes: &BTreeSet<Change>) {
        if !changes.iter().any(moves_watches) {
            return;
        }
        if let Some(w) = self.watches.as_mut() {
            w.cover(ev);
            if let Some(dir) = &self.exit_file_dir {
                w.add(&ev.root, dir, dir);
            }
        }
    }

    /// Some change could go unseen: a source is missing or incomplete.
    fn blind(&self, ev: &Evaluator) -> bool {
        (ev.root.is_system() && self.uevents.is_none())
            || self.watches.as_ref().map_or(true, |w| w.incomplete)
            || self.exit_file_dir.as_ref().is_some_and(|d| !d.is_dir())
    }

    /// Waits for an event or the tick; returns what it brought.
    fn wait(&mut self, ev: &Evaluator, timeout: Duration) -> Wake {
        let blind = self.blind(ev);
        // Links and RDMA ports change without an event (readiness/beyond.rs).
        let polled = crate::readiness::needs_tick(ev.collector.snapshot(), &ev.settings);
        let tick = if blind || ev.loading_modules() || polled {
            TICK
        } else {
            IDLE_TICK
        };
        let mut set = PollSet::new();
        set.add(Source::Signals, self.signals.as_ref().map(|s| s.as_fd()));
        set.add(Source::Uevents, self.uevents.as_ref().map(|u| u.as_fd()));
        let ino = self.watches.as_ref().map(|w| w.inotify.as_fd());
        set.add(Source::Inotify, ino);
        set.add(Source::Kmsg, ev.kmsg_fd());
        let woken = set.wait(timeout.min(tick));

        let mut changes = BTreeSet::new();
        if woken.is_empty() {
            // The tick: what announces itself through no event, or all of
            // it when some source is missing.
            changes.insert(if blind || tick == IDLE_TICK {
                Change::Everything
            } else {
                Change::Modules
            });
            changes.insert(Change::Kmsg);
        }
        for source in woken {
            match source {
                Source::Signals => {
                    if let Some(code) = self.signal(ev) {
                        return Wake::Stop(code);
                    }
                }
                Source::Uevents => {
                    if let Some(u) = &self.uevents {
                        let drained = u.drain();
                        if drained.overflow {
                            log::debug!("uevent buffer overflowed; re-reading everything");
                            changes.insert(Change::Everything);
                        }
                        changes.extend(drained.changes);
                    }
                }
                Source::Inotify => {
                    if let Some(w) = self.watches.as_mut() {
                        w.read(&mut self.buf, &mut changes);
                    }
                }
                Source::Kmsg => {
                    changes.insert(Change::Kmsg);
                }
            }
        }
        Wake::Changes(changes)
    }

    /// Handles a pending signal: SIGHUP logs the current report, SIGINT and
    /// SIGTERM end the wait with their exit codes.
    fn signal(&self, ev: &Evaluator) -> Option<Exit> {
        let sig = self.signals.as_ref()?.read_signal().ok().flatten()?;
        match Signal::try_from(sig.ssi_signo as i32) {
            Ok(Signal::SIGHUP) => {
                log::warn!(
                    "SIGHUP: current state follows; still waiting\n{}",
                    ev.report().to_text()
                );
                None
            }
            Ok(s) => {
                log::warn!("{s}: stopping before the devices are ready");
                Some(if s == Signal::SIGINT {
                    Exit::Interrupted
                } else {
                    Exit::Terminated
                })
            }
            Err(_) => None,
        }
    }
}

/// Waits until ready, the deadline, a certain failure with `fail_fast`, or a
/// signal; returns the final report with its exit code set.
pub fn wait(ev: &mut Evaluator, opts: &WaitOptions) -> Report {
    let deadline = ev.started + opts.timeout;
    let mut notifier = Notifier::from_env();
    let mut sources = Sources::open(ev, opts);
    let mut announced = false;
    let mut changes = BTreeSet::from([Change::Everything]);
    let (mut ready, mut certain_failure) = (false, false);
    loop {
        // A wake that named nothing (a udev temp file, the exit file's
        // directory) reads and decides nothing again.
        let fresh = !changes.is_empty();
        if fresh {
            ev.refresh(&changes);
            ready = ev.ready();
            certain_failure = ev.decisions.certain_failure();
        }
        if sources.follow_udev(ev) {
            changes = BTreeSet::from([Change::Everything]);
            continue;
        }
        let now = Instant::now();
        let exit_file = opts.exit_if_exists.as_ref().is_some_and(|p| p.exists());
        let look = Look {
            ready,
            exit_file,
            fail_fast: ev.settings.fail_fast,
            certain_failure,
            past_deadline: now >= deadline,
        };
        if let Some(code) = decide(look) {
            if exit_file && !ready {
                log::info!(
                    "{} exists: done",
                    opts.exit_if_exists
                        .as_ref()
                        .map_or(String::new(), |p| p.display().to_string())
                );
            }
            notifier.status(&ev.status_line(ready));
            let mut report = ev.final_report();
            report.exit_code = code.code();
            // The time of the decision, not of the read before it: past the
            // deadline, the report never says less than the deadline.
            let decided = now.duration_since(ev.started).as_millis() as u64;
            report.elapsed_ms = report.elapsed_ms.max(decided);
            // Without watches (ready at the first look) the close is cheap.
            if let Some(w) = sources.watches.take().filter(|_| announced) {
                ev.lingering = Some(w.inotify.into());
            }
            return report;
        }
        if fresh {
            notifier.status(&ev.status_line(false));
        }
        sources.cover(ev, &changes);
        if !announced {
            // Tests and operators key on this line: from here on, every
            // change is seen.
            log::info!(
                "watching for changes; deadline in {:.1} s",
                (deadline - now).as_secs_f64()
            );
            announced = true;
        }
        changes = match sources.wait(ev, deadline - now) {
            Wake::Changes(c) => c,
            Wake::Stop(code) => {
                let mut report = ev.evaluate();
                report.exit_code = code.code();
                return report;
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_stops_for_readiness_a_certain_failure_or_the_deadline() {
        let l = Look::default();
        let cases = [
            (l, None),
            (Look { ready: true, ..l }, Some(Exit::Ready)),
            (
                Look {
                    exit_file: true,
                    ..l
                },
                Some(Exit::Ready),
            ),
            (
                Look {
                    ready: true,
                    certain_failure: true,
                    fail_fast: true,
                    ..l
                },
                Some(Exit::Ready),
            ),
            // Without --fail-fast a certain failure waits for the deadline.
            (
                Look {
                    certain_failure: true,
                    ..l
                },
                None,
            ),
            (
                Look {
                    certain_failure: true,
                    fail_fast: true,
                    ..l
                },
                Some(Exit::Failed),
            ),
            (
                Look {
                    fail_fast: true,
                    ..l
                },
                None,
            ),
            (
                Look {
                    past_deadline: true,
                    ..l
                },
                Some(Exit::NotReady),
            ),
            (
                Look {
                    past_deadline: true,
                    certain_failure: true,
                    ..l
                },
                Some(Exit::Failed),
            ),
            (
                Look {
                    past_deadline: true,
                    exit_file: true,
                    ..l
                },
                Some(Exit::Ready),
            ),
        ];
        for (look, want) in cases {
            assert_eq!(decide(look), want, "{look:?}");
        }
    }

    #[test]
    fn inotify_events_name_what_to_read_again() {
        fn name(n: &str) -> Option<&OsStr> {
            Some(OsStr::new(n))
        }
        let cases = [
            ("run/udev/data", name("n42"), Some(Change::UdevEntry(42))),
            ("run/udev/data", name(".#n42abc"), None),
            ("run/udev/data", name("+pci:0000:00:03.0"), None),
            ("run/udev/data", name("nope"), None),
            ("run/udev", name("queue"), Some(Change::UdevQueue)),
            ("run/udev", name("control"), Some(Change::Udev)),
            ("run/udev", name("data"), Some(Change::Everything)),
            ("run/udev", name("tags"), None),
            ("run", name("udev"), Some(Change::Everything)),
            ("run", name("systemd"), None),
            (
                "sys/class/net",
                name("ens3"),
                Some(Change::Netdevs(Some("ens3".into()))),
            ),
            (
                "sys/bus/pci/devices",
                name("0000:00:03.0"),
                Some(Change::Pci("0000:00:03.0".parse().unwrap())),
            ),
            (
                "sys/bus/pci/devices/0000:00:04.0",
                name("driver"),
                Some(Change::Pci("0000:00:04.0".parse().unwrap())),
            ),
            (
                "sys/class/infiniband",
                name("mlx5_0"),
                Some(Change::IbPorts),
            ),
            ("sys/module", name("mlx4_en"), Some(Change::Modules)),
            ("dev", name("kmsg"), Some(Change::Kmsg)),
            ("dev", name("null"), None),
            ("/tmp/exit-dir", name("flag"), None),
        ];
        for (dir, n, want) in cases {
            assert_eq!(change_of(Path::new(dir), n), want, "{dir} {n:?}");
        }
    }
}
