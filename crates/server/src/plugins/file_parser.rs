//! The `file-parser` plugin (reference §3.2, §3.5): PDFs sent as `file`
//! parts reach a model that cannot read PDFs as text extracted here.
//!
//! * `{"id": "file-parser", "pdf": {"engine": "native" | "pdf-text"}}`:
//!   `native` passes PDFs through untouched; `pdf-text` (and OpenRouter's
//!   hosted engines `cloudflare-ai` and `mistral-ocr`, for which the local
//!   text layer is used: there is no OCR here) turns them into text. Without
//!   an engine (or without the plugin): native when every model the request
//!   names (`model` and `models`) takes `file` input, else text. With
//!   `enabled: false` PDFs always pass through.
//! * Decided once per request, before planning: input modalities belong to
//!   the model, so every endpoint of a model agrees; a request whose
//!   fallback models disagree, or that names a router (`openrouter/auto`),
//!   gets text, which every model reads.
//! * A PDF is a file part whose `file_data` is a `data:` URI of
//!   `application/pdf`, or whose bytes start with `%PDF-`; an `http(s)` URL
//!   is fetched first, SSRF-guarded like all media
//!   ([`switchyard_providers::fetch::fetch_file`]).
//! * The part becomes a text part: the file name, a newline, then the text
//!   (pages separated by blank lines). A PDF that cannot be read, or is
//!   encrypted with a password, is the client's error: 400 naming the file.

use base64::Engine as _;
use serde_json::{Value, json};
use switchyard_api::{ChatRequest, Content, ContentPart};

use super::{Switch, switch};
use crate::error::GatewayError;
use crate::state::AppState;

/// Which way PDFs go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// Passed through as file parts.
    Native,
    /// Replaced by their text.
    Text,
}

/// The engine the request asks for, if any; an unknown one is a 400.
fn asked(req: &ChatRequest) -> Result<Option<Engine>, GatewayError> {
    let Switch::On(o) = switch(req, "file-parser") else { return Ok(None) };
    let Some(engine) = o.get("pdf").and_then(|p| p.get("engine")) else { return Ok(None) };
    match engine.as_str() {
        Some("native") => Ok(Some(Engine::Native)),
        Some("pdf-text" | "cloudflare-ai" | "mistral-ocr") => Ok(Some(Engine::Text)),
        _ => Err(GatewayError::BadRequest(format!(
            "file-parser: unknown pdf engine {engine}; use \"pdf-text\" or \"native\""
        ))),
    }
}

/// Refuses unknown engines.
pub fn validate(req: &ChatRequest) -> Result<(), GatewayError> {
    asked(req).map(|_| ())
}

/// The engine for this request: the one asked for, else native when every
/// named model reads files.
pub fn engine(state: &AppState, req: &ChatRequest, model: &str) -> Result<Engine, GatewayError> {
    if switch(req, "file-parser") == Switch::Off {
        return Ok(Engine::Native);
    }
    if let Some(e) = asked(req)? {
        return Ok(e);
    }
    let reads_files = |slug: &str| {
        switchyard_router::resolve(&state.catalog, slug)
            .ok()
            .and_then(|r| state.catalog.models().get(r.model))
            .is_some_and(|m| m.spec.input_modalities.iter().any(|x| x == "file"))
    };
    let all = std::iter::once(model).chain(req.models.iter().flatten().map(String::as_str)).all(reads_files);
    Ok(if all { Engine::Native } else { Engine::Text })
}

/// Turns the request's PDFs into text when the engine says so. Returns the
/// request and, when PDFs were parsed, a note for the routing record.
pub async fn apply(
    state: &AppState,
    mut req: ChatRequest,
    model: &str,
) -> Result<(ChatRequest, Option<Value>), GatewayError> {
    if !has_files(&req) || engine(state, &req, model)? == Engine::Native {
        return Ok((req, None));
    }
    let mut parsed = Vec::new();
    for m in &mut req.messages {
        let Some(Content::Parts(parts)) = &mut m.content else { continue };
        for part in parts.iter_mut() {
            let ContentPart::File { file, .. } = part else { continue };
            let name = file.get("filename").and_then(Value::as_str).unwrap_or("document.pdf").to_owned();
            let Some(data) = file.get("file_data").and_then(Value::as_str) else { continue };
            let Some(bytes) = pdf_bytes(state, data, &name).await? else { continue };
            let text = extract(bytes, &name).await?;
            parsed.push(json!({"filename": name, "characters": text.chars().count()}));
            *part = ContentPart::Text { text: format!("{name}\n{text}"), extra: Default::default() };
        }
    }
    let note = (!parsed.is_empty()).then(|| json!({"engine": "pdf-text", "files": parsed}));
    Ok((req, note))
}

fn has_files(req: &ChatRequest) -> bool {
    req.messages.iter().any(|m| match &m.content {
        Some(Content::Parts(parts)) => parts.iter().any(|p| matches!(p, ContentPart::File { .. })),
        _ => false,
    })
}

