//! The test harness: a simulator, a gateway in front of it, and a key.

use std::time::Duration;

use serde_json::{Value, json};
use switchyard_server::{Config, RunningGateway};
use switchyard_sim::SimServer;

/// Models the harness configures: slug, simulator scenario, prompt and
/// completion price (USD per token).
pub const MODELS: &[(&str, &str, &str, &str)] = &[
    ("sim/text", "tokens=5,prompt_tokens=10", "0.000001", "0.000002"),
    ("sim/long", "tokens=200,token_ms=20", "0.000001", "0.000002"),
    ("sim/tool", "tool", "0.000001", "0.000002"),
    ("sim/tools2", "tools=2", "0.000001", "0.000002"),
    ("sim/json", "json", "0.000001", "0.000002"),
    ("sim/reasoning", "reasoning,cached=4,prompt_tokens=10", "0.000001", "0.000002"),
    ("sim/free", "tokens=3", "0", "0"),
    ("sim/e400", "status=400", "0.000001", "0.000002"),
    ("sim/e401", "status=401", "0.000001", "0.000002"),
    ("sim/e429", "status=429,retry_after=7", "0.000001", "0.000002"),
    ("sim/e500", "status=500", "0.000001", "0.000002"),
    ("sim/e503", "status=503", "0.000001", "0.000002"),
    ("sim/hang", "hang", "0.000001", "0.000002"),
    ("sim/slow-first", "first_byte_ms=900,tokens=2", "0.000001", "0.000002"),
    ("sim/error-event", "error_event", "0.000001", "0.000002"),
    ("sim/error-after", "tokens=10,error_after=3", "0.000001", "0.000002"),
    ("sim/drop-after", "tokens=10,drop_after=3", "0.000001", "0.000002"),
    ("sim/drop-before", "tokens=10,drop_after=0", "0.000001", "0.000002"),
];

/// Models served through the Anthropic protocol: slug and scenario.
pub const ANTHROPIC_MODELS: &[(&str, &str)] = &[
    ("anth/text", "tokens=5,prompt_tokens=10"),
    ("anth/tools", "tools=2"),
    ("anth/reasoning", "reasoning,cached=4,prompt_tokens=10"),
    ("anth/e529", "status=529"),
    ("anth/e400", "status=400"),
    ("anth/error-after", "tokens=10,error_after=3"),
];

/// Models served through the Gemini and Cohere protocols: provider, slug, scenario.
pub const NATIVE_MODELS: &[(&str, &str, &str)] = &[
    ("gem", "gem/text", "tokens=5,prompt_tokens=10"),
    ("gem", "gem/tools", "tools=2"),
    ("gem", "gem/e429", "status=429"),
    ("coh", "coh/text", "tokens=5,prompt_tokens=10"),
    ("coh", "coh/tools", "tools=2"),
    ("coh", "coh/e429", "status=429"),
    ("az", "az/text", "tokens=5,prompt_tokens=10"),
    ("bed", "bed/text", "tokens=5,prompt_tokens=10"),
    ("bed", "bed/tools", "tools=2"),
    ("bed", "bed/e429", "status=429"),
];

/// Embedding models served natively: provider, slug, upstream model (or
/// scenario). All cost $0.10 per million prompt tokens.
pub const EMBED_MODELS: &[(&str, &str, &str)] = &[
    ("gem", "gem/embed", "text-embedding-004"),
    ("gem", "gem/embed-e429", "status=429"),
    ("coh", "coh/embed", "embed-v4.0"),
    ("coh", "coh/embed-e429", "status=429"),
    ("bed", "bed/titan-embed", "amazon.titan-embed-text-v2:0"),
    ("bed", "bed/cohere-embed", "cohere.embed-english-v3"),
    ("bed", "bed/titan-embed-e429", "amazon.titan-embed-text-v2:0,status=429"),
];

/// Chat models in the harness take every input modality, so the media
/// tests reach the adapters rather than the router's modality filter.
const ALL_INPUTS: &str = "input_modalities = [\"text\", \"image\", \"file\", \"audio\"]\n";

