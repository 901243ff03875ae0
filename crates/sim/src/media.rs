//! Static media for tests of media URLs (`GET /_sim/media/{name}`): a tiny
//! PNG for names ending in `.png`, a tiny PDF for `.pdf`, 404 otherwise.
//! Gateways that must fetch and inline URLs (Gemini, Bedrock) can be
//! pointed here; every fetch is recorded like any other request.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;

use crate::Inner;
use crate::answer::bytes_response;

/// A valid 1x1 RGBA PNG (70 bytes).
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49,
    0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xf8, 0xdf, 0xc0, 0xf0, 0x1f, 0x00, 0x06, 0x80, 0x02, 0x7f, 0xcf, 0x12, 0x09,
    0xf1, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A minimal one-page PDF.
pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n\
2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n\
3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 72 72]>>endobj\n\
trailer<</Root 1 0 R>>\n%%EOF\n";

/// `GET /_sim/media/{name}`.
pub(crate) async fn media(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let mut guard = inner.begin(&parts, serde_json::Value::Null);
    guard.complete();
    let path = parts.uri.path();
    if path.ends_with(".png") {
        bytes_response(StatusCode::OK, "image/png", Body::from(PNG))
    } else if path.ends_with(".pdf") {
        bytes_response(StatusCode::OK, "application/pdf", Body::from(PDF))
    } else {
        bytes_response(StatusCode::NOT_FOUND, "text/plain", Body::from("no such media (simulated)"))
    }
}
