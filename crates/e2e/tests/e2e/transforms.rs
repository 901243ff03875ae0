//! Request and answer transforms: the file-parser plugin (PDFs as text for
//! models that cannot read them), response healing (broken JSON repaired)
//! and middle-out context compression.

use serde_json::{Value, json};

use crate::common::Env;

/// Models for these tests: one that reads only text, one answering broken
/// JSON, and one with a 2,048-token window.
const MODELS: &str = "[[models]]\nid = \"tx/text-only\"\ninput_modalities = [\"text\"]\ncontext_length = 8192\n\
    [[models.endpoints]]\nprovider = \"sim\"\nmodel = \"tokens=3\"\nprompt = \"0.000001\"\ncompletion = \"0.000002\"\n\
    [[models]]\nid = \"tx/broken-json\"\ncontext_length = 8192\n\
    [[models.endpoints]]\nprovider = \"sim\"\n\
    model = \"content=Sure%21%20Here%20it%20is%3A%0A%60%60%60json%0A%7Bname%3A%20%27Ada%27%2C%20langs%3A%20%5B%27en%27%2C%20%27fr%27%2C%5D%2C%0A\"\n\
    prompt = \"0.000001\"\ncompletion = \"0.000002\"\n\
    [[models]]\nid = \"tx/small\"\ncontext_length = 2048\n\
    [[models.endpoints]]\nprovider = \"sim\"\nmodel = \"tokens=2\"\nprompt = \"0.000001\"\ncompletion = \"0.000002\"\n";

/// A one-page PDF showing `lines` in Helvetica, written by hand: header,
/// five objects, a cross-reference table with their offsets, the trailer.
fn pdf(lines: &[&str]) -> Vec<u8> {
    let mut stream = String::from("BT /F1 12 Tf 72 720 Td 14 TL\n");
    for l in lines {
        stream.push_str(&format!("({l}) Tj T*\n"));
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
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    let trailer = format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1);
    out.extend_from_slice(trailer.as_bytes());
    out
}

/// Standard base64, for the data URI.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn with_pdf(model: &str, filename: &str, bytes: &[u8]) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "Summarize this report."},
        {"type": "file", "file": {"filename": filename, "file_data": format!("data:application/pdf;base64,{}", base64(bytes))}}
    ]}]})
}

/// The body the simulator got last.
fn last_upstream(env: &Env) -> Value {
    env.sim.requests().last().unwrap().body.clone()
}

#[tokio::test]
async fn a_pdf_reaches_a_text_only_model_as_text() {
    let env = Env::start_with(MODELS).await;
    let doc = pdf(&["Quarterly report", "Revenue grew 42 percent"]);
    let r = env.chat(with_pdf("tx/text-only", "report.pdf", &doc)).await;
    assert_eq!(r.status(), 200);
    let id = r.headers()["x-generation-id"].to_str().unwrap().to_owned();
    let body = last_upstream(&env);
    let sent = body["messages"][0]["content"].to_string();
    assert!(!sent.contains("file_data") && !sent.contains("\"file\""), "{sent}");
    assert!(sent.contains("report.pdf\\n"), "{sent}");
    assert!(sent.contains("Quarterly report") && sent.contains("Revenue grew 42 percent"), "{sent}");
    let g = env.generation_json(&id).await;
    assert_eq!(g["routing"]["file_parser"]["engine"], "pdf-text", "{g}");
    assert_eq!(g["routing"]["file_parser"]["files"][0]["filename"], "report.pdf");
}

