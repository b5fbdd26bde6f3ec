//! Device events from the `NETLINK_KOBJECT_UEVENT` socket: multicast group 2,
//! udevd's re-broadcast of each event after its rules ran, filtered in the
//! kernel by subsystem, when udevd runs; group 1, the kernel's own, when it
//! does not.
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

/// Parses a kernel uevent (`ACTION@DEVPATH\0KEY=VALUE\0…`) or udevd's
/// re-broadcast of one (the `libudev` header, then `KEY=VALUE\0…`).
pub fn parse(msg: &[u8]) -> Option<Uevent> {
    if let Some(props) = udev_properties(msg) {
        let mut action = None;
        let mut devpath = None;
        let mut subsystem = None;
        for field in props.split(|b| *b == 0) {
            let text = std::str::from_utf8(field).ok();
            let Some((key, value)) = text.and_then(|t| t.split_once('=')) else {
                continue;
            };
            match key {
                "ACTION" => action = Some(value.to_string()),
                "DEVPATH" => devpath = Some(value.to_string()),
                "SUBSYSTEM" => subsystem = Some(value.to_string()),
                _ => {}
            }
        }
        let (action, devpath) = (action?, devpath?);
        return (!action.is_empty() && devpath.starts_with('/')).then_some(Uevent {
            action,
            devpath,
            subsystem,
        });
    }
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
            "pci" => crate::pci::PciAddr::from_kernel(last).map_or(Change::Everything, Change::Pci),
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

/// `monitor_netlink_header` of udevd's broadcasts (systemd
/// src/libsystemd/sd-device/device-monitor.c): `"libudev\0"`, then the magic
/// 0xfeedcafe in network order at byte 8, `properties_off` (host order) at
/// 16, the subsystem's MurmurHash2 in network order at 24.
const UDEV_PREFIX: &[u8; 8] = b"libudev\0";
const UDEV_MAGIC: u32 = 0xfeed_cafe;
const MAGIC_OFF: u32 = 8;
const PROPERTIES_OFF: usize = 16;
const SUBSYSTEM_HASH_OFF: u32 = 24;
/// UDEV_MONITOR_UDEV: the multicast group udevd broadcasts on.
const GROUP_UDEV: u32 = 2;
/// The kernel's own multicast group.
const GROUP_KERNEL: u32 = 1;

/// The properties of a udevd broadcast, or `None` for anything else.
fn udev_properties(msg: &[u8]) -> Option<&[u8]> {
    if msg.get(..8)? != UDEV_PREFIX || msg.get(8..12)? != UDEV_MAGIC.to_be_bytes() {
        return None;
    }
    let off = u32::from_ne_bytes(
        msg.get(PROPERTIES_OFF..PROPERTIES_OFF + 4)?
            .try_into()
            .ok()?,
    );
    msg.get(off as usize..)
}

/// MurmurHash2 (Austin Appleby) with seed 0, as systemd's `string_hash32`
/// hashes a subsystem name for the header (src/basic/MurmurHash2.c; the
/// four-byte blocks are read in host order).
pub fn murmur_hash2(key: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    let mut h = key.len() as u32;
    let mut blocks = key.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_ne_bytes(block.try_into().unwrap_or([0; 4]));
        k = k.wrapping_mul(M);
        k ^= k >> 24;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, b) in tail.iter().enumerate() {
            h ^= u32::from(*b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^ (h >> 15)
}

/// A classic BPF program that passes udevd broadcasts of the relevant
/// subsystems only, the way sd_device_monitor_filter_update() builds one:
/// the kernel drops everything else before it wakes anybody.
fn udev_filter() -> Vec<libc::sock_filter> {
    // linux/bpf_common.h: BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, BPF_RET|BPF_K.
    const LD_W_ABS: u16 = 0x20;
    const JMP_JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;
    let op = |code, jt, jf, k| libc::sock_filter { code, jt, jf, k };
    let mut prog = vec![
        op(LD_W_ABS, 0, 0, MAGIC_OFF),
        op(JMP_JEQ_K, 1, 0, UDEV_MAGIC),
        // Not a udevd message: let the reader decide.
        op(RET_K, 0, 0, u32::MAX),
    ];
    for subsystem in RELEVANT {
        prog.push(op(LD_W_ABS, 0, 0, SUBSYSTEM_HASH_OFF));
        prog.push(op(JMP_JEQ_K, 0, 1, murmur_hash2(subsystem)));
        prog.push(op(RET_K, 0, 0, u32::MAX));
    }
    prog.push(op(RET_K, 0, 0, 0));
    prog
}

/// A bound, non-blocking uevent socket.
pub struct UeventSocket {
    fd: OwnedFd,
}

impl UeventSocket {
    /// Listens to udevd's broadcasts of the relevant subsystems: events
    /// arrive once udevd has written its database, and the others never
    /// wake netsettle.
    pub fn open_udev() -> nix::Result<UeventSocket> {
        Self::open_group(GROUP_UDEV, true)
    }

    /// Listens to the kernel's own uevents (no udevd to re-broadcast them).
    pub fn open() -> nix::Result<UeventSocket> {
        Self::open_group(GROUP_KERNEL, false)
    }

    fn open_group(group: u32, filtered: bool) -> nix::Result<UeventSocket> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            SockProtocol::NetlinkKObjectUEvent,
        )?;
        // Coldplug and module loads come in bursts; a larger buffer makes
        // ENOBUFS rarer (it is handled anyway).
        let _ = setsockopt(&fd, sockopt::RcvBuf, &(1 << 20));
        if filtered {
            let prog = udev_filter();
            let fprog = libc::sock_fprog {
                len: prog.len() as u16,
                filter: prog.as_ptr() as *mut libc::sock_filter,
            };
            // SAFETY: fprog points at `prog`, alive across the call; the
            // kernel copies the program.
            let r = unsafe {
                libc::setsockopt(
                    fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_ATTACH_FILTER,
                    (&fprog as *const libc::sock_fprog).cast(),
                    std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
                )
            };
            if r < 0 {
                return Err(Errno::last());
            }
        }
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, group))?;
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
                Some(Change::Pci("0000:3b:00.1".parse().unwrap())),
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

    /// A udevd broadcast as device_monitor_send_device() builds it.
    fn udev_msg(subsystem: &str, props: &[&str]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(b"libudev\0");
        m.extend_from_slice(&UDEV_MAGIC.to_be_bytes());
        m.extend_from_slice(&40u32.to_ne_bytes()); // header_size
        m.extend_from_slice(&40u32.to_ne_bytes()); // properties_off
        let body: Vec<u8> = props.iter().flat_map(|p| p.bytes().chain([0])).collect();
        m.extend_from_slice(&(body.len() as u32).to_ne_bytes());
        m.extend_from_slice(&murmur_hash2(subsystem.as_bytes()).to_be_bytes());
        m.extend_from_slice(&[0; 12]); // devtype hash, tag bloom
        m.extend_from_slice(&body);
        m
    }

    #[test]
    fn udevd_broadcasts_are_parsed_like_kernel_uevents() {
        let msg = udev_msg(
            "net",
            &[
                "ACTION=add",
                "DEVPATH=/devices/pci0000:00/0000:00:03.0/virtio0/net/ens3",
                "SUBSYSTEM=net",
                "INTERFACE=ens3",
                "ID_NET_DRIVER=virtio_net",
            ],
        );
        let ev = parse(&msg).unwrap();
        assert_eq!(ev.action, "add");
        assert_eq!(ev.change(), Some(Change::Netdevs(Some("ens3".into()))));
        assert_eq!(subsystem_of(&msg), Some(&b"net"[..]));
        let mut bad_magic = msg.clone();
        bad_magic[8] ^= 1;
        assert_eq!(parse(&bad_magic), None);
        assert_eq!(parse(&msg[..30]), None, "cut inside the header");
    }

    #[test]
    fn subsystem_hashes_are_systemds_murmurhash2() {
        // MurmurHash2 with seed 0 of each name, as the reference C code gives.
        let cases: [(&str, u32); 10] = [
            ("net", 0xa74d_3cc8),
            ("pci", 0x5916_3b92),
            ("module", 0x38e3_a30f),
            ("drivers", 0x4d03_5eb4),
            ("infiniband", 0x4ef3_31f5),
            ("infiniband_verbs", 0x34b9_5c1e),
            ("virtio", 0x1d99_42ce),
            ("auxiliary", 0xe48d_fecc),
            ("mem", 0xc365_cd83),
            ("", 0),
        ];
        for (name, want) in cases {
            assert_eq!(murmur_hash2(name.as_bytes()), want, "{name}");
        }
    }

    #[test]
    fn the_udev_filter_passes_the_relevant_subsystems_only() {
        // Run the program the way the kernel does, on real headers.
        fn run(prog: &[libc::sock_filter], pkt: &[u8]) -> u32 {
            let (mut a, mut pc) = (0u32, 0usize);
            loop {
                let i = prog[pc];
                match i.code {
                    0x20 => {
                        let k = i.k as usize;
                        let Some(w) = pkt.get(k..k + 4) else { return 0 };
                        a = u32::from_be_bytes(w.try_into().unwrap());
                        pc += 1;
                    }
                    0x15 => pc += 1 + usize::from(if a == i.k { i.jt } else { i.jf }),
                    0x06 => return i.k,
                    c => panic!("unexpected opcode {c:#x}"),
                }
            }
        }
        let prog = udev_filter();
        for sub in ["net", "pci", "module", "infiniband", "virtio", "auxiliary"] {
            assert_ne!(run(&prog, &udev_msg(sub, &["ACTION=add"])), 0, "{sub}");
        }
        for sub in ["mem", "block", "tty", "cpu"] {
            assert_eq!(run(&prog, &udev_msg(sub, &["ACTION=change"])), 0, "{sub}");
        }
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
