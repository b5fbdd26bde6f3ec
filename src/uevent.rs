//! Kernel uevents from the `NETLINK_KOBJECT_UEVENT` socket, multicast group 1
//! (the kernel's own; udevd re-broadcasts on group 2 after its rules ran).
//! Each uevent names what changed (its SUBSYSTEM and DEVPATH), and only that
//! is read again; events of other subsystems cost nothing.

use std::collections::BTreeSet;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use crate::snapshot::Change;

use nix::errno::Errno;
use nix::sys::socket::{
    bind, recv, setsockopt, socket, sockopt, AddressFamily, MsgFlags, NetlinkAddr, SockFlag,
    SockProtocol, SockType,
};

/// The parts of a uevent netsettle looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uevent {
    /// `add`, `remove`, `bind`, `move` (rename), …
    pub action: String,
    /// `/devices/pci0000:00/…`
    pub devpath: String,
    /// `SUBSYSTEM=` value, if present.
    pub subsystem: Option<String>,
}

/// Parses a kernel uevent: `ACTION@DEVPATH\0KEY=VALUE\0…`.
pub fn parse(msg: &[u8]) -> Option<Uevent> {
    let mut fields = msg.split(|b| *b == 0);
    let head = std::str::from_utf8(fields.next()?).ok()?;
    let (action, devpath) = head.split_once('@')?;
    if action.is_empty() || !devpath.starts_with('/') {
        return None;
    }
    let subsystem = fields
        .filter_map(|f| f.strip_prefix(b"SUBSYSTEM="))
        .find_map(|v| std::str::from_utf8(v).ok())
        .map(str::to_string);
    Some(Uevent {
        action: action.to_string(),
        devpath: devpath.to_string(),
        subsystem,
    })
}

impl Uevent {
    /// What this event may have changed; `None` for events that cannot
    /// change what netsettle reports (block, tty, cpu, memory, …): those
    /// cost nothing.
    pub fn change(&self) -> Option<Change> {
        let last = self.devpath.rsplit('/').next().unwrap_or("");
        Some(match self.subsystem.as_deref()? {
            // add, remove, move (a rename: DEVPATH is the new name).
            "net" => Change::Netdevs(Some(last.to_string()).filter(|n| !n.is_empty())),
            "pci" if crate::sysfs::is_pci_addr(last) => Change::Pci(last.to_ascii_lowercase()),
            "pci" => Change::Everything,
            // A driver registered or went away; a module finished loading.
            "module" | "drivers" => Change::Modules,
            "infiniband" | "infiniband_verbs" => Change::IbPorts,
            // A child device bound (virtio_net on a virtio device, mlx5's
            // auxiliary eth device): its netdev follows.
            "virtio" | "auxiliary" => Change::Netdevs(None),
            _ => return None,
        })
    }

    /// Whether this event can change what netsettle reports.
    pub fn is_relevant(&self) -> bool {
        self.change().is_some()
    }
}

/// What reading the socket found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Drained {
    /// What the relevant events may have changed.
    pub changes: BTreeSet<Change>,
    /// The kernel dropped events (ENOBUFS): only a full re-read is safe.
    pub overflow: bool,
}

/// A bound, non-blocking uevent socket.
pub struct UeventSocket {
    fd: OwnedFd,
}

impl UeventSocket {
    /// Opens and binds the socket to the kernel's multicast group.
    pub fn open() -> nix::Result<UeventSocket> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            SockProtocol::NetlinkKObjectUEvent,
        )?;
        // Coldplug and module loads come in bursts; a larger buffer makes
        // ENOBUFS rarer (it is handled anyway).
        let _ = setsockopt(&fd, sockopt::RcvBuf, &(1 << 20));
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 1))?;
        Ok(UeventSocket { fd })
    }

    /// Reads every queued message. Events of subsystems that cannot
    /// change readiness are dropped on their SUBSYSTEM field alone, before
    /// anything is parsed or allocated: a storm of them costs a recv each.
    pub fn drain(&self) -> Drained {
        // A kernel uevent fits UEVENT_BUFFER_SIZE (2048 bytes,
        // include/linux/kobject.h) plus its `ACTION@DEVPATH` header.
        let mut buf = [0u8; 8192];
        let mut out = Drained::default();
        loop {
            match recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) {
                Ok(0) => break,
                Ok(n) => {
                    let msg = &buf[..n];
                    if !subsystem_of(msg).is_some_and(|s| RELEVANT.contains(&s)) {
                        continue;
                    }
                    if let Some(ev) = parse(msg) {
                        log::debug!("uevent {}@{} ({:?})", ev.action, ev.devpath, ev.subsystem);
                        out.changes.extend(ev.change());
                    }
                }
                Err(Errno::ENOBUFS) => out.overflow = true,
                Err(Errno::EINTR) => continue,
                Err(_) => break,
            }
        }
        out
    }
}

