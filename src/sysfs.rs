//! PCI functions, network interfaces and InfiniBand ports from sysfs
//! (Documentation/ABI/testing/sysfs-bus-pci, sysfs-class-net,
//! sysfs-class-infiniband).

use std::collections::{BTreeSet, HashMap};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::pci::PciAddr;
use crate::root::{attr_text, escape_name, Dir, Root};
use crate::rtnl::LinkAttrs;
use crate::udevdb::DbState;

/// One PCI function (`sys/bus/pci/devices/ADDR`).
#[derive(Debug, Clone, PartialEq)]
pub struct PciFunction {
    /// Its address.
    pub addr: PciAddr,
    /// `class` as the kernel prints it (`0x020000`), if readable.
    pub class: Option<String>,
    /// `vendor`, e.g. `0x15b3`.
    pub vendor: Option<String>,
    /// `device`, e.g. `0x1003`.
    pub device: Option<String>,
    /// `modalias`, matched against `modules.alias`.
    pub modalias: Option<String>,
    /// Name of the bound driver; `None` when unbound or the link dangles.
    pub driver: Option<String>,
    /// An SR-IOV virtual function (has a `physfn` link).
    pub is_vf: bool,
}

impl PciFunction {
    /// The numeric class code, e.g. `0x020700`.
    pub fn class_code(&self) -> Option<u32> {
        let c = self.class.as_deref()?;
        u32::from_str_radix(c.strip_prefix("0x").unwrap_or(c), 16).ok()
    }

    /// Whether the class is a network controller (base class 0x02).
    pub fn is_network(&self) -> bool {
        self.class_code().is_some_and(|c| c >> 16 == 0x02)
    }

    /// Whether the class is InfiniBand (0x0207).
    pub fn is_infiniband(&self) -> bool {
        self.class_code().is_some_and(|c| c >> 8 == 0x0207)
    }
}

/// One network interface (`sys/class/net/NAME`).
#[derive(Debug, Clone, PartialEq)]
pub struct Netdev {
    /// Interface name, escaped when not printable UTF-8.
    pub name: String,
    /// The PCI function it belongs to (nearest PCI ancestor in its path).
    pub pci: Option<PciAddr>,
    /// `ifindex`.
    pub ifindex: Option<u32>,
    /// `address`.
    pub mac: Option<String>,
    /// `type` (1 ether, 32 infiniband).
    pub kind: Option<u32>,
    /// `name_assign_type`; unreadable for some drivers (IPoIB).
    pub name_assign_type: Option<u32>,
    /// What udev has done with it; filled in from udev's database by the
    /// snapshot (`Missing` as read from sysfs).
    pub udev: DbState,
    /// The driver behind it (`ID_NET_DRIVER`, else its parent's driver
    /// link); filled in with `udev`.
    pub driver: Option<String>,
}

/// ARPHRD_INFINIBAND: the `type` of an IPoIB netdev.
pub const TYPE_INFINIBAND: u32 = 32;

/// One InfiniBand port (`sys/class/infiniband/DEV/ports/N`).
#[derive(Debug, Clone, PartialEq)]
pub struct IbPort {
    /// RDMA device name, e.g. `mlx5_0`.
    pub device: String,
    /// Port number.
    pub port: u32,
    /// The PCI function behind the RDMA device.
    pub pci: Option<PciAddr>,
    /// `InfiniBand` or `Ethernet` (RoCE).
    pub link_layer: Option<String>,
}

impl IbPort {
    /// Whether this port runs InfiniBand (and so wants an IPoIB netdev).
    pub fn is_infiniband(&self) -> bool {
        self.link_layer.as_deref() == Some("InfiniBand")
    }
}

/// The nearest PCI function in a device path (`…/0000:00:03.0/virtio2/net/eth0`).
pub fn nearest_pci(path: &Path) -> Option<PciAddr> {
    // The components as bytes: `Path::components` costs more than the
    // address checks, for every netdev.
    path.as_os_str()
        .as_bytes()
        .rsplit(|&b| b == b'/')
        .filter_map(|c| std::str::from_utf8(c).ok())
        .find_map(PciAddr::from_kernel)
}

