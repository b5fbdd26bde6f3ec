//! netplan YAML (netplan(5), "Device configuration IDs" and "optional"):
//! each `network: ethernets:` definition not marked `optional: true` is a
//! card systemd-networkd-wait-online (or NetworkManager) waits for.
//!
//! A reader for netplan's shape only (nested block mappings, flow mappings
//! such as `match: {macaddress: …}`, quoted scalars, comments) rather than a
//! YAML library: expectations need the line each value came from, which
//! serde-based YAML crates do not keep, and the one maintained serde-free
//! choice would be a new dependency for a dozen keys. Anything else in the
//! file (sequences, anchors) is skipped, never an error.

use std::collections::BTreeMap;

use super::{layered, literal_name, read, Derived, Source, Want};
use crate::root::Root;
use crate::value::{parse_bool, Mac};

/// Directories, highest precedence first for files of the same name
/// (netplan(5): /run/netplan, /etc/netplan, /lib/netplan).
pub const DIRS: [&str; 3] = ["run/netplan", "etc/netplan", "lib/netplan"];

/// One ethernet definition, merged over every file that mentions it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Ethernet {
    /// Where the definition's ID was (first) seen.
    pub at: String,
    /// `match: macaddress:` with its location.
    pub mac: Option<(String, String)>,
    /// `match: name:` with its location.
    pub name: Option<(String, String)>,
    /// `set-name:` with its location.
    pub set_name: Option<(String, String)>,
    /// `optional: true`.
    pub optional: bool,
    /// Has a `match:` (then the ID is only a label).
    pub matched: bool,
}

/// Removes a comment: `#` at the start or after whitespace, outside quotes.
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev_space => return &line[..i],
            _ => {}
        }
        prev_space = c.is_whitespace();
    }
    line
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    v.to_string()
}

/// `{a: 1, b: "x"}` into its pairs (no nesting: netplan's `match` has none).
fn flow_map(v: &str) -> Option<Vec<(String, String)>> {
    let inner = v.trim().strip_prefix('{')?.strip_suffix('}')?;
    Some(
        inner
            .split(',')
            .filter_map(|kv| {
                let (k, v) = kv.split_once(':')?;
                Some((unquote(k), unquote(v)))
            })
            .collect(),
    )
}

/// Splits `key: value` (the value may itself hold colons, as a MAC does).
fn key_value(text: &str) -> Option<(String, &str)> {
    let (k, v) = if let Some(k) = text.strip_suffix(':') {
        (k, "")
    } else {
        text.split_once(": ")?
    };
    Some((unquote(k), v.trim()))
}

/// Reads one file's ethernets into `defs`, later files overriding keys of
/// earlier ones as netplan merges them.
pub fn parse_into(defs: &mut BTreeMap<String, Ethernet>, path: &str, text: &str) {
    // The key path down to the current line: (indent, key).
    let mut stack: Vec<(usize, String)> = Vec::new();
    for (no, raw) in (1..).zip(text.lines()) {
        let line = strip_comment(raw).trim_end();
        let body = line.trim_start();
        if body.is_empty() || body.starts_with('-') || body == "---" {
            continue;
        }
        let indent = line.len() - body.len();
        let Some((key, value)) = key_value(body) else {
            continue;
        };
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        let at = format!("{path}:{no}");
        let keys: Vec<&str> = stack.iter().map(|(_, k)| k.as_str()).collect();
        if let ["network", "ethernets"] = keys.as_slice() {
            defs.entry(key.clone()).or_insert_with(|| Ethernet {
                at: at.clone(),
                ..Ethernet::default()
            });
        }
        if let ["network", "ethernets", id, rest @ ..] = keys.as_slice() {
            let def = defs.entry(id.to_string()).or_default();
            let mut set = |k: &str, v: String| match k {
                "macaddress" => def.mac = Some((v, at.clone())),
                "name" => def.name = Some((v, at.clone())),
                _ => {}
            };
            match (rest, key.as_str()) {
                ([], "match") => {
                    def.matched = true;
                    for (k, v) in flow_map(value).unwrap_or_default() {
                        set(&k, v);
                    }
                }
                (["match"], k) => set(k, unquote(value)),
                ([], "set-name") => def.set_name = Some((unquote(value), at.clone())),
                ([], "optional") => def.optional = parse_bool(&unquote(value)).unwrap_or(false),
                _ => {}
            }
        }
        if value.is_empty() {
            stack.push((indent, key));
        }
    }
}

