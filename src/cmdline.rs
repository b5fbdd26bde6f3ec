//! The kernel command line (`proc/cmdline`, Documentation/admin-guide/kernel-parameters.rst)
//! split into words as the kernel splits it, and the module blacklists that
//! make a device `ignored`. netsettle's own overrides (`netsettle.*`) are
//! read into the settings by `config::kernel`.

use crate::value::dedupe;

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
pub fn items(value: &str) -> impl Iterator<Item = &str> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
