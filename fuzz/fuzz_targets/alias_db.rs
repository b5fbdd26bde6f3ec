//! `modules.alias` / `modules.builtin.alias` files and lookups in them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netsettle::modules::{fnmatch, normalize, AliasDb};

// Input: MODULES.ALIAS NUL MODULES.BUILTIN.ALIAS NUL MODALIAS, so seeds stay readable.
fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\0');
    let aliases = parts.next().unwrap_or("");
    let builtin = parts.next().unwrap_or("");
    let modalias = parts.next().unwrap_or("");
    let db = AliasDb::parse(aliases, Some(builtin));
    let found = db.matches(modalias);
    // The index finds exactly what a linear scan with fnmatch finds.
    let mut want: Vec<String> = Vec::new();
    for line in aliases.lines().chain(builtin.lines()) {
        let mut w = line.split_whitespace();
        if let (Some("alias"), Some(pattern), Some(module)) = (w.next(), w.next(), w.next()) {
            let module = normalize(module);
            if !want.contains(&module) && fnmatch(pattern, modalias.trim()) {
                want.push(module);
            }
        }
    }
    let got: Vec<String> = found.into_iter().map(|m| m.module).collect();
    assert_eq!(got, want);
});
