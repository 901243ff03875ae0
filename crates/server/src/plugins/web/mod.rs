//! The `web` plugin (reference §3.5, `:online` §7.3): web search around a
//! chat request. Either the provider searches itself (native: OpenAI's
//! `web_search_options`, Anthropic's `web_search` server tool, Gemini's
//! `google_search` grounding) and its
//! citations come back as `annotations`, or the gateway asks an external
//! engine ([`search`]), puts the results in the prompt and returns them as
//! `url_citation` annotations. Searches are charged on top of the model's
//! tokens, even on free models and even when the model call then fails
//! (the engine was paid): per result for an engine, per search at the
//! endpoint's `web_search` price for native search.
//!
//! A failing engine fails the request with a 502 rather than letting the
//! model answer without the results the client asked for.

pub mod brave;
pub mod engines;
pub mod exa;
mod native;
mod prompt;
pub mod search;
pub mod searxng;
pub mod tavily;

use serde_json::{Map, Value, json};
use switchyard_api::{ChatRequest, ErrorType, NanoUsd, UnitPrice, Usage};
use switchyard_providers::{ProviderError, UpstreamFailure};
use switchyard_router::Attempt;

pub use engines::{EngineName, Engines, SearchSettings};
pub use native::annotation_chunk;
use search::{SearchQuery, SearchResult};

use crate::chat::Served;
use crate::error::GatewayError;
use crate::plugins::{Switch, switch};
use crate::state::AppState;

/// `max_results` when the request does not say (OpenRouter's default).
const DEFAULT_MAX_RESULTS: u32 = 5;
/// The most results a request may ask for.
const MAX_RESULTS: u32 = 25;
/// Searches a native search may run when the request sets no `max_uses`.
const DEFAULT_MAX_USES: u32 = 5;

/// The plugin's options as a request gives them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WebOptions {
    /// `native`, an engine name, or `None` to choose.
    pub engine: Option<String>,
    /// Results wanted from an engine.
    pub max_results: u32,
    /// Replaces the default instructions put before the results.
    pub search_prompt: Option<String>,
    /// Only these domains.
    pub include_domains: Vec<String>,
    /// Not these domains.
    pub exclude_domains: Vec<String>,
    /// Most searches a native search may run (Anthropic).
    pub max_uses: Option<u32>,
    /// OpenAI's `search_context_size` (`low`, `medium`, `high`).
    pub search_context_size: Option<String>,
    /// `user_location`, passed to native search as given.
    pub user_location: Option<Value>,
    /// Not asked for as a plugin: the request set `web_search_options`
    /// itself, which is native search (and charged so) where endpoints can.
    pub implicit: bool,
}

/// The plugin's options when the request turns it on: listed in `plugins`
/// (not disabled), a `:online` model, or the request's own
/// `web_search_options`; `None` when it is off.
pub fn options(state: &AppState, req: &ChatRequest, model: &str) -> Result<Option<WebOptions>, GatewayError> {
    let o = match switch(req, "web") {
        Switch::Off => return Ok(None),
        Switch::On(o) => o,
        Switch::Unset => {
            let online = |m: &str| switchyard_router::resolve::is_online(&state.catalog, m);
            if online(model) || req.models.iter().flatten().any(|m| online(m)) {
                return Ok(Some(WebOptions { max_results: DEFAULT_MAX_RESULTS, ..WebOptions::default() }));
            }
            if req.extra.get("web_search_options").is_some_and(|o| !o.is_null()) {
                let native = Some("native".to_owned());
                return Ok(Some(WebOptions { engine: native, implicit: true, ..WebOptions::default() }));
            }
            return Ok(None);
        }
    };
    parse_options(o).map(Some)
}

fn parse_options(o: &Map<String, Value>) -> Result<WebOptions, GatewayError> {
    let bad = |m: String| GatewayError::BadRequest(format!("web plugin: {m}"));
    let string = |k: &str| match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(format!("`{k}` must be a string"))),
    };
    let count = |k: &str, max: u32| match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n @ 1..) if n <= u64::from(max) => Ok(Some(n as u32)),
            _ => Err(bad(format!("`{k}` must be an integer from 1 to {max}"))),
        },
    };
    let domains = |k: &str| match o.get(k) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|d| d.as_str().map(|s| s.trim().to_ascii_lowercase()))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad(format!("`{k}` must be an array of domain names"))),
        Some(_) => Err(bad(format!("`{k}` must be an array of domain names"))),
    };
    let engine = string("engine")?;
    if let Some(e) = engine.as_deref()
        && e != "native"
        && EngineName::parse(e).is_none()
    {
        return Err(bad(format!("engine `{e}` is not supported (use native, exa, brave, tavily or searxng)")));
    }
    Ok(WebOptions {
        engine,
        max_results: count("max_results", MAX_RESULTS)?.unwrap_or(DEFAULT_MAX_RESULTS),
        search_prompt: string("search_prompt")?,
        include_domains: domains("include_domains")?,
        exclude_domains: domains("exclude_domains")?,
        max_uses: count("max_uses", 20)?,
        search_context_size: string("search_context_size")?,
        user_location: o.get("user_location").filter(|v| !v.is_null()).cloned(),
        implicit: false,
    })
}

