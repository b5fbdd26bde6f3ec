//! `/proc/modules`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let mods = netsettle::modules::parse_proc_modules(text);
    assert!(mods.len() <= text.lines().count());
    for (name, _) in mods {
        assert!(!name.contains('-'), "{name}");
    }
});