/// Lists every PCI function, sorted by address.
pub fn pci_functions(root: &Root) -> Vec<PciFunction> {
    let names = root.list("sys/bus/pci/devices");
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let Some((name, addr)) = name
            .to_str()
            .and_then(|n| Some((n, PciAddr::from_kernel(n)?)))
        else {
            continue;
        };
        out.push(read_function(root, name, addr));
    }
    out.sort_by_key(|f| f.addr);
    out
}

/// Reads one PCI function if `sys/bus/pci/devices/ADDR` exists.
pub fn pci_function_if_present(root: &Root, addr: PciAddr) -> Option<PciFunction> {
    let name = addr.to_string();
    let present = root
        .path(Path::new("sys/bus/pci/devices").join(&name))
        .symlink_metadata()
        .is_ok();
    present.then(|| read_function(root, &name, addr))
}

/// Reads one PCI function; a function that vanished reads as all-absent.
pub fn pci_function(root: &Root, addr: PciAddr) -> PciFunction {
    read_function(root, &addr.to_string(), addr)
}

/// Reads the function whose directory is `sys/bus/pci/devices/NAME`.
fn read_function(root: &Root, name: &str, addr: PciAddr) -> PciFunction {
    let Some(dir) = root.open_dir(Path::new("sys/bus/pci/devices").join(name)) else {
        return PciFunction {
            addr,
            class: None,
            vendor: None,
            device: None,
            modalias: None,
            driver: None,
            is_vf: false,
        };
    };
    let attr = |name: &str| {
        dir.read_attr(name)
            .filter(|v| !v.is_empty())
            .map(|v| v.to_ascii_lowercase())
    };
    PciFunction {
        addr,
        class: attr("class"),
        vendor: attr("vendor"),
        device: attr("device"),
        // The kernel writes printable ASCII; anything else is not a modalias
        // and must not make the device look certainly driverless (exit 3).
        modalias: dir
            .read_attr("modalias")
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic())),
        driver: dir.link_name("driver"),
        is_vf: dir.has("physfn"),
    }
}

