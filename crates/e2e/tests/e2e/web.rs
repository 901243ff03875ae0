//! The web plugin: an external engine (a loopback fake speaking Exa's and
//! Tavily's APIs) whose results reach the upstream prompt and come back as
//! citations, charged per result; `:online`; refusals; native search on
//! the OpenAI and Anthropic protocols with the simulator.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::common::{Env, body, chunks, sse_events, stream_body};

/// What the fake engine received: path, headers, JSON body.
type Seen = Arc<Mutex<Vec<(String, HeaderMap, Value)>>>;

/// A search engine on loopback answering every request with `status` and
/// three Exa-and-Tavily-shaped results.
async fn fake_engine(status: u16) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = Router::new().fallback(move |uri: Uri, headers: HeaderMap, bytes: Bytes| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push((
                uri.path().to_owned(),
                headers,
                serde_json::from_slice(&bytes).unwrap_or_default(),
            ));
            let results: Vec<Value> = (1..=3)
                .map(|i| {
                    json!({"url": format!("https://news{i}.example.com/story"), "title": format!("Story {i}"),
                           "text": format!("Body of story {i}."), "content": format!("Body of story {i}."),
                           "publishedDate": "2026-11-01T00:00:00.000Z"})
                })
                .collect();
            (StatusCode::from_u16(status).unwrap(), axum::Json(json!({"requestId": "req-1", "results": results})))
                .into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

/// A gateway whose default engine is Exa at the fake; `status` is what
/// the fake answers. Also: a free model, an OpenAI-protocol model that
/// takes `web_search_options` and an Anthropic one, both priced per search.
async fn env_with_engine(status: u16) -> (Env, Seen) {
    let (url, seen) = fake_engine(status).await;
    let extra = format!(
        "[search]\nengine = \"exa\"\n[search.exa]\napi_key = \"exa-test-key\"\nbase_url = \"{url}\"\n\
         [search.tavily]\napi_key = \"tvly-test\"\nbase_url = \"{url}\"\nprice_per_result = \"0.01\"\n\
         [[models]]\nid = \"sim/search\"\nsupported_parameters = [\"web_search_options\", \"tools\"]\n\
         [[models.endpoints]]\nprovider = \"sim\"\nmodel = \"tokens=5,prompt_tokens=10\"\nprompt = \"0.000001\"\n\
         completion = \"0.000002\"\nweb_search = \"0.01\"\n\
         [[models]]\nid = \"anth/search\"\n[[models.endpoints]]\nprovider = \"anth\"\n\
         model = \"tokens=5,prompt_tokens=10\"\nprompt = \"0.000001\"\ncompletion = \"0.000002\"\nweb_search = \"0.01\"\n\
         [[models]]\nid = \"gem/search\"\n[[models.endpoints]]\nprovider = \"gem\"\n\
         model = \"tokens=5,prompt_tokens=10\"\nprompt = \"0.000001\"\ncompletion = \"0.000002\"\nweb_search = \"0.035\"\n"
    );
    (Env::start_with(&extra).await, seen)
}

fn with_web(mut b: Value, plugin: Value) -> Value {
    b["plugins"] = json!([plugin]);
    b
}

/// The text of the last user message the upstream received.
fn upstream_prompt(env: &Env) -> String {
    let reqs = env.sim.requests();
    let last = reqs.last().expect("the upstream got a request");
    let msgs = last.body["messages"].as_array().unwrap();
    let user = msgs.iter().rev().find(|m| m["role"] == "user").unwrap();
    match &user["content"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[tokio::test]
async fn engine_results_reach_the_prompt_and_come_back_as_citations() {
    let (env, seen) = env_with_engine(200).await;
    let r = env.chat(with_web(body("sim/text"), json!({"id": "web", "max_results": 2}))).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();

    // The engine got Exa's request.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let (path, headers, sent) = &seen[0];
    assert_eq!(path, "/search");
    assert_eq!(headers["x-api-key"], "exa-test-key");
    assert_eq!(sent["query"], "Hello, simulator.");
    assert_eq!(sent["numResults"], 2);

    // The upstream prompt carries the instructions and the two results kept.
    let prompt = upstream_prompt(&env);
    assert!(prompt.starts_with("Hello, simulator.\n\nA web search was conducted on "), "{prompt}");
    assert!(prompt.contains("Cite them using markdown links named using the domain of the source."));
    assert!(prompt.contains("[1] Story 1\nURL: https://news1.example.com/story"), "{prompt}");
    assert!(prompt.contains("Body of story 2."));
    assert!(!prompt.contains("Story 3"), "max_results caps the results");

    // The answer cites both.
    let annotations = v["choices"][0]["message"]["annotations"].as_array().unwrap();
    assert_eq!(annotations.len(), 2);
    assert_eq!(annotations[0]["type"], "url_citation");
    assert_eq!(annotations[0]["url_citation"]["url"], "https://news1.example.com/story");
    assert_eq!(annotations[1]["url_citation"]["title"], "Story 2");
    assert_eq!(annotations[1]["url_citation"]["content"], "Body of story 2.");

    // Tokens (10 x $1/M + 5 x $2/M) plus 2 results at $4 per 1000.
    let usage = &v["usage"];
    assert!(close(usage["cost"].as_f64().unwrap(), 0.00002 + 0.008), "{usage}");
    assert!(close(usage["cost_details"]["web_search_cost"].as_f64().unwrap(), 0.008), "{usage}");
    assert_eq!(usage["server_tool_use_details"]["web_search_requests"], 1);

    let id = v["id"].as_str().unwrap();
    let g = env.generation_json(id).await;
    assert_eq!(g["web_search_engine"], "exa");
    assert_eq!(g["num_search_results"], 2);
    assert!(close(g["total_cost"].as_f64().unwrap(), 0.00802), "{g}");
}

#[tokio::test]
async fn streamed_answers_get_citations_before_the_finish() {
    let (env, _) = env_with_engine(200).await;
    let b = with_web(stream_body("sim/text"), json!({"id": "web", "engine": "tavily", "max_results": 3}));
    let r = env.chat(b).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let (events, _) = sse_events(&text);
    assert_eq!(events.last().unwrap(), "[DONE]");
    let cs = chunks(&events);
    let cited = cs.iter().position(|c| c["choices"][0]["delta"]["annotations"].is_array()).expect("annotations");
    let finish = cs.iter().position(|c| c["choices"][0]["finish_reason"].is_string()).unwrap();
    assert!(cited < finish, "citations come before the finish");
    assert_eq!(cs[cited]["choices"][0]["delta"]["annotations"].as_array().unwrap().len(), 3);
    // Tavily at $0.01 a result.
    let usage = &cs.last().unwrap()["usage"];
    assert!(close(usage["cost"].as_f64().unwrap(), 0.00002 + 0.03), "{usage}");
    assert!(upstream_prompt(&env).contains("[3] Story 3"));
}

#[tokio::test]
async fn online_variant_searches_with_the_defaults() {
    let (env, seen) = env_with_engine(200).await;
    let r = env.chat(body("sim/text:online")).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["model"], "sim/text");
    assert_eq!(seen.lock().unwrap()[0].2["numResults"], 5);
    assert_eq!(v["choices"][0]["message"]["annotations"].as_array().unwrap().len(), 3);
    assert!(upstream_prompt(&env).contains("[2] Story 2"));
    // The upstream is asked for the base model.
    assert_eq!(env.sim.requests().last().unwrap().body["model"], "tokens=5,prompt_tokens=10");
}

#[tokio::test]
async fn free_models_still_pay_for_results() {
    let (env, _) = env_with_engine(200).await;
    let r = env.chat(with_web(body("sim/free"), json!({"id": "web", "max_results": 1}))).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(close(v["usage"]["cost"].as_f64().unwrap(), 0.004), "{}", v["usage"]);
}

#[tokio::test]
async fn disabled_plugin_does_not_search() {
    let (env, seen) = env_with_engine(200).await;
    let r = env.chat(with_web(body("sim/text:online"), json!({"id": "web", "enabled": false}))).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(seen.lock().unwrap().is_empty());
    assert!(v["choices"][0]["message"].get("annotations").is_none());
    assert_eq!(upstream_prompt(&env), "Hello, simulator.");
}

#[tokio::test]
async fn unconfigured_engines_are_refused() {
    let (env, seen) = env_with_engine(200).await;
    let r = env.chat(with_web(body("sim/text"), json!({"id": "web", "engine": "brave"}))).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], 400);
    assert_eq!(v["error"]["message"], "web search engine `brave` is not configured");
    let r = env.chat(with_web(body("sim/text"), json!({"id": "web", "engine": "firecrawl"}))).await;
    assert_eq!(r.status(), 400);
    assert!(seen.lock().unwrap().is_empty());
    assert!(env.sim.requests().is_empty(), "nothing went upstream");

    // No engine at all.
    let bare = Env::start().await;
    let r = bare.chat(body("sim/text:online")).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["message"], "web search needs a search engine, and none is configured");
}

