//! The incremental path equals a fresh full evaluation: random changes to a
//! fake root, seen through inotify as the wait sees them, and after every
//! step the report is what reading everything again would give.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use common::FakeRoot;
use netsettle::config::Settings;
use netsettle::report::Report;
use netsettle::root::Root;
use netsettle::watch::{Evaluator, Follower};
use proptest::prelude::*;

/// (class, vendor, device, driver) of the functions a slot can hold; ids
/// from e1000's, mlx4's and virtio's id tables, and one no module matches.
const KINDS: [(&str, &str, &str, &str); 4] = [
    ("0x020000", "0x8086", "0x100e", "e1000"),
    ("0x020000", "0x15b3", "0x1003", "mlx4_core"),
    ("0x020000", "0x1af4", "0x1000", "virtio-pci"),
    ("0x020000", "0x10ec", "0x8125", "r8169"),
];

const ALIASES: &str = "alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000\n\
                       alias pci:v000015B3d00001003sv*sd*bc*sc*i* mlx4_core\n\
                       alias pci:v00001AF4d00001000sv*sd*bc*sc*i* virtio_pci\n";

#[derive(Debug, Clone)]
enum Op {
    AddFunction(u8, usize),
    RemoveFunction(u8),
    Bind(u8),
    Unbind(u8),
    AddNetdev(u8, u8),
    RemoveNetdev(u8, u8),
    Rename(u8, u8),
    UdevDb(u8, u8, usize),
    RemoveDb(u8, u8),
    Queue(bool),
    Module(usize, usize),
    Kmsg(u8, usize),
    Enable(u8, bool),
    Tick,
}

fn op() -> impl Strategy<Value = Op> {
    let slot = 0u8..3;
    let port = 0u8..2;
    prop_oneof![
        (slot.clone(), 0..KINDS.len()).prop_map(|(s, k)| Op::AddFunction(s, k)),
        slot.clone().prop_map(Op::RemoveFunction),
        slot.clone().prop_map(Op::Bind),
        slot.clone().prop_map(Op::Unbind),
        (slot.clone(), port.clone()).prop_map(|(s, p)| Op::AddNetdev(s, p)),
        (slot.clone(), port.clone()).prop_map(|(s, p)| Op::RemoveNetdev(s, p)),
        (slot.clone(), port.clone()).prop_map(|(s, p)| Op::Rename(s, p)),
        (slot.clone(), port.clone(), 0..3usize).prop_map(|(s, p, v)| Op::UdevDb(s, p, v)),
        (slot.clone(), port).prop_map(|(s, p)| Op::RemoveDb(s, p)),
        any::<bool>().prop_map(Op::Queue),
        (0..3usize, 0..3usize).prop_map(|(m, st)| Op::Module(m, st)),
        (slot.clone(), 0..3usize).prop_map(|(s, k)| Op::Kmsg(s, k)),
        (slot, any::<bool>()).prop_map(|(s, e)| Op::Enable(s, e)),
        Just(Op::Tick),
    ]
}

fn addr(slot: u8) -> String {
    format!("0000:00:{:02x}.0", slot + 3)
}

fn dev_dir(root: &FakeRoot, slot: u8) -> std::path::PathBuf {
    root.path().join("sys/devices/pci0000:00").join(addr(slot))
}

fn ifindex(slot: u8, port: u8) -> u32 {
    u32::from(slot) * 2 + u32::from(port) + 2
}

/// The interface of a port under whichever name it has now.
fn netdev_name(root: &FakeRoot, slot: u8, port: u8) -> Option<String> {
    let net = dev_dir(root, slot).join("net");
    fs::read_dir(net).ok()?.flatten().find_map(|e| {
        let idx = fs::read_to_string(e.path().join("ifindex")).ok()?;
        (idx.trim() == ifindex(slot, port).to_string())
            .then(|| e.file_name().to_string_lossy().into_owned())
    })
}

