//! Kernel modules: which are loaded or loading, which are being loaded right
//! now by the kernel's `request_module()`, which match a device, and which are
//! blacklisted.
//!
//! Reads `sys/module/NAME/initstate` (Documentation/ABI/testing/sysfs-module),
//! `proc/PID/stat` and `proc/PID/cmdline` (proc(5)),
//! `lib/modules/REL/modules.{alias,builtin.modinfo,dep,builtin}` (depmod(8),
//! matched with fnmatch(3) as libkmod does) and `modprobe.d(5)` files.

use crate::root::Root;
use std::collections::{BTreeMap, HashMap};

/// Bound on module index files (a distribution `modules.alias` is ~1.5 MB).
const INDEX_LIMIT: u64 = 32 * 1024 * 1024;

/// Bound on one modprobe.d file.
const CONF_LIMIT: u64 = 1024 * 1024;

/// Bound on how many modprobe.d files are read.
const CONF_FILES_MAX: usize = 1000;

/// Where a kernel's modules live, in lookup order: Debian's merged-/usr and
/// Fedora's kernel-install put them under `usr/lib/modules` only.
const MODULE_DIRS: [&str; 2] = ["lib/modules", "usr/lib/modules"];

/// kmod's configuration directories, highest precedence first (libkmod.c
/// `default_config_paths`): a file name in one hides the same name in the
/// directories after it.
const MODPROBE_DIRS: [&str; 5] = [
    "etc/modprobe.d",
    "run/modprobe.d",
    "usr/local/lib/modprobe.d",
    "usr/lib/modprobe.d",
    "lib/modprobe.d",
];

/// A module name as the kernel and kmod compare it: `-` and `_` are the same
/// (driver `virtio-pci`, module `virtio_pci`).
pub fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

/// fnmatch(3) without flags: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`, `\` escapes.
/// Iterative with one backtrack point, so time is O(pattern × text) even for
/// `*a*a*a*…b`; an unclosed `[` is an ordinary character.
pub fn fnmatch(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    // After a '*': where the pattern resumes and how much text the star took.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if let Some(next) = match_one(p, pi, t[ti]) {
            pi = next;
            ti += 1;
            continue;
        }
        if p.get(pi) == Some(&b'*') {
            pi += 1;
            star = Some((pi, ti));
            continue;
        }
        // Mismatch: let the last star swallow one more character, or fail.
        let Some((resume, taken)) = star else {
            return false;
        };
        pi = resume;
        ti = taken + 1;
        star = Some((resume, taken + 1));
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// Matches one text byte against the pattern element at `pi`; returns the
/// index after that element, or `None` on mismatch, end of pattern or `*`.
fn match_one(p: &[u8], pi: usize, c: u8) -> Option<usize> {
    match *p.get(pi)? {
        b'*' => None,
        b'?' => Some(pi + 1),
        b'[' => match bracket(p, pi, c) {
            Some((true, next)) => Some(next),
            Some((false, _)) => None,
            None => (c == b'[').then_some(pi + 1),
        },
        b'\\' if pi + 1 < p.len() => (p[pi + 1] == c).then_some(pi + 2),
        lit => (lit == c).then_some(pi + 1),
    }
}

/// A bracket expression at `start`: whether `c` is in it and where it ends;
/// `None` when there is no closing `]`.
fn bracket(p: &[u8], start: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let mut lo = *p.get(i)?;
        // A ']' right after '[' or '[!' is a member, not the end.
        if lo == b']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        if lo == b'\\' {
            i += 1;
            lo = *p.get(i)?;
        }
        i += 1;
        let is_range = p.get(i) == Some(&b'-') && p.get(i + 1).is_some_and(|&b| b != b']');
        if is_range {
            let mut hi = p[i + 1];
            i += 2;
            if hi == b'\\' {
                hi = *p.get(i)?;
                i += 1;
            }
            hit |= lo <= c && c <= hi;
        } else {
            hit |= lo == c;
        }
    }
}

/// The alias patterns of one kernel: `modules.alias`, and for built-in
/// drivers `modules.builtin.modinfo` (or a text `modules.builtin.alias`).
#[derive(Debug, Clone, Default)]
pub struct AliasDb {
    aliases: Vec<Alias>,
    /// Alias indexes by the literal text before the pattern's first wildcard.
    by_prefix: HashMap<String, Vec<usize>>,
    /// The distinct lengths of those prefixes, so a lookup tries each once.
    prefix_lens: Vec<usize>,
}

#[derive(Debug, Clone)]
struct Alias {
    pattern: String,
    module: String,
    builtin: bool,
}

