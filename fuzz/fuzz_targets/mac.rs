//! Hardware addresses from `--expect-mac` and `MAC=`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netsettle::value::Mac;

fuzz_target!(|text: &str| {
    if let Ok(mac) = text.parse::<Mac>() {
        let shown = mac.to_string();
        assert_eq!(shown.parse::<Mac>().as_ref(), Ok(&mac));
        assert!(shown.len() == 17 || shown.len() == 59, "{shown}");
        assert_eq!(shown, shown.to_ascii_lowercase());
    }
});
