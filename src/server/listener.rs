//! The listening socket: tiny_http (patched, see `vendor/tiny_http/DQ-PATCH.md`) with a
//! receive and send timeout on each accepted connection and a bound on how many are served at
//! once. Shared by `dq serve` and consume's `--listen`.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use anyhow::{Context, Result};

/// Connections beyond the limit whose one request is still read, so a health check (or a
/// quick 503) gets through while the limit is full.
pub const RESERVE: usize = 16;

/// A bound listener: tiny_http's server and the address it listens on.
pub struct Listening {
    pub http: tiny_http::Server,
    pub addr: SocketAddr,
}

/// Binds `bind` (port 0 picks a free one). A client that sends nothing for `request_timeout`
/// (mid-request or between requests) is dropped; at most `max_connections` are served at
/// once, [`RESERVE`] more get one request each, marked `over_capacity()` for the handler to
/// answer (health, or 503), and beyond those tiny_http answers 503 itself and closes.
pub fn listen(bind: &str, request_timeout: Duration, max_connections: usize) -> Result<Listening> {
    let listener = TcpListener::bind(bind).with_context(|| format!("listening on {bind}"))?;
    let addr = listener
        .local_addr()
        .context("reading the listening address")?;
    let limits = tiny_http::Limits {
        socket_timeout: Some(request_timeout),
        max_connections: max_connections.max(1),
        reserve: RESERVE,
    };
    let http = tiny_http::Server::from_listener_with_limits(listener, None, limits)
        .map_err(|error| anyhow::anyhow!("starting the HTTP server: {error}"))?;
    Ok(Listening { http, addr })
}