/// How a request's search is done.
pub struct WebPlan<'s> {
    opts: WebOptions,
    mode: Mode<'s>,
}

enum Mode<'s> {
    /// Every planned endpoint searches itself.
    Native(native::Kinds),
    /// The gateway asks this engine.
    External(&'s engines::Engine, &'static str),
}

/// Decides native or external search for the planned `attempts`: native
/// when the request says `engine: "native"` or names no engine and every
/// endpoint can search natively; otherwise the named or default engine.
/// `engine: "native"` where some endpoint cannot search natively is a 400;
/// a request's own `web_search_options` there is left to the endpoints
/// (`None`: no search).
pub fn plan<'s>(
    state: &'s AppState,
    opts: WebOptions,
    attempts: &[Attempt],
) -> Result<Option<WebPlan<'s>>, GatewayError> {
    let kinds = native::kinds(state, attempts);
    if opts.implicit && kinds.is_none() {
        return Ok(None);
    }
    let mode = match opts.engine.as_deref() {
        Some("native") => Mode::Native(kinds.ok_or_else(|| {
            GatewayError::BadRequest(
                "web plugin: native search is not available on every endpoint of this model \
                 (it is on OpenAI models that take `web_search_options`, Anthropic and Gemini models)"
                    .into(),
            )
        })?),
        None if kinds.is_some() => Mode::Native(kinds.unwrap_or_default()),
        name => {
            let engine = state.search.get(name)?;
            Mode::External(engine, engine.backend.name())
        }
    };
    Ok(Some(WebPlan { opts, mode }))
}

impl WebPlan<'_> {
    /// Prompt tokens the search may add, for the spend reservation.
    pub fn prompt_tokens_bound(&self) -> u64 {
        match self.mode {
            Mode::Native(_) => 0,
            // Each result is capped in the prompt; two bytes a token at worst.
            Mode::External(..) => u64::from(self.opts.max_results) * (prompt::MAX_RESULT_CHARS as u64 + 300) / 2 + 200,
        }
    }

    /// The most the search itself may cost.
    pub fn worst_cost(&self, state: &AppState, attempts: &[Attempt]) -> NanoUsd {
        match self.mode {
            Mode::External(engine, _) => {
                engine.price_per_result.times(u64::from(self.opts.max_results)).round_to_nano()
            }
            Mode::Native(kinds) => {
                let uses = u64::from(self.opts.max_uses.unwrap_or(if kinds.anthropic { DEFAULT_MAX_USES } else { 1 }));
                let price = attempts.iter().map(|a| a.endpoint(&state.catalog).web_search).max().unwrap_or_default();
                price.times(uses).round_to_nano()
            }
        }
    }

    /// Runs the search: native search is switched on in the request (the
    /// adapters turn it into each provider's form); an external engine is
    /// queried and its results put in the prompt. Returns the request to
    /// send and what the generation must charge and cite.
    pub async fn apply(self, mut req: ChatRequest) -> Result<(ChatRequest, WebUse), GatewayError> {
        match self.mode {
            Mode::Native(kinds) => {
                native::switch_on(&mut req, &self.opts, kinds);
                Ok((req, WebUse::new("native", Vec::new(), UnitPrice::ZERO)))
            }
            Mode::External(engine, name) => {
                let query = prompt::query_of(&req);
                let results = if query.is_empty() {
                    Vec::new()
                } else {
                    let q = SearchQuery {
                        query,
                        max_results: self.opts.max_results,
                        include_domains: self.opts.include_domains.clone(),
                        exclude_domains: self.opts.exclude_domains.clone(),
                    };
                    engine.backend.search(&q).await.map_err(|e| search_failed(name, &e))?
                };
                if !results.is_empty() {
                    prompt::inject(&mut req, self.opts.search_prompt.as_deref(), &results);
                }
                Ok((req, WebUse::new(name, results, engine.price_per_result)))
            }
        }
    }
}

/// A failed search as a 502 naming the engine.
fn search_failed(engine: &str, e: &search::SearchError) -> GatewayError {
    let failure = UpstreamFailure {
        status: 502,
        kind: ErrorType::ProviderUnavailable,
        message: format!("web search failed: {e}"),
        raw: None,
        provider_code: None,
        retry_after: None,
    };
    GatewayError::Provider {
        error: Box::new(ProviderError::Upstream(failure)),
        provider_name: format!("web search ({engine})"),
        attempts: 0,
    }
}

