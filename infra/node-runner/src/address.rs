//! Loopback addresses for nodes: every node gets its own `127.A.B.C`, so all of them can serve
//! the same port (8200, like real instances) on one machine.
//!
//! The first candidate is derived from a hash of the instance id, so a node's address does not
//! depend on the order instances are discovered in; the runner persists the choice in
//! `nodes.json` so a restarted runner gives a node the address its clients already know.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};

use sha2::{Digest as _, Sha256};

/// Candidates tried per instance before giving up (a collision needs a taken or busy address).
const MAX_ATTEMPTS: u32 = 256;

#[derive(Debug, thiserror::Error)]
#[error(
    "no free loopback address for {instance_id} on port {port} after {MAX_ATTEMPTS} candidates"
)]
pub struct NoFreeAddress {
    pub instance_id: String,
    pub port: u16,
}

/// The `attempt`-th candidate for an instance: `127.A.B.C` with A in 2..=254 (127.0.x.x and
/// 127.1.x.x are left to everything else on the machine: 127.0.0.1, 127.0.0.53, 127.0.1.1) and
/// neither B.C network nor broadcast-looking octets.
pub fn candidate(instance_id: &str, attempt: u32) -> Ipv4Addr {
    let mut h = Sha256::new();
    h.update(instance_id.as_bytes());
    h.update(attempt.to_be_bytes());
    let d = h.finalize();
    Ipv4Addr::new(127, 2 + d[0] % 253, d[1], 1 + d[2] % 254)
}

/// Whether something could listen on `addr:port` now (nothing else is bound there).
pub fn is_free(addr: Ipv4Addr, port: u16) -> bool {
    TcpListener::bind(SocketAddrV4::new(addr, port)).is_ok()
}

/// The first candidate for `instance_id` that no other node holds (`taken`) and that is free.
pub fn allocate(
    instance_id: &str,
    port: u16,
    taken: &HashSet<Ipv4Addr>,
) -> Result<Ipv4Addr, NoFreeAddress> {
    (0..MAX_ATTEMPTS)
        .map(|attempt| candidate(instance_id, attempt))
        .find(|a| !taken.contains(a) && is_free(*a, port))
        .ok_or_else(|| NoFreeAddress { instance_id: instance_id.to_owned(), port })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_deterministic_loopback_and_avoid_reserved_ranges() {
        for i in 0..500 {
            let id = format!("i-{i:017x}");
            let a = candidate(&id, 0);
            assert_eq!(a, candidate(&id, 0), "same id, same address");
            let [x, y, _, z] = a.octets();
            assert_eq!(x, 127);
            assert!((2..=254).contains(&y), "{a}");
            assert!((1..=254).contains(&z), "{a}");
            assert_ne!(a, candidate(&id, 1), "attempts differ");
        }
    }

    #[test]
    fn allocate_skips_taken_and_busy_addresses() {
        let id = "i-0123456789abcdef0";
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
            l.local_addr().unwrap_or_else(|e| panic!("addr: {e}")).port()
        };
        let first = allocate(id, port, &HashSet::new()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first, candidate(id, 0));
        // Held by another node in nodes.json.
        let taken: HashSet<Ipv4Addr> = [first].into();
        let second = allocate(id, port, &taken).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(second, candidate(id, 1));
        // Busy: some process listens there.
        let _busy = TcpListener::bind(SocketAddrV4::new(first, port))
            .unwrap_or_else(|e| panic!("bind {first}: {e}"));
        assert!(!is_free(first, port));
        assert_eq!(allocate(id, port, &HashSet::new()).unwrap_or_else(|e| panic!("{e}")), second);
    }
}
