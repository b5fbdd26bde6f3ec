//! [`Settings`]: `/etc/netsettle.conf` and `/etc/netsettle.conf.d/*.conf`
//! (systemd-style INI, systemd.syntax(7)), then the kernel command line
//! ([`kernel`]), then the command line ([`args`]), later winning.
//!
//! [`parse_into`] is pure and does all the deciding; [`load`] only finds the
//! files and reads them.

pub mod args;
pub mod kernel;
mod wants;

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

pub use wants::{derive_into, parse_rdma_ports, Wants};

use crate::pci::PciAddr;
use crate::root::Root;
use crate::value::{dedupe, parse_bool, parse_duration, quoted, Mac};

/// A config file is a few lines; the bound keeps a runaway file cheap.
const FILE_LIMIT: u64 = 1024 * 1024;
/// Far beyond any real list, small enough that garbage is an error rather
/// than a megabyte-long interface name.
const LINE_LIMIT: usize = 64 * 1024;
const MAIN_FILE: &str = "etc/netsettle.conf";
const DROPIN_DIR: &str = "etc/netsettle.conf.d";

/// Everything the config files and the kernel command line decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// How long to wait before giving up.
    pub timeout: Duration,
    /// Expect every PCI network function.
    pub auto: bool,
    /// Whether InfiniBand ports must get an IPoIB netdev.
    pub ipoib: IpoibMode,
    /// Wait for the udev queue and udev's processing of each netdev.
    pub wait_for_udev: bool,
    /// Exit as soon as a probe failure is certain.
    pub fail_fast: bool,
    /// `netsettle=off` on the kernel command line: do nothing.
    pub off: bool,
    /// What must be present.
    pub expect: Expect,
    /// What is never waited for.
    pub ignore: Ignore,
    /// Opt-in waits beyond the netdev and expectations from network configs.
    pub wants: Wants,
}

/// The deadline when nothing sets one (SPEC: 120 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

impl Default for Settings {
    fn default() -> Self {
        Settings {
            timeout: DEFAULT_TIMEOUT,
            auto: true,
            ipoib: IpoibMode::Auto,
            wait_for_udev: true,
            fail_fast: false,
            off: false,
            expect: Expect::default(),
            ignore: Ignore::default(),
            wants: Wants::default(),
        }
    }
}

/// `IPoIB=`: whether each InfiniBand port is expected to have an IPoIB netdev.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpoibMode {
    /// Expected unless the running kernel provably has no `ib_ipoib`.
    Auto,
    /// Always expected.
    Yes,
    /// Never expected.
    No,
}

/// `[Expect]`: devices and interfaces that must be present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    /// Interface names.
    pub interfaces: Vec<String>,
    /// PCI functions.
    pub pci: Vec<PciAddr>,
    /// Interface hardware addresses.
    pub macs: Vec<Mac>,
    /// Drivers that must be bound to some device.
    pub drivers: Vec<String>,
    /// The fewest interfaces that count as ready.
    pub min_interfaces: Option<u32>,
}

/// `[Ignore]`: what is never waited for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ignore {
    /// PCI functions.
    pub pci: Vec<PciAddr>,
    /// Driver names.
    pub drivers: Vec<String>,
    /// Interface name globs (fnmatch).
    pub interfaces: Vec<String>,
}

impl Ignore {
    /// Adds one item of `--ignore` or `netsettle.ignore=`: a PCI address,
    /// or else a driver name or interface glob, which cannot be told apart,
    /// so both.
    pub fn add(&mut self, item: &str) {
        match item.parse::<PciAddr>() {
            Ok(pci) => self.pci.push(pci),
            Err(_) => {
                self.drivers.push(item.to_string());
                self.interfaces.push(item.to_string());
            }
        }
    }
}

