//! Every network interface's name, index, type and address in one
//! `RTM_GETLINK` dump of the routing netlink socket.
//!
//! The running system answers what a full scan would otherwise read from
//! three sysfs attributes per interface (`ifindex`, `type`, `address`: an
//! open, a read and a close each) with a few `recv` calls for all of them.
//! Both come from the same `struct net_device`: net/core/rtnetlink.c
//! `rtnl_fill_ifinfo` sets `ifi_index = dev->ifindex`, `ifi_type =
//! dev->type`, puts `IFLA_IFNAME` from `dev->name` and, when
//! `dev->addr_len` is not 0, `IFLA_ADDRESS` from `dev->dev_addr`;
//! net/core/net-sysfs.c prints the same fields (`address` through
//! `sysfs_format_mac`, `%*phC`: lowercase hex pairs joined by `:`).

use std::io;
use std::os::fd::AsRawFd;

use nix::errno::Errno;
use nix::sys::socket::{
    recv, send, setsockopt, socket, sockopt, AddressFamily, MsgFlags, SockFlag, SockProtocol,
    SockType,
};
use nix::sys::time::TimeVal;

/// What the dump says of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkAttrs {
    /// `ifi_index`.
    pub ifindex: u32,
    /// `ifi_type` (ARPHRD_*), sysfs `type`.
    pub kind: u32,
    /// `IFLA_ADDRESS` formatted as sysfs prints `address`; `None` when the
    /// device has no address (`addr_len` 0).
    pub mac: Option<String>,
}

const NLMSG_HDRLEN: usize = 16;
const IFINFOMSG_LEN: usize = 16;
const RTA_HDRLEN: usize = 4;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_EXT_MASK: u16 = 29;
/// include/uapi/linux/rtnetlink.h: leave out the IPv6 and ICMPv6
/// statistics (net/ipv6/addrconf.c `inet6_fill_ifla6_attrs`) and the VF
/// counters, the largest parts of a message; kernels that predate the bit
/// ignore it.
const RTEXT_FILTER_SKIP_STATS: u32 = 1 << 3;

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// The dump request: `nlmsghdr`, `ifinfomsg` (AF_UNSPEC: every family) and
/// an `IFLA_EXT_MASK` attribute.
fn request(seq: u32) -> Vec<u8> {
    let len = NLMSG_HDRLEN + IFINFOMSG_LEN + RTA_HDRLEN + 4;
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&libc::RTM_GETLINK.to_ne_bytes());
    m.extend_from_slice(&((libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16).to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&[0u8; IFINFOMSG_LEN]);
    m.extend_from_slice(&((RTA_HDRLEN + 4) as u16).to_ne_bytes());
    m.extend_from_slice(&IFLA_EXT_MASK.to_ne_bytes());
    m.extend_from_slice(&RTEXT_FILTER_SKIP_STATS.to_ne_bytes());
    m
}

