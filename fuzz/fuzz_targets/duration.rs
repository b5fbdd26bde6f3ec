//! `-t`/`Timeout=`/`netsettle.timeout=` values.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(d) = netsettle::value::parse_duration(text) {
        // Saturated, so `Instant::now() + d` can never overflow.
        assert!(d.as_secs() <= 1 << 32, "{d:?}");
        let _ = std::time::Instant::now() + d;
    }
});
