//! Fetches remote media (`http(s)` image and file URLs) and inlines it as
//! `data:<mime>;base64,<data>` URIs, for native protocols that cannot take
//! URLs (Gemini AI Studio, Bedrock Converse).
//!
//! The fetch is made on the client's behalf, so it is guarded against SSRF:
//! only `http`/`https`, every resolved address must be public (unless
//! [`FetchPolicy::allow_private`]), the connection is pinned to the address
//! that was checked (no second DNS lookup, so no rebinding), redirects are not
//! followed, and the body size and total time are capped. Every failure is the
//! client's: [`ProviderError::Unsupported`] naming the URL and the reason.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use base64::Engine as _;
use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use reqwest::Url;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::redirect::Policy;
use serde_json::Value;
use switchyard_api::chat::{ChatRequest, Content, ContentPart};

use crate::error::ProviderError;

/// How many fetches run at once for one request.
const CONCURRENCY: usize = 4;
/// URLs longer than this are shortened in error messages.
const MAX_URL_IN_MESSAGE: usize = 200;

/// Limits on fetching remote media.
#[derive(Clone, Debug)]
pub struct FetchPolicy {
    /// Largest body accepted per URL, in bytes.
    pub max_bytes: usize,
    /// Deadline per URL, DNS lookup and body included.
    pub timeout: Duration,
    /// Allow loopback, private, link-local and other non-public addresses.
    /// Only for tests and trusted deployments.
    pub allow_private: bool,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        FetchPolicy { max_bytes: 20 * 1024 * 1024, timeout: Duration::from_secs(15), allow_private: false }
    }
}

/// True when the request has an image or file part given by `http(s)` URL.
pub fn needs_inlining(req: &ChatRequest) -> bool {
    req.messages.iter().any(|m| match &m.content {
        Some(Content::Parts(parts)) => parts.iter().any(|p| remote_url(p).is_some()),
        _ => false,
    })
}

/// Replaces every `http(s)` image or file URL in the request with a data URI
/// of the fetched content. Stops at the first failure.
///
/// `_client` is not used for the connection: each fetch builds its own client
/// pinned to the checked address, without proxies and without redirects.
pub async fn inline_remote_media(
    req: &mut ChatRequest,
    _client: &reqwest::Client,
    policy: &FetchPolicy,
) -> Result<(), ProviderError> {
    let mut jobs = Vec::new();
    for (mi, m) in req.messages.iter().enumerate() {
        if let Some(Content::Parts(parts)) = &m.content {
            for (pi, p) in parts.iter().enumerate() {
                if let Some((kind, url)) = remote_url(p) {
                    let filename = match p {
                        ContentPart::File { file, .. } => {
                            file.get("filename").and_then(Value::as_str).map(str::to_owned)
                        }
                        _ => None,
                    };
                    jobs.push(Job { mi, pi, kind, url: url.to_owned(), filename });
                }
            }
        }
    }
    if jobs.is_empty() {
        return Ok(());
    }
    let results: Vec<(usize, usize, String)> = stream::iter(jobs)
        .map(|job| async move {
            let uri = fetch_one(&job, policy).await?;
            Ok::<_, ProviderError>((job.mi, job.pi, uri))
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    for (mi, pi, uri) in results {
        let Some(Content::Parts(parts)) = req.messages.get_mut(mi).and_then(|m| m.content.as_mut()) else {
            continue;
        };
        match parts.get_mut(pi) {
            Some(ContentPart::ImageUrl { image_url, .. }) => image_url.url = uri,
            Some(ContentPart::File { file: Value::Object(file), .. }) => {
                file.insert("file_data".to_owned(), Value::String(uri));
            }
            _ => {}
        }
    }
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Image,
    File,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::File => "file",
        }
    }
}

struct Job {
    mi: usize,
    pi: usize,
    kind: Kind,
    url: String,
    filename: Option<String>,
}

fn is_http_url(url: &str) -> bool {
    let lower = |n: usize| url.get(..n).map(str::to_ascii_lowercase);
    lower(7).as_deref() == Some("http://") || lower(8).as_deref() == Some("https://")
}

fn remote_url(part: &ContentPart) -> Option<(Kind, &str)> {
    match part {
        ContentPart::ImageUrl { image_url, .. } if is_http_url(&image_url.url) => {
            Some((Kind::Image, image_url.url.as_str()))
        }
        ContentPart::File { file, .. } => {
            file.get("file_data").and_then(Value::as_str).filter(|u| is_http_url(u)).map(|u| (Kind::File, u))
        }
        _ => None,
    }
}