/// The search a generation made: what it costs and what it cites.
#[derive(Debug)]
pub struct WebUse {
    /// `native` or the engine's name.
    pub engine: &'static str,
    /// An engine's results (none for native search).
    pub results: Vec<SearchResult>,
    /// USD per result.
    pub price_per_result: UnitPrice,
    /// Streamed answer text so far, to place the citations in it.
    text: String,
    /// The annotations were sent on the stream.
    sent: bool,
}

impl WebUse {
    fn new(engine: &'static str, results: Vec<SearchResult>, price_per_result: UnitPrice) -> WebUse {
        WebUse { engine, results, price_per_result, text: String::new(), sent: false }
    }

    /// The provider searched itself.
    pub fn is_native(&self) -> bool {
        self.engine == "native"
    }

    /// Searches run: one engine query (when it had something to look up),
    /// or what the provider reports (Anthropic's
    /// `server_tool_use.web_search_requests`), else one for an answer.
    pub fn searches(&self, usage: &Usage, answered: bool) -> u64 {
        if !self.is_native() {
            return u64::from(!self.results.is_empty());
        }
        ["server_tool_use", "server_tool_use_details"]
            .iter()
            .find_map(|k| usage.extra.get(*k).and_then(|s| s.get("web_search_requests")).and_then(Value::as_u64))
            .unwrap_or(u64::from(answered))
    }

    /// The charge: per result from an engine (whatever happened to the
    /// model call), per search at the serving endpoint's price for native
    /// search (only when the model answered).
    pub fn cost(&self, served: Option<&Served>, usage: &Usage, answered: bool) -> NanoUsd {
        if self.is_native() {
            let price = served.map_or(UnitPrice::ZERO, |s| s.pricing.web_search);
            return price.times(self.searches(usage, answered)).round_to_nano();
        }
        self.price_per_result.times(self.results.len() as u64).round_to_nano()
    }

    /// What the generation record keeps.
    pub fn record(&self, cost: NanoUsd, searches: u64) -> Value {
        json!({"engine": self.engine, "results": self.results.len(), "searches": searches, "cost": cost.as_usd_f64()})
    }

    /// Adds the engine's citations to each choice's `annotations`.
    pub fn annotate(&self, choices: &mut [switchyard_api::Choice]) {
        if self.results.is_empty() {
            return;
        }
        for choice in choices {
            let text = choice.message.content.as_deref().unwrap_or_default();
            let mut list = prompt::annotations(&self.results, text);
            let extra = &mut choice.message.extra;
            if let Some(Value::Array(existing)) = extra.remove("annotations") {
                list.splice(0..0, existing);
            }
            extra.insert("annotations".into(), Value::Array(list));
        }
    }

    /// Notes streamed answer text.
    pub fn observe(&mut self, text: &str) {
        if !self.results.is_empty() && !self.sent {
            self.text.push_str(text);
        }
    }

    /// The annotations to stream before the finish, once.
    pub fn stream_annotations(&mut self) -> Option<Value> {
        if self.results.is_empty() || self.sent {
            return None;
        }
        self.sent = true;
        Some(Value::Array(prompt::annotations(&self.results, &std::mem::take(&mut self.text))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(v: Value) -> Result<WebOptions, GatewayError> {
        parse_options(v.as_object().unwrap())
    }

    #[test]
    fn options_are_read_and_checked() {
        let o = opts(json!({"id": "web", "engine": "exa", "max_results": 3, "search_prompt": "P",
            "include_domains": ["A.com"], "exclude_domains": ["b.org"], "max_uses": 2}))
        .unwrap();
        assert_eq!(o.engine.as_deref(), Some("exa"));
        assert_eq!((o.max_results, o.max_uses), (3, Some(2)));
        assert_eq!(o.include_domains, ["a.com"]);
        assert_eq!(o.exclude_domains, ["b.org"]);
        assert_eq!(opts(json!({"id": "web"})).unwrap().max_results, 5);
        for bad in [
            json!({"engine": "firecrawl"}),
            json!({"max_results": 0}),
            json!({"max_results": 26}),
            json!({"max_results": "5"}),
            json!({"include_domains": "a.com"}),
            json!({"exclude_domains": [1]}),
        ] {
            assert_eq!(opts(bad.clone()).unwrap_err().status(), 400, "{bad}");
        }
    }

    #[test]
    fn engine_results_are_charged_per_result_and_native_per_search() {
        let r = SearchResult { url: "https://a.com".into(), ..Default::default() };
        let used = WebUse::new("exa", vec![r.clone(), r], UnitPrice(4_000_000_000_000));
        assert_eq!(used.cost(None, &Usage::default(), false), NanoUsd(8_000_000));
        assert_eq!(used.searches(&Usage::default(), false), 1);
        let native = WebUse::new("native", Vec::new(), UnitPrice::ZERO);
        let mut usage = Usage::default();
        assert_eq!(native.searches(&usage, true), 1);
        assert_eq!(native.searches(&usage, false), 0);
        usage.extra.insert("server_tool_use".into(), json!({"web_search_requests": 3}));
        assert_eq!(native.searches(&usage, true), 3);
    }
}