/// A configuration error, shown as `FILE:LINE: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file as the user would name it.
    pub file: String,
    /// 1-based line; 0 when the error is about the whole file.
    pub line: usize,
    /// What is wrong, lowercase, one line.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file, self.message),
            n => write!(f, "{}:{n}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Reads the configuration: `explicit` alone when given (a real path, not
/// under `root`), else `etc/netsettle.conf` then `etc/netsettle.conf.d/*.conf`
/// in file-name order, each optional.
pub fn load(root: &Root, explicit: Option<&Path>) -> Result<Settings, ConfigError> {
    let mut settings = Settings::default();
    let paths = match explicit {
        Some(p) => vec![p.to_path_buf()],
        None => {
            let dropins = root.list(DROPIN_DIR).into_iter().filter(|n| {
                let n = n.as_bytes();
                n.ends_with(b".conf") && !n.starts_with(b".")
            });
            let mut paths = vec![root.path(MAIN_FILE)];
            paths.extend(dropins.map(|n| root.path(Path::new(DROPIN_DIR).join(n))));
            paths
        }
    };
    for path in paths {
        if let Some(text) = read(&path, explicit.is_none())? {
            parse_into(&mut settings, &path.display().to_string(), &text)?;
        }
    }
    Ok(settings)
}

/// Reads one file whole, bounded; `None` when it is absent and that is fine.
///
/// Not `Root::read_text`: that one is lossy, and bad UTF-8 must be an error.
fn read(path: &Path, missing_ok: bool) -> Result<Option<String>, ConfigError> {
    let file = path.display().to_string();
    let error = |line, message| ConfigError {
        file: file.clone(),
        line,
        message,
    };
    let mut bytes = Vec::new();
    // An explicit path may be a pipe (`-c <(generate-config)`); the default
    // ones must be regular files, so a FIFO left in etc/ cannot hang a boot.
    let open = |p: &Path| {
        if missing_ok {
            crate::root::open_regular(p)
        } else {
            File::open(p)
        }
    };
    match open(path).and_then(|f| f.take(FILE_LIMIT + 1).read_to_end(&mut bytes)) {
        Err(e) if missing_ok && e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(error(0, format!("cannot read: {e}"))),
        Ok(_) => {}
    }
    if bytes.len() as u64 > FILE_LIMIT {
        return Err(error(0, format!("larger than {FILE_LIMIT} bytes")));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(text)),
        Err(e) => {
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = 1 + good.iter().filter(|&&b| b == b'\n').count();
            Err(error(line, "invalid UTF-8".to_string()))
        }
    }
}

/// Applies one file's text on top of `settings`; on error `settings` is untouched.
pub fn parse_into(settings: &mut Settings, file: &str, text: &str) -> Result<(), ConfigError> {
    let error = |line, message| ConfigError {
        file: file.to_string(),
        line,
        message,
    };
    let mut next = settings.clone();
    let mut section = None;
    let (mut start, mut logical, mut continued) = (0, String::new(), false);
    // A final empty line closes a continuation the last line left open.
    for (no, raw) in (1..).zip(text.lines().chain([""])) {
        if raw.contains('\0') {
            return Err(error(no, "line contains a NUL byte".to_string()));
        }
        // Comment lines never continue and, as in systemd, are skipped inside a continuation.
        if matches!(raw.trim_start().as_bytes().first(), Some(b'#' | b';')) {
            continue;
        }
        if continued {
            logical.push(' ');
        } else {
            (start, logical) = (no, String::new());
        }
        let part = strip_comment(raw);
        let (part, more) = match part.strip_suffix('\\') {
            Some(part) => (part, true),
            None => (part, false),
        };
        logical.push_str(part.trim());
        continued = more;
        if logical.len() > LINE_LIMIT {
            let message = format!("line is longer than {LINE_LIMIT} bytes");
            return Err(error(start, message));
        }
        if !continued {
            apply_line(&mut next, &mut section, &logical).map_err(|m| error(start, m))?;
        }
    }
    next.dedupe_lists();
    *settings = next;
    Ok(())
}

/// Drops a trailing `  # comment`: `#` starts one only after whitespace, so
/// `foo#bar` stays whole.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let comment = bytes
        .windows(2)
        .position(|w| matches!(w, [b' ' | b'\t', b'#']));
    line[..comment.unwrap_or(line.len())].trim_end()
}

