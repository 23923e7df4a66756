//! Free loopback ports. The OS picks a port for a listener we close at once; the
//! window in which another process could take it is small, and every service start
//! retries on a bind failure.

use std::net::TcpListener;

/// Returns `n` distinct free TCP ports on 127.0.0.1.
pub fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    // Hold all listeners until every port is picked so the OS cannot hand one out twice.
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}
