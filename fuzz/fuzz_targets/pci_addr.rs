//! PCI addresses from `--expect-pci`, `PCI=`, `--ignore` and `netsettle.ignore=`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netsettle::pci::PciAddr;

fuzz_target!(|text: &str| {
    if let Ok(addr) = text.parse::<PciAddr>() {
        // Normalized form: parses back to itself, and is what sysfs lists.
        let shown = addr.to_string();
        assert_eq!(shown.parse::<PciAddr>().as_ref(), Ok(&addr));
        assert!(netsettle::pci::is_pci_addr(&shown), "{shown}");
        assert_eq!(shown, shown.to_ascii_lowercase());
    }
});
