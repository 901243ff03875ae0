//! `Server-Timing`: the gateway's own time apart from the upstream's, so
//! every response shows the overhead it paid for.

use std::time::Duration;

use axum::http::HeaderValue;

/// `gateway;dur=X, upstream;dur=Y` in milliseconds; `total` includes `upstream`.
pub fn server_timing(total: Duration, upstream: Duration) -> HeaderValue {
    let up = upstream.as_secs_f64() * 1e3;
    let gw = (total.saturating_sub(upstream)).as_secs_f64() * 1e3;
    let text = format!("gateway;dur={gw:.3};desc=\"Switchyard\", upstream;dur={up:.3};desc=\"Provider\"");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("gateway"))
}
