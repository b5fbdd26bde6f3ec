//! The kernel command line's `netsettle.*` and `rd.netsettle.*` words:
//! overrides for initramfs and rescue boots, where no config file may exist.

use super::{parse_rdma_ports, Settings};
use crate::cmdline::{items, KernelCmdline};
use crate::value::{parse_bool, parse_duration, parse_iface};

/// Applies `netsettle.*` and `rd.netsettle.*` on top of the configuration;
/// later words win. On error `settings` is untouched.
pub fn apply(kcmd: &KernelCmdline, settings: &mut Settings) -> Result<(), String> {
    let mut next = settings.clone();
    for (key, value) in &kcmd.args {
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
            "netsettle.expect_link" => {
                for item in items(value) {
                    let name = parse_iface(item).map_err(error)?;
                    next.wants.links.push(name);
                }
            }
            "netsettle.expect_rdma_ports" => {
                next.wants.rdma_ports = parse_rdma_ports(value).map_err(error)?
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
                    next.ignore.add(item);
                }
            }
            _ => {}
        }
    }
    next.dedupe_lists();
    *settings = next;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmdline::parse;
    use std::time::Duration;

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
            apply(&parse(case), &mut got).unwrap();
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
            let err = apply(&parse(case), &mut got).unwrap_err();
            assert!(err.starts_with(want), "case {case}: {err}");
            assert_eq!(got, Settings::default(), "case {case}");
        }
    }
}
