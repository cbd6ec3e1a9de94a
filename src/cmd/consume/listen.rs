//! The consumer's own HTTP listener (`--listen`, or `0.0.0.0:$PORT` on a hosting platform):
//! `/health` and `/metrics`, on a thread of its own.

use std::sync::Arc;
use std::thread;

use anyhow::{Context, Result};
use serde_json::json;

use super::metrics::Metrics;
use crate::secret::mask_url;

/// `/health` and `/metrics` on `address`, in a thread of its own.
pub(super) fn serve_health(address: &str, metrics: Arc<Metrics>) -> Result<()> {
    let server = tiny_http::Server::http(address)
        .map_err(|error| anyhow::anyhow!("{error}"))
        .with_context(|| format!("listening on {address}"))?;
    eprintln!(
        "dq: answering /health and /metrics on http://{}",
        server
            .server_addr()
            .to_ip()
            .map_or_else(|| mask_url(address), |address| address.to_string())
    );
    thread::Builder::new()
        .name("listen".into())
        .spawn(move || {
            for request in server.incoming_requests() {
                let path = request.url().split('?').next().unwrap_or("").to_string();
                let (status, content_type, body) = match path.as_str() {
                    "/health" | "/" | "/discord/health" => {
                        let totals = metrics.totals();
                        (
                            200,
                            "application/json",
                            json!({
                                "status": "healthy",
                                "success": true,
                                "delivered": totals.delivered,
                                "failed": totals.failed,
                            })
                            .to_string(),
                        )
                    }
                    "/metrics" => (200, "text/plain; version=0.0.4", metrics.prometheus()),
                    _ => (
                        404,
                        "application/json",
                        json!({"success": false, "error": "not found"}).to_string(),
                    ),
                };
                let mut response = tiny_http::Response::from_string(body).with_status_code(status);
                if let Ok(header) =
                    tiny_http::Header::from_bytes(&b"Content-Type"[..], content_type.as_bytes())
                {
                    response.add_header(header);
                }
                let _ = request.respond(response);
            }
        })
        .context("starting the health server")?;
    Ok(())
}