#[tokio::test]
async fn failing_engine_is_a_502_and_nothing_is_asked_upstream() {
    let (env, seen) = env_with_engine(500).await;
    let r = env.chat(with_web(body("sim/text"), json!({"id": "web"}))).await;
    assert_eq!(r.status(), 502);
    let v: Value = r.json().await.unwrap();
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("web search (exa): web search failed: the search engine returned 500"), "{message}");
    assert_eq!(v["error"]["metadata"]["error_type"], "provider_unavailable");
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert!(env.sim.requests().is_empty());
}

#[tokio::test]
async fn openai_native_search_passes_web_search_options() {
    let (env, seen) = env_with_engine(200).await;
    let plugin = json!({"id": "web", "search_context_size": "high"});
    let r = env.chat(with_web(body("sim/search"), plugin.clone())).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(seen.lock().unwrap().is_empty(), "no engine for a model that searches itself");
    let sent = env.sim.requests().last().unwrap().body.clone();
    assert_eq!(sent["web_search_options"], json!({"search_context_size": "high"}));
    assert_eq!(upstream_prompt(&env), "Hello, simulator.");
    let a = &v["choices"][0]["message"]["annotations"][0];
    assert_eq!(a["url_citation"]["url"], "https://sim.example/search-result");
    // Tokens plus one search at the endpoint's $0.01.
    assert!(close(v["usage"]["cost"].as_f64().unwrap(), 0.00002 + 0.01), "{}", v["usage"]);
    let g = env.generation_json(v["id"].as_str().unwrap()).await;
    assert_eq!(g["web_search_engine"], "native");

    // Streamed: the simulator's annotation delta reaches the client.
    let r = env.chat(with_web(stream_body("sim/search"), plugin)).await;
    let cs = chunks(&sse_events(&r.text().await.unwrap()).0);
    assert!(cs.iter().any(|c| c["choices"][0]["delta"]["annotations"][0]["type"] == "url_citation"));

    // An engine named explicitly wins over native search.
    let r = env.chat(with_web(body("sim/search"), json!({"id": "web", "engine": "exa", "max_results": 1}))).await;
    assert_eq!(r.status(), 200);
    assert!(env.sim.requests().last().unwrap().body.get("web_search_options").is_none());
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn native_is_refused_where_the_model_cannot_search() {
    let (env, _) = env_with_engine(200).await;
    let r = env.chat(with_web(body("sim/text"), json!({"id": "web", "engine": "native"}))).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"]["message"].as_str().unwrap().contains("native search is not available"));
}

#[tokio::test]
async fn anthropic_native_search_uses_the_server_tool() {
    let (env, seen) = env_with_engine(200).await;
    let plugin = json!({"id": "web", "max_uses": 2, "include_domains": ["example.com"]});
    let r = env.chat(with_web(body("anth/search"), plugin.clone())).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(seen.lock().unwrap().is_empty());
    let sent = env.sim.requests().last().unwrap().body.clone();
    assert_eq!(
        sent["tools"],
        json!([{"type": "web_search_20250305", "name": "web_search", "max_uses": 2, "allowed_domains": ["example.com"]}])
    );
    assert!(sent.get("web_search_options").is_none(), "Anthropic refuses unknown fields");
    let message = &v["choices"][0]["message"];
    let content = message["content"].as_str().unwrap();
    let a = &message["annotations"][0]["url_citation"];
    assert_eq!(a["url"], "https://sim.example/search-result");
    assert_eq!(a["content"], "Simulated cited text.");
    assert_eq!(a["start_index"], 0);
    assert_eq!(a["end_index"].as_u64().unwrap() as usize, content.chars().count());
    assert_eq!(v["usage"]["server_tool_use_details"]["web_search_requests"], 1);
    assert!(close(v["usage"]["cost"].as_f64().unwrap(), 0.00002 + 0.01), "{}", v["usage"]);

    let r = env.chat(with_web(stream_body("anth/search"), plugin)).await;
    let cs = chunks(&sse_events(&r.text().await.unwrap()).0);
    let cited = cs.iter().find(|c| c["choices"][0]["delta"]["annotations"].is_array()).expect("annotations");
    assert_eq!(cited["choices"][0]["delta"]["annotations"][0]["url_citation"]["title"], "Simulated search result");
    let usage = &cs.last().unwrap()["usage"];
    assert!(close(usage["cost"].as_f64().unwrap(), 0.00002 + 0.01), "{usage}");
}

#[tokio::test]
async fn the_search_cost_is_reserved_before_searching() {
    let (env, seen) = env_with_engine(200).await;
    let store = env.gw.store();
    let account = store.create_account("searcher", switchyard_store::Billing::Prepaid).await.unwrap();
    let credit = switchyard_api::NanoUsd::parse_usd("0.01").unwrap();
    store.grant_credits(&account.id, credit, "purchase").await.unwrap();
    let key = store.create_key(&account.id, "s", false, None).await.unwrap().plaintext;

    // Five results could cost $0.02, more than the $0.01 balance, even on a free model.
    let r = env.chat_as(&key, with_web(body("sim/free"), json!({"id": "web"}))).await;
    assert_eq!(r.status(), 402);
    assert!(seen.lock().unwrap().is_empty(), "no search without the money for it");

    let r = env.chat_as(&key, with_web(body("sim/free"), json!({"id": "web", "max_results": 2}))).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(close(v["usage"]["cost"].as_f64().unwrap(), 0.008), "{}", v["usage"]);
    assert_eq!(env.generation(&key, v["id"].as_str().unwrap()).await.status(), 200);

    // $0.002 left: not enough for two more results.
    let r = env.chat_as(&key, with_web(body("sim/free"), json!({"id": "web", "max_results": 2}))).await;
    assert_eq!(r.status(), 402);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_requests_own_web_search_options_is_charged_native_search() {
    let (env, seen) = env_with_engine(200).await;
    let mut b = body("sim/search");
    b["web_search_options"] = json!({"search_context_size": "low"});
    let v: Value = env.chat(b).await.json().await.unwrap();
    assert_eq!(env.sim.requests().last().unwrap().body["web_search_options"], json!({"search_context_size": "low"}));
    assert!(close(v["usage"]["cost"].as_f64().unwrap(), 0.00002 + 0.01), "{}", v["usage"]);

    // Where the endpoints cannot search natively it is only passed along.
    let mut b = body("sim/text");
    b["web_search_options"] = json!({});
    let v: Value = env.chat(b).await.json().await.unwrap();
    assert!(close(v["usage"]["cost"].as_f64().unwrap(), 0.00002), "{}", v["usage"]);
    assert!(v["usage"]["cost_details"].get("web_search_cost").is_none());
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn gemini_native_search_is_google_search_grounding() {
    let (env, seen) = env_with_engine(200).await;
    let r = env.chat(with_web(body("gem/search"), json!({"id": "web"}))).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(seen.lock().unwrap().is_empty());
    let sent = env.sim.requests().last().unwrap().body.clone();
    assert_eq!(sent["tools"], json!([{"google_search": {}}]));
    let message = &v["choices"][0]["message"];
    let a = &message["annotations"][0]["url_citation"];
    assert_eq!(a["url"], "https://sim.example/search-result");
    assert_eq!(a["start_index"], 0);
    assert_eq!(a["end_index"].as_u64().unwrap() as usize, message["content"].as_str().unwrap().chars().count());
    // Tokens plus one grounded request at the endpoint's $0.035.
    assert!(close(v["usage"]["cost"].as_f64().unwrap(), 0.00002 + 0.035), "{}", v["usage"]);

    let r = env.chat(with_web(stream_body("gem/search"), json!({"id": "web"}))).await;
    let cs = chunks(&sse_events(&r.text().await.unwrap()).0);
    let cited = cs.iter().position(|c| c["choices"][0]["delta"]["annotations"].is_array()).expect("annotations");
    let finish = cs.iter().position(|c| c["choices"][0]["finish_reason"].is_string()).unwrap();
    assert!(cited < finish);
    let usage = &cs.last().unwrap()["usage"];
    assert!(close(usage["cost"].as_f64().unwrap(), 0.00002 + 0.035), "{usage}");
}
