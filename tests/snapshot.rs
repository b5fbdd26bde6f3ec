//! What one full read of the system collects, and what it leaves alone: the
//! facts readiness needs, and only for the functions it watches.

mod common;

use common::{virtio_nic, FakeRoot};
use netsettle::config::Settings;
use netsettle::root::Root;
use netsettle::snapshot::{collect, Static};

fn snapshot_of(root: &FakeRoot) -> netsettle::snapshot::Snapshot {
    let r = Root::new(root.path());
    let mut stat = Static::load(&r, &[]);
    collect(&r, &Settings::default(), &mut stat)
}

#[test]
fn module_states_are_read_only_for_drivers_of_watched_functions() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    root.module("virtio_net", "live");
    // An NVMe drive (144d:a824, class 0x010802) is not a NIC: its driver's
    // state decides nothing.
    root.pci("0000:c1:00.0", "0x010802", "0x144d", "0xa824")
        .bind("0000:c1:00.0", "nvme")
        .module("nvme", "live");
    let snap = snapshot_of(&root);
    assert!(
        snap.modules.contains_key("virtio_net"),
        "{:?}",
        snap.modules
    );
    assert!(!snap.modules.contains_key("nvme"), "{:?}", snap.modules);
}

#[test]
fn enable_is_read_only_for_bound_functions_still_without_a_netdev() {
    let root = FakeRoot::new();
    virtio_nic(&root);
    // Bound without a netdev: the one case `enable` can explain.
    root.pci("0000:5e:00.0", "0x020000", "0x8086", "0x1593")
        .bind("0000:5e:00.0", "ice")
        .module("ice", "live");
    // Unbound: no driver to have left it disabled.
    root.pci("0000:5f:00.0", "0x020000", "0x8086", "0x1593");
    for f in ["0000:00:03.0", "0000:5e:00.0", "0000:5f:00.0"] {
        root.file(&format!("sys/devices/pci0000:00/{f}/enable"), "0\n");
    }
    let snap = snapshot_of(&root);
    let read: Vec<String> = snap.enabled.keys().map(ToString::to_string).collect();
    assert_eq!(read, ["0000:5e:00.0"]);
}
