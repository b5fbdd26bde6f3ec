//! The kernel log, read from `dev/kmsg` (Documentation/ABI/testing/dev-kmsg).
//!
//! Every read() of the character device returns one whole record:
//! `PRIO,SEQ,USEC,FLAGS[,more];TEXT\n` followed by continuation lines
//! ` KEY=VALUE\n` (`SUBSYSTEM=pci`, `DEVICE=+pci:0000:31:00.0`). The kernel
//! escapes non-printable bytes and `\` in TEXT as `\xNN`, so a record's text
//! never spans lines. Fake roots use a regular file holding the same lines,
//! or pasted `dmesg` / journal output.
//!
//! The driver core reports a failed probe in `drivers/base/dd.c`
//! (`call_driver_probe`): up to 6.8 with `pr_warn("%s: probe of %s failed
//! with error %d\n")`, from 6.9 on with `dev_err(dev, "probe with driver %s
//! failed with error %d\n")`. -ENODEV, -ENXIO and -EPROBE_DEFER only reach
//! `dev_dbg`/`pr_debug` and are invisible at default log levels.

use crate::pci::PciAddr;
use crate::root::Root;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Largest record accepted: the kernel formats a record into an 8 KiB
/// buffer (CONSOLE_EXT_LOG_MAX), so anything bigger is not a kmsg record.
pub const RECORD_MAX: usize = 16 * 1024;

/// How many records [`KernelLog`] keeps; older ones are dropped.
pub const HISTORY_MAX: usize = 20_000;

/// The log's root-relative path.
const KMSG: &str = "dev/kmsg";

/// Bound on one refresh of a regular file, so a huge fake log costs at most
/// this much memory per call (the rest is read by the next refresh).
const FILE_CHUNK: u64 = 32 * 1024 * 1024;

/// Level used for dmesg and journal lines that carry no priority
/// (KERN_WARNING, what `printk` without a level gets by default).
const DEFAULT_LEVEL: u8 = 4;

/// One kernel log record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Syslog priority (`prio & 7`): 0 emerg … 3 err, 4 warning … 7 debug.
    pub level: u8,
    /// The kernel's sequence number (or the line order for dmesg/journal text).
    pub seq: u64,
    /// Monotonic timestamp in microseconds since boot (0 when unknown).
    pub usec: u64,
    /// The message, lossy UTF-8, with the kernel's `\xNN` escapes left as is.
    pub text: String,
    /// `SUBSYSTEM=` continuation value, e.g. `pci`.
    pub subsystem: Option<String>,
    /// Raw `DEVICE=` continuation value, e.g. `+pci:0000:00:04.0`.
    pub device: Option<String>,
}

/// Parses one record as read() returns it; `None` for anything else.
pub fn parse_record(raw: &[u8]) -> Option<Record> {
    if raw.len() > RECORD_MAX {
        return None;
    }
    let mut lines = raw.split(|&b| b == b'\n');
    let mut rec = parse_kmsg_line(&String::from_utf8_lossy(lines.next()?))?;
    for line in lines {
        if let Some((key, value)) = continuation(&String::from_utf8_lossy(line)) {
            apply(&mut rec, key, value);
        }
    }
    Some(rec)
}

/// Parses a file of records: kmsg lines (with ` KEY=VALUE` continuation
/// lines), `dmesg` lines (`[   37.536789] text`, optionally `<4>`-prefixed)
/// and journal lines (`kernel: text`); other lines are skipped, so log
/// excerpts can be pasted verbatim.
pub fn parse_text(text: &str) -> Vec<Record> {
    let mut out = Vec::new();
    let mut ordinal = 0;
    for line in text.lines() {
        feed_line(line, &mut ordinal, &mut out);
    }
    out
}

/// Adds one line to `out`; returns whether `out` changed.
fn feed_line(line: &str, ordinal: &mut u64, out: &mut Vec<Record>) -> bool {
    match parse_line(line, *ordinal) {
        Line::Record(rec) => {
            out.push(rec);
            *ordinal += 1;
            true
        }
        Line::Continuation(key, value) => match out.last_mut() {
            Some(rec) => apply(rec, key, value),
            None => false,
        },
        Line::Skip => false,
    }
}

enum Line<'a> {
    Record(Record),
    Continuation(&'a str, &'a str),
    Skip,
}

fn parse_line(line: &str, ordinal: u64) -> Line<'_> {
    if line.len() > RECORD_MAX {
        return Line::Skip;
    }
    let line = line.strip_suffix('\r').unwrap_or(line);
    let trimmed = line.trim_start();
    // An indented line is a continuation unless it is a whole record that
    // was indented by pasting (a Markdown code block, for instance).
    if trimmed.len() != line.len() && kmsg_header(trimmed).is_none() {
        if let Some((key, value)) = continuation(line) {
            return Line::Continuation(key, value);
        }
    }
    parse_kmsg_line(trimmed)
        .or_else(|| parse_dmesg_line(trimmed, ordinal))
        .or_else(|| parse_journal_line(trimmed, ordinal))
        .map_or(Line::Skip, Line::Record)
}

/// `PRIO,SEQ,USEC[,FLAGS,...]` before the first `;`; unknown extra fields are
/// ignored, as the ABI document asks.
fn kmsg_header(line: &str) -> Option<(u64, u64, u64, &str)> {
    let (header, text) = line.split_once(';')?;
    let mut fields = header.split(',');
    let prio = decimal(fields.next()?)?;
    let seq = decimal(fields.next()?)?;
    let usec = decimal(fields.next()?)?;
    Some((prio, seq, usec, text))
}

fn parse_kmsg_line(line: &str) -> Option<Record> {
    let (prio, seq, usec, text) = kmsg_header(line)?;
    Some(Record {
        level: (prio & 7) as u8,
        seq,
        usec,
        text: text.to_string(),
        subsystem: None,
        device: None,
    })
}

/// `[   37.536789] text`, or `<4>[   37.536789] text` from `dmesg -r`.
fn parse_dmesg_line(line: &str, ordinal: u64) -> Option<Record> {
    let (level, rest) = match line.strip_prefix('<') {
        Some(after) => {
            let (prio, rest) = after.split_once('>')?;
            (Some((decimal(prio)? & 7) as u8), rest)
        }
        None => (None, line),
    };
    let (stamp, text) = rest.strip_prefix('[')?.split_once(']')?;
    let (secs, frac) = stamp.trim().split_once('.')?;
    let usec = decimal(secs)?
        .checked_mul(1_000_000)?
        .checked_add(fraction_usec(frac)?)?;
    Some(Record {
        level: level.unwrap_or(DEFAULT_LEVEL),
        seq: ordinal,
        usec,
        text: text.strip_prefix(' ').unwrap_or(text).to_string(),
        subsystem: None,
        device: None,
    })
}