/// A running simulator and gateway.
pub struct Env {
    pub sim: SimServer,
    pub gw: RunningGateway,
    pub key: String,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// The harness configuration; `upstream` is extra TOML for the `[upstream]`
/// table, `extra` extra top-level TOML after the providers.
pub fn config_text(sim_url: &str, data_dir: &str, upstream: &str, extra: &str) -> String {
    let root = sim_url.trim_end_matches("/v1");
    let mut t = format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = \"{data_dir}\"\nbuiltin_catalog = false\nmax_body_bytes = 65536\n\
         [upstream]\nfirst_byte_timeout_ms = 1500\nidle_timeout_ms = 1500\nstream_keepalive_ms = 300\n{upstream}\n\
         [[providers]]\nid = \"sim\"\nname = \"Simulator\"\nbase_url = \"{sim_url}\"\napi_key = \"sk-upstream-secret\"\n\
         [[providers]]\nid = \"sim-b\"\nname = \"Simulator B\"\nbase_url = \"{sim_url}\"\n\
         [[providers]]\nid = \"gem\"\nname = \"Gemini Sim\"\nprotocol = \"gemini\"\nbase_url = \"{root}/v1beta\"\napi_key = \"gm-secret\"\n\
         [[providers]]\nid = \"coh\"\nname = \"Cohere Sim\"\nprotocol = \"cohere\"\nbase_url = \"{root}/v2\"\napi_key = \"co-secret\"\n\
         [[providers]]\nid = \"bed\"\nname = \"Bedrock Sim\"\nprotocol = \"bedrock\"\nbase_url = \"{root}\"\n\
         [[providers]]\nid = \"az\"\nname = \"Azure Sim\"\nprotocol = \"azure\"\nbase_url = \"{sim_url}\"\napi_key = \"az-secret\"\n\
         [[providers]]\nid = \"anth\"\nname = \"Anthropic Sim\"\nprotocol = \"anthropic\"\nbase_url = \"{sim_url}\"\napi_key = \"sk-ant-secret\"\n{extra}\n"
    );
    for (slug, scenario, prompt, completion) in MODELS {
        t.push_str(&format!(
            "[[models]]\nid = \"{slug}\"\n{ALL_INPUTS}context_length = 8192\n[[models.endpoints]]\nprovider = \"sim\"\nmodel = \"{scenario}\"\nprompt = \"{prompt}\"\ncompletion = \"{completion}\"\n"
        ));
    }
    for (provider, slug, scenario) in NATIVE_MODELS {
        t.push_str(&format!(
            "[[models]]\nid = \"{slug}\"\n{ALL_INPUTS}[[models.endpoints]]\nprovider = \"{provider}\"\nmodel = \"{scenario}\"\nprompt = \"0.000001\"\ncompletion = \"0.000002\"\n"
        ));
    }
    for (slug, scenario) in ANTHROPIC_MODELS {
        t.push_str(&format!(
            "[[models]]\nid = \"{slug}\"\n{ALL_INPUTS}context_length = 200000\n[[models.endpoints]]\nprovider = \"anth\"\nmodel = \"{scenario}\"\nprompt = \"0.000003\"\ncompletion = \"0.000015\"\ninput_cache_read = \"0.0000003\"\n"
        ));
    }
    t.push_str(
        "[[models]]\nid = \"sim/embed\"\noutput_modalities = [\"embeddings\"]\n[[models.endpoints]]\nprovider = \"sim\"\nmodel = \"embed\"\nprompt = \"0.00000002\"\n",
    );
    for (provider, slug, model) in EMBED_MODELS {
        t.push_str(&format!(
            "[[models]]\nid = \"{slug}\"\noutput_modalities = [\"embeddings\"]\n[[models.endpoints]]\nprovider = \"{provider}\"\nmodel = \"{model}\"\nprompt = \"0.0000001\"\n"
        ));
    }
    // A model whose free endpoint (tried first while healthy) fails: the gateway must fall back.
    t.push_str(
        "[[models]]\nid = \"sim/fallback\"\n[[models.endpoints]]\nprovider = \"sim\"\nmodel = \"status=500\"\n\
         [[models.endpoints]]\nprovider = \"sim-b\"\nmodel = \"tokens=4\"\nprompt = \"0.000001\"\ncompletion = \"0.000002\"\n",
    );
    t
}

/// The only environment the gateway sees in tests: AWS credentials for the
/// Bedrock simulator's signed requests.
pub fn test_env(name: &str) -> Option<String> {
    match name {
        "AWS_ACCESS_KEY_ID" => Some("AKIDSWITCHYARDTEST".into()),
        "AWS_SECRET_ACCESS_KEY" => Some("test-secret-key".into()),
        "AWS_REGION" => Some("us-west-2".into()),
        _ => None,
    }
}

impl Env {
    pub async fn start() -> Env {
        Env::start_with("").await
    }

    /// Starts with extra top-level TOML appended to the provider section.
    pub async fn start_with(extra: &str) -> Env {
        let extra = extra.to_owned();
        Env::start_with_fn(move |_| extra).await
    }

    /// Starts with extra provider TOML made from the simulator's root URL.
    pub async fn start_with_fn(extra: impl FnOnce(&str) -> String) -> Env {
        Env::start_with_upstream_fn("", extra).await
    }

