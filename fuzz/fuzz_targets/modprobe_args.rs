//! `/proc/PID/cmdline` of a modprobe process.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for m in netsettle::modules::modprobe_args(data) {
        assert!(
            !m.is_empty() && !m.contains('=') && !m.contains('-'),
            "{m:?}"
        );
    }
});