/// The digits after the decimal point, as microseconds (`5` → 500000).
fn fraction_usec(frac: &str) -> Option<u64> {
    decimal(frac)?;
    let digits: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
    digits.parse().ok()
}

/// `kernel: text`, also after a journal prefix (`Mar 05 10:00:01 host kernel: text`).
fn parse_journal_line(line: &str, ordinal: u64) -> Option<Record> {
    let text = match line.strip_prefix("kernel: ") {
        Some(text) => text,
        None => {
            let (prefix, text) = line.split_once(" kernel: ")?;
            // "network[2914]: ... kernel: ..." is another program's line.
            if prefix.contains(": ") || prefix.contains('[') {
                return None;
            }
            text
        }
    };
    Some(Record {
        level: DEFAULT_LEVEL,
        seq: ordinal,
        usec: 0,
        text: text.to_string(),
        subsystem: None,
        device: None,
    })
}

/// ` KEY=VALUE` with an upper-case key.
fn continuation(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.strip_prefix(' ')?.trim_start().split_once('=')?;
    let key_ok = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    key_ok.then_some((key, value))
}

fn apply(rec: &mut Record, key: &str, value: &str) -> bool {
    let slot = match key {
        "SUBSYSTEM" => &mut rec.subsystem,
        "DEVICE" => &mut rec.device,
        _ => return false,
    };
    *slot = Some(value.to_string());
    true
}

fn decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A driver's probe of a PCI function failed (the driver core's own line).
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeFailure {
    /// The function's address.
    pub pci: PciAddr,
    /// The driver whose probe failed, as the kernel names it (`vfio-pci`).
    pub driver: String,
    /// The error, positive (12 for -ENOMEM).
    pub errno: i32,
    /// The record's sequence number.
    pub seq: u64,
    /// The record's timestamp.
    pub usec: u64,
    /// The kernel's text.
    pub line: String,
}

/// Recognizes the driver core's probe failure line, both wordings:
/// `DRIVER: probe of ADDR failed with error -N` (≤ 6.8) and
/// `DRIVER ADDR: probe with driver DRIVER failed with error -N` (6.9+).
/// Only PCI functions count.
pub fn probe_failure(rec: &Record) -> Option<ProbeFailure> {
    const OLD: &str = ": probe of ";
    const NEW: &str = ": probe with driver ";
    let text = rec.text.as_str();
    let (driver, pci, rest) = if let Some((driver, after)) = text.split_once(OLD) {
        let (pci, rest) = after.split_once(' ')?;
        (driver, pci, rest)
    } else {
        let (head, after) = text.split_once(NEW)?;
        // dev_err() prefixes "DRIVER ADDR"; the address is the last word.
        let pci = head.rsplit(' ').next()?;
        let (driver, rest) = after.split_once(' ')?;
        (driver, pci, rest)
    };
    let code: i64 = rest
        .strip_prefix("failed with error ")?
        .trim_end()
        .parse()
        .ok()?;
    let errno = i32::try_from(code.checked_abs()?).ok()?;
    // Kernel error codes are 1..=4095 (MAX_ERRNO).
    let plausible = (1..=4095).contains(&errno);
    if !plausible || driver.is_empty() || driver.contains(char::is_whitespace) {
        return None;
    }
    Some(ProbeFailure {
        pci: PciAddr::from_kernel(pci)?,
        driver: driver.to_string(),
        errno,
        seq: rec.seq,
        usec: rec.usec,
        line: rec.text.clone(),
    })
}

/// The symbolic name of a kernel error number, for reasons an operator reads.
pub fn errno_name(errno: i32) -> Option<&'static str> {
    Some(match errno {
        1 => "EPERM",
        2 => "ENOENT",
        5 => "EIO",
        6 => "ENXIO",
        12 => "ENOMEM",
        13 => "EACCES",
        14 => "EFAULT",
        16 => "EBUSY",
        19 => "ENODEV",
        22 => "EINVAL",
        28 => "ENOSPC",
        38 => "ENOSYS",
        95 => "EOPNOTSUPP",
        110 => "ETIMEDOUT",
        517 => "EPROBE_DEFER",
        _ => return None,
    })
}

/// The driver and PCI address of a `dev_printk()` line: the kernel
/// prefixes it with `dev_driver_string()` and `dev_name()`
/// (drivers/base/core.c `__dev_printk`): `iwlwifi 0000:00:14.3: …`, and
/// netdev messages before registration `e1000e 0000:00:04.0 (uninitialized): …`.
/// An unbound function's lines carry the bus name, `pci`.
pub fn dev_prefix(rec: &Record) -> Option<(&str, PciAddr)> {
    let (driver, rest) = rec.text.split_once(' ')?;
    let word = rest.split(' ').next()?;
    let addr = word.strip_suffix(':').unwrap_or(word);
    if driver.is_empty() || driver.ends_with(':') {
        return None;
    }
    Some((driver, PciAddr::from_kernel(addr)?))
}

/// A firmware file a device could not load, and the error: the firmware
/// loader's `Direct firmware load for FILE failed with error -N`
/// (drivers/base/firmware_loader/main.c `fw_get_filesystem_firmware`,
/// `dev_warn`), or Debian's `firmware: failed to load FILE (-N)`.
pub fn firmware_failure(rec: &Record) -> Option<(String, i32)> {
    let text = rec.text.as_str();
    let (file, errno) = if let Some((_, rest)) = text.split_once("Direct firmware load for ") {
        let (file, code) = rest.split_once(" failed with error ")?;
        (file, code.trim())
    } else {
        let (_, rest) = text.split_once("firmware: failed to load ")?;
        let (file, code) = rest.split_once(" (")?;
        (file, code.trim_end_matches(')'))
    };
    let errno: i32 = errno.strip_prefix('-')?.parse().ok()?;
    (!file.is_empty() && !file.contains(' ') && (1..=4095).contains(&errno))
        .then(|| (file.to_string(), errno))
}

/// Whether the record is about this PCI function: `DEVICE=+pci:ADDR`, or
/// the address as a whole word in the text.
pub fn names_device(rec: &Record, pci: PciAddr) -> bool {
    addresses_of(rec).any(|a| a == pci)
}

