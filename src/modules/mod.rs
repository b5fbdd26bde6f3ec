//! Kernel modules: which are loaded or loading, which are being loaded right
//! now by the kernel's `request_module()`, which match a device, and which are
//! blacklisted; one submodule for each source it reads.

mod blacklist;
mod fnmatch;
mod index;
mod modprobe;
mod state;

pub use blacklist::Blacklist;
pub use fnmatch::fnmatch;
pub use index::{builtin_drivers_hidden, ipoib_available, release_version, AliasDb, AliasMatch};
pub use modprobe::{modprobe_args, modprobes_in_flight, parse_stat, Modprobe};
pub use state::{module_state, ModState};

/// A module name as the kernel and kmod compare it: `-` and `_` are the same
/// (driver `virtio-pci`, module `virtio_pci`).
pub fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

/// Writes a file of a test's fake root, parents created.
#[cfg(test)]
fn write(base: &std::path::Path, rel: &str, text: impl AsRef<[u8]>) {
    let path = base.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_equates_dash_and_underscore() {
        assert_eq!(normalize("virtio-pci"), "virtio_pci");
        assert_eq!(normalize("mlx5_core"), "mlx5_core");
        assert_eq!(normalize(""), "");
    }

    #[test]
    fn parsers_survive_noise() {
        let alphabet = b"*?[]!^-\\\\az09:() \x00\xffmodprobe-a--=\n";
        let mut seed: u64 = 42;
        let mut noise = || -> Vec<u8> {
            (0..(seed % 40) as usize)
                .map(|_| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    alphabet[(seed >> 33) as usize % alphabet.len()]
                })
                .collect()
        };
        for _ in 0..3000 {
            let (a, b) = (noise(), noise());
            let (a, b) = (String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
            let _ = fnmatch(&a, &b);
            let _ = modprobe_args(b.as_bytes());
            let _ = parse_stat(&a);
            let _ = blacklist::blacklisted_in(&a);
            let _ = AliasDb::parse(&format!("alias {a} m\nalias {b} n\n"), None).matches(&b);
        }
    }
}
