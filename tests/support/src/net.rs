//! Loopback ports for test servers. Tests never use fixed ports (parallel runs would collide):
//! they bind port 0, or ask here for a port the OS just handed out.

use std::net::{SocketAddr, TcpListener};

/// A loopback address nobody listens on right now: bound on port 0, read, closed. Another
/// process may take it before the caller binds it; launchers that care retry on a new one.
pub fn free_addr() -> SocketAddr {
    let listener =
        TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind 127.0.0.1 port 0: {e}"));
    listener.local_addr().unwrap_or_else(|e| panic!("local address of a bound socket: {e}"))
}

/// The port of [`free_addr`].
pub fn free_port() -> u16 {
    free_addr().port()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_port_can_be_bound() {
        let addr = free_addr();
        assert!(addr.ip().is_loopback(), "{addr}");
        assert_ne!(addr.port(), 0);
        TcpListener::bind(addr).expect("the port just freed binds");
        assert_ne!(free_port(), 0);
    }
}