/// A module that claims a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasMatch {
    /// The module, normalized.
    pub module: String,
    /// Built into the kernel (from `modules.builtin.modinfo`): nothing to load.
    pub builtin: bool,
}

impl AliasDb {
    /// Parses `alias PATTERN MODULE` lines; comments and other lines are skipped.
    pub fn parse(modules_alias: &str, builtin_alias: Option<&str>) -> AliasDb {
        let mut db = AliasDb::default();
        for (text, builtin) in [(modules_alias, false), (builtin_alias.unwrap_or(""), true)] {
            for line in text.lines() {
                let mut words = line.split_whitespace();
                if let (Some("alias"), Some(pattern), Some(module)) =
                    (words.next(), words.next(), words.next())
                {
                    db.push(pattern, module, builtin);
                }
            }
        }
        db.prefix_lens.sort_unstable();
        db.prefix_lens.dedup();
        db
    }

    fn push(&mut self, pattern: &str, module: &str, builtin: bool) {
        let literal = pattern.find(['*', '?', '[', '\\']).unwrap_or(pattern.len());
        self.by_prefix
            .entry(pattern[..literal].to_string())
            .or_default()
            .push(self.aliases.len());
        self.prefix_lens.push(literal);
        self.aliases.push(Alias {
            pattern: pattern.to_string(),
            module: normalize(module),
            builtin,
        });
    }

    /// Reads the running kernel's alias files (`lib/modules/REL`, or
    /// `usr/lib/modules/REL`); `None` when `modules.alias` cannot be read.
    pub fn load(root: &Root, release: &str) -> Option<AliasDb> {
        let aliases = read_index(root, release, "modules.alias")?;
        let builtin = read_index(root, release, "modules.builtin.alias");
        let mut db = AliasDb::parse(&aliases, builtin.as_deref());
        if let Some(modinfo) = read_index(root, release, "modules.builtin.modinfo") {
            db.add_builtin_modinfo(&modinfo);
        }
        Some(db)
    }

    /// Adds the `alias` records of `modules.builtin.modinfo`: the `.modinfo`
    /// sections of the built-in modules as the kernel build extracts them
    /// from vmlinux (scripts/Makefile.vmlinux), NUL-separated
    /// `module.key=value` records such as `e1000e.alias=pci:v00008086d…`.
    /// depmod only turns them into the binary `modules.builtin.alias.bin`.
    pub fn add_builtin_modinfo(&mut self, modinfo: &str) {
        for record in modinfo.split('\0') {
            let Some((module, keyval)) = record.split_once('.') else {
                continue;
            };
            if let Some(pattern) = keyval.strip_prefix("alias=") {
                if !module.is_empty() && !pattern.is_empty() {
                    self.push(pattern, module, true);
                }
            }
        }
        self.prefix_lens.sort_unstable();
        self.prefix_lens.dedup();
    }

    /// Every module whose pattern matches the modalias, deduplicated, in file
    /// order (`modules.alias` first). Case matters, as in libkmod: sysfs
    /// modaliases and depmod's patterns both use upper-case hex.
    pub fn matches(&self, modalias: &str) -> Vec<AliasMatch> {
        let modalias = modalias.trim();
        let mut out: Vec<AliasMatch> = Vec::new();
        for alias in self.candidates(modalias).map(|i| &self.aliases[i]) {
            if !out.iter().any(|m| m.module == alias.module) && fnmatch(&alias.pattern, modalias) {
                out.push(AliasMatch {
                    module: alias.module.clone(),
                    builtin: alias.builtin,
                });
            }
        }
        out
    }

    /// The aliases whose literal prefix (up to the first wildcard) the
    /// modalias starts with, in file order: the only ones that can match.
    fn candidates(&self, modalias: &str) -> impl Iterator<Item = usize> {
        let mut c: Vec<usize> = self
            .prefix_lens
            .iter()
            .filter_map(|&len| modalias.get(..len))
            .filter_map(|prefix| self.by_prefix.get(prefix))
            .flatten()
            .copied()
            .collect();
        c.sort_unstable();
        c.into_iter()
    }
}

/// Rejects releases that would leave `lib/modules` (`..`, `a/b`).
fn valid_release(release: &str) -> bool {
    !release.is_empty() && release != "." && release != ".." && !release.contains(['/', '\0'])
}

