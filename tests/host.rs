//! The running system's own sources, read on the machine the tests run on.

use netsettle::root::Root;
use netsettle::sysfs;

#[test]
fn rtm_getlink_dump_agrees_with_sysfs_for_every_interface_of_this_host() {
    let root = Root::new("/");
    let links = root.links().expect("RTM_GETLINK dump of this host");
    let names = sysfs::netdev_names(&root);
    let dumped: std::collections::BTreeSet<String> = links.keys().cloned().collect();
    assert_eq!(dumped, names, "interfaces in the dump and in sys/class/net");
    let all = |_: &str| true;
    // A full scan takes ifindex, type and address from the dump; reading one
    // interface reads its sysfs files.
    let scanned = sysfs::netdevs(&root, &all);
    assert_eq!(scanned.len(), names.len());
    for n in &scanned {
        let from_sysfs = sysfs::netdev(&root, &n.name, &all).expect("still there");
        assert_eq!(
            (n.ifindex, n.kind, &n.mac),
            (from_sysfs.ifindex, from_sysfs.kind, &from_sysfs.mac),
            "{}",
            n.name
        );
        assert_eq!(n, &from_sysfs, "{}", n.name);
        assert!(n.ifindex.is_some() && n.kind.is_some(), "{}", n.name);
    }
}
