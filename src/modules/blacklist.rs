//! Modules kept from loading: `blacklist` lines of modprobe.d(5) files
//! and the kernel command line's blacklist keys.

use super::normalize;
use crate::root::Root;
use std::collections::BTreeMap;

/// Bound on one modprobe.d file.
const CONF_LIMIT: u64 = 1024 * 1024;

/// Bound on how many modprobe.d files are read.
const CONF_FILES_MAX: usize = 1000;

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
pub(super) fn blacklisted_in(text: &str) -> Vec<String> {
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
    use crate::modules::write;
    use std::fs;

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

    #[test]
    fn a_modprobe_d_file_is_read_well_past_its_first_kilobytes() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let comments = "# a long explanation of the options below\n".repeat(15_000);
        write(
            base,
            "etc/modprobe.d/big.conf",
            comments + "blacklist e1000\n",
        );
        let bl = Blacklist::load(&Root::new(base), &[]);
        assert_eq!(bl.source("e1000"), Some("etc/modprobe.d/big.conf"));
    }
}
