//! The kernel command line (`proc/cmdline`, Documentation/admin-guide/kernel-parameters.rst):
//! netsettle's own overrides for initramfs and rescue boots, and the module
//! blacklists that make a device `ignored`.

use crate::config::{dedupe, parse_bool, parse_duration, PciAddr, Settings};

/// Keys whose comma lists name modules that must not load: the kernel's own
/// (`module_blacklist`), kmod's (`modprobe.blacklist`) and dracut's.
const BLACKLIST_KEYS: [&str; 3] = [
    "modprobe.blacklist",
    "module_blacklist",
    "rd.driver.blacklist",
];

/// The kernel command line, split into words.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelCmdline {
    /// Every word in order: the key and, after the first `=`, its value, quotes removed.
    pub args: Vec<(String, Option<String>)>,
}

/// Splits a command line into words as the kernel's `next_arg()` does:
/// whitespace outside double quotes ends a word; a quote opening the word or
/// the value, and the matching one ending it, are dropped; inner quotes stay.
/// Words after `--` (the init's arguments) are kept.
pub fn parse(text: &str) -> KernelCmdline {
    let mut args = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(is_space);
        if rest.is_empty() {
            break;
        }
        let mut in_quote = false;
        let end = rest.char_indices().find(|&(_, c)| {
            in_quote ^= c == '"';
            is_space(c) && !in_quote
        });
        let (word, tail) = rest.split_at(end.map_or(rest.len(), |(i, _)| i));
        rest = tail;
        let (word, mut strip_tail) = match word.strip_prefix('"') {
            Some(word) => (word, true),
            None => (word, false),
        };
        // As in the kernel, a leading '=' does not start the value.
        let eq = word.char_indices().skip(1).find(|&(_, c)| c == '=');
        let (mut key, mut value) = match eq {
            Some((i, _)) => (&word[..i], Some(&word[i + 1..])),
            None => (word, None),
        };
        if let Some(v) = value.and_then(|v| v.strip_prefix('"')) {
            (value, strip_tail) = (Some(v), true);
        }
        if strip_tail {
            match value {
                Some(v) => value = Some(v.strip_suffix('"').unwrap_or(v)),
                None => key = key.strip_suffix('"').unwrap_or(key),
            }
        }
        if !key.is_empty() || value.is_some() {
            args.push((key.to_string(), value.map(str::to_string)));
        }
    }
    KernelCmdline { args }
}

/// The kernel's `isspace()` for ASCII.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r')
}