/// The PCI addresses a record is about: its `DEVICE=+pci:` key, then the
/// addresses its text names.
fn addresses_of(rec: &Record) -> impl Iterator<Item = PciAddr> + '_ {
    let key = rec.device.as_deref().and_then(|d| d.strip_prefix("+pci:"));
    key.and_then(PciAddr::from_kernel)
        .into_iter()
        .chain(addresses_in(&rec.text))
}

/// The PCI addresses a text names as whole words, read by the one parser:
/// "10000:31:00.0" and "0000:31:00.10" are not 0000:31:00.0, and a log
/// pasted from elsewhere may not keep the kernel's lower case (`%04x`).
fn addresses_in(text: &str) -> impl Iterator<Item = PciAddr> + '_ {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == ':' || c == '.'))
        // A word ends before the colon of `dev_printk`'s prefix or a full stop.
        .map(|w| w.trim_end_matches([':', '.']))
        .filter(|w| w.len() >= 12)
        .filter_map(PciAddr::from_kernel)
}

/// Whether a record explains a stuck boot (SPEC `kernel_problems`): an oops,
/// `kernel BUG at`, a `WARNING:` splat, a hung task, a lockup or RCU stall, a
/// panic; or an error (level ≤ 3) that names a watched PCI address or starts
/// with a watched driver's name.
pub fn is_problem(rec: &Record, pcis: &[PciAddr], drivers: &[&str]) -> bool {
    if is_splat(&rec.text) {
        return true;
    }
    if rec.level > 3 {
        return false;
    }
    addresses_of(rec).any(|a| pcis.contains(&a)) || starts_with_driver(&rec.text, drivers)
}

fn is_splat(text: &str) -> bool {
    const AT_START: [&str; 5] = [
        "Oops:",
        "BUG: ", // unable to handle …, kernel NULL pointer dereference, soft lockup
        "general protection fault",
        "WARNING: ", // the WARN() splat: "WARNING: CPU: 0 PID: 1 at file:line"
        "Kernel panic",
    ];
    const ANYWHERE: [&str; 5] = [
        "kernel BUG at ",
        " blocked for more than ", // "INFO: task X:234 blocked for more than 120 seconds."
        "BUG: soft lockup",        // "watchdog: BUG: soft lockup - CPU#0 stuck for 23s!"
        "hard LOCKUP",
        "detected stall", // "rcu: INFO: rcu_sched detected stalls on CPUs/tasks"
    ];
    let t = text.trim_start();
    AT_START.iter().any(|p| t.starts_with(p)) || ANYWHERE.iter().any(|p| t.contains(p))
}

/// `mlx5_core 0000:…` or `mlx5_core: …` for a watched driver; `-` and `_`
/// compare equal (`virtio-pci` vs `virtio_pci`).
fn starts_with_driver(text: &str, drivers: &[&str]) -> bool {
    let Some(end) = text.find([' ', ':']) else {
        return false;
    };
    let first = crate::modules::normalize(&text[..end]);
    !first.is_empty()
        && drivers
            .iter()
            .any(|d| crate::modules::normalize(d) == first)
}

/// The kernel log: a stateful reader with a bounded history.
#[derive(Debug)]
pub struct KernelLog {
    path: PathBuf,
    source: Source,
    records: Vec<Record>,
    unreadable: Option<String>,
}

#[derive(Debug)]
enum Source {
    /// Not open (yet): missing, no permission, or not a log.
    Closed,
    /// The real character device, opened once.
    Device(File),
    /// A regular file (fake roots), re-opened on each refresh.
    File(FileState),
}

#[derive(Debug)]
struct FileState {
    /// (st_dev, st_ino): a different one means the file was replaced.
    id: (u64, u64),
    /// Bytes already consumed (complete lines only).
    offset: u64,
    /// Records seen, for the `seq` of dmesg and journal lines.
    ordinal: u64,
    /// Inside an over-long line whose start was skipped.
    discarding: bool,
}

impl KernelLog {
    /// Opens `dev/kmsg` under the root and reads what it already holds; never
    /// fails: when the log cannot be read, [`KernelLog::unreadable`] says why.
    pub fn open(root: &Root) -> KernelLog {
        let mut log = KernelLog {
            path: root.path(KMSG),
            source: Source::Closed,
            records: Vec::new(),
            unreadable: None,
        };
        log.refresh();
        log
    }

    /// Reads records that arrived since the last call; true if any did (or,
    /// for a rewritten fake log, if the history changed).
    pub fn refresh(&mut self) -> bool {
        let changed = self.read_new();
        // The first read of a boot's log grows the vector by doubling;
        // half of it would stay unused for the whole wait.
        if self.records.capacity() > self.records.len() + self.records.len() / 4 + 64 {
            self.records.shrink_to_fit();
        }
        changed
    }

    fn read_new(&mut self) -> bool {
        if matches!(self.source, Source::Closed) {
            self.source = self.try_open();
        }
        let changed = match &mut self.source {
            Source::Closed => false,
            Source::Device(file) => read_device(file, &mut self.records),
            Source::File(state) => match read_file(&self.path, state, &mut self.records) {
                Ok(changed) => changed,
                Err(e) => {
                    // The fake log went away or lost its permissions.
                    self.unreadable = Some(describe(&e));
                    self.source = Source::Closed;
                    false
                }
            },
        };
        trim(&mut self.records, HISTORY_MAX);
        changed
    }

    fn try_open(&mut self) -> Source {
        let opened = std::fs::metadata(&self.path).and_then(|meta| {
            let kind = meta.file_type();
            if kind.is_char_device() {
                // One record per read(); O_NONBLOCK turns "no more" into EAGAIN.
                let file = OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_NONBLOCK)
                    .open(&self.path)?;
                Ok(Source::Device(file))
            } else if kind.is_file() {
                File::open(&self.path)?; // permission check now, not at first read
                Ok(Source::File(FileState {
                    id: (meta.dev(), meta.ino()),
                    offset: 0,
                    ordinal: 0,
                    discarding: false,
                }))
            } else {
                Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{KMSG} is neither a character device nor a regular file"),
                ))
            }
        });
        match opened {
            Ok(source) => {
                self.unreadable = None;
                source
            }
            Err(e) => {
                let why = describe(&e);
                if self.unreadable.as_deref() != Some(why.as_str()) {
                    log::debug!("kernel log: {why}");
                }
                self.unreadable = Some(why);
                Source::Closed
            }
        }
    }

    /// The records read so far, oldest first (at most [`HISTORY_MAX`]).
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Why the log cannot be read (`permission denied reading dev/kmsg`,
    /// `dev/kmsg does not exist`); `None` when it can.
    pub fn unreadable(&self) -> Option<&str> {
        self.unreadable.as_deref()
    }

    /// The character device's descriptor, to poll for POLLIN; `None` for files.
    pub fn raw_fd(&self) -> Option<BorrowedFd<'_>> {
        match &self.source {
            Source::Device(file) => Some(file.as_fd()),
            _ => None,
        }
    }
}

