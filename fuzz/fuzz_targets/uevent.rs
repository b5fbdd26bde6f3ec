//! A kernel uevent datagram: `ACTION@DEVPATH\0KEY=VALUE\0…`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(ev) = netsettle::uevent::parse(data) {
        assert!(!ev.action.is_empty());
        assert!(ev.devpath.starts_with('/'));
        let _ = ev.is_relevant();
    }
});
