//! NetworkManager keyfiles (nm-settings-keyfile(5), nm-settings(5)): a
//! profile that autoconnects and is bound to one interface
//! (`[connection] interface-name=`) or one card (`[ethernet]` /
//! `[infiniband] mac-address=`) expects it.

use super::{layered, literal_name, read, Derived, Source, Want};
use crate::root::Root;
use crate::value::{parse_bool, Mac};

/// Keyfile directories, in the order a profile of the same file name
/// shadows another (/etc is the administrator's, /run volatile, /usr/lib
/// the distribution's, as NetworkManager.conf(5) `[keyfile]` describes).
pub const DIRS: [&str; 3] = [
    "etc/NetworkManager/system-connections",
    "run/NetworkManager/system-connections",
    "usr/lib/NetworkManager/system-connections",
];

/// The expectations of one keyfile at `path`.
pub fn parse(path: &str, text: &str) -> Vec<Derived> {
    let mut autoconnect = true;
    let mut kind = String::from("ethernet");
    let mut name: Option<(String, usize)> = None;
    let mut mac: Option<(String, usize)> = None;
    for (section, key, value, no) in super::ini_assignments(text) {
        match (section.as_str(), key) {
            ("connection", "autoconnect") => autoconnect = parse_bool(value).unwrap_or(true),
            ("connection", "type") => kind = value.to_string(),
            ("connection", "interface-name") => name = Some((value.to_string(), no)),
            ("ethernet" | "802-3-ethernet" | "infiniband", "mac-address") => {
                mac = Some((value.to_string(), no))
            }
            _ => {}
        }
    }
    // Bonds, bridges, VLANs and the like are created by NetworkManager once
    // it runs, after the cards are settled: only a card's own profile counts.
    let card = matches!(
        kind.as_str(),
        "ethernet" | "802-3-ethernet" | "infiniband" | "wifi" | "802-11-wireless"
    );
    if !autoconnect || !card {
        return Vec::new();
    }
    let at = |no: usize| format!("{path}:{no}");
    let mut out = Vec::new();
    if let Some((n, no)) = name.filter(|(n, _)| literal_name(n)) {
        out.push(Derived {
            want: Want::Interface(n),
            source: Source::Nm,
            location: at(no),
        });
    }
    if let Some((m, no)) = mac.filter(|(m, _)| !m.is_empty()) {
        // Older keyfiles store the address as a list of decimal bytes
        // ("0;66;161;0;0;1;"); only the colon form is read here.
        match m.parse::<Mac>() {
            Ok(m) => out.push(Derived {
                want: Want::Mac(m),
                source: Source::Nm,
                location: at(no),
            }),
            Err(e) => log::warn!("{}: {e}", at(no)),
        }
    }
    out
}

/// Every expectation of the keyfiles, in file-name order.
pub fn derive(root: &Root) -> Vec<Derived> {
    layered(root, &DIRS, ".nmconnection")
        .into_iter()
        .filter_map(|path| read(root, &path).map(|text| parse(&path, &text)))
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn got(text: &str) -> Vec<(&'static str, String, String)> {
        parse("etc/NetworkManager/system-connections/a.nmconnection", text)
            .into_iter()
            .map(|d| {
                let (k, v) = d.kind_value();
                (k, v, d.location)
            })
            .collect()
    }

    #[test]
    fn interface_name_and_mac_address_are_expected_with_their_lines() {
        let text = "[connection]\nid=uplink\ntype=ethernet\ninterface-name=eno1\n\n\
            [ethernet]\nmac-address=0C:42:A1:00:00:01\n\n[ipv4]\nmethod=auto\n";
        let at = |l: usize| format!("etc/NetworkManager/system-connections/a.nmconnection:{l}");
        assert_eq!(
            got(text),
            vec![
                ("interface", "eno1".to_string(), at(4)),
                ("mac", "0c:42:a1:00:00:01".to_string(), at(7)),
            ]
        );
    }

    #[test]
    fn profiles_that_do_not_autoconnect_or_name_nothing_expect_nothing() {
        for text in [
            "[connection]\ninterface-name=eno1\nautoconnect=false\n",
            "[connection]\nid=any\ntype=ethernet\n",
            "[connection]\ninterface-name=\n",
            "[connection]\ntype=bond\ninterface-name=bond0\n",
        ] {
            assert_eq!(got(text), vec![], "{text:?}");
        }
    }
}