/// Why an address may not be fetched, or `None` when it is public.
pub fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

/// True when the address is a public unicast address that may be fetched.
pub fn is_public_ip(ip: IpAddr) -> bool {
    non_public_reason(ip).is_none()
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_broadcast() => "broadcast",
        (0, _, _) => "unspecified",
        (127, _, _) => "loopback",
        (10, _, _) | (192, 168, _) => "private",
        (172, 16..=31, _) => "private",
        (169, 254, _) => "link-local",
        (100, 64..=127, _) => "shared (CGNAT)",
        (192, 0, 0) => "IETF protocol",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (198, 18..=19, _) => "benchmarking",
        (224..=239, _, _) => "multicast",
        (240..=255, _, _) => "reserved",
        _ => return None,
    })
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    // Forms that embed an IPv4 address are judged by that address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_reason(v4);
    }
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    // Deprecated IPv4-compatible ::a.b.c.d.
    if s[..6] == [0; 6] {
        return v4_reason(embedded_v4(s[6], s[7])).or(Some("reserved"));
    }
    // NAT64 64:ff9b::/96 and 64:ff9b:1::/48.
    if s[0] == 0x64 && s[1] == 0xff9b {
        return v4_reason(embedded_v4(s[6], s[7]));
    }
    // 6to4 2002::/16 embeds the IPv4 address in the next 32 bits.
    if s[0] == 0x2002 {
        return v4_reason(embedded_v4(s[1], s[2]));
    }
    Some(match s[0] {
        x if x & 0xfe00 == 0xfc00 => "private",
        x if x & 0xffc0 == 0xfe80 => "link-local",
        x if x & 0xffc0 == 0xfec0 => "site-local",
        x if x & 0xff00 == 0xff00 => "multicast",
        0x2001 if s[1] == 0x0db8 => "documentation",
        0x3fff if s[1] & 0xf000 == 0 => "documentation",
        0x0100 if s[1..4] == [0; 3] => "discard",
        _ => return None,
    })
}

fn short(url: &str) -> String {
    if url.len() <= MAX_URL_IN_MESSAGE {
        return url.to_owned();
    }
    let mut end = MAX_URL_IN_MESSAGE;
    while !url.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &url[..end])
}

/// Fetches one file URL (a file part's `file_data`) under `policy`, as a
/// `data:` URI; `filename` helps name its type when the server does not.
pub async fn fetch_file(url: &str, filename: Option<&str>, policy: &FetchPolicy) -> Result<String, ProviderError> {
    let job = Job { mi: 0, pi: 0, kind: Kind::File, url: url.to_owned(), filename: filename.map(str::to_owned) };
    fetch_one(&job, policy).await
}

async fn fetch_one(job: &Job, policy: &FetchPolicy) -> Result<String, ProviderError> {
    let what = job.kind.noun();
    let shown = short(&job.url);
    let refuse = |why: String| ProviderError::Unsupported(format!("{what} {shown} {why}"));
    let not_fetched = |why: String| refuse(format!("could not be fetched: {why}"));
    match tokio::time::timeout(policy.timeout, fetch_checked(job, policy)).await {
        Err(_) => Err(not_fetched(format!("timed out after {:?}", policy.timeout))),
        Ok(Err(Failure::Refused(why))) => Err(refuse(why)),
        Ok(Err(Failure::NotFetched(why))) => Err(not_fetched(why)),
        Ok(Ok(uri)) => Ok(uri),
    }
}

enum Failure {
    /// "<what> <url> {why}".
    Refused(String),
    /// "<what> <url> could not be fetched: {why}".
    NotFetched(String),
}