    /// Like [`Env::start_with_fn`], with extra TOML for the `[upstream]` table
    /// (e.g. `allow_private_media_urls = true`).
    pub async fn start_with_upstream_fn(upstream: &str, extra: impl FnOnce(&str) -> String) -> Env {
        let sim = SimServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let extra = extra(sim.base_url().trim_end_matches("/v1"));
        let text = config_text(&sim.base_url(), &dir.path().join("data").display().to_string(), upstream, &extra);
        let cfg = Config::from_toml(&text).unwrap();
        let gw = switchyard_server::start(cfg, &test_env, std::future::pending()).await.unwrap();
        let account = gw.store().default_account().await.unwrap().unwrap();
        let key = gw.store().create_key(&account.id, "test", false, None).await.unwrap().plaintext;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
        Env { sim, gw, key, http, _dir: dir }
    }

    /// Starts with a Vertex AI provider `vtx` (a fresh service-account key
    /// whose token endpoint is the simulator's) and the given `[[models]]`
    /// TOML. The returned directory holds the key file.
    pub async fn start_with_vertex(models: &str) -> (Env, tempfile::TempDir) {
        Env::start_with_vertex_upstream("", models).await
    }

    /// Like [`Env::start_with_vertex`], with extra TOML for the `[upstream]` table.
    pub async fn start_with_vertex_upstream(upstream: &str, models: &str) -> (Env, tempfile::TempDir) {
        use rsa::pkcs8::{EncodePrivateKey as _, LineEnding};
        let keys = tempfile::tempdir().unwrap();
        let key_path = keys.path().join("sa.json");
        let pem =
            rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap().to_pkcs8_pem(LineEnding::LF).unwrap();
        let env = Env::start_with_upstream_fn(upstream, |root| {
            let sa = json!({
                "type": "service_account",
                "project_id": "sim-project",
                "private_key_id": "k1",
                "private_key": pem.as_str(),
                "client_email": "gateway@sim-project.iam.gserviceaccount.com",
                "token_uri": format!("{root}/token"),
            });
            std::fs::write(&key_path, sa.to_string()).unwrap();
            format!(
                "[[providers]]\nid = \"vtx\"\nname = \"Vertex Sim\"\nprotocol = \"vertex\"\nbase_url = \"{root}/v1\"\n\
                 credentials_file = \"{}\"\nregion = \"europe-west4\"\n{models}",
                key_path.display()
            )
        })
        .await;
        (env, keys)
    }

    /// A new management key of the harness's (default) account.
    pub async fn admin_key(&self) -> String {
        let store = self.gw.store();
        let account = store.default_account().await.unwrap().unwrap();
        store.create_key(&account.id, "admin", true, None).await.unwrap().plaintext
    }

    /// Sends `method path` with `key` and an optional JSON body; the answer's
    /// status and body (JSON, or the text as a JSON string).
    pub async fn send(&self, method: &str, key: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, self.url(path)).bearer_auth(key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gw.base_url())
    }

    /// POSTs a chat request with the harness key.
    pub async fn chat(&self, body: Value) -> reqwest::Response {
        self.chat_as(&self.key, body).await
    }

    pub async fn chat_as(&self, key: &str, body: Value) -> reqwest::Response {
        self.http.post(self.url("/chat/completions")).bearer_auth(key).json(&body).send().await.unwrap()
    }

    pub async fn get_as(&self, key: &str, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).bearer_auth(key).send().await.unwrap()
    }

    /// Polls `/generation` until the background writer has stored it.
    pub async fn generation(&self, key: &str, id: &str) -> reqwest::Response {
        for _ in 0..100 {
            let r = self.get_as(key, &format!("/generation?id={id}")).await;
            if r.status() != 404 {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.get_as(key, &format!("/generation?id={id}")).await
    }

    /// The generation record as JSON, waiting for it to be written.
    pub async fn generation_json(&self, id: &str) -> Value {
        let r = self.generation(&self.key, id).await;
        assert_eq!(r.status(), 200, "generation {id}");
        r.json::<Value>().await.unwrap()["data"].clone()
    }
}

/// A one-message chat body.
pub fn body(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Hello, simulator."}]})
}

/// A one-message streaming chat body.
pub fn stream_body(model: &str) -> Value {
    json!({"model": model, "stream": true, "messages": [{"role": "user", "content": "Hello, simulator."}]})
}

/// Splits an SSE body into its `data:` payloads and counts comment lines.
pub fn sse_events(text: &str) -> (Vec<String>, usize) {
    let mut data = Vec::new();
    let mut comments = 0;
    for block in text.split("\n\n") {
        for line in block.lines() {
            if let Some(d) = line.strip_prefix("data: ") {
                data.push(d.to_owned());
            } else if line.starts_with(':') {
                comments += 1;
            }
        }
    }
    (data, comments)
}

/// Parsed JSON chunks of an SSE body (everything but `[DONE]`).
pub fn chunks(events: &[String]) -> Vec<Value> {
    events.iter().filter(|e| *e != "[DONE]").map(|e| serde_json::from_str(e).unwrap()).collect()
}