/// Lists every network interface that sits under a device (not `lo`,
/// bridges, …) plus virtual ones named in `keep`, sorted by name.
///
/// On the running system one `RTM_GETLINK` dump ([`Root::links`]) stands
/// in for each interface's `ifindex`, `type` and `address` files. It is
/// taken after the directory was listed: an interface renamed in between
/// is not in it under its old name and is read from sysfs (where it is
/// gone), and every rename after the dump sends a uevent that makes the
/// wait read that interface again.
pub fn netdevs(root: &Root, keep: &dyn Fn(&str) -> bool) -> Vec<Netdev> {
    let names = root.list("sys/class/net");
    let links = root.links().unwrap_or_default();
    let class = root.open_dir("sys/class/net");
    let mut parent = None;
    let mut out: Vec<Netdev> = names
        .into_iter()
        .filter_map(|name| netdev_os(root, class.as_ref(), &name, keep, &links, &mut parent))
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The names in `sys/class/net` (escaped as [`Netdev::name`] is).
pub fn netdev_names(root: &Root) -> BTreeSet<String> {
    root.list("sys/class/net")
        .iter()
        .map(|n| escape_name(n.as_bytes()))
        .collect()
}

/// Reads one interface by its (escaped) name; `None` when it is gone or
/// is not one [`netdevs`] would list.
pub fn netdev(root: &Root, name: &str, keep: &dyn Fn(&str) -> bool) -> Option<Netdev> {
    let none = HashMap::new();
    // A name that needed no escaping is its own file name.
    if escape_name(name.as_bytes()) == name {
        return netdev_os(
            root,
            None,
            std::ffi::OsStr::new(name),
            keep,
            &none,
            &mut None,
        );
    }
    root.list("sys/class/net")
        .into_iter()
        .find(|n| escape_name(n.as_bytes()) == name)
        .and_then(|n| netdev_os(root, None, &n, keep, &none, &mut None))
}

/// The directory that holds the netdevs read last (`DEVICE/net`), held
/// open, or `None` when it could not be opened. A device's netdevs are
/// listed one after another (their names share its prefix), so each is
/// read relative to it without a directory of its own to open and close.
type Parent = Option<(PathBuf, Option<Dir>)>;

/// `class`: `sys/class/net`, held open while every interface is read.
fn netdev_os(
    root: &Root,
    class: Option<&Dir>,
    name: &std::ffi::OsStr,
    keep: &dyn Fn(&str) -> bool,
    links: &HashMap<String, LinkAttrs>,
    parent: &mut Parent,
) -> Option<Netdev> {
    let display = escape_name(name.as_bytes());
    let link = || Path::new("sys/class/net").join(name);
    let real = match class {
        Some(class) => class.resolve_link(name),
        None => root.resolve_link(link()),
    };
    let Some(real) = real else {
        // A vanished interface, or a fake root's plain directory.
        if !keep(&display) {
            return None;
        }
        return read_netdev(root, parent, &link(), display, None, None);
    };
    let pci = nearest_pci(&real);
    if pci.is_none() && !keep(&display) {
        return None;
    }
    let dumped = links.get(&display);
    read_netdev(root, parent, &real, display, pci, dumped)
}

/// Reads the netdev whose directory is `path`; `None` when that is not a
/// directory (any more): listed, then gone before it was read, removed or
/// renamed (its old link went away). The next evaluation sees it under its
/// new name.
fn read_netdev(
    root: &Root,
    parent: &mut Parent,
    path: &Path,
    name: String,
    pci: Option<PciAddr>,
    dumped: Option<&LinkAttrs>,
) -> Option<Netdev> {
    let (dir, own) = match (path.parent(), path.file_name()) {
        (Some(up), Some(own)) => {
            if parent.as_ref().map_or(true, |(p, _)| p != up) {
                *parent = Some((up.to_path_buf(), root.open_dir(up)));
            }
            let dir = parent.as_ref().and_then(|(_, d)| d.as_ref())?;
            (dir, Path::new(own))
        }
        _ => {
            *parent = Some((path.to_path_buf(), root.open_dir(path)));
            let dir = parent.as_ref().and_then(|(_, d)| d.as_ref())?;
            (dir, Path::new("."))
        }
    };
    // Any attribute read shows the directory is there; only when none
    // could be read does it take a look of its own.
    let mut seen = false;
    let mut at = own.as_os_str().as_bytes().to_vec();
    at.push(b'/');
    let ifindex = match dumped {
        Some(l) => Some(l.ifindex),
        None => attr(dir, &mut at, "ifindex", &mut seen, parse_u32),
    }
    .filter(|i| *i > 0);
    let mac = match dumped {
        Some(l) => l.mac.clone(),
        None => attr(dir, &mut at, "address", &mut seen, |b| {
            Some(attr_text(b)).filter(|m| !m.is_empty())
        }),
    };
    let kind = match dumped {
        Some(l) => Some(l.kind),
        None => attr(dir, &mut at, "type", &mut seen, parse_u32),
    };
    let name_assign_type = attr(dir, &mut at, "name_assign_type", &mut seen, parse_u32);
    if !seen && !dir.is_dir(own) {
        return None;
    }
    Some(Netdev {
        name,
        pci,
        ifindex,
        mac,
        kind,
        name_assign_type,
        udev: DbState::Missing,
        driver: None,
    })
}

/// Reads `attr` of the netdev whose directory `at` names (relative to
/// `dir`, with a trailing `/`), noting in `seen` that it could be read.
fn attr<T>(
    dir: &Dir,
    at: &mut Vec<u8>,
    attr: &str,
    seen: &mut bool,
    parse: impl FnOnce(&[u8]) -> Option<T>,
) -> Option<T> {
    let own = at.len();
    at.extend_from_slice(attr.as_bytes());
    let got = dir.read_bytes_with(std::ffi::OsStr::from_bytes(at), parse);
    at.truncate(own);
    *seen |= got.is_some();
    got.flatten()
}

/// A decimal attribute, as `read_attr(..).parse::<u32>()` would take it:
/// surrounding white space is allowed, nothing else.
fn parse_u32(bytes: &[u8]) -> Option<u32> {
    std::str::from_utf8(bytes).ok()?.trim().parse().ok()
}

/// Whether a device directory holds a `net/` directory (its own, or a
/// virtio child's) that lists no interface here. The kernel creates that
/// class directory with the first netdev and removes it with the last
/// (drivers/base/core.c `get_device_parent`, `cleanup_glue_dir`); its
/// entries are tagged with their network namespace (kobj_ns_type_net), so
/// a netdev moved into a container (`dev_change_net_namespace`, net/core/
/// dev.c) keeps the directory alive but is invisible from here.
pub fn netdevs_in_other_namespace(root: &Root, dir: &str) -> bool {
    let empty_net = |d: &Path| {
        let net = d.join("net");
        root.path(&net).is_dir() && root.list(&net).is_empty()
    };
    let dir = Path::new(dir);
    empty_net(dir)
        || root
            .list(dir)
            .iter()
            .filter(|c| c.as_bytes().starts_with(b"virtio"))
            .any(|c| empty_net(&dir.join(c)))
}

/// The file in which the SR-IOV CNI plugin recorded that it gave this PCI
/// function's netdev to a pod: it saves each attachment's configuration,
/// with the VF's `"deviceID"`, under `var/lib/cni/sriov`
/// (k8snetworkplumbingwg/sriov-cni, `utils.SaveNetConf`).
pub fn cni_attachment(root: &Root, addr: PciAddr) -> Option<String> {
    const DIR: &str = "var/lib/cni/sriov";
    let needle = format!("\"{addr}\"");
    root.list(DIR).into_iter().find_map(|name| {
        let path = Path::new(DIR).join(&name);
        let text = root.read_bytes(&path)?;
        String::from_utf8_lossy(&text)
            .contains(&needle)
            .then(|| path.display().to_string())
    })
}

/// The driver of the parent device of the interface called `name`, two
/// levels up from its directory (`DEVICE/net/NAME`): virtio_net for
/// virtio, mlx4_core for mlx4_en ports. What `ID_NET_DRIVER` falls back to.
pub fn parent_driver_of(root: &Root, name: &str) -> Option<String> {
    let dir = root.resolve_link(Path::new("sys/class/net").join(name))?;
    root.link_name(dir.parent()?.parent()?.join("driver"))
}

/// Lists InfiniBand ports with the PCI function behind each.
pub fn ib_ports(root: &Root) -> Vec<IbPort> {
    let mut out = Vec::new();
    for dev in root.list("sys/class/infiniband") {
        let dev_name = escape_name(dev.as_bytes());
        let base = Path::new("sys/class/infiniband").join(&dev);
        let pci = root
            .resolve_link(base.join("device"))
            .and_then(|p| nearest_pci(&p));
        for port in root.list(base.join("ports")) {
            let Some(n) = port.to_str().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            out.push(IbPort {
                device: dev_name.clone(),
                port: n,
                pci,
                link_layer: root.read_attr(base.join("ports").join(&port).join("link_layer")),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_pci_skips_virtio_and_auxiliary_children() {
        let cases = [
            (
                "sys/devices/pci0000:00/0000:00:03.0/virtio2/net/eth0",
                Some("0000:00:03.0"),
            ),
            (
                "sys/devices/pci0000:00/0000:00:01.0/0000:4B:00.0/net/ib0",
                Some("0000:4b:00.0"),
            ),
            (
                "sys/devices/pci0000:00/0000:00:01.0/0000:04:00.0/mlx5_core.eth.0/net/eth1",
                Some("0000:04:00.0"),
            ),
            ("sys/devices/virtual/net/lo", None),
        ];
        for (case, (path, want)) in cases.into_iter().enumerate() {
            let got = nearest_pci(Path::new(path)).map(|a| a.to_string());
            assert_eq!(got.as_deref(), want, "case {case}");
        }
    }

    #[test]
    fn class_codes_are_decoded() {
        let mut f = PciFunction {
            addr: "0000:4b:00.0".parse().unwrap(),
            class: Some("0x020700".into()),
            vendor: None,
            device: None,
            modalias: None,
            driver: None,
            is_vf: false,
        };
        assert!(f.is_network() && f.is_infiniband());
        f.class = Some("0x010802".into());
        assert!(!f.is_network());
        f.class = Some("garbage".into());
        assert!(!f.is_network() && f.class_code().is_none());
    }

    /// A tree with one PCI function and, under it, a netdev per name.
    fn tree(names: &[&[u8]]) -> tempfile::TempDir {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let func = base.join("sys/devices/pci0000:00/0000:00:03.0");
        std::fs::create_dir_all(&func).unwrap();
        std::fs::create_dir_all(base.join("sys/bus/pci/devices")).unwrap();
        symlink(
            "../../../devices/pci0000:00/0000:00:03.0",
            base.join("sys/bus/pci/devices/0000:00:03.0"),
        )
        .unwrap();
        std::fs::create_dir_all(base.join("sys/class/net")).unwrap();
        for (i, name) in names.iter().enumerate() {
            let name = std::ffi::OsStr::from_bytes(name);
            let d = func.join("net").join(name);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("ifindex"), format!("{}\n", i + 2)).unwrap();
            let target = Path::new("../../devices/pci0000:00/0000:00:03.0/net").join(name);
            symlink(target, base.join("sys/class/net").join(name)).unwrap();
        }
        dir
    }

    #[test]
    fn one_netdev_is_found_by_its_escaped_name() {
        let dir = tree(&[b"eth0", b"e\xff0", b"e\xfe0"]);
        let root = Root::new(dir.path());
        let none = |_: &str| false;
        for (name, ifindex) in [(&b"eth0"[..], 2), (b"e\xff0", 3), (b"e\xfe0", 4)] {
            let n = netdev(&root, &escape_name(name), &none).expect("found");
            assert_eq!(n.name, escape_name(name));
            assert_eq!(n.ifindex, Some(ifindex), "{}", n.name);
            assert_eq!(n.pci, "0000:00:03.0".parse().ok());
        }
        assert_eq!(netdev(&root, "eth1", &none), None);
    }

    #[test]
    fn a_netdev_is_listed_while_its_directory_exists_even_without_attributes() {
        let dir = tree(&[b"eth0", b"eth1", b"eth2"]);
        let net = dir.path().join("sys/devices/pci0000:00/0000:00:03.0/net");
        std::fs::remove_dir_all(net.join("eth1")).unwrap();
        std::fs::remove_file(net.join("eth2/ifindex")).unwrap();
        let root = Root::new(dir.path());
        let none = |_: &str| false;
        let names: Vec<_> = netdevs(&root, &none).into_iter().map(|n| n.name).collect();
        assert_eq!(names, ["eth0", "eth2"], "eth1's link dangles");
        let bare = netdev(&root, "eth2", &none).expect("a directory, no attributes");
        assert_eq!((bare.ifindex, bare.mac, bare.kind), (None, None, None));
        assert_eq!(netdev(&root, "eth1", &none), None);
    }

    #[test]
    fn a_pci_function_is_read_only_while_it_exists() {
        let dir = tree(&[]);
        let root = Root::new(dir.path());
        let (a3, a4) = (
            "0000:00:03.0".parse().unwrap(),
            "0000:00:04.0".parse().unwrap(),
        );
        let class = dir.path().join("sys/devices/pci0000:00/0000:00:03.0/class");
        std::fs::write(class, "0x020000\n").unwrap();
        let f = pci_function_if_present(&root, a3).expect("present");
        assert_eq!((f.addr, f.class.as_deref()), (a3, Some("0x020000")));
        assert_eq!(pci_function_if_present(&root, a4), None);
        std::fs::remove_file(dir.path().join("sys/bus/pci/devices/0000:00:03.0")).unwrap();
        assert_eq!(pci_function_if_present(&root, a3), None);
    }
}