/// Applies one change the way the kernel and udev make it; returns
/// whether the wait's short tick would be what notices it.
fn apply(root: &FakeRoot, op: &Op, kinds: &mut [Option<usize>; 4]) -> bool {
    let present = |slot: u8| dev_dir(root, slot).is_dir();
    match *op {
        Op::AddFunction(s, k) if !present(s) => {
            let (class, vendor, device, _) = KINDS[k];
            root.pci(&addr(s), class, vendor, device);
            kinds[s as usize] = Some(k);
        }
        Op::RemoveFunction(s) if present(s) => {
            for p in 0..2 {
                apply(root, &Op::RemoveNetdev(s, p), kinds);
            }
            root.remove(&format!("sys/bus/pci/devices/{}", addr(s)));
            fs::remove_dir_all(dev_dir(root, s)).unwrap();
            kinds[s as usize] = None;
        }
        Op::Bind(s) if present(s) => {
            root.bind(&addr(s), KINDS[kinds[s as usize].unwrap()].3);
        }
        Op::Unbind(s) => {
            root.unbind(&addr(s));
        }
        Op::AddNetdev(s, p) if present(s) && netdev_name(root, s, p).is_none() => {
            let i = ifindex(s, p);
            root.netdev(
                &addr(s),
                None,
                &format!("eth{i}"),
                i,
                &format!("52:54:00:00:00:{i:02x}"),
            );
        }
        Op::RemoveNetdev(s, p) => {
            if let Some(name) = netdev_name(root, s, p) {
                root.remove(&format!("sys/class/net/{name}"));
                fs::remove_dir_all(dev_dir(root, s).join("net").join(&name)).unwrap();
            }
        }
        Op::Rename(s, p) => {
            // device_rename moves the device's directory and its class link together.
            if let Some(old) = netdev_name(root, s, p) {
                let new = if old.starts_with("eth") {
                    format!("enp0s{}f{p}", s + 3)
                } else {
                    format!("eth{}", ifindex(s, p))
                };
                let net = dev_dir(root, s).join("net");
                fs::rename(net.join(&old), net.join(&new)).unwrap();
                root.remove(&format!("sys/class/net/{old}"));
                symlink(
                    Path::new("../../devices/pci0000:00")
                        .join(addr(s))
                        .join("net")
                        .join(&new),
                    root.path().join("sys/class/net").join(&new),
                )
                .unwrap();
            }
        }
        Op::UdevDb(s, p, v) => {
            let entry = [
                "I:1\nE:ID_NET_DRIVER=e1000\n",
                "I:1\nE:ID_RENAMING=1\n",
                "I:1\nE:ID_PROCESSING=1\n",
            ][v];
            root.udev_db(ifindex(s, p), entry);
        }
        Op::RemoveDb(s, p) => {
            root.remove(&format!("run/udev/data/n{}", ifindex(s, p)));
        }
        Op::Queue(on) => {
            if on {
                root.file("run/udev/queue", "");
            } else {
                root.remove("run/udev/queue");
            }
        }
        Op::Module(m, st) => {
            let name = ["mlx4_en", "e1000", "virtio_net"][m];
            root.module(name, ["live", "coming", "going"][st]);
            return true;
        }
        Op::Kmsg(s, k) => {
            let a = addr(s);
            let text = match k {
                0 => format!("4,{},1000,-;e1000: probe of {a} failed with error -5\n", s),
                1 => format!(
                    "6,{},2000,-;e1000 {a}: Intel(R) PRO/1000 Network Connection\n",
                    s
                ),
                _ => format!("3,{},3000,-;e1000 {a}: The NVM Checksum Is Not Valid\n", s),
            };
            root.kmsg(&text);
        }
        Op::Enable(s, on) if present(s) => {
            root.file(
                &format!("sys/devices/pci0000:00/{}/enable", addr(s)),
                if on { "1\n" } else { "0\n" },
            );
        }
        Op::Tick => return true,
        _ => {}
    }
    false
}

fn without_time(mut r: Report) -> Report {
    r.elapsed_ms = 0;
    r
}

/// Follows `ops` on a fake root with two NICs and checks, after every
/// step, that the followed report is a fresh full evaluation's.
fn follow_and_compare(ops: &[Op], expect_iface: bool) -> Result<(), TestCaseError> {
    let root = FakeRoot::new();
    root.aliases(ALIASES);
    let mut settings = Settings::default();
    if expect_iface {
        settings.expect.interfaces.push("enp0s3f0".into());
    }
    let fresh = || Evaluator::new(Root::new(root.path()), settings.clone(), &[]).evaluate();
    let mut follower = Follower::new(Evaluator::new(
        Root::new(root.path()),
        settings.clone(),
        &[],
    ))
    .unwrap();
    let mut kinds = [None; 4];
    // Two functions with an interface each to begin with, so that most
    // changes land on something.
    for (slot, kind) in [(0, 0), (1, 2)] {
        apply(&root, &Op::AddFunction(slot, kind), &mut kinds);
        apply(&root, &Op::Bind(slot), &mut kinds);
        apply(&root, &Op::AddNetdev(slot, 0), &mut kinds);
    }
    follower.step(false);
    for (i, op) in ops.iter().enumerate() {
        let tick = apply(&root, op, &mut kinds);
        follower.step(tick);
        let got = without_time(follower.report());
        let want = without_time(fresh());
        prop_assert_eq!(got, want, "after step {} ({:?}) of {:?}", i, op, ops);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn incremental_report_equals_a_fresh_full_evaluation_after_every_change(
        ops in prop::collection::vec(op(), 1..40),
        expect_iface in any::<bool>(),
    ) {
        follow_and_compare(&ops, expect_iface)?;
    }
}

/// `enable` is in no uevent and in no attribute of the function's entry: a
/// bound function without a netdev that its driver leaves disabled, then
/// enabled, must change the followed decision as it changes a fresh one.
#[test]
fn a_function_disabled_and_enabled_again_is_followed() {
    let ops = [
        Op::AddFunction(2, 0),
        Op::Bind(2),
        Op::Enable(2, false),
        Op::Enable(2, true),
        Op::Enable(2, false),
    ];
    follow_and_compare(&ops, false).unwrap();
}
