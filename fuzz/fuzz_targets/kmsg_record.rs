//! One `/dev/kmsg` record as read() returns it, then the probe-failure and
//! problem matchers on what it parsed to.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netsettle::kmsg;

fuzz_target!(|data: &[u8]| {
    let Some(rec) = kmsg::parse_record(data) else {
        return;
    };
    assert!(rec.level <= 7);
    if let Some(f) = kmsg::probe_failure(&rec) {
        assert!((1..=4095).contains(&f.errno), "{f:?}");
        assert!(kmsg::names_device(&rec, f.pci), "{f:?}");
    }
    let watched = ["0000:31:00.0".parse().unwrap()];
    let _ = kmsg::is_problem(&rec, &watched, &["mlx5_core", "e1000e"]);
});
