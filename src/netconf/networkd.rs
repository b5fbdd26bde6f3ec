//! systemd-networkd `.network` files (systemd.network(5)): a file whose
//! `[Match]` names one interface (`Name=`) or one address (`MACAddress=`,
//! `PermanentMACAddress=`) and that systemd-networkd-wait-online waits for
//! (`RequiredForOnline=` not `no`, the link managed) expects that interface.

use super::{layered, literal_name, read, Derived, Source, Want};
use crate::root::Root;
use crate::value::Mac;

/// Search path, highest precedence first: a file in an earlier directory
/// replaces one of the same name in a later one (systemd.network(5),
/// src/network/networkd-network.c `network_load` via `conf_files_list_strv`
/// over `NETWORK_DIRS`).
pub const DIRS: [&str; 5] = [
    "etc/systemd/network",
    "run/systemd/network",
    "usr/local/lib/systemd/network",
    "usr/lib/systemd/network",
    "lib/systemd/network",
];

/// What one `.network` file says, as far as expectations go.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct NetworkFile {
    /// `[Match] Name=` items with their line.
    pub names: Vec<(String, usize)>,
    /// `[Match] MACAddress=` and `PermanentMACAddress=` items with their line.
    pub macs: Vec<(String, usize)>,
    /// `[Link] RequiredForOnline=` as written (last assignment).
    pub required: Option<String>,
    /// `[Link] Unmanaged=yes`.
    pub unmanaged: bool,
    /// `[Network] ActivationPolicy=`.
    pub activation: Option<String>,
}

/// Parses one `.network` file (systemd.syntax(7); only what matters here).
pub fn parse(text: &str) -> NetworkFile {
    let mut f = NetworkFile::default();
    for (section, key, value, no) in super::ini_assignments(text) {
        let items = || value.split_whitespace().map(|v| (v.to_string(), no));
        match (section.as_str(), key) {
            // An empty assignment resets the list, as for every list in systemd.
            ("Match", "Name") if value.is_empty() => f.names.clear(),
            ("Match", "Name") => f.names.extend(items()),
            ("Match", "MACAddress" | "PermanentMACAddress") if value.is_empty() => f.macs.clear(),
            ("Match", "MACAddress" | "PermanentMACAddress") => f.macs.extend(items()),
            ("Link", "RequiredForOnline") => f.required = Some(value.to_string()),
            ("Link", "Unmanaged") => f.unmanaged = crate::value::parse_bool(value).unwrap_or(false),
            ("Network", "ActivationPolicy") => f.activation = Some(value.to_string()),
            _ => {}
        }
    }
    f
}

impl NetworkFile {
    /// Whether systemd-networkd-wait-online waits for the links it matches:
    /// `RequiredForOnline=` defaults to yes unless `ActivationPolicy=` keeps
    /// the link down or leaves it to the user (systemd.network(5)).
    pub fn required(&self) -> bool {
        if self.unmanaged {
            return false;
        }
        match self.required.as_deref() {
            Some(v) if crate::value::parse_bool(v) == Ok(false) => false,
            Some(v) if !v.is_empty() => true,
            _ => !matches!(
                self.activation.as_deref(),
                Some("manual" | "always-down" | "down")
            ),
        }
    }

    /// The expectations of this file at `path`: only a match on one literal
    /// name or one address singles out an interface.
    pub fn expectations(&self, path: &str) -> Vec<Derived> {
        if !self.required() {
            return Vec::new();
        }
        let at = |line: usize| format!("{path}:{line}");
        let mut out = Vec::new();
        if let [(name, line)] = self.names.as_slice() {
            if literal_name(name) {
                out.push(Derived {
                    want: Want::Interface(name.clone()),
                    source: Source::Networkd,
                    location: at(*line),
                });
            }
        }
        if let [(mac, line)] = self.macs.as_slice() {
            match mac.parse::<Mac>() {
                Ok(m) => out.push(Derived {
                    want: Want::Mac(m),
                    source: Source::Networkd,
                    location: at(*line),
                }),
                Err(e) => log::warn!("{}: {e}", at(*line)),
            }
        }
        out
    }
}