/// The non-empty items of a comma list.
fn items(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

impl KernelCmdline {
    /// Every value given for `key`, in command-line order (words without `=` have none).
    pub fn values<'a>(&'a self, key: &str) -> impl Iterator<Item = &'a str> {
        let key = key.to_string();
        self.args
            .iter()
            .filter(move |(k, _)| *k == key)
            .filter_map(|(_, v)| v.as_deref())
    }

    /// Blacklisted modules, each with the key that named it; module names use
    /// `_` as the kernel's module table does.
    pub fn blacklist(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let listed = self
            .args
            .iter()
            .filter(|(k, _)| BLACKLIST_KEYS.contains(&k.as_str()));
        for (key, value) in listed {
            let modules = items(value.as_deref().unwrap_or(""));
            out.extend(modules.map(|m| (m.replace('-', "_"), key.clone())));
        }
        dedupe(&mut out);
        out
    }

    /// Applies `netsettle.*` and `rd.netsettle.*` on top of the configuration;
    /// later words win. On error `settings` is untouched.
    pub fn apply(&self, settings: &mut Settings) -> Result<(), String> {
        let mut next = settings.clone();
        for (key, value) in &self.args {
            let Some(value) = value.as_deref() else {
                continue;
            };
            let error = |e: String| format!("{key}: {e}");
            match key.strip_prefix("rd.").unwrap_or(key) {
                "netsettle" => next.off = !parse_bool(value).map_err(error)?,
                "netsettle.timeout" => next.timeout = parse_duration(value).map_err(error)?,
                "netsettle.expect" => next
                    .expect
                    .interfaces
                    .extend(items(value).map(str::to_string)),
                "netsettle.auto" => next.auto = parse_bool(value).map_err(error)?,
                // Readiness beyond the netdev (src/extras.rs).
                "netsettle.expect_link" => {
                    for item in items(value) {
                        let name = crate::extras::parse_iface(item).map_err(error)?;
                        next.wants.links.push(name);
                    }
                }
                "netsettle.expect_rdma_ports" => {
                    next.wants.rdma_ports = crate::extras::parse_rdma_ports(value).map_err(error)?
                }
                "netsettle.expect_vfs" => next.wants.vfs = parse_bool(value).map_err(error)?,
                "netsettle.expect_from" => {
                    if value.is_empty() {
                        next.wants.from.clear();
                    }
                    for item in items(value) {
                        next.wants.from.push(item.parse().map_err(error)?);
                    }
                }
                "netsettle.ignore" => {
                    for item in items(value) {
                        match item.parse::<PciAddr>() {
                            Ok(pci) => next.ignore.pci.push(pci),
                            // A driver name and an interface glob cannot be told apart: use both.
                            Err(_) => {
                                next.ignore.drivers.push(item.to_string());
                                next.ignore.interfaces.push(item.to_string());
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        next.dedupe_lists();
        *settings = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn owned<'a>(pairs: impl IntoIterator<Item = &'a (&'a str, &'a str)>) -> Vec<(String, String)> {
        pairs
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn parse_splits_words_like_the_kernel() {
        type Words = &'static [(&'static str, Option<&'static str>)];
        #[rustfmt::skip]
        let cases: [(&str, Words); 15] = [
            ("", &[]),
            (" \n", &[]),
            ("ro quiet\n", &[("ro", None), ("quiet", None)]),
            ("\tro\x0bquiet\r\n", &[("ro", None), ("quiet", None)]),
            ("console=ttyS0,115200 a=b=c", &[("console", Some("ttyS0,115200")), ("a", Some("b=c"))]),
            ("k=", &[("k", Some(""))]),
            ("dyndbg=\"file x.c +p\" ro", &[("dyndbg", Some("file x.c +p")), ("ro", None)]),
            ("\"k=a b\" ro", &[("k", Some("a b")), ("ro", None)]),
            ("\"two words\"", &[("two words", None)]),
            ("k=a\"b c\"d", &[("k", Some("a\"b c\"d"))]),
            ("k=\"open to the end", &[("k", Some("open to the end"))]),
            ("k=\"", &[("k", Some(""))]),
            ("=x \"\"", &[("=x", None)]),
            ("ro -- single netsettle=off", &[("ro", None), ("--", None), ("single", None), ("netsettle", Some("off"))]),
            ("näme=wért", &[("näme", Some("wért"))]),
        ];
        for (case, want) in cases {
            let want: Vec<_> = want
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect();
            assert_eq!(parse(case).args, want, "case {case:?}");
        }
    }

    #[test]
    fn values_lists_every_value_of_a_key_in_order() {
        let cmdline = parse("a=1 b=2 a a=3");
        assert_eq!(cmdline.values("a").collect::<Vec<_>>(), ["1", "3"]);
        assert_eq!(cmdline.values("c").count(), 0);
    }

    #[test]
    fn blacklist_collects_every_key_with_module_names_normalized() {
        let cmdline = parse(
            "modprobe.blacklist=i40e,mlx4-en module_blacklist=nouveau rd.driver.blacklist=ice,,i40e \
             modprobe.blacklist=e1000e modprobe.blacklist=i40e other.blacklist=x modprobe.blacklist",
        );
        #[rustfmt::skip]
        let want = [
            ("i40e", "modprobe.blacklist"), ("mlx4_en", "modprobe.blacklist"),
            ("nouveau", "module_blacklist"),
            ("ice", "rd.driver.blacklist"), ("i40e", "rd.driver.blacklist"),
            ("e1000e", "modprobe.blacklist"),
        ];
        assert_eq!(cmdline.blacklist(), owned(&want));
    }

    #[test]
    fn apply_overrides_settings_and_later_words_win() {
        let mut base = Settings::default();
        base.expect.interfaces = vec!["eth0".into()];
        type Change = fn(&mut Settings);
        #[rustfmt::skip]
        let cases: [(&str, Change); 10] = [
            ("", |_| {}),
            ("netsettle netsettle.timeout netsettle.timeoutx=5 xnetsettle=off", |_| {}),
            ("rd.netsettle.timeout=2min netsettle.timeout=45", |s| s.timeout = Duration::from_secs(45)),
            ("netsettle.timeout=0", |s| s.timeout = Duration::ZERO),
            ("netsettle=off", |s| s.off = true),
            ("rd.netsettle=0", |s| s.off = true),
            ("netsettle=no rd.netsettle=on", |_| {}),
            ("netsettle.expect=ib0,,eth0 rd.netsettle.expect=ib1", |s| {
                s.expect.interfaces = vec!["eth0".into(), "ib0".into(), "ib1".into()];
            }),
            ("netsettle.ignore=04:00.0,vfio-pci rd.netsettle.ignore=docker*,vfio-pci", |s| {
                s.ignore.pci = vec!["0000:04:00.0".parse().unwrap()];
                s.ignore.drivers = vec!["vfio-pci".into(), "docker*".into()];
                s.ignore.interfaces = vec!["vfio-pci".into(), "docker*".into()];
            }),
            ("netsettle.expect_link=eth0,ib0 rd.netsettle.expect_vfs=yes", |s| {
                s.wants.links = vec!["eth0".into(), "ib0".into()];
                s.wants.vfs = true;
            }),
        ];
        for (case, change) in cases {
            let mut want = base.clone();
            change(&mut want);
            let mut got = base.clone();
            parse(case).apply(&mut got).unwrap();
            assert_eq!(got, want, "case {case}");
        }
    }

    #[test]
    fn apply_errors_name_key_and_value_and_change_nothing() {
        #[rustfmt::skip]
        let cases = [
            ("netsettle.timeout=abc", "netsettle.timeout: invalid duration \"abc\""),
            ("netsettle.expect=ib0 rd.netsettle.timeout=-5", "rd.netsettle.timeout: invalid duration \"-5\""),
            ("rd.netsettle=maybe", "rd.netsettle: invalid boolean \"maybe\""),
            ("netsettle.timeout=", "netsettle.timeout: invalid duration \"\""),
        ];
        for (case, want) in cases {
            let mut got = Settings::default();
            let err = parse(case).apply(&mut got).unwrap_err();
            assert!(err.starts_with(want), "case {case}: {err}");
            assert_eq!(got, Settings::default(), "case {case}");
        }
    }
}