#[tokio::test]
async fn a_pdf_capable_model_gets_the_pdf_natively_unless_text_is_asked_for() {
    let env = Env::start_with(MODELS).await;
    let doc = pdf(&["Native handling"]);
    let uri = format!("data:application/pdf;base64,{}", base64(&doc));
    let r = env.chat(with_pdf("sim/text", "native.pdf", &doc)).await;
    assert_eq!(r.status(), 200);
    let sent = last_upstream(&env)["messages"][0]["content"].clone();
    let file = sent.as_array().unwrap().iter().find(|p| p["type"] == "file").expect("file part passed through");
    assert_eq!(file["file"]["file_data"], uri.as_str());

    let mut b = with_pdf("sim/text", "native.pdf", &doc);
    b["plugins"] = json!([{"id": "file-parser", "pdf": {"engine": "pdf-text"}}]);
    assert_eq!(env.chat(b).await.status(), 200);
    let sent = last_upstream(&env)["messages"][0]["content"].to_string();
    assert!(sent.contains("Native handling") && !sent.contains("file_data"), "{sent}");

    // `native` forces the file through, so a text-only model has no endpoint.
    let mut b = with_pdf("tx/text-only", "native.pdf", &doc);
    b["plugins"] = json!([{"id": "file-parser", "pdf": {"engine": "native"}}]);
    let r = env.chat(b).await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_broken_or_unknown_pdf_is_a_400_naming_the_file() {
    let env = Env::start_with(MODELS).await;
    let before = env.sim.requests().len();
    let r = env.chat(with_pdf("tx/text-only", "broken.pdf", b"%PDF-1.7\nnot a real document")).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], 400);
    assert!(v["error"]["message"].as_str().unwrap().contains("broken.pdf"), "{v}");
    let mut b = with_pdf("tx/text-only", "x.pdf", &pdf(&["x"]));
    b["plugins"] = json!([{"id": "file-parser", "pdf": {"engine": "telepathy"}}]);
    assert_eq!(env.chat(b).await.status(), 400);
    assert_eq!(env.sim.requests().len(), before, "nothing went upstream");
}

fn json_request(plugins: Value) -> Value {
    json!({
        "model": "tx/broken-json",
        "messages": [{"role": "user", "content": "Who wrote the first program? JSON please."}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "person", "strict": true, "schema": {
            "type": "object", "required": ["name", "langs"],
            "properties": {"name": {"type": "string"}, "langs": {"type": "array", "items": {"type": "string"}}}
        }}},
        "plugins": plugins,
    })
}

#[tokio::test]
async fn response_healing_repairs_broken_json() {
    let env = Env::start_with(MODELS).await;
    let broken = "Sure! Here it is:\n```json\n{name: 'Ada', langs: ['en', 'fr',],\n";
    let v: Value = env.chat(json_request(json!([]))).await.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], broken, "untouched without the plugin");
    assert!(v.get("response_healing").is_none());

    let v: Value = env.chat(json_request(json!([{"id": "response-healing"}]))).await.json().await.unwrap();
    let content = v["choices"][0]["message"]["content"].as_str().unwrap();
    let parsed: Value = serde_json::from_str(content).unwrap();
    assert_eq!(parsed, json!({"name": "Ada", "langs": ["en", "fr"]}));
    assert_eq!(v["response_healing"][0]["status"], "repaired", "{v}");

    // Repaired JSON that the schema refuses is left as it came.
    let mut b = json_request(json!([{"id": "response-healing"}]));
    b["response_format"]["json_schema"]["schema"]["properties"]["name"] = json!({"type": "integer"});
    let v: Value = env.chat(b).await.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], broken);
    assert_eq!(v["response_healing"][0]["status"], "schema_mismatch", "{v}");
    assert!(v["response_healing"][0]["errors"][0].as_str().unwrap().contains("/name"), "{v}");
}

/// A system prompt and `turns` alternating user/assistant turns of ~100 tokens.
fn long_conversation(turns: usize, extra: Value) -> Value {
    let mut messages = vec![json!({"role": "system", "content": "You are a patient assistant."})];
    for i in 0..turns {
        let role = if i % 2 == 0 { "user" } else { "assistant" };
        let filler = "the gateway keeps the conversation going ".repeat(16);
        messages.push(json!({"role": role, "content": format!("turn {i}: {filler}")}));
    }
    let mut b = json!({"model": "tx/small", "messages": messages, "max_tokens": 100});
    b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    b
}

