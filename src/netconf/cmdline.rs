//! dracut's network options on the kernel command line (dracut.cmdline(7),
//! modules.d/40network/parse-ip-opts.sh, parse-ifname.sh, parse-bond.sh):
//! the boot NIC an initramfs needs before it can mount its root.

use super::{literal_name, Derived, Source, Want};
use crate::cmdline::KernelCmdline;
use crate::value::Mac;

const WHERE: &str = "proc/cmdline";

fn interface(name: &str) -> Option<Derived> {
    literal_name(name).then(|| Derived {
        want: Want::Interface(name.to_string()),
        source: Source::Cmdline,
        location: WHERE.to_string(),
    })
}

/// Splits an `ip=` value at `:` outside `[...]` (IPv6 addresses are bracketed).
fn fields(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut depth) = (0, 0u32);
    for (i, c) in value.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&value[start..]);
    out
}

/// The interface an `ip=` value names, if any:
/// `ip=IFACE:METHOD[:…]` or
/// `ip=CLIENT:[PEER]:GATEWAY:NETMASK:HOSTNAME:IFACE:METHOD[:…]`;
/// `ip=dhcp` and friends name none.
pub fn ip_interface(value: &str) -> Option<&str> {
    let f = fields(value);
    if f.len() < 2 {
        return None;
    }
    let first = f[0];
    let is_address =
        first.is_empty() || first.starts_with('[') || first.parse::<std::net::Ipv4Addr>().is_ok();
    let name = if is_address { *f.get(5)? } else { first };
    Some(name).filter(|n| !n.is_empty())
}

/// `BOOTIF=01-52-54-00-12-34-56` (pxelinux: ARP hardware type, then the
/// address), or a bare address.
pub fn bootif_mac(value: &str) -> Option<Mac> {
    let v = value.trim();
    let v = match v.split_once('-') {
        Some((ty, rest)) if ty.len() == 2 && rest.len() == 17 => rest,
        _ => v,
    };
    v.parse().ok()
}

/// Names of the interfaces dracut creates itself (bond, team, VLAN and
/// bridge masters): they appear when dracut's network scripts run, after
/// the cards are settled, so waiting for them first would never end.
fn virtual_names(kcmd: &KernelCmdline) -> Vec<&str> {
    ["bond", "team", "vlan", "bridge"]
        .iter()
        .flat_map(|k| kcmd.values(k))
        .filter_map(|v| v.split(':').next())
        .collect()
}

/// Every card the command line names for dracut: the boot NIC of `ip=`,
/// `ifname=` and `BOOTIF=`, and the ports of `bond=`, `team=`, `vlan=` and
/// `bridge=` (dracut.cmdline(7): `bond=NAME:PORT,PORT:OPTIONS`,
/// `team=NAME:PORT,PORT`, `vlan=NAME:PHYSDEV`, `bridge=NAME:PORT,PORT`).
pub fn derive(kcmd: &KernelCmdline) -> Vec<Derived> {
    let virtuals = virtual_names(kcmd);
    let card = |name: &str| {
        if virtuals.contains(&name) {
            None
        } else {
            interface(name)
        }
    };
    let mut out = Vec::new();
    for (key, value) in &kcmd.args {
        let Some(value) = value.as_deref() else {
            continue;
        };
        match key.as_str() {
            "ip" => out.extend(ip_interface(value).and_then(card)),
            // ifname=NAME:MAC: the NIC with that MAC is renamed NAME.
            "ifname" => out.extend(value.split_once(':').and_then(|(n, _)| card(n))),
            "BOOTIF" => out.extend(bootif_mac(value).map(|m| Derived {
                want: Want::Mac(m),
                source: Source::Cmdline,
                location: WHERE.to_string(),
            })),
            "bond" | "team" | "bridge" | "vlan" => {
                if let Some(ports) = value.split(':').nth(1) {
                    out.extend(ports.split(',').filter_map(card));
                }
            }
            _ => {}
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|d| seen.insert(d.want.clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmdline::parse;

    fn values(text: &str) -> Vec<(&'static str, String)> {
        derive(&parse(text))
            .into_iter()
            .map(|d| d.kind_value())
            .collect()
    }

    #[test]
    fn ip_forms_of_dracut_name_their_interface() {
        #[rustfmt::skip]
        let cases = [
            ("dhcp", None), ("on", None), ("ibft", None), ("", None),
            ("enp1s0:dhcp", Some("enp1s0")),
            ("ib0:dhcp:2044", Some("ib0")),
            ("eth0:dhcp::52:54:00:12:34:56", Some("eth0")),
            ("192.168.1.10::192.168.1.1:255.255.255.0:node1:eno1:none", Some("eno1")),
            ("192.168.1.10::192.168.1.1:24::eno2:off:9000", Some("eno2")),
            ("[2001:db8::10]::[2001:db8::1]:64:node1:ens3:none", Some("ens3")),
            ("192.168.1.10::192.168.1.1:255.255.255.0:node1::none", None),
            ("10.0.0.2::10.0.0.1", None),
        ];
        for (case, want) in cases {
            assert_eq!(ip_interface(case), want, "case {case}");
        }
    }

    #[test]
    fn bootif_takes_the_pxelinux_form_and_a_bare_mac() {
        let want = Some("52:54:00:12:34:56".to_string());
        assert_eq!(
            bootif_mac("01-52-54-00-12-34-56").map(|m| m.to_string()),
            want
        );
        assert_eq!(bootif_mac("52:54:00:12:34:56").map(|m| m.to_string()), want);
        assert_eq!(bootif_mac("garbage"), None);
    }

    #[test]
    fn command_line_yields_interfaces_and_macs_once_each() {
        let got = values(
            "ro ip=dhcp ip=enp1s0:dhcp ifname=net0:52:54:00:aa:bb:cc BOOTIF=01-52-54-00-12-34-56 \
             bond=bond0:eno1,eno2:mode=802.3ad ip=enp1s0:dhcp6 rd.neednet=1 ifname=broken \
             ip=bond0:dhcp vlan=vlan5:ens7 ip=vlan5:dhcp bridge=br0:ens8",
        );
        // bond0, vlan5 and br0 are made by dracut later: only their ports are cards.
        let want: Vec<(&str, String)> = vec![
            ("interface", "enp1s0".into()),
            ("interface", "net0".into()),
            ("mac", "52:54:00:12:34:56".into()),
            ("interface", "eno1".into()),
            ("interface", "eno2".into()),
            ("interface", "ens7".into()),
            ("interface", "ens8".into()),
        ];
        assert_eq!(got, want);
        assert!(derive(&parse("ip=dhcp bond")).is_empty());
    }
}
