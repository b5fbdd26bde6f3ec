//! A kernel's module index files, `lib/modules/REL/modules.{alias,
//! builtin.modinfo,dep,builtin}` (depmod(8)): which modules match a
//! device, which are built in, whether `ib_ipoib` exists at all.

use super::{fnmatch, normalize};
use crate::root::Root;
use std::collections::HashMap;

/// Bound on module index files (a distribution `modules.alias` is ~1.5 MB).
const INDEX_LIMIT: u64 = 32 * 1024 * 1024;

/// Where a kernel's modules live, in lookup order: Debian's merged-/usr and
/// Fedora's kernel-install put them under `usr/lib/modules` only.
const MODULE_DIRS: [&str; 2] = ["lib/modules", "usr/lib/modules"];

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::write;

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
    fn an_index_file_is_read_well_past_a_mebibyte() {
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
}