/// What one datagram of the answer held.
#[derive(Debug, PartialEq)]
enum Part {
    /// More messages follow.
    More,
    /// `NLMSG_DONE`: the dump is complete.
    Done,
    /// `NLMSG_ERROR` with this errno, or a message that does not parse.
    Failed(i32),
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Names the interfaces of one datagram of the dump in `out`.
fn parse(buf: &[u8], seq: u32, out: &mut Vec<(Vec<u8>, LinkAttrs)>) -> Part {
    let mut at = 0;
    while at + NLMSG_HDRLEN <= buf.len() {
        let (Some(len), Some(kind), Some(mseq)) =
            (u32_at(buf, at), u16_at(buf, at + 4), u32_at(buf, at + 8))
        else {
            return Part::Failed(libc::EBADMSG);
        };
        let len = len as usize;
        let Some(msg) = (len >= NLMSG_HDRLEN)
            .then(|| buf.get(at..at + len))
            .flatten()
        else {
            return Part::Failed(libc::EBADMSG);
        };
        if mseq != seq {
            // A stale answer to an earlier request on this socket.
        } else if kind == libc::NLMSG_DONE as u16 {
            return Part::Done;
        } else if kind == libc::NLMSG_ERROR as u16 {
            let errno = u32_at(msg, NLMSG_HDRLEN).map_or(libc::EBADMSG, |e| -(e as i32));
            return Part::Failed(errno);
        } else if kind == libc::RTM_NEWLINK {
            if let Some((name, attrs)) = link(&msg[NLMSG_HDRLEN..]) {
                out.push((name, attrs));
            }
        }
        at += align4(len);
    }
    Part::More
}

/// One `RTM_NEWLINK` payload: `ifinfomsg`, then attributes.
fn link(p: &[u8]) -> Option<(Vec<u8>, LinkAttrs)> {
    let kind = u16_at(p, 2)?;
    let ifindex = u32_at(p, 4)?;
    let (mut name, mut mac) = (None, None);
    let mut at = IFINFOMSG_LEN;
    while at + RTA_HDRLEN <= p.len() {
        let len = u16_at(p, at)? as usize;
        let ty = u16_at(p, at + 2)?;
        let value = p.get(at + RTA_HDRLEN..at + len.max(RTA_HDRLEN))?;
        match ty {
            IFLA_IFNAME => {
                let v = value.split(|b| *b == 0).next().unwrap_or_default();
                name = Some(v.to_vec());
            }
            IFLA_ADDRESS if !value.is_empty() => {
                let hex: Vec<String> = value.iter().map(|b| format!("{b:02x}")).collect();
                mac = Some(hex.join(":"));
            }
            _ => {}
        }
        at += align4(len.max(RTA_HDRLEN));
    }
    let attrs = LinkAttrs {
        ifindex,
        kind: u32::from(kind),
        mac,
    };
    Some((name?, attrs))
}

/// Dumps every interface of netsettle's network namespace, each with its
/// name as the kernel stores it; an error when the socket cannot be used.
pub fn dump() -> io::Result<Vec<(Vec<u8>, LinkAttrs)>> {
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkRoute,
    )?;
    // The kernel answers a dump at once; a socket that stays silent (a
    // sandbox that swallows netlink) must not hold the scan: recv fails with
    // EAGAIN after one second and sysfs is read instead.
    setsockopt(&fd, sockopt::ReceiveTimeout, &TimeVal::new(1, 0))?;
    let seq = 1;
    // Unconnected netlink sockets send to the kernel (port 0).
    send(fd.as_raw_fd(), &request(seq), MsgFlags::empty())?;
    let mut out = Vec::new();
    // Documentation/userspace-api/netlink/intro.rst: a dump's datagrams
    // are at most 32 KiB unless the reader offers more.
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = match recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        };
        match parse(&buf[..n], seq, &mut out) {
            Part::More if n > 0 => {}
            Part::More => return Err(io::ErrorKind::UnexpectedEof.into()),
            Part::Done => return Ok(out),
            Part::Failed(errno) => return Err(io::Error::from_raw_os_error(errno)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(ty: u16, value: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&((RTA_HDRLEN + value.len()) as u16).to_ne_bytes());
        a.extend_from_slice(&ty.to_ne_bytes());
        a.extend_from_slice(value);
        a.resize(align4(a.len()), 0);
        a
    }

    fn message(kind: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&((NLMSG_HDRLEN + payload.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&(libc::NLM_F_MULTI as u16).to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(payload);
        m
    }

    fn newlink(ifindex: u32, kind: u16, name: &[u8], addr: Option<&[u8]>) -> Vec<u8> {
        let mut p = vec![0u8, 0];
        p.extend_from_slice(&kind.to_ne_bytes());
        p.extend_from_slice(&ifindex.to_ne_bytes());
        p.extend_from_slice(&[0u8; 8]);
        p.extend(attr(IFLA_IFNAME, &[name, b"\0"].concat()));
        if let Some(addr) = addr {
            p.extend(attr(IFLA_ADDRESS, addr));
        }
        p.extend(attr(16, &[1])); // IFLA_OPERSTATE: ignored
        message(libc::RTM_NEWLINK, 1, &p)
    }

    #[test]
    fn links_are_read_with_names_indexes_types_and_addresses_as_sysfs_prints_them() {
        let mut dgram = newlink(2, 1, b"enp3s0", Some(&[0x0c, 0x42, 0xa1, 0, 0xff, 0x1e]));
        dgram.extend(newlink(5, 32, b"ib0", Some(&[0x80; 20])));
        dgram.extend(newlink(1, 772, b"lo", Some(&[0; 6])));
        dgram.extend(newlink(7, 65534, b"tun0", None));
        dgram.extend(newlink(8, 65534, b"tun1", Some(&[])));
        let mut out = Vec::new();
        assert_eq!(parse(&dgram, 1, &mut out), Part::More);
        let out: std::collections::HashMap<_, _> = out.into_iter().collect();
        assert_eq!(
            out[&b"enp3s0"[..]],
            LinkAttrs {
                ifindex: 2,
                kind: 1,
                mac: Some("0c:42:a1:00:ff:1e".into())
            }
        );
        assert_eq!(out[&b"ib0"[..]].kind, 32);
        assert_eq!(
            out[&b"ib0"[..]].mac.as_deref(),
            Some(["80"; 20].join(":").as_str())
        );
        assert_eq!(out[&b"lo"[..]].mac.as_deref(), Some("00:00:00:00:00:00"));
        assert_eq!(out[&b"tun0"[..]].mac, None);
        assert_eq!(out[&b"tun1"[..]].mac, None);
        assert_eq!(out.len(), 5);
    }

    #[test]
    fn the_request_dumps_every_link_without_statistics() {
        let r = request(7);
        assert_eq!(r.len(), 40);
        assert_eq!(u32_at(&r, 0), Some(40));
        assert_eq!(u16_at(&r, 4), Some(libc::RTM_GETLINK));
        assert_eq!(u16_at(&r, 6), Some(0x301)); // NLM_F_REQUEST | NLM_F_DUMP
        assert_eq!(u32_at(&r, 8), Some(7));
        assert_eq!(&r[16..32], &[0u8; 16]); // ifinfomsg: AF_UNSPEC, any link
        assert_eq!(u16_at(&r, 32), Some(8));
        assert_eq!(u16_at(&r, 34), Some(IFLA_EXT_MASK));
        assert_eq!(u32_at(&r, 36), Some(8)); // RTEXT_FILTER_SKIP_STATS
    }

    #[test]
    fn the_dump_ends_at_done_and_fails_on_an_error_message() {
        let mut out = Vec::new();
        let mut dgram = newlink(3, 1, b"eth0", Some(&[2; 6]));
        dgram.extend(message(libc::NLMSG_DONE as u16, 1, &0u32.to_ne_bytes()));
        assert_eq!(parse(&dgram, 1, &mut out), Part::Done);
        assert_eq!(out[0].0, b"eth0");
        let err = message(libc::NLMSG_ERROR as u16, 1, &(-libc::EPERM).to_ne_bytes());
        assert_eq!(parse(&err, 1, &mut out), Part::Failed(libc::EPERM));
    }

    #[test]
    fn answers_to_another_request_and_broken_messages_are_not_taken() {
        let mut out = Vec::new();
        assert_eq!(
            parse(&newlink(3, 1, b"eth0", Some(&[2; 6])), 9, &mut out),
            Part::More
        );
        assert!(out.is_empty());
        let mut short = newlink(3, 1, b"eth0", Some(&[2; 6]));
        short[0] = 200;
        assert_eq!(parse(&short, 1, &mut out), Part::Failed(libc::EBADMSG));
        let mut runt = newlink(3, 1, b"eth0", Some(&[2; 6]));
        runt[0] = 8;
        assert_eq!(parse(&runt, 1, &mut out), Part::Failed(libc::EBADMSG));
        assert!(out.is_empty());
    }

    #[test]
    fn a_name_is_taken_as_the_kernel_stored_it_up_to_its_nul() {
        let mut out = Vec::new();
        parse(&newlink(4, 1, b"e\xfft", Some(&[2; 6])), 1, &mut out);
        assert_eq!(out[0].0, b"e\xfft");
    }
}