/// Reads one of a kernel's module index files, bounded; a file cut at the
/// bound loses its last, partial line rather than gain a wrong one.
fn read_index(root: &Root, release: &str, file: &str) -> Option<String> {
    if !valid_release(release) {
        return None;
    }
    let mut bytes = MODULE_DIRS
        .iter()
        .find_map(|dir| root.read_bytes_limited(format!("{dir}/{release}/{file}"), INDEX_LIMIT))?;
    if bytes.len() as u64 == INDEX_LIMIT {
        log::warn!(
            "{file} of {release} is larger than {INDEX_LIMIT} bytes; reading only the start"
        );
        whole_lines(&mut bytes);
    }
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// Drops the last line if it has no newline: a file cut at a bound.
fn whole_lines(bytes: &mut Vec<u8>) {
    let end = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    bytes.truncate(end);
}

/// The module a `modules.dep` / `modules.builtin` path names:
/// `kernel/drivers/infiniband/ulp/ipoib/ib_ipoib.ko.zst` → `ib_ipoib`.
fn module_of_path(path: &str) -> Option<String> {
    let file = path.trim().rsplit('/').next()?;
    let (name, compression) = file.split_once(".ko")?;
    matches!(compression, "" | ".xz" | ".gz" | ".zst").then(|| normalize(name))
}

/// Whether the kernel has `ib_ipoib`: `Some(false)` only when both
/// `modules.dep` and `modules.builtin` are readable and neither lists it,
/// `Some(true)` when either does, `None` when that cannot be known.
pub fn ipoib_available(root: &Root, release: &str) -> Option<bool> {
    let is_ipoib = |path: &str| module_of_path(path).as_deref() == Some("ib_ipoib");
    let in_dep = read_index(root, release, "modules.dep").map(|t| {
        t.lines()
            .any(|l| l.split_once(':').is_some_and(|(path, _)| is_ipoib(path)))
    });
    let in_builtin = read_index(root, release, "modules.builtin").map(|t| t.lines().any(is_ipoib));
    match (in_dep, in_builtin) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

/// The first release whose `modules.builtin.modinfo` carries the
/// device-table aliases (`MODULE_DEVICE_TABLE`) of built-in drivers, not
/// only their explicit `MODULE_ALIAS()` lines.
const BUILTIN_DEVICE_ALIASES_SINCE: (u32, u32) = (6, 18);

/// `major.minor` of a kernel release string (`6.1.0-56-amd64` → (6, 1)).
pub fn release_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Whether a driver built into this kernel could bind a network device
/// without any alias file saying so, which forbids calling a device with no
/// matching alias certainly driverless. Built-in aliases are visible only
/// where `modules.builtin.modinfo` exists and the kernel is new enough to
/// put device tables in it; before that, a kernel whose `modules.builtin`
/// lists no network or RDMA driver has none to hide. Unreadable files
/// leave the question open.
pub fn builtin_drivers_hidden(root: &Root, release: &str) -> bool {
    let modinfo_complete = release_version(release)
        .is_some_and(|v| v >= BUILTIN_DEVICE_ALIASES_SINCE)
        && read_index(root, release, "modules.builtin.modinfo").is_some();
    if modinfo_complete {
        return false;
    }
    let Some(builtin) = read_index(root, release, "modules.builtin") else {
        return true;
    };
    builtin.lines().any(|path| {
        ["drivers/net/", "drivers/infiniband/", "drivers/staging/"]
            .iter()
            .any(|dir| path.contains(dir))
    })
}

/// A module's state in the kernel's module table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModState {
    /// Loaded and initialized.
    Live,
    /// Loading: its init function is running.
    Coming,
    /// Being unloaded.
    Going,
    /// Built into the kernel.
    Builtin,
}

/// A module's state from `sys/module/NAME`, under its name as given or
/// normalized; `None` when it is not loaded. Built-in modules only have a
/// `sys/module` directory when they have parameters or a version, so `None`
/// does not prove a module is absent from the kernel.
pub fn module_state(root: &Root, name: &str) -> Option<ModState> {
    state_in_sysfs(root, name).or_else(|| {
        let normalized = normalize(name);
        (normalized != name).then(|| state_in_sysfs(root, &normalized))?
    })
}

fn state_in_sysfs(root: &Root, name: &str) -> Option<ModState> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return None;
    }
    let dir = format!("sys/module/{name}");
    if !root.path(&dir).is_dir() {
        return None;
    }
    match root.read_attr(format!("{dir}/initstate")).as_deref() {
        Some("live") => Some(ModState::Live),
        Some("coming") => Some(ModState::Coming),
        Some("going") => Some(ModState::Going),
        Some(other) => {
            log::debug!("{dir}/initstate: unknown state {other:?}");
            None
        }
        // Loading creates holders/ before initstate (mod_sysfs_setup), and
        // built-in modules never have holders/: in that window it is loading.
        None if root.path(format!("{dir}/holders")).is_dir() => Some(ModState::Coming),
        None => Some(ModState::Builtin),
    }
}

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
    for entry in root.list("proc") {
        let Some(pid) = entry.to_str().and_then(pid_of) else {
            continue;
        };
        // A process may exit between listing and reading: skip it.
        let Some(stat) = read_stat(root, pid) else {
            continue;
        };
        if stat.comm != "modprobe" || stat.state == 'Z' {
            continue;
        }
        let Some(cmdline) = root.read_bytes(format!("proc/{pid}/cmdline")) else {
            continue;
        };
        let parent_is_kthread =
            || read_stat(root, stat.ppid).is_some_and(|p| p.flags & PF_KTHREAD != 0);
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

fn read_stat(root: &Root, pid: u32) -> Option<Stat> {
    let bytes = root.read_bytes(format!("proc/{pid}/stat"))?;
    parse_stat_fields(&String::from_utf8_lossy(&bytes))
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

/// Modules kept from loading, and by what.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blacklist {
    /// (module, normalized; where it is blacklisted), command line first.
    pub entries: Vec<(String, String)>,
}

impl Blacklist {
    /// Collects blacklists from the kernel command line (`(module, key)`
    /// pairs such as `("i40e", "modprobe.blacklist")`) and from `blacklist
    /// NAME` lines in modprobe.d files. Like kmod, a file name in
    /// `etc/modprobe.d` hides the same name in `run/`, `usr/local/lib/`,
    /// `usr/lib/` and `lib/modprobe.d`, and files are read in name order.
    pub fn load(root: &Root, cmdline_entries: &[(String, String)]) -> Blacklist {
        let mut entries: Vec<(String, String)> = cmdline_entries
            .iter()
            .map(|(module, key)| {
                (
                    normalize(module),
                    format!("{key}= on the kernel command line"),
                )
            })
            .collect();
        let mut files: BTreeMap<String, String> = BTreeMap::new();
        for dir in MODPROBE_DIRS {
            for name in root.list(dir) {
                // kmod skips hidden files and reads only *.conf.
                let Some(name) = name
                    .to_str()
                    .filter(|n| !n.starts_with('.') && n.ends_with(".conf"))
                else {
                    continue;
                };
                files
                    .entry(name.to_string())
                    .or_insert_with(|| format!("{dir}/{name}"));
            }
        }
        for path in files.values().take(CONF_FILES_MAX) {
            // Unreadable or a directory: kmod skips it too.
            let Some(bytes) = root.read_bytes_limited(path, CONF_LIMIT) else {
                continue;
            };
            for module in blacklisted_in(&String::from_utf8_lossy(&bytes)) {
                entries.push((module, path.clone()));
            }
        }
        Blacklist { entries }
    }

    /// Where this module is blacklisted (the first source found), if it is.
    pub fn source(&self, module: &str) -> Option<&str> {
        let module = normalize(module);
        self.entries
            .iter()
            .find(|(name, _)| *name == module)
            .map(|(_, source)| source.as_str())
    }
}

/// `blacklist NAME` lines of a modprobe.d file; `\` at the end of a line
/// joins the next one, `#` starts a comment line.
fn blacklisted_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut logical = String::new();
    for line in text.lines() {
        if let Some(head) = line.strip_suffix('\\') {
            logical.push_str(head);
            continue;
        }
        logical.push_str(line);
        let mut words = logical.split_whitespace();
        if let (Some("blacklist"), Some(module)) = (words.next(), words.next()) {
            out.push(normalize(module));
        }
        logical.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::Path;

    fn write(base: &Path, rel: &str, text: impl AsRef<[u8]>) {
        let path = base.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn builtin_modinfo_alias_records_join_the_alias_db() {
        let mut db = AliasDb::parse("alias pci:v00008086d00001572sv*sd*bc*sc*i* i40e\n", None);
        db.add_builtin_modinfo(
            "r8169.license=GPL\0r8169.alias=pci:v000010ECd00008125sv*sd*bc*sc*i*\0\
             .alias=pci:v*\0nodot\0e1000e.alias=\0virtio_net.alias=virtio:d00000001v*\0",
        );
        let m = db.matches("pci:v000010ECd00008125sv000010ECsd00000123bc02sc00i00");
        assert_eq!(
            m,
            [AliasMatch {
                module: "r8169".into(),
                builtin: true
            }]
        );
        assert_eq!(
            db.matches("virtio:d00000001v00001AF4")[0].module,
            "virtio_net"
        );
        assert!(db
            .matches("pci:v00001234d00005678sv0sd0bc02sc00i00")
            .is_empty());
        assert!(!db.matches("pci:v00008086d00001572sv0sd0bc02sc00i00")[0].builtin);
    }

    #[test]
    fn release_versions_are_major_and_minor() {
        assert_eq!(release_version("6.1.0-56-amd64"), Some((6, 1)));
        assert_eq!(release_version("6.18.0"), Some((6, 18)));
        assert_eq!(release_version("5.14.0-427.el9.x86_64"), Some((5, 14)));
        assert_eq!(release_version("6"), None);
        assert_eq!(release_version("garbage"), None);
    }

    #[test]
    fn builtin_drivers_hide_only_where_the_kernel_does_not_list_them() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::new(dir.path());
        assert!(
            builtin_drivers_hidden(&root, "6.1.0-56-amd64"),
            "nothing readable"
        );
        write(
            dir.path(),
            "lib/modules/6.1.0-56-amd64/modules.builtin",
            "kernel/fs/ext4/ext4.ko\n",
        );
        assert!(
            !builtin_drivers_hidden(&root, "6.1.0-56-amd64"),
            "no network driver built in"
        );
        for path in [
            "kernel/drivers/net/ethernet/realtek/r8169.ko",
            "kernel/drivers/infiniband/hw/mlx5/mlx5_ib.ko",
            "kernel/drivers/staging/rtl8723bs/r8723bs.ko",
        ] {
            write(
                dir.path(),
                "lib/modules/6.1.0-56-amd64/modules.builtin",
                format!("{path}\n"),
            );
            assert!(builtin_drivers_hidden(&root, "6.1.0-56-amd64"), "{path}");
        }
        // 6.18 lists every built-in device alias in modules.builtin.modinfo.
        write(
            dir.path(),
            "usr/lib/modules/6.18.2/modules.builtin",
            "kernel/drivers/net/ethernet/realtek/r8169.ko\n",
        );
        assert!(builtin_drivers_hidden(&root, "6.18.2"), "no modinfo");
        write(
            dir.path(),
            "usr/lib/modules/6.18.2/modules.builtin.modinfo",
            "r8169.alias=pci:v*\0",
        );
        assert!(!builtin_drivers_hidden(&root, "6.18.2"));
        write(
            dir.path(),
            "lib/modules/6.17.9/modules.builtin.modinfo",
            "r8169.alias=pci:v*\0",
        );
        write(
            dir.path(),
            "lib/modules/6.17.9/modules.builtin",
            "kernel/drivers/net/x.ko\n",
        );
        assert!(
            builtin_drivers_hidden(&root, "6.17.9"),
            "before 6.18 modinfo is incomplete"
        );
        assert!(
            builtin_drivers_hidden(&root, "7.0.0"),
            "newer, but nothing readable"
        );
    }

    #[test]
    fn normalize_equates_dash_and_underscore() {
        assert_eq!(normalize("virtio-pci"), "virtio_pci");
        assert_eq!(normalize("mlx5_core"), "mlx5_core");
        assert_eq!(normalize(""), "");
    }

    #[test]
    fn fnmatch_follows_fnmatch3() {
        let table = [
            ("", "", true),
            ("", "a", false),
            ("*", "", true),
            ("*", "anything", true),
            ("a*", "a", true),
            ("a*b", "axxb", true),
            ("a*b", "axxbc", false),
            ("a*b*c", "abbbc", true),
            ("?", "a", true),
            ("?", "", false),
            ("a?c", "abc", true),
            ("[abc]", "b", true),
            ("[abc]", "d", false),
            ("[a-z]x", "qx", true),
            ("[a-z]", "Q", false),
            ("[!x]", "y", true),
            ("[!x]", "x", false),
            ("[!x]", "!", true),
            ("[0-\\]]", "A", true),
            ("[a-\\]]", "]", false),
            ("[!x]", "[", true),
            ("*ab", "aaab", true),
            ("*ab*b", "aaabab", true),
            ("[^x]", "x", false),
            ("[]]", "]", true),
            ("[!]]", "]", false),
            ("[a-]", "-", true),
            ("[\\]]", "]", true),
            ("\\*", "*", true),
            ("\\*", "a", false),
            ("a\\", "a\\", true),
            ("[", "[", true),
            ("[abc", "[abc", true),
            ("[abc", "a", false),
            ("x[", "x[", true),
            ("[!", "[!", true),
            ("d0[0-9]*", "d05x", true),
            ("d0[0-9]*", "d0ax", false),
            (
                "pci:v00008086d0000100Esv*sd*bc*sc*i*",
                "pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00",
                true,
            ),
            (
                "pci:v00008086d0000100esv*sd*bc*sc*i*",
                "pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00",
                false,
            ),
            (
                "pci:v*d*sv*sd*bc02sc00i*",
                "pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00",
                true,
            ),
            (
                "pci:v*d*sv*sd*bc02sc80i*",
                "pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00",
                false,
            ),
        ];
        for (pattern, text, want) in table {
            assert_eq!(fnmatch(pattern, text), want, "case {pattern:?} vs {text:?}");
        }
    }

    #[test]
    fn fnmatch_finishes_pathological_patterns() {
        // Recursive backtracking would take exponential time on these (and
        // this test would not finish); one backtrack point keeps it linear
        // in pattern × text.
        let text = "a".repeat(4000);
        assert!(!fnmatch(&format!("{}b", "*a".repeat(200)), &text));
        assert!(!fnmatch(&format!("{}x", "*".repeat(5000)), &text));
        assert!(fnmatch(&"*a".repeat(200), &text));
        assert!(!fnmatch(&"[a-".repeat(100), &text));
    }

    #[test]
    fn parsers_survive_noise() {
        let alphabet = b"*?[]!^-\\\\az09:() \x00\xffmodprobe-a--=\n";
        let mut seed: u64 = 42;
        let mut noise = || -> Vec<u8> {
            (0..(seed % 40) as usize)
                .map(|_| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    alphabet[(seed >> 33) as usize % alphabet.len()]
                })
                .collect()
        };
        for _ in 0..3000 {
            let (a, b) = (noise(), noise());
            let (a, b) = (String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
            let _ = fnmatch(&a, &b);
            let _ = modprobe_args(b.as_bytes());
            let _ = parse_stat(&a);
            let _ = blacklisted_in(&a);
            let _ = AliasDb::parse(&format!("alias {a} m\nalias {b} n\n"), None).matches(&b);
        }
    }

    const ALIASES: &str = "\
# Aliases extracted from modules themselves.
alias pci:v000015B3d00001003sv*sd*bc*sc*i* mlx4_core
alias pci:v000015B3d0000101Bsv*sd*bc*sc*i* mlx5_core
alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000
alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000-compat
alias pci:v*d*sv*sd*bc02sc00i* e1000
alias pci:v00001AF4d00001000sv*sd*bc*sc*i* virtio_pci
alias pci:v00001AF4d*sv*sd*bc*sc*i* virtio-pci
alias virtio:d00000001v* virtio_net
alias net-pf-10 ipv6
garbage line
alias incomplete
";

    #[test]
    fn alias_db_matches_sysfs_modaliases_in_file_order() {
        let db = AliasDb::parse(
            ALIASES,
            Some("alias pci:v00008086d00001572sv*sd*bc*sc*i* i40e\n"),
        );
        let m = |module: &str, builtin: bool| AliasMatch {
            module: module.into(),
            builtin,
        };
        let table = [
            (
                "pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00\n",
                vec![m("e1000", false), m("e1000_compat", false)],
            ),
            (
                "pci:v000015B3d00001003sv000015B3sd00000050bc02sc00i00",
                vec![m("mlx4_core", false), m("e1000", false)],
            ),
            (
                "pci:v000015B3d0000101Bsv000015B3sd00000007bc02sc07i00",
                vec![m("mlx5_core", false)],
            ),
            (
                "pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00",
                vec![m("e1000", false), m("virtio_pci", false)],
            ),
            ("virtio:d00000001v00001AF4", vec![m("virtio_net", false)]),
            ("net-pf-10", vec![m("ipv6", false)]),
            (
                "pci:v00008086d00001572sv00008086sd00000000bc02sc00i00",
                vec![m("e1000", false), m("i40e", true)],
            ),
            (
                "pci:v00008086d0000100esv00001AF4sd00001100bc01sc00i00",
                vec![],
            ),
            ("", vec![]),
            ("\u{fffd}\u{fffd}", vec![]),
        ];
        for (modalias, want) in table {
            assert_eq!(db.matches(modalias), want, "case {modalias:?}");
        }
    }

    #[test]
    fn alias_db_lookup_tries_only_aliases_sharing_the_literal_prefix() {
        let mut text = String::new();
        for vendor in 0..30 {
            for device in 0..1000 {
                text.push_str(&format!(
                    "alias pci:v0000{vendor:04X}d0000{device:04X}sv*sd*bc*sc*i* mod{vendor}\n"
                ));
            }
        }
        text.push_str("alias pci:v*d*sv*sd*bc02sc80i* generic\n");
        let db = AliasDb::parse(&text, None);
        for device in 0..1000 {
            let modalias = format!("pci:v00000007d0000{device:04X}sv00000000sd00000000bc02sc80i00");
            // Of 30,001 patterns, fnmatch runs on this device's own and the
            // generic one.
            assert_eq!(db.candidates(&modalias).count(), 2, "{modalias}");
            assert_eq!(db.matches(&modalias).len(), 2);
        }
    }

    #[test]
    fn index_and_modprobe_d_files_are_read_well_past_a_mebibyte() {
        // Debian's modules.alias is 1.5 MB and grows with every release; a
        // match at its end must not be lost to the read bound.
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let filler = "alias pci:v0000FFFFd*sv*sd*bc*sc*i* filler\n".repeat(50_000);
        let e1000 = "alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000\n";
        write(base, "lib/modules/r/modules.alias", filler + e1000);
        let db = AliasDb::load(&Root::new(base), "r").unwrap();
        let got = db.matches("pci:v00008086d0000100Esv00008086sd00000001bc02sc00i00");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].module, "e1000");
        let comments = "# a long explanation of the options below\n".repeat(15_000);
        write(
            base,
            "etc/modprobe.d/big.conf",
            comments + "blacklist e1000\n",
        );
        let bl = Blacklist::load(&Root::new(base), &[]);
        assert_eq!(bl.source("e1000"), Some("etc/modprobe.d/big.conf"));
    }

    #[test]
    fn alias_db_load_prefers_lib_and_falls_back_to_usr_lib() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::new(dir.path());
        assert!(AliasDb::load(&root, "6.1.0-56-amd64").is_none());
        write(
            dir.path(),
            "usr/lib/modules/6.1.0-56-amd64/modules.alias",
            ALIASES,
        );
        write(
            dir.path(),
            "usr/lib/modules/6.1.0-56-amd64/modules.builtin.alias",
            "alias pci:v0000BEEFd*sv*sd*bc*sc*i* beef\n",
        );
        let db = AliasDb::load(&root, "6.1.0-56-amd64").unwrap();
        assert_eq!(
            db.matches("virtio:d00000001v00001AF4")[0].module,
            "virtio_net"
        );
        assert!(db.matches("pci:v0000BEEFd00000001sv0sd0bc01sc00i00")[0].builtin);
        write(
            dir.path(),
            "lib/modules/6.1.0-56-amd64/modules.alias",
            "alias virtio:d00000001v* other\n",
        );
        let db = AliasDb::load(&root, "6.1.0-56-amd64").unwrap();
        assert_eq!(db.matches("virtio:d00000001v00001AF4")[0].module, "other");
        assert!(AliasDb::load(&root, "../../usr/lib/modules/6.1.0-56-amd64").is_none());
        assert!(AliasDb::load(&root, "").is_none());
    }

    #[test]
    fn ipoib_available_needs_both_indexes_to_say_no() {
        let rel = "5.14.0-427.el9.x86_64";
        let dep_with = "kernel/drivers/infiniband/ulp/ipoib/ib_ipoib.ko.xz: kernel/drivers/infiniband/core/ib_cm.ko.xz\n";
        let dep_without = "kernel/drivers/net/ethernet/intel/e1000/e1000.ko.zst:\n";
        let table: [(Option<&str>, Option<&str>, Option<bool>); 7] = [
            (None, None, None),
            (Some(dep_without), None, None),
            (None, Some("kernel/drivers/net/virtio_net.ko\n"), None),
            (
                Some(dep_without),
                Some("kernel/drivers/net/virtio_net.ko\n"),
                Some(false),
            ),
            (Some(dep_with), None, Some(true)),
            (
                None,
                Some("kernel/drivers/infiniband/ulp/ipoib/ib_ipoib.ko\n"),
                Some(true),
            ),
            (
                Some("extra/mlnx-ofa_kernel/drivers/infiniband/ulp/ipoib/ib_ipoib.ko: \n"),
                Some(""),
                Some(true),
            ),
        ];
        for (i, (dep, builtin, want)) in table.into_iter().enumerate() {
            let dir = tempfile::tempdir().unwrap();
            if let Some(dep) = dep {
                write(dir.path(), &format!("lib/modules/{rel}/modules.dep"), dep);
            }
            if let Some(builtin) = builtin {
                write(
                    dir.path(),
                    &format!("lib/modules/{rel}/modules.builtin"),
                    builtin,
                );
            }
            assert_eq!(
                ipoib_available(&Root::new(dir.path()), rel),
                want,
                "case {i}"
            );
        }
        assert_eq!(
            module_of_path("kernel/x/ib_ipoib.ko.gz"),
            Some("ib_ipoib".into())
        );
        assert_eq!(module_of_path("kernel/x/ib_ipoib.kobj"), None);
        assert_eq!(module_of_path("ib-ipoib.ko"), Some("ib_ipoib".into()));
    }

    #[test]
    fn module_state_reads_initstate_and_recognizes_builtins() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::new(dir.path());
        write(dir.path(), "sys/module/mlx4_core/initstate", "live\n");
        write(dir.path(), "sys/module/mlx4_en/initstate", "coming\n");
        write(dir.path(), "sys/module/e1000/initstate", "going\n");
        write(
            dir.path(),
            "sys/module/virtio_pci/parameters/force_legacy",
            "N\n",
        );
        write(dir.path(), "sys/module/weird/initstate", "unformed\n");
        fs::create_dir_all(dir.path().join("sys/module/mlx5_ib/holders")).unwrap();
        write(dir.path(), "sys/module/notadir", "x");
        let table = [
            ("mlx4_core", Some(ModState::Live)),
            ("mlx4_en", Some(ModState::Coming)),
            ("mlx4-en", Some(ModState::Coming)),
            ("e1000", Some(ModState::Going)),
            ("virtio-pci", Some(ModState::Builtin)),
            ("mlx5_ib", Some(ModState::Coming)),
            ("weird", None),
            ("notadir", None),
            ("ib_ipoib", None),
            ("", None),
            ("..", None),
            ("../module/mlx4_core", None),
        ];
        for (name, want) in table {
            assert_eq!(module_state(&root, name), want, "case {name}");
        }
    }

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
    fn a_cut_index_file_keeps_only_whole_lines() {
        for (text, want) in [
            (&b"alias a x\nalias pci:v0000"[..], &b"alias a x\n"[..]),
            (b"alias a x\nalias b y\n", b"alias a x\nalias b y\n"),
            (b"alias pci:v0000", b""),
            (b"", b""),
        ] {
            let mut bytes = text.to_vec();
            whole_lines(&mut bytes);
            assert_eq!(bytes, want, "{:?}", String::from_utf8_lossy(text));
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

    #[test]
    fn blacklist_reads_cmdline_and_modprobe_d_with_etc_overriding_lib() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        write(base, "lib/modprobe.d/kdump.conf", "blacklist ixgbe\n");
        write(
            base,
            "etc/modprobe.d/kdump.conf",
            "# kdump kernel: save MSI-X vectors\nblacklist i40e # many per port\n",
        );
        write(
            base,
            "usr/lib/modprobe.d/50-nouveau.conf",
            "blacklist nouveau\n",
        );
        write(
            base,
            "usr/lib/modprobe.d/fbdev-blacklist.conf",
            "blacklist \\\n  udlfb\n",
        );
        write(
            base,
            "run/modprobe.d/mlx.conf",
            "  blacklist   mlx4-en  \n#blacklist mlx5_core\noptions mlx4_core debug=1\nblacklist\n",
        );
        write(
            base,
            "usr/lib/modprobe.d/50-nouveau.conf.disabled",
            "blacklist e1000\n",
        );
        write(base, "etc/modprobe.d/.hidden.conf", "blacklist e1000e\n");
        write(base, "etc/modprobe.d/bad.conf", b"blacklist \xffodd\n");
        fs::create_dir_all(base.join("etc/modprobe.d/dir.conf")).unwrap();
        let cmdline = [("virtio-net".to_string(), "rd.driver.blacklist".to_string())];
        let bl = Blacklist::load(&Root::new(base), &cmdline);
        let table = [
            (
                "virtio_net",
                Some("rd.driver.blacklist= on the kernel command line"),
            ),
            ("i40e", Some("etc/modprobe.d/kdump.conf")),
            ("ixgbe", None),
            ("nouveau", Some("usr/lib/modprobe.d/50-nouveau.conf")),
            ("udlfb", Some("usr/lib/modprobe.d/fbdev-blacklist.conf")),
            ("mlx4_en", Some("run/modprobe.d/mlx.conf")),
            ("mlx4-en", Some("run/modprobe.d/mlx.conf")),
            ("mlx5_core", None),
            ("mlx4_core", None),
            ("e1000", None),
            ("e1000e", None),
            ("\u{fffd}odd", Some("etc/modprobe.d/bad.conf")),
        ];
        for (module, want) in table {
            assert_eq!(bl.source(module), want, "case {module}");
        }
        assert_eq!(
            bl.entries[0],
            (
                "virtio_net".to_string(),
                "rd.driver.blacklist= on the kernel command line".to_string()
            )
        );
        assert!(Blacklist::load(&Root::new(base.join("none")), &[])
            .entries
            .is_empty());
    }
}