/// Every expectation of the `.network` files, in file-name order. networkd
/// applies the first matching file to a link and ignores later ones
/// (src/network/networkd-network.c `network_get`), so a later file naming
/// the same interface or address adds nothing.
pub fn derive(root: &Root) -> Vec<Derived> {
    // Interfaces networkd creates itself (bonds, bridges, VLANs: `.netdev`
    // files, systemd.netdev(5)) exist only once networkd runs, after the
    // cards are settled: waiting for them first would never end.
    let virtuals: Vec<String> = layered(root, &DIRS, ".netdev")
        .iter()
        .filter_map(|path| read(root, path))
        .filter_map(|text| netdev_name(&text))
        .collect();
    let mut out: Vec<Derived> = Vec::new();
    let mut claimed = std::collections::HashSet::new();
    for path in layered(root, &DIRS, ".network") {
        let Some(text) = read(root, &path) else {
            continue;
        };
        let file = parse(&text);
        let named: Vec<Want> = file
            .names
            .iter()
            .map(|(n, _)| Want::Interface(n.clone()))
            .chain(
                file.macs
                    .iter()
                    .filter_map(|(m, _)| m.parse().ok().map(Want::Mac)),
            )
            .collect();
        let first = named.iter().all(|w| !claimed.contains(w));
        claimed.extend(named);
        if first {
            out.extend(
                file.expectations(&path)
                    .into_iter()
                    .filter(|d| !matches!(&d.want, Want::Interface(n) if virtuals.contains(n))),
            );
        }
    }
    out
}

/// `[NetDev] Name=` of a `.netdev` file.
pub fn netdev_name(text: &str) -> Option<String> {
    let mut section = "";
    let mut name = None;
    for line in text.lines().map(str::trim) {
        if let Some(h) = line.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            section = h;
        } else if let Some((k, v)) = line.split_once('=') {
            if section == "NetDev" && k.trim() == "Name" {
                name = Some(v.trim().to_string()).filter(|n| !n.is_empty());
            }
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn got(text: &str) -> Vec<(&'static str, String, String)> {
        parse(text)
            .expectations("etc/systemd/network/10-x.network")
            .into_iter()
            .map(|d| {
                let (k, v) = d.kind_value();
                (k, v, d.location)
            })
            .collect()
    }

    #[test]
    fn one_name_or_one_mac_in_match_is_expected_with_its_line() {
        let text =
            "# uplink\n[Match]\nName=eno1\nMACAddress=0C:42:A1:00:00:01\n\n[Network]\nDHCP=yes\n";
        let at = |l: usize| format!("etc/systemd/network/10-x.network:{l}");
        assert_eq!(
            got(text),
            vec![
                ("interface", "eno1".to_string(), at(3)),
                ("mac", "0c:42:a1:00:00:01".to_string(), at(4))
            ]
        );
    }

    #[test]
    fn globs_lists_and_optional_links_expect_nothing() {
        #[rustfmt::skip]
        let cases = [
            "[Match]\nName=en*\n",
            "[Match]\nName=eno1 eno2\n",
            "[Match]\nName=!eno1\n",
            "[Match]\nName=eno1\n[Link]\nRequiredForOnline=no\n",
            "[Match]\nName=eno1\n[Link]\nUnmanaged=yes\n",
            "[Match]\nName=eno1\n[Network]\nActivationPolicy=manual\n",
            "[Match]\nName=eno1\nName=\n",
            "[Match]\n[Network]\nDHCP=yes\n",
        ];
        for case in cases {
            assert_eq!(got(case), vec![], "case {case:?}");
        }
        let routable = "[Match]\nName=eno1\n[Link]\nRequiredForOnline=degraded:routable\n";
        assert_eq!(got(routable).len(), 1);
        assert_eq!(
            netdev_name("[NetDev]\nName=bond0\nKind=bond\n").as_deref(),
            Some("bond0")
        );
        let forced = "[Match]\nName=eno1\n[Link]\nRequiredForOnline=yes\n[Network]\nActivationPolicy=manual\n";
        assert_eq!(got(forced).len(), 1);
    }
}