async fn fetch_checked(job: &Job, policy: &FetchPolicy) -> Result<String, Failure> {
    let url = Url::parse(&job.url).map_err(|e| Failure::Refused(format!("is not a valid URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Failure::Refused(format!("uses the unsupported scheme {}", url.scheme())));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Failure::Refused("carries credentials, refused".to_owned()));
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let Some(host) = url.host_str() else {
        return Err(Failure::Refused("has no host".to_owned()));
    };
    let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let (domain, addrs): (Option<String>, Vec<SocketAddr>) = match literal.parse::<IpAddr>() {
        Ok(ip) => (None, vec![SocketAddr::new(ip, port)]),
        Err(_) => {
            let found = tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| Failure::NotFetched(format!("cannot resolve {host}: {e}")))?;
            (Some(host.to_owned()), found.collect())
        }
    };
    if addrs.is_empty() {
        return Err(Failure::NotFetched("the host has no addresses".to_owned()));
    }
    if !policy.allow_private {
        for a in &addrs {
            if let Some(reason) = non_public_reason(a.ip()) {
                return Err(Failure::Refused(format!("points to a private address {} ({reason}), refused", a.ip())));
            }
        }
    }
    let mut builder = reqwest::Client::builder().redirect(Policy::none()).no_proxy().referer(false);
    if let Some(d) = &domain {
        // Connect only to the addresses that were checked (no second lookup).
        builder = builder.resolve_to_addrs(d, &addrs);
    }
    let client = builder.build().map_err(|e| Failure::NotFetched(format!("client setup failed: {e}")))?;
    let mut resp = client.get(url).send().await.map_err(|e| Failure::NotFetched(transport(&e)))?;
    let status = resp.status();
    if status.is_redirection() {
        let to = resp.headers().get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("nowhere");
        return Err(Failure::NotFetched(format!(
            "HTTP {} redirect to {} (redirects are not followed)",
            status.as_u16(),
            short(to)
        )));
    }
    if !status.is_success() {
        return Err(Failure::NotFetched(format!("HTTP {}", status.as_u16())));
    }
    let too_big = || Failure::Refused(format!("exceeds {} bytes", policy.max_bytes));
    if resp.content_length().is_some_and(|n| n > policy.max_bytes as u64) {
        return Err(too_big());
    }
    let mime = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    // Check the type before reading the body where the type alone decides.
    if job.kind == Kind::Image && !is_image(&mime) {
        return Err(Failure::Refused(format!("is not an image ({})", shown_mime(&mime))));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| Failure::NotFetched(transport(&e)))? {
        if body.len() + chunk.len() > policy.max_bytes {
            return Err(too_big());
        }
        body.extend_from_slice(&chunk);
    }
    let mime = match job.kind {
        Kind::Image => mime,
        Kind::File if mime == "application/pdf" => mime,
        Kind::File if names_pdf(job.filename.as_deref(), url_path(&job.url)) && body.starts_with(b"%PDF-") => {
            "application/pdf".to_owned()
        }
        Kind::File => return Err(Failure::Refused(format!("is not a PDF ({})", shown_mime(&mime)))),
    };
    Ok(format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(&body)))
}

fn is_image(mime: &str) -> bool {
    mime.strip_prefix("image/").is_some_and(|sub| !sub.is_empty())
}

fn shown_mime(mime: &str) -> &str {
    if mime.is_empty() { "no content-type" } else { mime }
}

fn url_path(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

fn names_pdf(filename: Option<&str>, path: &str) -> bool {
    let pdf = |s: &str| s.len() >= 4 && s.get(s.len() - 4..).is_some_and(|e| e.eq_ignore_ascii_case(".pdf"));
    filename.is_some_and(pdf) || pdf(path)
}

fn transport(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg = format!("{msg}: {s}");
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Option<&'static str> {
        non_public_reason(IpAddr::V4(s.parse().unwrap()))
    }
    fn v6(s: &str) -> Option<&'static str> {
        non_public_reason(IpAddr::V6(s.parse().unwrap()))
    }

    #[test]
    fn classifies_ipv4() {
        let table = [
            ("0.0.0.0", Some("unspecified")),
            ("0.1.2.3", Some("unspecified")),
            ("127.0.0.1", Some("loopback")),
            ("127.255.0.9", Some("loopback")),
            ("10.0.0.5", Some("private")),
            ("172.16.0.1", Some("private")),
            ("172.31.255.255", Some("private")),
            ("192.168.1.1", Some("private")),
            ("169.254.169.254", Some("link-local")),
            ("100.64.0.1", Some("shared (CGNAT)")),
            ("100.127.255.255", Some("shared (CGNAT)")),
            ("192.0.0.8", Some("IETF protocol")),
            ("192.0.2.1", Some("documentation")),
            ("198.51.100.7", Some("documentation")),
            ("203.0.113.9", Some("documentation")),
            ("198.18.0.1", Some("benchmarking")),
            ("224.0.0.1", Some("multicast")),
            ("239.255.255.250", Some("multicast")),
            ("240.0.0.1", Some("reserved")),
            ("255.255.255.255", Some("broadcast")),
            ("8.8.8.8", None),
            ("1.1.1.1", None),
            ("172.15.255.255", None),
            ("172.32.0.1", None),
            ("100.63.255.255", None),
            ("100.128.0.1", None),
            ("169.253.1.1", None),
            ("192.169.0.1", None),
            ("93.184.216.34", None),
        ];
        for (ip, want) in table {
            assert_eq!(v4(ip), want, "{ip}");
        }
    }

    #[test]
    fn classifies_ipv6_and_mapped() {
        let table = [
            ("::", Some("unspecified")),
            ("::1", Some("loopback")),
            ("fc00::1", Some("private")),
            ("fd12:3456::1", Some("private")),
            ("fe80::1", Some("link-local")),
            ("febf::1", Some("link-local")),
            ("fec0::1", Some("site-local")),
            ("ff02::1", Some("multicast")),
            ("2001:db8::1", Some("documentation")),
            ("3fff::1", Some("documentation")),
            ("100::1", Some("discard")),
            ("::ffff:127.0.0.1", Some("loopback")),
            ("::ffff:10.0.0.5", Some("private")),
            ("::ffff:169.254.169.254", Some("link-local")),
            ("::ffff:7f00:1", Some("loopback")),
            ("::127.0.0.1", Some("loopback")),
            ("::8.8.8.8", Some("reserved")),
            ("64:ff9b::a00:5", Some("private")),
            ("64:ff9b::a9fe:a9fe", Some("link-local")),
            ("2002:a00:1::1", Some("private")),
            ("2002:7f00:1::", Some("loopback")),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b::808:808", None),
            ("2002:808:808::1", None),
            ("2606:4700:4700::1111", None),
            ("2001:4860:4860::8888", None),
            ("fbff::1", None),
        ];
        for (ip, want) in table {
            assert_eq!(v6(ip), want, "{ip}");
        }
        assert!(is_public_ip("8.8.8.8".parse().unwrap()));
        assert!(!is_public_ip("::1".parse().unwrap()));
    }

    fn request(parts: serde_json::Value) -> ChatRequest {
        serde_json::from_value(serde_json::json!({
            "model": "m",
            "messages": [{"role": "system", "content": "plain"}, {"role": "user", "content": parts}]
        }))
        .unwrap()
    }

    #[test]
    fn detects_remote_media() {
        let text = request(serde_json::json!([{"type": "text", "text": "hi"}]));
        assert!(!needs_inlining(&text));
        let data = request(serde_json::json!([
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"}},
            {"type": "file", "file": {"file_id": "file-123"}}
        ]));
        assert!(!needs_inlining(&data));
        let image =
            request(serde_json::json!([{"type": "image_url", "image_url": {"url": "HTTPS://x.example/a.png"}}]));
        assert!(needs_inlining(&image));
        let file = request(serde_json::json!([
            {"type": "file", "file": {"filename": "a.pdf", "file_data": "http://x.example/a.pdf"}}
        ]));
        assert!(needs_inlining(&file));
        let ftp = request(serde_json::json!([{"type": "image_url", "image_url": {"url": "ftp://x.example/a.png"}}]));
        assert!(!needs_inlining(&ftp));
    }

    #[tokio::test]
    async fn data_urls_are_left_alone() {
        let mut req = request(serde_json::json!([
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"}}
        ]));
        let before = serde_json::to_value(&req).unwrap();
        inline_remote_media(&mut req, &reqwest::Client::new(), &FetchPolicy::default()).await.unwrap();
        assert_eq!(serde_json::to_value(&req).unwrap(), before);
    }

    #[test]
    fn pdf_names_and_defaults() {
        assert!(names_pdf(Some("Report.PDF"), "https://x/y"));
        assert!(names_pdf(None, url_path("https://x/y.pdf?sig=1")));
        assert!(!names_pdf(Some("a.txt"), "https://x/y"));
        let p = FetchPolicy::default();
        assert_eq!(p.max_bytes, 20_971_520);
        assert_eq!(p.timeout, Duration::from_secs(15));
        assert!(!p.allow_private);
    }
}