/// The bytes of a PDF given as a data URI or URL; `None` for other files.
async fn pdf_bytes(state: &AppState, data: &str, name: &str) -> Result<Option<Vec<u8>>, GatewayError> {
    let lower = data.get(..8).map(str::to_ascii_lowercase).unwrap_or_default();
    let uri = if lower.starts_with("http://") || lower.starts_with("https://") {
        switchyard_providers::fetch::fetch_file(data, Some(name), &state.media)
            .await
            .map_err(|e| GatewayError::BadRequest(format!("file-parser: {e}")))?
    } else {
        data.to_owned()
    };
    let Some((mime, bytes)) = decode_data_uri(&uri) else {
        return Err(GatewayError::BadRequest(format!(
            "file-parser: file \"{name}\": `file_data` is not a base64 data URI"
        )));
    };
    Ok((mime.eq_ignore_ascii_case("application/pdf") || is_pdf(&bytes)).then_some(bytes))
}

/// `data:<mime>;base64,<data>` to its type and bytes.
fn decode_data_uri(uri: &str) -> Option<(String, Vec<u8>)> {
    let rest = uri.strip_prefix("data:")?;
    let (head, data) = rest.split_once(',')?;
    let mime = head.strip_suffix(";base64")?;
    let clean: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD.decode(clean).ok()?;
    Some((mime.split(';').next().unwrap_or_default().trim().to_owned(), bytes))
}

/// PDF readers accept the header anywhere in the first KiB.
fn is_pdf(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(1024)].windows(5).any(|w| w == b"%PDF-")
}

/// The text of a PDF, off the async threads (parsing is CPU work, and a
/// parser panic on a hostile file ends only that task).
async fn extract(bytes: Vec<u8>, name: &str) -> Result<String, GatewayError> {
    let refuse = |why: String| GatewayError::BadRequest(format!("file-parser: file \"{name}\" {why}"));
    match tokio::task::spawn_blocking(move || pdf_text(&bytes)).await {
        Ok(Ok(text)) => Ok(text),
        Ok(Err(why)) => Err(refuse(why)),
        Err(_) => Err(refuse("could not be read as a PDF".into())),
    }
}

/// Extracts the text layer, page by page.
pub fn pdf_text(bytes: &[u8]) -> Result<String, String> {
    let mut doc = pdf_extract::Document::load_mem(bytes).map_err(|e| format!("could not be read as a PDF: {e}"))?;
    if doc.is_encrypted() && doc.decrypt("").is_err() {
        return Err("is encrypted with a password".into());
    }
    let mut raw = String::new();
    {
        let mut out = pdf_extract::PlainTextOutput::new(&mut raw);
        pdf_extract::output_doc(&doc, &mut out).map_err(|e| format!("could not be read as a PDF: {e}"))?;
    }
    Ok(tidy(&raw))
}

/// Trims lines and keeps at most one blank line in a row.
fn tidy(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut blank = 0;
    for line in raw.lines().map(str::trim_end) {
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

/// A one-page PDF showing `lines` in Helvetica, written by hand (tests).
#[cfg(test)]
pub(crate) fn sample_pdf(lines: &[&str]) -> Vec<u8> {
    let mut stream = String::from("BT /F1 12 Tf 72 720 Td 14 TL\n");
    for l in lines {
        stream.push_str(&format!("({}) Tj T*\n", l.replace('\\', "\\\\").replace('(', "\\(").replace(')', "\\)")));
    }
    stream.push_str("ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        pdf.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    pdf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_the_text_of_a_pdf() {
        let pdf = sample_pdf(&["Quarterly report", "Revenue grew 42 percent"]);
        let text = pdf_text(&pdf).unwrap();
        assert!(text.contains("Quarterly report"), "{text:?}");
        assert!(text.contains("Revenue grew 42 percent"), "{text:?}");
    }

    #[test]
    fn refuses_what_is_not_a_pdf() {
        assert!(pdf_text(b"%PDF-1.4\nthis is not really a pdf").is_err());
        assert!(pdf_text(b"hello").is_err());
        let mut truncated = sample_pdf(&["x"]);
        truncated.truncate(60);
        assert!(pdf_text(&truncated).is_err());
    }

    #[test]
    fn decodes_data_uris_and_spots_pdfs() {
        let (mime, bytes) = decode_data_uri("data:application/pdf;base64,JVBERi0xLjQ=").unwrap();
        assert_eq!(mime, "application/pdf");
        assert!(is_pdf(&bytes));
        assert!(decode_data_uri("data:application/pdf,plain").is_none());
        assert!(decode_data_uri("https://example.com/a.pdf").is_none());
        assert!(!is_pdf(b"GIF89a"));
    }

    #[test]
    fn engines() {
        let req = |plugins: Value| -> ChatRequest {
            serde_json::from_value(json!({"model": "m", "messages": [], "plugins": plugins})).unwrap()
        };
        assert_eq!(
            asked(&req(json!([{"id": "file-parser", "pdf": {"engine": "native"}}]))).unwrap(),
            Some(Engine::Native)
        );
        assert_eq!(
            asked(&req(json!([{"id": "file-parser", "pdf": {"engine": "pdf-text"}}]))).unwrap(),
            Some(Engine::Text)
        );
        assert_eq!(asked(&req(json!([{"id": "file-parser"}]))).unwrap(), None);
        assert!(validate(&req(json!([{"id": "file-parser", "pdf": {"engine": "magic"}}]))).is_err());
    }

    #[test]
    fn tidies_whitespace() {
        assert_eq!(tidy("\n\n a  \n\n\n\nb\nc  \n\n"), " a\n\nb\nc");
    }
}