/// The subsystems whose uevents [`Uevent::change`] maps to a change.
const RELEVANT: [&[u8]; 8] = [
    b"net",
    b"pci",
    b"module",
    b"drivers",
    b"infiniband",
    b"infiniband_verbs",
    b"virtio",
    b"auxiliary",
];

/// The raw `SUBSYSTEM=` value of a uevent message, without parsing the rest.
pub fn subsystem_of(msg: &[u8]) -> Option<&[u8]> {
    msg.split(|b| *b == 0)
        .skip(1)
        .find_map(|f| f.strip_prefix(b"SUBSYSTEM="))
}

impl AsFd for UeventSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_uevents_are_parsed_and_filtered() {
        let msg = b"add@/devices/pci0000:00/0000:00:03.0/virtio0/net/eth0\0ACTION=add\0SUBSYSTEM=net\0INTERFACE=eth0\0";
        let ev = parse(msg).unwrap();
        assert_eq!(ev.action, "add");
        assert_eq!(ev.subsystem.as_deref(), Some("net"));
        assert!(ev.is_relevant());
        let block = parse(b"change@/devices/virtual/block/loop0\0SUBSYSTEM=block\0").unwrap();
        assert!(!block.is_relevant());
    }

    #[test]
    fn each_uevent_names_what_to_read_again() {
        let cases: [(&[u8], Option<Change>); 9] = [
            (
                b"move@/devices/pci0000:00/0000:00:03.0/virtio0/net/ens3\0SUBSYSTEM=net\0DEVPATH_OLD=/devices/pci0000:00/0000:00:03.0/virtio0/net/eth0\0",
                Some(Change::Netdevs(Some("ens3".into()))),
            ),
            (
                b"bind@/devices/pci0000:00/0000:00:1c.0/0000:3B:00.1\0SUBSYSTEM=pci\0DRIVER=i40e\0",
                Some(Change::Pci("0000:3b:00.1".into())),
            ),
            (
                b"add@/devices/pci0000:00/pci_bus/0000:00\0SUBSYSTEM=pci\0",
                Some(Change::Everything),
            ),
            (b"add@/module/mlx4_en\0SUBSYSTEM=module\0", Some(Change::Modules)),
            (b"add@/bus/pci/drivers/e1000e\0SUBSYSTEM=drivers\0", Some(Change::Modules)),
            (
                b"add@/devices/pci0000:00/0000:4b:00.0/infiniband/mlx5_0\0SUBSYSTEM=infiniband\0",
                Some(Change::IbPorts),
            ),
            (
                b"bind@/devices/pci0000:00/0000:00:03.0/virtio0\0SUBSYSTEM=virtio\0",
                Some(Change::Netdevs(None)),
            ),
            (b"change@/devices/virtual/mem/null\0SUBSYSTEM=mem\0", None),
            (b"add@/devices/system/cpu/cpu1\0", None),
        ];
        for (msg, want) in cases {
            assert_eq!(
                parse(msg).unwrap().change(),
                want,
                "{}",
                String::from_utf8_lossy(msg)
            );
        }
    }

    #[test]
    fn the_cheap_subsystem_filter_agrees_with_the_parser() {
        let msgs: [&[u8]; 6] = [
            b"change@/devices/virtual/mem/null\0ACTION=change\0SUBSYSTEM=mem\0",
            b"add@/module/mlx4_en\0SUBSYSTEM=module\0",
            b"bind@/devices/pci0000:00/0000:00:03.0/virtio0\0SUBSYSTEM=virtio\0",
            b"add@/devices/system/cpu/cpu1\0",
            b"add@/devices/x\0SUBSYSTEM=netfoo\0",
            b"add@/devices/x\0XSUBSYSTEM=net\0",
        ];
        for msg in msgs {
            let cheap = subsystem_of(msg).is_some_and(|s| RELEVANT.contains(&s));
            let parsed = parse(msg).is_some_and(|e| e.is_relevant());
            assert_eq!(cheap, parsed, "{}", String::from_utf8_lossy(msg));
        }
        assert_eq!(subsystem_of(b"add@/x\0SUBSYSTEM=pci\0"), Some(&b"pci"[..]));
    }

    #[test]
    fn garbage_is_not_a_uevent() {
        for msg in [
            &b""[..],
            b"libudev\0\xfe\xed",
            b"add",
            b"@/x",
            b"add@rel\0",
            b"\xff@/x",
        ] {
            assert_eq!(parse(msg), None, "{msg:?}");
        }
    }
}