fn describe(e: &io::Error) -> String {
    match e.raw_os_error() {
        // EPERM: kernel.dmesg_restrict or printk.devkmsg=off.
        Some(libc::EACCES | libc::EPERM) => format!("permission denied reading {KMSG}"),
        Some(libc::ENOENT | libc::ENOTDIR) => format!("{KMSG} does not exist"),
        Some(_) => format!("reading {KMSG}: {e}"),
        None => e.to_string(),
    }
}

/// Reads records from the character device until EAGAIN.
fn read_device(file: &mut File, records: &mut Vec<Record>) -> bool {
    let mut buf = vec![0u8; RECORD_MAX];
    let mut changed = false;
    // The kernel advances past a record it refuses with EINVAL, so this
    // bound is only a guard against a kernel that does not.
    let mut einval_in_a_row = 0;
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                einval_in_a_row = 0;
                if let Some(rec) = parse_record(&buf[..n]) {
                    records.push(rec);
                    changed = true;
                }
                trim(records, 2 * HISTORY_MAX);
            }
            Err(e) => match e.raw_os_error() {
                Some(libc::EAGAIN) => break,
                Some(libc::EINTR) => {}
                // Records were overwritten before we read them; the kernel
                // moved us to the oldest one still there.
                Some(libc::EPIPE) => log::debug!("kernel log: records were overwritten unread"),
                Some(libc::EINVAL) if einval_in_a_row < 64 => {
                    einval_in_a_row += 1;
                    log::debug!("kernel log: skipped a record larger than {RECORD_MAX} bytes");
                }
                _ => {
                    log::debug!("reading {KMSG}: {e}");
                    break;
                }
            },
        }
    }
    changed
}

/// Reads complete lines appended to a regular file since the last call.
fn read_file(path: &Path, state: &mut FileState, records: &mut Vec<Record>) -> io::Result<bool> {
    // Re-opened each time: a FIFO swapped in since must not block.
    let mut file = crate::root::open_regular(path)?;
    let meta = file.metadata()?;
    let id = (meta.dev(), meta.ino());
    let mut changed = false;
    if id != state.id || meta.len() < state.offset {
        // Replaced or truncated: what we read is gone, start over.
        changed = !records.is_empty();
        records.clear();
        *state = FileState {
            id,
            offset: 0,
            ordinal: 0,
            discarding: false,
        };
    }
    if meta.len() == state.offset {
        return Ok(changed);
    }
    file.seek(SeekFrom::Start(state.offset))?;
    // Sized to what is there: a boot's log (a megabyte on a big machine) in
    // one read, not a buffer doubled through a dozen reads to twice its size.
    let mut chunk = Vec::with_capacity((meta.len() - state.offset).min(FILE_CHUNK) as usize);
    file.take(FILE_CHUNK).read_to_end(&mut chunk)?;
    let Some(last_newline) = chunk.iter().rposition(|&b| b == b'\n') else {
        if chunk.len() as u64 == FILE_CHUNK {
            // A "line" this long is no record; skip it rather than re-read it forever.
            state.offset += FILE_CHUNK;
            state.discarding = true;
        }
        return Ok(changed);
    };
    let complete = &chunk[..=last_newline];
    state.offset += complete.len() as u64;
    let mut lines = complete.split(|&b| b == b'\n');
    if std::mem::take(&mut state.discarding) {
        lines.next(); // the tail of the skipped line
    }
    for line in lines {
        changed |= match std::str::from_utf8(line) {
            Ok(line) => feed_line(line, &mut state.ordinal, records),
            Err(_) => feed_line(&String::from_utf8_lossy(line), &mut state.ordinal, records),
        };
        trim(records, 2 * HISTORY_MAX);
    }
    Ok(changed)
}

