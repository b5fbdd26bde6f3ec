//! Link state of named interfaces (`sys/class/net/NAME/{operstate,carrier,flags}`,
//! Documentation/ABI/testing/sysfs-class-net): what a service that needs the
//! wire waits for after the network manager has brought the interface up.

use crate::root::Root;

/// `IFF_UP` in `flags` (include/uapi/linux/if.h): administratively up.
const IFF_UP: u32 = 0x1;

/// What sysfs says about one interface's link.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Link {
    /// Interface name.
    pub name: String,
    /// `sys/class/net/NAME` exists.
    pub present: bool,
    /// RFC 2863 operational state: `up`, `down`, `dormant`, `lowerlayerdown`, `unknown`, …
    pub operstate: Option<String>,
    /// `carrier`: unreadable (EINVAL) while the interface is down.
    pub carrier: Option<bool>,
    /// `flags` as a number (sysfs prints `0x1003`).
    pub flags: Option<u32>,
}

/// Reads one interface's link attributes.
pub fn read(root: &Root, name: &str) -> Link {
    let dir = format!("sys/class/net/{name}");
    if name.is_empty() || name.contains('/') || !root.exists(&dir) {
        return Link {
            name: name.to_string(),
            ..Link::default()
        };
    }
    let attr = |a: &str| {
        root.read_attr(format!("{dir}/{a}"))
            .filter(|v| !v.is_empty())
    };
    Link {
        name: name.to_string(),
        present: true,
        operstate: attr("operstate"),
        carrier: attr("carrier").and_then(|c| match c.as_str() {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        }),
        flags: attr("flags").and_then(|f| {
            let hex = f.strip_prefix("0x").unwrap_or(&f);
            u32::from_str_radix(hex, 16).ok()
        }),
    }
}

/// Why the link is not up, naming the next step; `None` when it is up.
///
/// The carrier decides when it is readable: `operstate` follows it only
/// when the linkwatch work runs, up to a second later (net/core/link_watch.c
/// rate-limits non-urgent events to one per second), so a cable pulled a
/// moment ago still shows `up` there. States that hold a link with carrier
/// back (`dormant` for 802.1X, `lowerlayerdown` under a bond or VLAN) are
/// not up. Without a readable carrier, `operstate` `up` is.
pub fn not_up(l: &Link) -> Option<String> {
    if !l.present {
        return Some(format!("no interface {} (yet)", l.name));
    }
    let oper = l.operstate.as_deref();
    let held = matches!(
        oper,
        Some("dormant" | "lowerlayerdown" | "testing" | "notpresent")
    );
    match l.carrier {
        Some(true) if !held => return None,
        None if oper == Some("up") => return None,
        _ => {}
    }
    if l.flags.is_some_and(|f| f & IFF_UP == 0) {
        return Some("down: nothing has brought it up".to_string());
    }
    Some(match oper {
        Some("dormant") => {
            "dormant: the link waits for authentication (802.1X) or its driver".to_string()
        }
        Some("lowerlayerdown") => {
            "lower layer down: the interface it sits on (bond port, VLAN parent) has no link"
                .to_string()
        }
        Some("testing") => "in test mode".to_string(),
        Some("notpresent") => "not present: its hardware is missing or powered down".to_string(),
        Some(state) if l.carrier == Some(false) => {
            format!("no carrier (operstate {state}): cable or peer")
        }
        Some(state) => format!("operstate {state}, no carrier reported"),
        None => "no readable operstate or carrier".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(oper: Option<&str>, carrier: Option<bool>, flags: Option<u32>) -> Link {
        Link {
            name: "eth1".into(),
            present: true,
            operstate: oper.map(str::to_string),
            carrier,
            flags,
        }
    }

    #[test]
    fn up_is_operstate_up_or_carrier() {
        assert_eq!(not_up(&link(Some("up"), Some(true), Some(0x1003))), None);
        assert_eq!(
            not_up(&link(Some("unknown"), Some(true), Some(0x1003))),
            None
        );
        assert_eq!(not_up(&link(Some("up"), None, None)), None);
    }

    #[test]
    fn reasons_say_who_has_to_act() {
        #[rustfmt::skip]
        let cases = [
            (link(Some("down"), None, Some(0x1002)), "down: nothing has brought it up"),
            (link(Some("down"), Some(false), Some(0x1003)), "no carrier (operstate down): cable or peer"),
            (link(Some("lowerlayerdown"), Some(false), Some(0x1003)), "lower layer down: "),
            (link(Some("dormant"), Some(true), Some(0x1003)), "dormant: "),
            (link(Some("dormant"), Some(false), Some(0x1003)), "dormant: "),
            (link(None, None, None), "no readable operstate or carrier"),
            (Link { name: "eth9".into(), ..Link::default() }, "no interface eth9 (yet)"),
        ];
        for (case, want) in cases {
            let got = not_up(&case).unwrap_or_default();
            assert!(
                got.starts_with(want) && (want.is_empty() == got.is_empty()),
                "{case:?}: {got}"
            );
        }
    }
}
