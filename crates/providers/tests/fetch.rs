//! Remote media inlining against a local HTTP server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine as _;
use serde_json::{Value, json};
use switchyard_api::chat::{ChatRequest, Content, ContentPart};
use switchyard_providers::ProviderError;
use switchyard_providers::fetch::{FetchPolicy, inline_remote_media, needs_inlining};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR";
const PDF: &[u8] = b"%PDF-1.4\n%tiny\n";

async fn serve() -> SocketAddr {
    let app = Router::new()
        .route("/img.png", get(|| async { ([(header::CONTENT_TYPE, "image/png")], PNG) }))
        .route("/page", get(|| async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], "<html></html>") }))
        .route("/big", get(|| async { ([(header::CONTENT_TYPE, "image/png")], vec![0u8; 64 * 1024]) }))
        .route(
            "/chunked",
            get(|| async {
                let chunks = (0..64).map(|_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![1u8; 1024])));
                ([(header::CONTENT_TYPE, "image/png")], Body::from_stream(futures_util::stream::iter(chunks)))
            }),
        )
        .route("/doc", get(|| async { ([(header::CONTENT_TYPE, "application/pdf")], PDF) }))
        .route("/octet", get(|| async { ([(header::CONTENT_TYPE, "application/octet-stream")], PDF) }))
        .route("/missing", get(|| async { (StatusCode::NOT_FOUND, "nope").into_response() }))
        .route(
            "/moved",
            get(|| async {
                (StatusCode::FOUND, [(header::LOCATION, "http://169.254.169.254/latest")]).into_response()
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                ([(header::CONTENT_TYPE, "image/png")], PNG)
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn with_parts(parts: Value) -> ChatRequest {
    serde_json::from_value(json!({"model": "m", "messages": [{"role": "user", "content": parts}]})).unwrap()
}

fn image(url: String) -> ChatRequest {
    with_parts(
        json!([{"type": "text", "text": "look"}, {"type": "image_url", "image_url": {"url": url, "detail": "high"}}]),
    )
}

fn open() -> FetchPolicy {
    FetchPolicy { allow_private: true, ..FetchPolicy::default() }
}

fn part(req: &ChatRequest, i: usize) -> &ContentPart {
    match &req.messages[0].content {
        Some(Content::Parts(p)) => &p[i],
        other => panic!("unexpected content {other:?}"),
    }
}

async fn refused(mut req: ChatRequest, policy: &FetchPolicy) -> String {
    match inline_remote_media(&mut req, &reqwest::Client::new(), policy).await {
        Err(ProviderError::Unsupported(msg)) => msg,
        other => panic!("expected Unsupported, got {other:?}"),
    }
}

#[tokio::test]
async fn fetch_inlines_png() {
    let addr = serve().await;
    let mut req = image(format!("http://{addr}/img.png"));
    assert!(needs_inlining(&req));
    inline_remote_media(&mut req, &reqwest::Client::new(), &open()).await.unwrap();
    assert!(!needs_inlining(&req));
    let ContentPart::ImageUrl { image_url, .. } = part(&req, 1) else { panic!("not an image part") };
    let b64 = image_url.url.strip_prefix("data:image/png;base64,").expect("png data uri");
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(b64).unwrap(), PNG);
    assert_eq!(image_url.detail.as_deref(), Some("high"));

    // By name: the connection goes to the resolved (checked) address.
    let mut req = image(format!("http://localhost:{}/img.png", addr.port()));
    inline_remote_media(&mut req, &reqwest::Client::new(), &open()).await.unwrap();
    let ContentPart::ImageUrl { image_url, .. } = part(&req, 1) else { panic!("not an image part") };
    assert!(image_url.url.starts_with("data:image/png;base64,"), "{}", image_url.url);
}

#[tokio::test]
async fn fetch_inlines_pdf_files() {
    let addr = serve().await;
    let mut req = with_parts(json!([
        {"type": "file", "file": {"filename": "a.pdf", "file_data": format!("http://{addr}/doc")}},
        {"type": "file", "file": {"filename": "b.pdf", "file_data": format!("http://{addr}/octet")}}
    ]));
    inline_remote_media(&mut req, &reqwest::Client::new(), &open()).await.unwrap();
    let want = format!("data:application/pdf;base64,{}", base64::engine::general_purpose::STANDARD.encode(PDF));
    for i in 0..2 {
        let ContentPart::File { file, .. } = part(&req, i) else { panic!("not a file part") };
        assert_eq!(file["file_data"], want.as_str());
    }
    // Not a PDF by type nor by name.
    let req = with_parts(
        json!([{"type": "file", "file": {"filename": "x.txt", "file_data": format!("http://{addr}/page")}}]),
    );
    let msg = refused(req, &open()).await;
    assert!(msg.contains("is not a PDF (text/html)"), "{msg}");
}

#[tokio::test]
async fn fetch_errors_name_url_and_reason() {
    let addr = serve().await;
    let url = format!("http://{addr}/page");
    let msg = refused(image(url.clone()), &open()).await;
    assert_eq!(msg, format!("image {url} is not an image (text/html)"));

    let url = format!("http://{addr}/missing");
    let msg = refused(image(url.clone()), &open()).await;
    assert_eq!(msg, format!("image {url} could not be fetched: HTTP 404"));

    let small = FetchPolicy { max_bytes: 1024, ..open() };
    let url = format!("http://{addr}/big");
    let msg = refused(image(url.clone()), &small).await;
    assert_eq!(msg, format!("image {url} exceeds 1024 bytes"));
    // Without a Content-Length the cap is enforced while streaming.
    let url = format!("http://{addr}/chunked");
    let msg = refused(image(url.clone()), &small).await;
    assert_eq!(msg, format!("image {url} exceeds 1024 bytes"));

    let msg = refused(image(format!("http://{addr}/moved")), &open()).await;
    assert!(msg.contains("HTTP 302 redirect to http://169.254.169.254/latest"), "{msg}");

    let quick = FetchPolicy { timeout: Duration::from_millis(200), ..open() };
    let msg = refused(image(format!("http://{addr}/slow")), &quick).await;
    assert!(msg.contains("could not be fetched") && msg.contains("200ms"), "{msg}");
}

#[tokio::test]
async fn fetch_guard_refuses_private_addresses() {
    let addr = serve().await;
    let url = format!("http://{addr}/img.png");
    let msg = refused(image(url.clone()), &FetchPolicy::default()).await;
    assert_eq!(msg, format!("image {url} points to a private address 127.0.0.1 (loopback), refused"));

    // Names resolving to loopback are refused too.
    let msg = refused(image(format!("http://localhost:{}/img.png", addr.port())), &FetchPolicy::default()).await;
    assert!(msg.contains("points to a private address") && msg.contains("(loopback)"), "{msg}");

    for (u, ip) in [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://10.0.0.5/x.png", "10.0.0.5"),
        ("http://[::ffff:10.0.0.5]/x.png", "::ffff:10.0.0.5"),
        ("http://[fd00::1]/x.png", "fd00::1"),
        ("http://0x7f.1/x.png", "127.0.0.1"),
    ] {
        let msg = refused(image(u.to_owned()), &FetchPolicy::default()).await;
        assert!(msg.contains(&format!("points to a private address {ip} (")), "{u}: {msg}");
    }

    let file =
        with_parts(json!([{"type": "file", "file": {"filename": "a.pdf", "file_data": format!("http://{addr}/doc")}}]));
    let msg = refused(file, &FetchPolicy::default()).await;
    assert!(msg.starts_with("file http://127.0.0.1:") && msg.contains("private address"), "{msg}");
}