impl Ethernet {
    /// What this definition expects: its MAC when it matches by one, else
    /// the name the interface ends up with (`set-name`, a literal
    /// `match: name`, or the ID itself when there is no match).
    pub fn expectations(&self, id: &str) -> Vec<Derived> {
        if self.optional {
            return Vec::new();
        }
        let derived = |want, location: &str| Derived {
            want,
            source: Source::Netplan,
            location: location.to_string(),
        };
        if let Some((mac, at)) = &self.mac {
            return match mac.parse::<Mac>() {
                Ok(m) => vec![derived(Want::Mac(m), at)],
                Err(e) => {
                    log::warn!("{at}: {e}");
                    Vec::new()
                }
            };
        }
        let name = match (&self.set_name, &self.name) {
            (Some((n, at)), _) => Some((n.as_str(), at.as_str())),
            (None, Some((n, at))) => Some((n.as_str(), at.as_str())),
            // No match at all: the ID is the interface name.
            (None, None) if !self.matched => Some((id, self.at.as_str())),
            (None, None) => None,
        };
        name.filter(|(n, _)| literal_name(n))
            .map(|(n, at)| vec![derived(Want::Interface(n.to_string()), at)])
            .unwrap_or_default()
    }
}

/// Every expectation of the netplan files, files read in name order.
pub fn derive(root: &Root) -> Vec<Derived> {
    let mut defs = BTreeMap::new();
    for path in layered(root, &DIRS, ".yaml") {
        if let Some(text) = read(root, &path) {
            parse_into(&mut defs, &path, &text);
        }
    }
    defs.iter()
        .flat_map(|(id, def)| def.expectations(id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn got(text: &str) -> Vec<(&'static str, String, String)> {
        let mut defs = BTreeMap::new();
        parse_into(&mut defs, "etc/netplan/50.yaml", text);
        defs.iter()
            .flat_map(|(id, d)| d.expectations(id))
            .map(|d| {
                let (k, v) = d.kind_value();
                (k, v, d.location)
            })
            .collect()
    }

    #[test]
    fn ethernets_by_mac_by_name_and_by_id_with_their_lines() {
        let text = "# written by cloud-init\nnetwork:\n  version: 2\n  ethernets:\n    \
            fabric:\n      match:\n        macaddress: \"0C:42:A1:00:00:01\"  # port 1\n      \
            set-name: fab0\n    eno1:\n      dhcp4: true\n    lan:\n      match: {name: enp5s0}\n    \
            spare:\n      match:\n        name: enp6s0\n      optional: true\n  \
            bonds:\n    bond0:\n      interfaces: [eno1]\n";
        let at = |l: usize| format!("etc/netplan/50.yaml:{l}");
        assert_eq!(
            got(text),
            vec![
                ("interface", "eno1".to_string(), at(9)),
                ("mac", "0c:42:a1:00:00:01".to_string(), at(7)),
                ("interface", "enp5s0".to_string(), at(12)),
            ]
        );
    }

    #[test]
    fn later_files_override_earlier_keys() {
        let mut defs = BTreeMap::new();
        parse_into(
            &mut defs,
            "etc/netplan/50.yaml",
            "network:\n  ethernets:\n    eno1:\n      dhcp4: true\n",
        );
        parse_into(
            &mut defs,
            "etc/netplan/90.yaml",
            "network:\n  ethernets:\n    eno1:\n      optional: yes\n",
        );
        assert!(defs["eno1"].expectations("eno1").is_empty());
    }

    #[test]
    fn globs_drivers_and_garbage_expect_nothing() {
        for text in [
            "network:\n  ethernets:\n    all:\n      match:\n        name: en*\n",
            "network:\n  ethernets:\n    nic:\n      match:\n        driver: ixgbe\n",
            "network:\n  ethernets:\n    nic:\n      match: {driver: ixgbe}\n      set-name: \"\"\n",
            "network: [\n::: -\n\t{",
            "network:\n\tethernets: {eno1: {}}\n",
            "",
        ] {
            assert_eq!(got(text), vec![], "{text:?}");
        }
    }
}