#[tokio::test]
async fn middle_out_fits_a_long_conversation_into_a_small_window() {
    let env = Env::start_with(MODELS).await;
    // On by default for a 2,048-token window.
    let r = env.chat(long_conversation(30, json!({}))).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let id = r.headers()["x-generation-id"].to_str().unwrap().to_owned();
    let sent = last_upstream(&env)["messages"].as_array().unwrap().clone();
    let text = |m: &Value| m["content"].as_str().unwrap().to_owned();
    assert!(sent.len() < 31 && sent.len() >= 3, "{} messages", sent.len());
    assert_eq!(text(&sent[0]), "You are a patient assistant.");
    assert!(text(&sent[1]).starts_with("turn 0:"));
    assert!(text(sent.last().unwrap()).starts_with("turn 29:"));
    let g = env.generation_json(&id).await;
    let note = &g["provider_responses"][0]["compression"];
    assert_eq!(note["engine"], "middle-out", "{g}");
    assert_eq!(note["context_length"], 2048);
    assert_eq!(note["removed"].as_array().unwrap().len(), 31 - sent.len());

    // Asked for explicitly (or the legacy transform), same thing.
    let b = long_conversation(30, json!({"plugins": [{"id": "context-compression"}]}));
    assert_eq!(env.chat(b).await.status(), 200);
    assert!(last_upstream(&env)["messages"].as_array().unwrap().len() < 31);
    assert_eq!(env.chat(long_conversation(30, json!({"transforms": ["middle-out"]}))).await.status(), 200);
}

#[tokio::test]
async fn without_compression_a_long_prompt_is_a_400_suggesting_it() {
    let env = Env::start_with(MODELS).await;
    let before = env.sim.requests().len();
    for extra in [json!({"plugins": [{"id": "context-compression", "enabled": false}]}), json!({"transforms": []})] {
        let r = env.chat(long_conversation(30, extra)).await;
        assert_eq!(r.status(), 400);
        let v: Value = r.json().await.unwrap();
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains("context-compression"), "{v}");
        assert_eq!(v["error"]["metadata"]["error_type"], "context_length_exceeded", "{v}");
    }
    assert_eq!(env.sim.requests().len(), before, "nothing went upstream");
    // A short conversation is not touched.
    let r = env.chat(long_conversation(2, json!({}))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(last_upstream(&env)["messages"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_pdf_url_is_fetched_safely_then_parsed_or_refused() {
    let url_body = |root: &str| {
        json!({"model": "tx/text-only", "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Read this."},
            {"type": "file", "file": {"filename": "doc.pdf", "file_data": format!("{root}/_sim/media/doc.pdf")}}
        ]}]})
    };
    // Loopback is not a public address: refused unless the operator allows it.
    let env = Env::start_with(MODELS).await;
    let root = env.sim.base_url().trim_end_matches("/v1").to_owned();
    let r = env.chat(url_body(&root)).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"].as_str().unwrap().contains("file-parser"), "{v}");

    let env = Env::start_with_upstream_fn("allow_private_media_urls = true", |_| MODELS.to_owned()).await;
    let root = env.sim.base_url().trim_end_matches("/v1").to_owned();
    let r = env.chat(url_body(&root)).await;
    // The simulator's fixture PDF has no cross-reference table: fetched,
    // then refused as unreadable, naming the file; no model was called.
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("doc.pdf") && message.contains("could not be read as a PDF"), "{v}");
    let reqs = env.sim.requests();
    assert!(reqs.iter().any(|q| q.method == "GET" && q.path == "/_sim/media/doc.pdf"), "fetched");
    assert!(reqs.iter().all(|q| q.method == "GET"), "no chat request went upstream");
}
