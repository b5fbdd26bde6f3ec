//! ifupdown's `/etc/network/interfaces` (interfaces(5)): every interface
//! on an `auto` (or `allow-auto`) line is brought up by `ifup -a` at boot,
//! following `source` and `source-directory` lines. `allow-hotplug`
//! interfaces are brought up when they appear, so nothing waits for them.

use super::{literal_name, read, Derived, Source, Want};
use crate::modules::fnmatch;
use crate::root::Root;

/// The main file.
pub const MAIN: &str = "etc/network/interfaces";

/// Deeper `source` nesting than this is a loop.
const MAX_DEPTH: usize = 8;

/// A line of one file: interfaces it starts, or files it pulls in.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// `auto` / `allow-auto` names, with the line number.
    Auto(Vec<String>, usize),
    /// `source PATTERN`.
    Source(String),
    /// `source-directory DIR`.
    SourceDir(String),
    /// An `iface` that ifup creates (bond, bridge, VLAN, Open vSwitch).
    Virtual(String),
}

/// Options of an `iface` stanza that make ifup create the interface
/// (ifenslave's `bond-slaves`/`bond-mode`, bridge-utils' `bridge_ports`,
/// vlan's `vlan-raw-device`, openvswitch's `ovs_type`); a port's own
/// stanza carries `bond-master` instead and stays a card.
const CREATING: [&str; 6] = [
    "bond-slaves",
    "bond-mode",
    "bridge-ports",
    "vlan-raw-device",
    "ovs-type",
    "team-config",
];

/// Parses the lines that matter of one file.
pub fn parse(text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut iface: Option<String> = None;
    for (no, raw) in (1..).zip(text.lines()) {
        let mut words = raw.split_whitespace();
        let Some(first) = words.next() else {
            continue;
        };
        if first != "iface" && CREATING.contains(&first.replace('_', "-").as_str()) {
            out.extend(iface.take().map(Line::Virtual));
        }
        match first {
            // VLANs named IFACE.VID are made by ifup from their name alone.
            "iface" => {
                iface = words.next().map(str::to_string);
                if let Some(name) = iface.as_ref().filter(|n| n.contains('.')) {
                    out.push(Line::Virtual(name.clone()));
                }
            }
            "auto" | "allow-auto" => out.push(Line::Auto(words.map(str::to_string).collect(), no)),
            "source" => out.extend(words.next().map(|p| Line::Source(p.to_string()))),
            "source-directory" => out.extend(words.next().map(|d| Line::SourceDir(d.to_string()))),
            _ => {}
        }
    }
    out
}

/// A path from the file as a root-relative one: absolute paths are under the
/// root, relative ones under etc/network (ifupdown's working directory rule).
fn under_root(path: &str) -> String {
    match path.strip_prefix('/') {
        Some(p) => p.to_string(),
        None => format!("etc/network/{path}"),
    }
}

/// Files a `source` pattern names: the glob is taken on the last component.
fn glob(root: &Root, pattern: &str) -> Vec<String> {
    let rel = under_root(pattern);
    let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel.as_str()));
    if !name.contains(['*', '?', '[']) {
        return vec![rel.clone()];
    }
    root.list(dir)
        .into_iter()
        .filter_map(|n| n.to_str().map(str::to_string))
        .filter(|n| !n.starts_with('.') && fnmatch(name, n))
        .map(|n| format!("{dir}/{n}"))
        .collect()
}

fn walk(root: &Root, path: &str, depth: usize, out: &mut Vec<Derived>, virtuals: &mut Vec<String>) {
    if depth > MAX_DEPTH {
        log::warn!("{path}: source nesting deeper than {MAX_DEPTH}; not followed");
        return;
    }
    let Some(text) = read(root, path) else {
        return;
    };
    for line in parse(&text) {
        match line {
            Line::Auto(names, no) => out.extend(names.into_iter().filter(|n| literal_name(n)).map(
                |n| Derived {
                    want: Want::Interface(n),
                    source: Source::Ifupdown,
                    location: format!("{path}:{no}"),
                },
            )),
            Line::Source(pattern) => {
                for file in glob(root, &pattern) {
                    walk(root, &file, depth + 1, out, virtuals);
                }
            }
            // interfaces(5): files whose names are letters, digits, `_` and `-`.
            Line::Virtual(name) => virtuals.push(name),
            Line::SourceDir(dir) => {
                let dir = under_root(&dir);
                for name in root.list(&dir) {
                    let Some(name) = name.to_str() else { continue };
                    let ok = name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                    if ok {
                        walk(root, &format!("{dir}/{name}"), depth + 1, out, virtuals);
                    }
                }
            }
        }
    }
}

/// Every `auto` interface, main file first, in the order `ifup -a` reads them.
pub fn derive(root: &Root) -> Vec<Derived> {
    let mut out = Vec::new();
    let mut virtuals = Vec::new();
    if root.exists(MAIN) {
        walk(root, MAIN, 0, &mut out, &mut virtuals);
    }
    // Interfaces ifup creates exist only once it runs, after the cards are
    // settled: waiting for them first would never end.
    out.retain(|d| !matches!(&d.want, Want::Interface(n) if virtuals.contains(n)));
    let mut seen = std::collections::HashSet::new();
    out.retain(|d| seen.insert(d.want.clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_and_source_lines_are_recognised() {
        let text = "# comment\nauto lo eno1\nallow-hotplug eno2\niface eno1 inet manual\n\
            \tbond-master bond0\nallow-auto bond0\niface bond0 inet dhcp\n\tbond_slaves eno1\n\
            \tbond-mode 802.3ad\niface eno1.5 inet dhcp\n\
            source /srv/network/interfaces.d/*\nsource-directory extra\n";
        assert_eq!(
            parse(text),
            vec![
                Line::Auto(vec!["lo".into(), "eno1".into()], 2),
                Line::Auto(vec!["bond0".into()], 6),
                Line::Virtual("bond0".into()),
                Line::Virtual("eno1.5".into()),
                Line::Source("/srv/network/interfaces.d/*".into()),
                Line::SourceDir("extra".into()),
            ]
        );
    }

    #[test]
    fn paths_are_taken_under_the_root() {
        assert_eq!(under_root("/srv/network/a"), "srv/network/a");
        assert_eq!(under_root("interfaces.d/b"), "etc/network/interfaces.d/b");
    }
}
