//! Whether a module is loaded, loading or unloading: `sys/module/NAME/
//! initstate` (Documentation/ABI/testing/sysfs-module).

use super::normalize;
use crate::root::Root;

/// A module's state in the kernel's module table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModState {
    /// Loaded and initialized.
    Live,
    /// Loading: its init function is running.
    Coming,
    /// Being unloaded.
    Going,
    /// Built into the kernel.
    Builtin,
}

/// A module's state from `sys/module/NAME`, under its name as given or
/// normalized; `None` when it is not loaded. Built-in modules only have a
/// `sys/module` directory when they have parameters or a version, so `None`
/// does not prove a module is absent from the kernel.
pub fn module_state(root: &Root, name: &str) -> Option<ModState> {
    state_in_sysfs(root, name).or_else(|| {
        let normalized = normalize(name);
        (normalized != name).then(|| state_in_sysfs(root, &normalized))?
    })
}

fn state_in_sysfs(root: &Root, name: &str) -> Option<ModState> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return None;
    }
    let dir = format!("sys/module/{name}");
    if !root.path(&dir).is_dir() {
        return None;
    }
    match root.read_attr(format!("{dir}/initstate")).as_deref() {
        Some("live") => Some(ModState::Live),
        Some("coming") => Some(ModState::Coming),
        Some("going") => Some(ModState::Going),
        Some(other) => {
            log::debug!("{dir}/initstate: unknown state {other:?}");
            None
        }
        // Loading creates holders/ before initstate (mod_sysfs_setup), and
        // built-in modules never have holders/: in that window it is loading.
        None if root.path(format!("{dir}/holders")).is_dir() => Some(ModState::Coming),
        None => Some(ModState::Builtin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::write;
    use std::fs;

    #[test]
    fn module_state_reads_initstate_and_recognizes_builtins() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::new(dir.path());
        write(dir.path(), "sys/module/mlx4_core/initstate", "live\n");
        write(dir.path(), "sys/module/mlx4_en/initstate", "coming\n");
        write(dir.path(), "sys/module/e1000/initstate", "going\n");
        write(
            dir.path(),
            "sys/module/virtio_pci/parameters/force_legacy",
            "N\n",
        );
        write(dir.path(), "sys/module/weird/initstate", "unformed\n");
        fs::create_dir_all(dir.path().join("sys/module/mlx5_ib/holders")).unwrap();
        write(dir.path(), "sys/module/notadir", "x");
        let table = [
            ("mlx4_core", Some(ModState::Live)),
            ("mlx4_en", Some(ModState::Coming)),
            ("mlx4-en", Some(ModState::Coming)),
            ("e1000", Some(ModState::Going)),
            ("virtio-pci", Some(ModState::Builtin)),
            ("mlx5_ib", Some(ModState::Coming)),
            ("weird", None),
            ("notadir", None),
            ("ib_ipoib", None),
            ("", None),
            ("..", None),
            ("../module/mlx4_core", None),
        ];
        for (name, want) in table {
            assert_eq!(module_state(&root, name), want, "case {name}");
        }
    }
}