/// A section's name and its keys.
type Section = (&'static str, &'static [&'static str]);

/// Every section with its keys, in the order the documentation lists them.
const SECTIONS: [Section; 3] = [
    (
        "Settle",
        &["Timeout", "Auto", "IPoIB", "WaitForUdev", "FailFast"],
    ),
    (
        "Expect",
        &[
            "Interface",
            "PCI",
            "MAC",
            "Driver",
            "MinInterfaces",
            "RDMAPorts",
            "VFs",
            "Link",
            "ExpectFrom",
        ],
    ),
    ("Ignore", &["PCI", "Driver", "Interface"]),
];
const SECTION_LIST: &str = "[Settle], [Expect] or [Ignore]";

/// Applies one logical line (continuations joined, comments stripped).
fn apply_line(s: &mut Settings, section: &mut Option<Section>, line: &str) -> Result<(), String> {
    if line.is_empty() {
        return Ok(());
    }
    if let Some(header) = line.strip_prefix('[') {
        let name = header.strip_suffix(']').filter(|n| !n.contains(['[', ']']));
        let name = name.ok_or_else(|| format!("malformed section header {}", quoted(line)))?;
        let found = SECTIONS.into_iter().find(|(n, _)| *n == name);
        let unknown = || format!("unknown section {}: expected {SECTION_LIST}", quoted(name));
        *section = Some(found.ok_or_else(unknown)?);
        return Ok(());
    }
    let Some((key, value)) = line.split_once('=') else {
        let line = quoted(line);
        return Err(format!(
            "expected KEY=VALUE, [SECTION] or a comment, got {line}"
        ));
    };
    let (key, value) = (key.trim(), value.trim());
    if key.is_empty() {
        return Err(format!("missing key before '=' in {}", quoted(line)));
    }
    let Some((name, keys)) = *section else {
        let key = quoted(key);
        return Err(format!(
            "key {key} outside any section: put it under {SECTION_LIST}"
        ));
    };
    if !keys.contains(&key) {
        let (key, valid) = (quoted(key), keys.join(", "));
        return Err(format!(
            "unknown key {key} in [{name}]: valid keys are {valid}"
        ));
    }
    set(s, name, key, value).map_err(|e| format!("{key}: {e}"))
}

/// Sets a known key. An empty value resets the key, as in systemd: lists
/// empty, everything else back to its default.
fn set(s: &mut Settings, section: &str, key: &str, value: &str) -> Result<(), String> {
    let d = Settings::default();
    let text: Parse<String> = |t| Ok(t.to_string());
    match (section, key) {
        ("Settle", "Timeout") => s.timeout = scalar(value, d.timeout, parse_duration)?,
        ("Settle", "Auto") => s.auto = scalar(value, d.auto, parse_bool)?,
        ("Settle", "IPoIB") => s.ipoib = scalar(value, d.ipoib, parse_ipoib)?,
        ("Settle", "WaitForUdev") => s.wait_for_udev = scalar(value, d.wait_for_udev, parse_bool)?,
        ("Settle", "FailFast") => s.fail_fast = scalar(value, d.fail_fast, parse_bool)?,
        ("Expect", "Interface") => list(&mut s.expect.interfaces, value, text)?,
        ("Expect", "PCI") => list(&mut s.expect.pci, value, str::parse)?,
        ("Expect", "MAC") => list(&mut s.expect.macs, value, str::parse)?,
        ("Expect", "Driver") => list(&mut s.expect.drivers, value, text)?,
        ("Expect", "MinInterfaces") => {
            s.expect.min_interfaces = scalar(value, None, |v| {
                v.parse()
                    .map(Some)
                    .map_err(|_| format!("invalid integer {}: expected a count", quoted(v)))
            })?
        }
        ("Expect", "RDMAPorts") => {
            s.wants.rdma_ports = scalar(value, d.wants.rdma_ports, parse_rdma_ports)?
        }
        ("Expect", "VFs") => s.wants.vfs = scalar(value, d.wants.vfs, parse_bool)?,
        ("Expect", "Link") => list(&mut s.wants.links, value, crate::value::parse_iface)?,
        ("Expect", "ExpectFrom") => list(&mut s.wants.from, value, str::parse)?,
        ("Ignore", "PCI") => list(&mut s.ignore.pci, value, str::parse)?,
        ("Ignore", "Driver") => list(&mut s.ignore.drivers, value, text)?,
        ("Ignore", "Interface") => list(&mut s.ignore.interfaces, value, text)?,
        // apply_line let only the keys in SECTIONS through.
        _ => {}
    }
    Ok(())
}

fn parse_ipoib(v: &str) -> Result<IpoibMode, String> {
    if v.eq_ignore_ascii_case("auto") {
        return Ok(IpoibMode::Auto);
    }
    let mode = parse_bool(v)
        .map_err(|_| format!("invalid value {}: expected auto, yes or no", quoted(v)))?;
    Ok(if mode { IpoibMode::Yes } else { IpoibMode::No })
}

/// A parser for one value or list item.
type Parse<T> = fn(&str) -> Result<T, String>;

fn scalar<T>(value: &str, default: T, parse: Parse<T>) -> Result<T, String> {
    if value.is_empty() {
        Ok(default)
    } else {
        parse(value)
    }
}

fn list<T>(list: &mut Vec<T>, value: &str, parse: Parse<T>) -> Result<(), String> {
    if value.is_empty() {
        list.clear();
    }
    for item in value.split_whitespace() {
        list.push(parse(item)?);
    }
    Ok(())
}

impl Settings {
    /// Keeps the first of each repeated list item. Done once per file, not per
    /// item, so a file of thousands of entries stays linear.
    pub(crate) fn dedupe_lists(&mut self) {
        dedupe(&mut self.expect.interfaces);
        dedupe(&mut self.expect.pci);
        dedupe(&mut self.expect.macs);
        dedupe(&mut self.expect.drivers);
        dedupe(&mut self.ignore.pci);
        dedupe(&mut self.ignore.drivers);
        dedupe(&mut self.ignore.interfaces);
        self.wants.dedupe();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, ConfigError> {
        let mut settings = Settings::default();
        parse_into(&mut settings, "t.conf", text).map(|()| settings)
    }

    fn pci(s: &str) -> PciAddr {
        s.parse().unwrap()
    }

    /// A temporary root holding `files` (path, content).
    fn tree(files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (rel, bytes) in files {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
        dir
    }

    #[test]
    fn defaults_follow_the_spec() {
        let s = Settings::default();
        assert_eq!(
            (s.timeout, s.ipoib),
            (Duration::from_secs(120), IpoibMode::Auto)
        );
        assert!(s.auto && s.wait_for_udev && !s.fail_fast && !s.off);
        assert_eq!(
            (&s.expect, &s.ignore),
            (&Expect::default(), &Ignore::default())
        );
        assert_eq!(parse("\n# nothing\n").unwrap(), s);
    }

    #[test]
    fn spec_example_parses_with_its_trailing_comments() {
        let text =
            "[Settle]\nTimeout=120s\nAuto=yes             # expect every PCI network function\n\
            IPoIB=auto  # auto|yes|no\nWaitForUdev=yes  # queue drained\nFailFast=no\n\n\
            [Expect]\nInterface=ib0 ib1\nPCI=0000:4b:00.0\nMAC=52:54:00:12:34:56\n\
            Driver=mlx4_en\nMinInterfaces=4\n\n\
            [Ignore]\nPCI=0000:00:1f.6\nDriver=vfio-pci\nInterface=docker* veth*\n";
        let want = Settings {
            expect: Expect {
                interfaces: vec!["ib0".into(), "ib1".into()],
                pci: vec![pci("0000:4b:00.0")],
                macs: vec!["52:54:00:12:34:56".parse().unwrap()],
                drivers: vec!["mlx4_en".into()],
                min_interfaces: Some(4),
            },
            ignore: Ignore {
                pci: vec![pci("0000:00:1f.6")],
                drivers: vec!["vfio-pci".into()],
                interfaces: vec!["docker*".into(), "veth*".into()],
            },
            ..Settings::default()
        };
        assert_eq!(parse(text).unwrap(), want);
    }

    #[test]
    fn settle_keys_set_scalars_and_an_empty_value_restores_the_default() {
        let s =
            parse("[Settle]\nTimeout=90\nAuto=no\nIPoIB=YES\nWaitForUdev=off\nFailFast=1").unwrap();
        assert_eq!(
            (s.timeout, s.ipoib),
            (Duration::from_secs(90), IpoibMode::Yes)
        );
        assert!(!s.auto && !s.wait_for_udev && s.fail_fast);
        let text = "[Settle]\nTimeout=5\nTimeout=\nIPoIB=no\nIPoIB=\n[Expect]\nMinInterfaces=2\nMinInterfaces=";
        assert_eq!(parse(text).unwrap(), Settings::default());
        for (case, want) in [("Auto", IpoibMode::Auto), ("0", IpoibMode::No)] {
            let got = parse(&format!("[Settle]\nIPoIB={case}")).unwrap().ipoib;
            assert_eq!(got, want, "case {case}");
        }
    }

    #[test]
    fn lists_accumulate_keep_one_of_each_and_reset_on_empty_assignment() {
        let text = "[Expect]\nInterface=eth0 eth1\nInterface=eth1  eth2 eth0\n\
            [Ignore]\nDriver=a\nDriver=\nDriver=b\n";
        let s = parse(text).unwrap();
        assert_eq!(s.expect.interfaces, ["eth0", "eth1", "eth2"]);
        assert_eq!(s.ignore.drivers, ["b"]);
    }

    #[test]
    fn comments_continuations_and_whitespace_follow_systemd() {
        let text = "# c\n; c\n  [Settle]  # c\n  Timeout =  1h \\\n  30m  # c\n[Expect]\n\
            Interface=a \\\n# skipped inside a continuation\n b#c\nDriver=x \\";
        let s = parse(text).unwrap();
        assert_eq!(s.timeout, Duration::from_secs(5400));
        assert_eq!(s.expect.interfaces, ["a", "b#c"]);
        assert_eq!(
            s.expect.drivers,
            ["x"],
            "a backslash on the last line ends it"
        );
    }

    #[test]
    fn errors_name_file_line_and_what_is_wrong() {
        #[rustfmt::skip]
        let cases = [
            ("unknown section", "[Settle]\n[Foo]", "t.conf:2: unknown section \"Foo\": expected [Settle]"),
            ("unknown key", "[Settle]\n\nTimeOut=5", "t.conf:3: unknown key \"TimeOut\" in [Settle]: \
                valid keys are Timeout, Auto, IPoIB, WaitForUdev, FailFast"),
            ("key outside a section", "# c\nTimeout=5", "t.conf:2: key \"Timeout\" outside any section"),
            ("no equals sign", "[Settle]\nTimeout", "t.conf:2: expected KEY=VALUE, [SECTION] or a comment, \
                got \"Timeout\""),
            ("empty key", "[Settle]\n = 5", "t.conf:2: missing key before '='"),
            ("bad bool", "[Settle]\nAuto=maybe", "t.conf:2: Auto: invalid boolean \"maybe\""),
            ("bad ipoib", "[Settle]\nIPoIB=sometimes", "t.conf:2: IPoIB: invalid value \"sometimes\""),
            ("bad duration", "[Settle]\nTimeout=soon", "t.conf:2: Timeout: invalid duration \"soon\""),
            ("bad pci", "[Expect]\nPCI=04:00.0 04:20.0", "t.conf:2: PCI: invalid PCI address \"04:20.0\""),
            ("bad mac", "[Ignore]\n[Expect]\nMAC=52:54:00", "t.conf:3: MAC: invalid MAC address \"52:54:00\""),
            ("bad integer", "[Expect]\nMinInterfaces=-1", "t.conf:2: MinInterfaces: invalid integer \"-1\""),
            ("unclosed header", "[Settle", "t.conf:1: malformed section header \"[Settle\""),
            ("nested header", "[[Settle]]", "t.conf:1: malformed section header \"[[Settle]]\""),
            ("continued line", "[Settle]\nAuto=yes \\\n maybe", "t.conf:2: Auto: invalid boolean \"yes maybe\""),
            ("NUL byte", "[Settle]\nAuto=y\0s", "t.conf:2: line contains a NUL byte"),
        ];
        for (case, text, want) in cases {
            let got = parse(text).unwrap_err().to_string();
            assert!(got.starts_with(want), "case {case}: got {got}");
        }
    }

    #[test]
    fn a_megabyte_line_is_a_short_error() {
        let text = format!("[Expect]\nInterface={}\n", "a".repeat(1 << 20));
        let got = parse(&text).unwrap_err().to_string();
        assert_eq!(
            got,
            format!("t.conf:2: line is longer than {LINE_LIMIT} bytes")
        );
        let got = parse(&format!("[Settle]\nAuto={}", "x".repeat(1000))).unwrap_err();
        assert!(got.message.len() < 120, "long values are cut short: {got}");
    }

    #[test]
    fn load_reads_main_file_then_dropins_in_name_order() {
        let dir = tree(&[
            (
                "etc/netsettle.conf",
                b"[Settle]\nTimeout=10\n[Expect]\nInterface=eth0",
            ),
            (
                "etc/netsettle.conf.d/20-b.conf",
                b"[Settle]\nTimeout=30\n[Expect]\nInterface=",
            ),
            (
                "etc/netsettle.conf.d/10-a.conf",
                b"[Settle]\nTimeout=20\nFailFast=yes",
            ),
            ("etc/netsettle.conf.d/30-c.conf", b"[Expect]\nInterface=ib0"),
            ("etc/netsettle.conf.d/40-d.conf.disabled", b"garbage"),
            ("etc/netsettle.conf.d/.hidden.conf", b"garbage"),
        ]);
        let s = load(&Root::new(dir.path()), None).unwrap();
        assert_eq!((s.timeout, s.fail_fast), (Duration::from_secs(30), true));
        assert_eq!(s.expect.interfaces, ["ib0"]);
        let empty = tree(&[]);
        assert_eq!(
            load(&Root::new(empty.path()), None).unwrap(),
            Settings::default()
        );
    }

    #[test]
    fn explicit_path_is_read_alone_and_must_exist() {
        let dir = tree(&[
            ("etc/netsettle.conf", b"[Settle]\nFailFast=yes"),
            ("mine.conf", b"[Settle]\nTimeout=5"),
        ]);
        let root = Root::new(dir.path());
        let s = load(&root, Some(&dir.path().join("mine.conf"))).unwrap();
        assert_eq!((s.timeout, s.fail_fast), (Duration::from_secs(5), false));
        let missing = dir.path().join("missing.conf");
        let got = load(&root, Some(&missing)).unwrap_err().to_string();
        let want = format!("{}: cannot read: ", missing.display());
        assert!(got.starts_with(&want), "{got}");
        let got = load(&root, Some(Path::new("etc/netsettle.conf"))).unwrap_err();
        assert_eq!(
            got.file, "etc/netsettle.conf",
            "an explicit path is not under the root"
        );
    }

    #[test]
    fn unreadable_files_are_errors_naming_the_file() {
        let big = vec![b'#'; FILE_LIMIT as usize + 1];
        #[rustfmt::skip]
        let cases: [(&str, &str, &[u8], usize, &str); 5] = [
            ("directory", "etc/netsettle.conf/x", b"", 0, "cannot read: "),
            ("drop-in directory", "etc/netsettle.conf.d/a.conf/x", b"", 0, "cannot read: "),
            ("invalid utf-8", "etc/netsettle.conf", b"[Settle]\n# ok\n# \xff\n", 3, "invalid UTF-8"),
            ("NUL byte", "etc/netsettle.conf", b"[Settle]\nAuto=\0\n", 2, "line contains a NUL byte"),
            ("too large", "etc/netsettle.conf", &big, 0, "larger than 1048576 bytes"),
        ];
        for (case, rel, bytes, line, want) in cases {
            let dir = tree(&[(rel, bytes)]);
            let file = dir
                .path()
                .join(rel.trim_end_matches("/x"))
                .display()
                .to_string();
            let got = load(&Root::new(dir.path()), None).unwrap_err();
            assert_eq!((got.file, got.line), (file, line), "case {case}");
            assert!(
                got.message.starts_with(want),
                "case {case}: {}",
                got.message
            );
        }
    }
}