/// Once more than `high_water` records are held, drops the oldest down to
/// [`HISTORY_MAX`] (a high-water mark above it keeps the drain amortized).
fn trim(records: &mut Vec<Record>, high_water: usize) {
    if records.len() > high_water {
        let excess = records.len() - HISTORY_MAX;
        records.drain(..excess);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> PciAddr {
        PciAddr::from_kernel(s).unwrap()
    }
    use std::io::Write;

    const MLX5_OLD: &str = "\
[   37.502684] mlx5_core 0000:31:00.0: firmware version: XXXXX
[   37.508723] mlx5_core 0000:31:00.0: 63.008 Gb/s available PCIe bandwidth (8 GT/s x8 link)
[   37.516912] mlx5_core 0000:31:00.0: mlx5_function_setup:1283:(pid 5): Failed initializing command interface, aborting
[   37.527513] mlx5_core 0000:31:00.0: probe_one:1961:(pid 5): mlx5_init_one failed with error code -12
[   37.536789] mlx5_core: probe of 0000:31:00.0 failed with error -12
[   37.557910] mlx5_core 0000:31:00.1: mlx5_function_setup:1283:(pid 5): Failed initializing command interface, aborting
[   37.568506] mlx5_core 0000:31:00.1: probe_one:1961:(pid 5): mlx5_init_one failed with error code -12
[   37.577700] mlx5_core: probe of 0000:31:00.1 failed with error -12
";

    /// The same failure as a 6.9+ kernel writes it to /dev/kmsg.
    const MLX5_NEW: &str = "\
3,1020,37516912,-;mlx5_core 0000:31:00.0: mlx5_function_setup:1283:(pid 5): Failed initializing command interface, aborting
 SUBSYSTEM=pci
 DEVICE=+pci:0000:31:00.0
3,1021,37527513,-;mlx5_core 0000:31:00.0: probe_one:1961:(pid 5): mlx5_init_one failed with error code -12
 SUBSYSTEM=pci
 DEVICE=+pci:0000:31:00.0
3,1022,37536789,-;mlx5_core 0000:31:00.0: probe with driver mlx5_core failed with error -12
 SUBSYSTEM=pci
 DEVICE=+pci:0000:31:00.0
";

    /// Scenario d of the VM notes, raw /dev/kmsg records.
    const VM_D: &str = "\
4,380,5787961,-;vfio-pci: probe of 0000:00:06.0 failed with error -22
3,386,8159366,-;e1000e 0000:00:04.0: The NVM Checksum Is Not Valid
 SUBSYSTEM=pci
 DEVICE=+pci:0000:00:04.0
4,387,8531997,-;e1000e: probe of 0000:00:04.0 failed with error -5
3,391,8731218,-;e1000 0000:00:05.0: can't ioremap BAR 0: [io  0xc000-0xc0ff]
4,392,8880728,-;e1000: probe of 0000:00:05.0 failed with error -5
";

    const KDUMP: &str = "\
[ 17.397195] mpt3sas0: new add vector: 214, name: mpt3sas0!
[ 17.403222] mpt3sas0: unable to allocate interrupt 214, r: -38!
[ 17.428239] ------------[ cut here ]------------
[ 17.433467] kernel BUG at arch/x86/kernel/apic/io_apic.c:1358!
[ 17.439916] invalid opcode: 0000 [#1] SMP
[ 17.444670] Modules linked in: mpt3sas(OE+) raid_class scsi_transport_sas i40e(OE) ast i2c_algo_bit ptp ...
[ 17.465081] CPU: 0 PID: 234 Comm: systemd-udevd Tainted: G OE ------------ 3.10.0-693.5.2.el7.x86_64 #1
[ 18.930924] mpt3sas_cm0: MSI-X vectors supported: 96, no of cores: 1, max_msix_vectors: -1
[ 18.958778] mpt3sas_cm0: pci_enable_msix failed (r=-1)
";

    fn rec(level: u8, text: &str) -> Record {
        Record {
            level,
            seq: 0,
            usec: 0,
            text: text.to_string(),
            subsystem: None,
            device: None,
        }
    }

    #[test]
    fn dev_prefix_finds_the_driver_and_address_of_device_messages() {
        let cases = [
            (
                "iwlwifi 0000:00:14.3: no suitable firmware found!",
                Some(("iwlwifi", "0000:00:14.3")),
            ),
            (
                "e1000e 0000:00:04.0 (uninitialized): Failed to initialize MSI interrupts.",
                Some(("e1000e", "0000:00:04.0")),
            ),
            (
                "e1000e 0000:00:04.0 eth0: NIC Link is Up",
                Some(("e1000e", "0000:00:04.0")),
            ),
            (
                "pci 0000:00:14.3: [8086:02f0] type 00",
                Some(("pci", "0000:00:14.3")),
            ),
            ("e1000e: probe of 0000:00:04.0 failed with error -5", None),
            ("mlx5_core 0000:31:00.10: not an address", None),
            (" 0000:31:00.0: no driver word", None),
            ("mpt3sas0: unable to allocate interrupt", None),
            ("single", None),
        ];
        for (text, want) in cases {
            let r = rec(3, text);
            let got = dev_prefix(&r).map(|(d, a)| (d, a.to_string()));
            let want = want.map(|(d, a)| (d, a.to_string()));
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn firmware_failures_name_the_file_and_the_error() {
        let cases = [
            (
                "iwlwifi 0000:00:14.3: Direct firmware load for iwlwifi-QuZ-a0-hr-b0-77.ucode failed with error -2",
                Some(("iwlwifi-QuZ-a0-hr-b0-77.ucode", 2)),
            ),
            (
                "r8169 0000:02:00.0: firmware: failed to load rtl_nic/rtl8168h-2.fw (-2)",
                Some(("rtl_nic/rtl8168h-2.fw", 2)),
            ),
            (
                "bnx2x 0000:01:00.0: Direct firmware load for bnx2x/bnx2x-e2-7.13.21.0.fw failed with error -12",
                Some(("bnx2x/bnx2x-e2-7.13.21.0.fw", 12)),
            ),
            ("x: Direct firmware load for a b failed with error -2", None),
            ("x: Direct firmware load for f failed with error 2", None),
            ("x: Direct firmware load for f failed with error -5000", None),
            ("x: Direct firmware load for  failed with error -2", None),
            ("x: firmware: failed to load f (-0)", None),
            ("x: loaded firmware version 77.ucode", None),
        ];
        for (text, want) in cases {
            let got = firmware_failure(&rec(4, text));
            assert_eq!(got, want.map(|(f, e)| (f.to_string(), e)), "{text}");
        }
    }

    #[test]
    fn parse_record_reads_header_text_and_dictionary() {
        let r = parse_record(b"3,386,8159366,-;e1000e 0000:00:04.0: The NVM Checksum Is Not Valid\n SUBSYSTEM=pci\n DEVICE=+pci:0000:00:04.0\n").unwrap();
        assert_eq!(
            r,
            Record {
                level: 3,
                seq: 386,
                usec: 8159366,
                text: "e1000e 0000:00:04.0: The NVM Checksum Is Not Valid".into(),
                subsystem: Some("pci".into()),
                device: Some("+pci:0000:00:04.0".into()),
            }
        );
    }

    #[test]
    fn parse_record_takes_level_from_priority_and_ignores_unknown_fields() {
        // Facility 3 (daemon) << 3 | level 6; a future extra header field.
        let r =
            parse_record(b"30,340,5690716,-,caller=T1;udevd[80]: starting version 181\n").unwrap();
        assert_eq!((r.level, r.seq, r.usec), (6, 340, 5690716));
        assert_eq!(r.text, "udevd[80]: starting version 181");
        // Without the flags field and without the trailing newline.
        let r = parse_record(b"6,1,2;text").unwrap();
        assert_eq!((r.level, r.seq, r.usec, r.text.as_str()), (6, 1, 2, "text"));
    }

    #[test]
    fn parse_record_keeps_kernel_escapes_and_survives_bad_bytes() {
        let r = parse_record(b"4,1,2,-;name \\x1b[0m\xff\xfe\n KEY\xff=1\n").unwrap();
        assert_eq!(r.text, "name \\x1b[0m\u{fffd}\u{fffd}");
    }

    #[test]
    fn parse_record_rejects_garbage_and_truncated_headers() {
        let cases: [&[u8]; 10] = [
            b"",
            b"\n",
            b"garbage",
            b";text",
            b"4,1;text",
            b"4,1,2",
            b"x,1,2,-;text",
            b"4,-1,2,-;text",
            b"4,99999999999999999999999,2,-;overflow",
            b"\xff\xfe,1,2;x",
        ];
        for case in cases {
            assert_eq!(
                parse_record(case),
                None,
                "case {:?}",
                String::from_utf8_lossy(case)
            );
        }
    }

    #[test]
    fn parse_record_refuses_oversize_records() {
        let mut raw = b"4,1,2,-;".to_vec();
        raw.extend(vec![b'x'; RECORD_MAX]);
        assert_eq!(parse_record(&raw), None);
    }

    #[test]
    fn parsers_survive_truncation_and_noise() {
        let raw = b"3,1022,37536789,-;mlx5_core 0000:31:00.0: probe with driver mlx5_core failed with error -12\n SUBSYSTEM=pci\n DEVICE=+pci:0000:31:00.0\n";
        for end in 0..raw.len() {
            if let Some(r) = parse_record(&raw[..end]) {
                let _ = probe_failure(&r);
                let _ = is_problem(&r, &[a("0000:31:00.0")], &["mlx5_core"]);
            }
        }
        let full = parse_record(raw).unwrap();
        assert_eq!(full.device.as_deref(), Some("+pci:0000:31:00.0"));
        assert_eq!(probe_failure(&full).map(|f| f.errno), Some(12));
        // Deterministic noise, biased towards the bytes the parsers look for.
        let alphabet =
            b"0123456789,;-: .[]<>=\n\x00\xff\xc3(kernel)probe of failed with error DEVICE+pci";
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            let noise: Vec<u8> = (0..(seed % 96) as usize)
                .map(|_| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    alphabet[(seed >> 33) as usize % alphabet.len()]
                })
                .collect();
            for r in parse_record(&noise)
                .into_iter()
                .chain(parse_text(&String::from_utf8_lossy(&noise)))
            {
                let _ = probe_failure(&r);
                let _ = is_problem(&r, &[a("0000:31:00.0")], &["mlx5_core", ""]);
            }
        }
    }

    #[test]
    fn parse_text_reads_dmesg_lines_with_stamps() {
        let recs = parse_text(MLX5_OLD);
        assert_eq!(recs.len(), 8);
        assert_eq!(
            recs[4].text,
            "mlx5_core: probe of 0000:31:00.0 failed with error -12"
        );
        assert_eq!(
            (recs[4].level, recs[4].seq, recs[4].usec),
            (4, 4, 37_536_789)
        );
        // dmesg -r keeps the priority; short fractions are scaled.
        let recs = parse_text("<3>[    8.5] e1000: x\n[ 17.397195] y\n");
        assert_eq!(
            (recs[0].level, recs[0].usec, recs[0].text.as_str()),
            (3, 8_500_000, "e1000: x")
        );
        assert_eq!((recs[1].level, recs[1].usec), (4, 17_397_195));
    }

    #[test]
    fn parse_text_reads_journal_lines_and_skips_other_programs() {
        let text = "\
kernel: pci 0000:4b:00.0: [15b3:101b] type 00 class 0x020700
kernel: mlx5_core 0000:4b:00.0: firmware version: 20.36.1010
network[2914]: Bringing up interface ib0:  ERROR     : [/etc/sysconfig/network-scripts/ifup-eth] Device ib0 does not seem to be present, delaying initialization.
(80 s later, when something finally loads ib_ipoib)
Mar 05 10:00:01 node17 kernel: mlx5_core 0000:4b:00.0: MLX5E: StrdRq(0) RqSz(1024) StrdSz(256) RxCqeCmprss(0)
openibd[2319]: + /sbin/modprobe ib_ipoib
";
        let recs = parse_text(text);
        let texts: Vec<&str> = recs.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "pci 0000:4b:00.0: [15b3:101b] type 00 class 0x020700",
                "mlx5_core 0000:4b:00.0: firmware version: 20.36.1010",
                "mlx5_core 0000:4b:00.0: MLX5E: StrdRq(0) RqSz(1024) StrdSz(256) RxCqeCmprss(0)",
            ]
        );
        assert!(recs.iter().all(|r| r.level == 4));
        assert_eq!(recs.iter().map(|r| r.seq).collect::<Vec<_>>(), [0, 1, 2]);
    }

    #[test]
    fn parse_text_attaches_continuation_lines_even_when_indented_by_pasting() {
        let indented: String = VM_D.lines().map(|l| format!("    {l}\n")).collect();
        for text in [VM_D.to_string(), indented] {
            let recs = parse_text(&text);
            assert_eq!(recs.len(), 5);
            assert_eq!(recs[1].device.as_deref(), Some("+pci:0000:00:04.0"));
            assert_eq!(recs[1].subsystem.as_deref(), Some("pci"));
            assert_eq!(recs[2].device, None);
            assert_eq!(recs[4].seq, 392);
        }
    }

    #[test]
    fn probe_failure_reads_the_old_wording() {
        let recs = parse_text(MLX5_OLD);
        let fails: Vec<ProbeFailure> = recs.iter().filter_map(probe_failure).collect();
        assert_eq!(fails.len(), 2);
        assert_eq!(
            fails[0],
            ProbeFailure {
                pci: "0000:31:00.0".parse().unwrap(),
                driver: "mlx5_core".into(),
                errno: 12,
                seq: 4,
                usec: 37_536_789,
                line: "mlx5_core: probe of 0000:31:00.0 failed with error -12".into(),
            }
        );
        assert_eq!(fails[1].pci, "0000:31:00.1");
    }

    #[test]
    fn probe_failure_reads_the_6_9_wording_with_its_dictionary() {
        let recs = parse_text(MLX5_NEW);
        let fails: Vec<ProbeFailure> = recs.iter().filter_map(probe_failure).collect();
        assert_eq!(
            fails.len(),
            1,
            "mlx5's own 'failed with error code' lines are not the core's"
        );
        assert_eq!(
            (fails[0].pci.to_string().as_str(), fails[0].driver.as_str()),
            ("0000:31:00.0", "mlx5_core")
        );
        assert_eq!(
            (fails[0].errno, fails[0].seq, fails[0].usec),
            (12, 1022, 37_536_789)
        );
        // The driver's own error lines before it name the same device.
        let own: Vec<&Record> = recs
            .iter()
            .filter(|r| names_device(r, a("0000:31:00.0")) && r.seq < 1022)
            .collect();
        assert_eq!(own.len(), 2);
        assert!(own[0]
            .text
            .contains("Failed initializing command interface"));
    }

    #[test]
    fn probe_failure_reads_the_vm_records() {
        let got: Vec<(String, String, i32)> = parse_text(VM_D)
            .iter()
            .filter_map(probe_failure)
            .map(|f| (f.pci.to_string(), f.driver, f.errno))
            .collect();
        let want = [
            ("0000:00:06.0", "vfio-pci", 22),
            ("0000:00:04.0", "e1000e", 5),
            ("0000:00:05.0", "e1000", 5),
        ];
        let want: Vec<(String, String, i32)> = want
            .iter()
            .map(|(p, d, e)| (p.to_string(), d.to_string(), *e))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn probe_failure_ignores_non_pci_devices_and_lookalikes() {
        let cases = [
            "i2c_hid: probe of i2c-ELAN0001:00 failed with error -22",
            "dwc3 fe800000.usb: probe with driver dwc3 failed with error -110",
            "mlx5_core 0000:31:00.0: probe_one:1961:(pid 5): mlx5_init_one failed with error code -12",
            "e1000: probe of 0000:00:05.0 failed with error",
            "e1000: probe of 0000:00:05.0 failed with error -0",
            "e1000: probe of 0000:00:05.0 failed with error -99999",
            "e1000: probe of 0000:00:05.0 failed with error -x",
            "my driver: probe of 0000:00:05.0 failed with error -5",
            "e1000: probe of 0000:00:05.8 failed with error -5",
            "e1000: probe of 0000:0:05.0 failed with error -5",
            "e1000: probe of 0000:00:05.0",
            "e1000 0000:00:05.0: probe with driver",
        ];
        for case in cases {
            assert_eq!(probe_failure(&rec(4, case)), None, "case {case}");
        }
        let vmd = probe_failure(&rec(
            3,
            "nvme 10000:e1:00.0: probe with driver nvme failed with error -19",
        ))
        .unwrap();
        assert_eq!(
            (vmd.pci.to_string().as_str(), vmd.errno),
            ("10000:e1:00.0", 19)
        );
    }

    #[test]
    fn errno_name_knows_the_usual_probe_errors() {
        let table = [
            (5, Some("EIO")),
            (12, Some("ENOMEM")),
            (22, Some("EINVAL")),
            (16, Some("EBUSY")),
            (19, Some("ENODEV")),
            (28, Some("ENOSPC")),
            (110, Some("ETIMEDOUT")),
            (2, Some("ENOENT")),
            (6, Some("ENXIO")),
            (95, Some("EOPNOTSUPP")),
            (38, Some("ENOSYS")),
            (1, Some("EPERM")),
            (13, Some("EACCES")),
            (14, Some("EFAULT")),
            (517, Some("EPROBE_DEFER")),
            (0, None),
            (-12, None),
            (4096, None),
        ];
        for (errno, want) in table {
            assert_eq!(errno_name(errno), want, "case {errno}");
        }
    }

    #[test]
    fn names_device_matches_whole_addresses_and_device_keys() {
        let mut r = rec(3, "e1000e 0000:00:04.0: The NVM Checksum Is Not Valid");
        assert!(names_device(&r, a("0000:00:04.0")));
        assert!(!names_device(&r, a("0000:00:04.1")));
        r.text = "x 10000:00:04.0 y 0000:00:04.01 z0000:00:04.0".into();
        assert!(!names_device(&r, a("0000:00:04.0")));
        // A pasted log may not keep the kernel's case; a sentence may end on it.
        r.text = "e1000e 0000:00:1F.6: probe of device 0000:00:1f.6.".into();
        assert!(names_device(&r, a("0000:00:1f.6")));
        r.text = "pci 0000:00:1f.6 (0000:00:1f.6)".into();
        assert!(names_device(&r, a("0000:00:1f.6")));
        r.text = "iommu: Adding device 0000:00:04.0 to group 30".into();
        assert!(names_device(&r, a("0000:00:04.0")));
        r.text = "no address".into();
        r.device = Some("+pci:0000:00:04.0".into());
        assert!(names_device(&r, a("0000:00:04.0")));
        assert!(!names_device(&r, a("0000:00:05.0")));
    }

    #[test]
    fn is_problem_flags_the_kdump_bug_but_not_other_drivers_errors() {
        let recs = parse_text(KDUMP);
        let flagged = |pcis: &[PciAddr], drivers: &[&str]| -> Vec<String> {
            recs.iter()
                .filter(|r| is_problem(r, pcis, drivers))
                .map(|r| r.text.clone())
                .collect()
        };
        assert_eq!(
            flagged(&[a("0000:3b:00.0")], &["i40e"]),
            ["kernel BUG at arch/x86/kernel/apic/io_apic.c:1358!"]
        );
        // The same interrupt error as an error-level kmsg record.
        let mpt = rec(3, "mpt3sas0: unable to allocate interrupt 214, r: -38!");
        assert!(!is_problem(&mpt, &[a("0000:3b:00.0")], &["i40e"]));
        assert!(
            !is_problem(&mpt, &[], &["mpt3sas"]),
            "mpt3sas0 is not the driver name"
        );
        assert!(is_problem(
            &rec(3, "mpt3sas: unable to allocate interrupt"),
            &[],
            &["mpt3sas"]
        ));
        let i40e = rec(3, "i40e 0000:3b:00.0: unable to allocate interrupt");
        assert!(is_problem(&i40e, &[a("0000:3b:00.0")], &[]));
        assert!(is_problem(&i40e, &[], &["i40e"]));
        assert!(
            !is_problem(&rec(4, &i40e.text), &[a("0000:3b:00.0")], &["i40e"]),
            "warnings are not errors"
        );
        assert!(is_problem(
            &rec(3, "virtio_pci 0000:00:03.0: oops"),
            &[],
            &["virtio-pci"]
        ));
    }

    #[test]
    fn is_problem_knows_kernel_splats() {
        let splats = [
            "Oops: 0000 [#1] SMP",
            "BUG: unable to handle kernel NULL pointer dereference at 0000000000000008",
            "BUG: kernel NULL pointer dereference, address: 0000000000000008",
            "general protection fault: 0000 [#1] SMP",
            "kernel BUG at arch/x86/kernel/apic/io_apic.c:1358!",
            "WARNING: CPU: 0 PID: 1 at drivers/base/dd.c:12 really_probe+0x1/0x2",
            "INFO: task systemd-udevd:234 blocked for more than 120 seconds.",
            "watchdog: BUG: soft lockup - CPU#0 stuck for 23s! [kworker/0:1:12]",
            "Kernel panic - not syncing: Fatal exception",
            "rcu: INFO: rcu_sched detected stalls on CPUs/tasks:",
        ];
        for text in splats {
            assert!(is_problem(&rec(6, text), &[], &[]), "case {text}");
        }
        let quiet = [
            "------------[ cut here ]------------",
            "ACPI Warning: SystemIO range 0x428-0x42F conflicts with OpRegion",
            "e1000e: probe of 0000:00:04.0 failed with error -5",
        ];
        for text in quiet {
            assert!(!is_problem(&rec(4, text), &[], &[]), "case {text}");
        }
    }

    fn fake_root() -> (tempfile::TempDir, Root) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("dev")).unwrap();
        let root = Root::new(dir.path());
        (dir, root)
    }

    fn append(root: &Root, text: &str) {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(root.path(KMSG))
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    #[test]
    fn kernel_log_reads_appended_records_and_holds_back_partial_lines() {
        let (_dir, root) = fake_root();
        append(&root, "4,380,5787961,-;vfio-pci: probe of 0000:00:06.0 failed with error -22\n3,386,8159366,-;e1000e 0000:00:04.0: The NVM");
        let mut log = KernelLog::open(&root);
        assert_eq!(log.unreadable(), None);
        assert!(log.raw_fd().is_none());
        assert_eq!(log.records().len(), 1);
        assert!(!log.refresh(), "nothing new yet");

        append(&root, " Checksum Is Not Valid\n SUBSYSTEM=pci\n");
        assert!(log.refresh());
        assert_eq!(log.records().len(), 2);
        assert_eq!(
            log.records()[1].text,
            "e1000e 0000:00:04.0: The NVM Checksum Is Not Valid"
        );
        // A continuation line arriving later still belongs to its record.
        append(&root, " DEVICE=+pci:0000:00:04.0\n4,387,8531997,-;e1000e: probe of 0000:00:04.0 failed with error -5\n");
        assert!(log.refresh());
        let seqs: Vec<u64> = log.records().iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [380, 386, 387]);
        assert_eq!(
            log.records()[1].device.as_deref(),
            Some("+pci:0000:00:04.0")
        );
        assert!(!log.refresh());
    }

    #[test]
    fn kernel_log_starts_over_when_the_file_is_rewritten_shorter() {
        let (_dir, root) = fake_root();
        append(&root, VM_D);
        let mut log = KernelLog::open(&root);
        assert_eq!(log.records().len(), 5);
        std::fs::write(root.path(KMSG), "6,1,10,-;fresh boot\n").unwrap();
        assert!(log.refresh());
        let texts: Vec<&str> = log.records().iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, ["fresh boot"]);
        // Replaced by a new file (rename) of any length: also a new log.
        let tmp = root.path("dev/kmsg.new");
        std::fs::write(&tmp, MLX5_OLD).unwrap();
        std::fs::rename(&tmp, root.path(KMSG)).unwrap();
        assert!(log.refresh());
        assert_eq!(log.records().len(), 8);
        assert_eq!(log.records()[0].seq, 0);
    }

    #[test]
    fn kernel_log_reports_a_missing_log_and_picks_it_up_later() {
        let (_dir, root) = fake_root();
        let mut log = KernelLog::open(&root);
        assert_eq!(log.unreadable(), Some("dev/kmsg does not exist"));
        assert!(log.records().is_empty());
        assert!(!log.refresh());
        append(&root, "6,1,10,-;hello\n");
        assert!(log.refresh());
        assert_eq!(log.unreadable(), None);
        std::fs::remove_file(root.path(KMSG)).unwrap();
        assert!(!log.refresh());
        assert_eq!(log.unreadable(), Some("dev/kmsg does not exist"));
        assert_eq!(log.records().len(), 1, "history survives");
        let nothing = tempfile::tempdir().unwrap();
        assert_eq!(
            KernelLog::open(&Root::new(nothing.path())).unreadable(),
            Some("dev/kmsg does not exist")
        );
    }

    #[test]
    fn kernel_log_reports_permission_denied() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            return; // root reads anything; nothing to check
        }
        use std::os::unix::fs::PermissionsExt;
        let (_dir, root) = fake_root();
        append(&root, "6,1,10,-;secret\n");
        std::fs::set_permissions(root.path(KMSG), std::fs::Permissions::from_mode(0o000)).unwrap();
        assert_eq!(
            KernelLog::open(&root).unreadable(),
            Some("permission denied reading dev/kmsg")
        );
    }

    #[test]
    fn kernel_log_refuses_a_directory() {
        let (_dir, root) = fake_root();
        std::fs::create_dir(root.path(KMSG)).unwrap();
        let log = KernelLog::open(&root);
        assert!(log
            .unreadable()
            .unwrap()
            .contains("neither a character device nor a regular file"));
    }

    #[test]
    fn kernel_log_skips_oversize_and_garbage_lines() {
        let (_dir, root) = fake_root();
        let huge = "x".repeat(RECORD_MAX + 10);
        append(
            &root,
            &format!("4,1,2,-;{huge}\n\u{0}\u{1}garbage\n6,2,3,-;after\n"),
        );
        let mut bytes = std::fs::read(root.path(KMSG)).unwrap();
        bytes.extend_from_slice(b"6,3,4,-;bad \xff byte\n");
        std::fs::write(root.path(KMSG), bytes).unwrap();
        let log = KernelLog::open(&root);
        let texts: Vec<&str> = log.records().iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, ["after", "bad \u{fffd} byte"]);
    }

    #[test]
    fn kernel_log_keeps_a_bounded_history() {
        let (_dir, root) = fake_root();
        let text: String = (0..HISTORY_MAX as u64 + 5)
            .map(|i| format!("6,{i},0,-;r\n"))
            .collect();
        append(&root, &text);
        let log = KernelLog::open(&root);
        assert_eq!(log.records().len(), HISTORY_MAX);
        assert_eq!(log.records()[0].seq, 5);
        assert_eq!(log.records().last().unwrap().seq, HISTORY_MAX as u64 + 4);
    }

    #[test]
    fn kernel_log_reads_the_real_device_when_allowed() {
        let root = Root::new("/");
        let mut log = KernelLog::open(&root);
        match log.unreadable() {
            Some(why) => assert!(why.contains("dev/kmsg"), "{why}"),
            None if std::fs::metadata(root.path(KMSG))
                .map(|m| m.file_type().is_char_device())
                .unwrap_or(false) =>
            {
                assert!(log.raw_fd().is_some());
                assert!(!log.records().is_empty(), "the boot banner is always there");
                let before = log.records().len();
                log.refresh();
                assert!(log.records().len() >= before.min(HISTORY_MAX));
            }
            None => {}
        }
    }
}
