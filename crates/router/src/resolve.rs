//! From the slugs a request names to catalog models (§7.3), and the two
//! routers: `switchyard/auto` (§7.5) and `switchyard/free`.

use switchyard_api::chat::{Content, ContentPart};
use switchyard_api::{ChatRequest, UnitPrice};

use crate::catalog::{Catalog, EndpointSpec, Model};
use crate::params::endpoint_takes;
use crate::route::RouteError;

/// The metric of a strict sort (`provider.sort` or a variant suffix).
pub use switchyard_api::provider::SortBy as Sort;

/// A model slug resolved against the catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// Index of the model in the catalog.
    pub model: usize,
    /// The sort a variant suffix asks for (`:nitro`, `:floor`, `:exacto`).
    pub sort: Option<Sort>,
    /// The service tier a variant admits (`priority` for `:nitro`, `flex`
    /// for `:floor`).
    pub admit_tier: Option<&'static str>,
}

impl Resolved {
    /// A plain model, no variant.
    pub fn model(model: usize) -> Resolved {
        Resolved { model, sort: None, admit_tier: None }
    }
}

/// Resolves a slug (§7.3):
///
/// 1. an exact catalog id (the catalog may hold `author/model:free`,
///    `:extended` or `:thinking` as models of their own);
/// 2. `~author/family-latest`: the newest model (greatest `created`, the
///    first in catalog order on a tie) whose id starts with `author/` and
///    whose `family` is `family`;
/// 3. a virtual suffix on 1 or 2: `:nitro` sorts by throughput and admits
///    `priority` endpoints; `:floor` sorts by price and admits `flex`
///    endpoints; `:exacto` sorts by quality (success rate over 30 minutes,
///    then throughput, see [`mod@crate::route`]); `:online` is the base
///    model, with the web plugin on (the server checks [`is_online`]).
///
/// Anything else is [`RouteError::UnknownModel`] (400 `model_not_found`).
/// Router slugs are not models: check [`router_slug`] first.
pub fn resolve(catalog: &Catalog, slug: &str) -> Result<Resolved, RouteError> {
    if let Some(model) = base(catalog, slug) {
        return Ok(Resolved::model(model));
    }
    let unknown = || RouteError::UnknownModel(slug.to_owned());
    let Some((head, variant)) = slug.rsplit_once(':') else {
        return Err(if router_slug(catalog, slug).is_some() {
            RouteError::Unsupported(format!("`{slug}` is a router, not a model"))
        } else {
            unknown()
        });
    };
    let model = base(catalog, head).ok_or_else(unknown)?;
    match variant {
        "nitro" => Ok(Resolved { model, sort: Some(Sort::Throughput), admit_tier: Some("priority") }),
        "floor" => Ok(Resolved { model, sort: Some(Sort::Price), admit_tier: Some("flex") }),
        "exacto" => Ok(Resolved { model, sort: Some(Sort::Exacto), admit_tier: None }),
        "online" => Ok(Resolved::model(model)),
        _ => Err(unknown()),
    }
}

/// True when `slug` is a model's `:online` variant (reference §7.3: the
/// deprecated spelling of `plugins: [{"id": "web"}]`), unless the catalog
/// has a model of that very id.
pub fn is_online(catalog: &Catalog, slug: &str) -> bool {
    slug.strip_suffix(":online").is_some_and(|head| base(catalog, head).is_some()) && base(catalog, slug).is_none()
}

/// An exact id or a `~author/family-latest` alias.
fn base(catalog: &Catalog, slug: &str) -> Option<usize> {
    if let Some(i) = catalog.index_of(slug) {
        return Some(i);
    }
    let alias = slug.strip_prefix('~')?;
    let (author, rest) = alias.split_once('/')?;
    let family = rest.strip_suffix("-latest")?;
    let mut best: Option<(usize, u64)> = None;
    for (i, m) in catalog.models().iter().enumerate() {
        let same_author = m.spec.id.strip_prefix(author).is_some_and(|r| r.starts_with('/'));
        if same_author && m.spec.family.as_deref() == Some(family) && best.is_none_or(|(_, c)| m.spec.created > c) {
            best = Some((i, m.spec.created));
        }
    }
    best.map(|(i, _)| i)
}

/// The routers, which pick models rather than name one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouterSlug {
    /// `switchyard/auto` (alias `openrouter/auto`): [`pick_auto`].
    Auto,
    /// `switchyard/free` (alias `openrouter/free`): [`pick_free`].
    Free,
}

/// The router a slug names, unless the catalog has a model of that id.
pub fn router_slug(catalog: &Catalog, slug: &str) -> Option<RouterSlug> {
    let router = match slug {
        "switchyard/auto" | "openrouter/auto" => RouterSlug::Auto,
        "switchyard/free" | "openrouter/free" => RouterSlug::Free,
        _ => return None,
    };
    catalog.index_of(slug).is_none().then_some(router)
}

/// What a request needs from a model and endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// The request has tools.
    pub tools: bool,
    /// `response_format` is a JSON schema (`structured_outputs`).
    pub response_format_json_schema: bool,
    /// Some message has an image.
    pub images: bool,
    /// Some message has a file.
    pub files: bool,
    /// Some message has audio.
    pub audio: bool,
    /// Reasoning is asked for (and not switched off).
    pub reasoning: bool,
    /// Estimated prompt tokens.
    pub prompt_tokens: u64,
    /// The completion cap, if any.
    pub max_tokens: Option<u64>,
    /// Endpoints whose context window is at most this many tokens get
    /// middle-out compression (reference §7.9): 0 for none, 8,192 by
    /// default, `u64::MAX` when the request asks for it.
    pub compress_up_to: u64,
}

impl Needs {
    /// What `req` needs, given an estimate of its prompt tokens.
    pub fn of(req: &ChatRequest, prompt_tokens: u64) -> Needs {
        let mut needs = Needs {
            tools: req.tools.as_ref().is_some_and(|t| !t.is_empty()),
            response_format_json_schema: req
                .response_format
                .as_ref()
                .and_then(|f| f.get("type"))
                .and_then(|t| t.as_str())
                == Some("json_schema"),
            reasoning: reasoning_on(req),
            prompt_tokens,
            max_tokens: req.max_output_tokens().map(u64::from),
            ..Needs::default()
        };
        for part in req.messages.iter().filter_map(|m| match &m.content {
            Some(Content::Parts(parts)) => Some(parts),
            _ => None,
        }) {
            for p in part {
                match p {
                    ContentPart::ImageUrl { .. } => needs.images = true,
                    ContentPart::File { .. } => needs.files = true,
                    ContentPart::InputAudio { .. } => needs.audio = true,
                    _ => {}
                }
            }
        }
        needs
    }

    /// Tokens the context window must hold: prompt plus completion cap.
    pub fn context_tokens(&self) -> u64 {
        self.prompt_tokens.saturating_add(self.max_tokens.unwrap_or(0))
    }

    /// Whether a context window of `context` tokens can hold the request:
    /// with middle-out compression, one holding half of it will do (§7.9),
    /// as long as the completion cap alone fits.
    pub fn fits(&self, context: u64) -> bool {
        let tokens = self.context_tokens();
        let compresses = context <= self.compress_up_to && self.max_tokens.unwrap_or(0) < context;
        tokens <= context || (compresses && tokens.div_ceil(2) <= context)
    }

    /// The input modality the model lacks, if any (`image`, `file`, `audio`).
    pub fn missing_modality(&self, model: &Model) -> Option<&'static str> {
        let has = |m: &str| model.spec.input_modalities.iter().any(|x| x == m);
        [(self.images, "image"), (self.files, "file"), (self.audio, "audio")]
            .into_iter()
            .find(|&(needed, m)| needed && !has(m))
            .map(|(_, m)| m)
    }
}

fn reasoning_on(req: &ChatRequest) -> bool {
    // `reasoning: {}` turns reasoning on with defaults; `enabled: false` or
    // `effort: "none"` turns it off.
    let from_object = req.reasoning.as_ref().is_some_and(|r| match r.enabled {
        Some(on) => on,
        None => r.effort.as_deref() != Some("none"),
    });
    from_object || req.reasoning_effort.as_deref().is_some_and(|e| e != "none") || req.include_reasoning == Some(true)
}

/// True when `e` (of `model`) can serve `needs`: parameters, context and
/// completion cap. Modalities are the model's, checked apart.
fn endpoint_serves(model: &Model, e: &EndpointSpec, needs: &Needs) -> bool {
    (!needs.tools || endpoint_takes(model, e, "tools"))
        && (!needs.response_format_json_schema || endpoint_takes(model, e, "structured_outputs"))
        && (!needs.reasoning || endpoint_takes(model, e, "reasoning"))
        && needs.fits(e.context_length.unwrap_or(model.spec.context_length))
        && needs.max_tokens.is_none_or(|m| e.max_completion_tokens.is_none_or(|cap| m <= cap))
}

/// The cheapest (prompt + completion per token) untiered endpoint of `model`
/// that serves `needs` and passes `also`.
fn cheapest_serving(model: &Model, needs: &Needs, also: impl Fn(&EndpointSpec) -> bool) -> Option<i64> {
    if needs.missing_modality(model).is_some() {
        return None;
    }
    model
        .endpoints
        .iter()
        .filter(|e| e.service_tier.is_none() && also(e) && endpoint_serves(model, e, needs))
        .map(|e| blended(e.prompt, e.completion))
        .min()
}

fn blended(prompt: UnitPrice, completion: UnitPrice) -> i64 {
    prompt.0.saturating_add(completion.0)
}

/// The auto router (§7.5), without a prompt classifier: of `candidates`
/// (slugs, in preference order; empty = every catalog model; unknown slugs
/// are skipped) the models that can serve `needs` — tools, JSON schema,
/// reasoning, input modalities, and prompt + `max_tokens` within the context
/// of some untiered endpoint — then cut to a cost tier by the price of each
/// model's cheapest such endpoint (prompt + completion):
///
/// * `low`: the cheapest third (rounded up, at least one model);
/// * `medium`: the cheapest two thirds (the low and middle thirds);
/// * `high`, `max`, none or anything else: all of them;
///
/// ordered by that price, ascending (ties keep the candidates' order).
/// None left: [`RouteError::NoModels`] (404).
pub fn pick_auto(
    catalog: &Catalog,
    candidates: &[String],
    needs: &Needs,
    cost_tier: Option<&str>,
) -> Result<Vec<usize>, RouteError> {
    let mut picked: Vec<(i64, usize)> = Vec::new();
    let mut consider = |i: usize| {
        if let Some(price) = cheapest_serving(&catalog.models()[i], needs, |_| true)
            && !picked.iter().any(|&(_, j)| j == i)
        {
            picked.push((price, i));
        }
    };
    if candidates.is_empty() {
        (0..catalog.models().len()).for_each(&mut consider);
    } else {
        candidates.iter().filter_map(|s| catalog.index_of(s)).for_each(&mut consider);
    }
    // Stable: equal prices keep the preference order.
    picked.sort_by_key(|&(price, _)| price);
    let n = picked.len();
    let keep = match cost_tier.map(str::to_ascii_lowercase).as_deref() {
        Some("low") => n.div_ceil(3),
        Some("medium") => (2 * n).div_ceil(3),
        _ => n,
    };
    picked.truncate(keep);
    if picked.is_empty() {
        return Err(RouteError::NoModels);
    }
    Ok(picked.into_iter().map(|(_, i)| i).collect())
}

/// The free router: models with a free endpoint (every price zero) that can
/// serve `needs`, in catalog order (the caller may shuffle them to pick one
/// at random, as OpenRouter does). Route them with `max_price` zero so only
/// the free endpoints are used. None: [`RouteError::NoModels`].
pub fn pick_free(catalog: &Catalog, needs: &Needs) -> Result<Vec<usize>, RouteError> {
    let out: Vec<usize> = catalog
        .models()
        .iter()
        .enumerate()
        .filter(|(_, m)| cheapest_serving(m, needs, EndpointSpec::is_free).is_some())
        .map(|(i, _)| i)
        .collect();
    if out.is_empty() { Err(RouteError::NoModels) } else { Ok(out) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::parse_catalog;
    use serde_json::json;

    const CAT: &str = r#"
[[models]]
id = "acme/sonnet-3"
family = "sonnet"
created = 100
supported_parameters = ["tools", "temperature"]
[[models.endpoints]]
provider = "p"
model = "s3"
prompt = "0.000003"
completion = "0.000015"

[[models]]
id = "acme/sonnet-4"
family = "sonnet"
created = 300
context_length = 200000
input_modalities = ["text", "image"]
supported_parameters = ["tools", "reasoning", "structured_outputs"]
[[models.endpoints]]
provider = "p"
model = "s4"
prompt = "0.000003"
completion = "0.000015"

[[models]]
id = "acme/sonnet-4:thinking"
family = "sonnet-thinking"
created = 400
[[models.endpoints]]
provider = "p"
model = "s4t"

[[models]]
id = "other/sonnet-9"
family = "sonnet"
created = 999
[[models.endpoints]]
provider = "p"
model = "o"

[[models]]
id = "acme/mini"
family = "mini"
created = 200
supported_parameters = ["tools"]
[[models.endpoints]]
provider = "p"
model = "mini"
prompt = "0.0000001"
completion = "0.0000004"
[[models.endpoints]]
provider = "free"
model = "mini"
context_length = 4096

[[models]]
id = "acme/mini:free"
[[models.endpoints]]
provider = "free"
model = "mini"
"#;

    fn cat() -> Catalog {
        Catalog::build(parse_catalog(CAT).unwrap(), |_| true).unwrap()
    }

    fn id(c: &Catalog, i: usize) -> &str {
        &c.models()[i].spec.id
    }

    #[test]
    fn fits_with_and_without_compression() {
        let plain = Needs { prompt_tokens: 3000, max_tokens: Some(500), ..Needs::default() };
        assert!(plain.fits(4000) && !plain.fits(2048));
        let small = Needs { compress_up_to: 8192, ..plain };
        assert!(small.fits(2048) && !small.fits(1024), "half of 3,500 must fit");
        let big = Needs { prompt_tokens: 30_000, compress_up_to: 8192, ..Needs::default() };
        assert!(!big.fits(20_000), "windows over 8,192 compress only when asked");
        assert!(Needs { compress_up_to: u64::MAX, ..big }.fits(20_000));
        let huge_output = Needs { max_tokens: Some(3000), compress_up_to: u64::MAX, ..plain };
        assert!(!huge_output.fits(2048), "the completion cap alone does not fit");
    }

    #[test]
    fn exact_ids_win_including_suffixed_ones() {
        let c = cat();
        assert_eq!(id(&c, resolve(&c, "acme/sonnet-4:thinking").unwrap().model), "acme/sonnet-4:thinking");
        assert_eq!(id(&c, resolve(&c, "acme/mini:free").unwrap().model), "acme/mini:free");
        assert_eq!(resolve(&c, "acme/mini").unwrap(), Resolved::model(c.index_of("acme/mini").unwrap()));
    }

    #[test]
    fn virtual_suffixes() {
        let c = cat();
        let mini = c.index_of("acme/mini").unwrap();
        assert_eq!(
            resolve(&c, "acme/mini:nitro").unwrap(),
            Resolved { model: mini, sort: Some(Sort::Throughput), admit_tier: Some("priority") }
        );
        assert_eq!(
            resolve(&c, "acme/mini:floor").unwrap(),
            Resolved { model: mini, sort: Some(Sort::Price), admit_tier: Some("flex") }
        );
        assert_eq!(resolve(&c, "acme/mini:exacto").unwrap().sort, Some(Sort::Exacto));
        assert_eq!(resolve(&c, "acme/mini:online").unwrap(), Resolved::model(mini));
        assert!(is_online(&c, "acme/mini:online"));
        assert!(!is_online(&c, "acme/mini"));
        assert!(!is_online(&c, "acme/nope:online"));
        assert_eq!(resolve(&c, "acme/mini:beta").unwrap_err(), RouteError::UnknownModel("acme/mini:beta".into()));
        assert_eq!(
            resolve(&c, "acme/sonnet-3:free").unwrap_err().to_string(),
            "acme/sonnet-3:free is not a valid model ID"
        );
        assert_eq!(resolve(&c, "nope/x").unwrap_err(), RouteError::UnknownModel("nope/x".into()));
    }

    #[test]
    fn latest_aliases_pick_the_newest_of_author_and_family() {
        let c = cat();
        assert_eq!(id(&c, resolve(&c, "~acme/sonnet-latest").unwrap().model), "acme/sonnet-4");
        assert_eq!(id(&c, resolve(&c, "~acme/sonnet-thinking-latest").unwrap().model), "acme/sonnet-4:thinking");
        assert_eq!(id(&c, resolve(&c, "~other/sonnet-latest").unwrap().model), "other/sonnet-9");
        let nitro = resolve(&c, "~acme/mini-latest:nitro").unwrap();
        assert_eq!((id(&c, nitro.model), nitro.sort), ("acme/mini", Some(Sort::Throughput)));
        assert!(matches!(resolve(&c, "~acme/opus-latest"), Err(RouteError::UnknownModel(_))));
        assert!(matches!(resolve(&c, "~acme/sonnet"), Err(RouteError::UnknownModel(_))));
        assert!(matches!(resolve(&c, "~acm/sonnet-latest"), Err(RouteError::UnknownModel(_))));
    }

    #[test]
    fn router_slugs() {
        let c = cat();
        assert_eq!(router_slug(&c, "switchyard/auto"), Some(RouterSlug::Auto));
        assert_eq!(router_slug(&c, "openrouter/auto"), Some(RouterSlug::Auto));
        assert_eq!(router_slug(&c, "openrouter/free"), Some(RouterSlug::Free));
        assert_eq!(router_slug(&c, "acme/mini"), None);
        assert!(matches!(resolve(&c, "switchyard/free"), Err(RouteError::Unsupported(_))));
    }

    fn req(v: serde_json::Value) -> ChatRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn needs_of_a_request() {
        let r = req(json!({"messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "hi"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}},
                {"type": "file", "file": {"filename": "a.pdf", "file_data": "x"}}
            ]}],
            "tools": [{"type": "function", "function": {"name": "f"}}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
            "reasoning": {"effort": "high"}, "max_tokens": 100
        }));
        let n = Needs::of(&r, 50);
        assert!(n.tools && n.response_format_json_schema && n.images && n.files && n.reasoning && !n.audio);
        assert_eq!((n.prompt_tokens, n.max_tokens, n.context_tokens()), (50, Some(100), 150));
        let plain = Needs::of(&req(json!({"messages": [{"role": "user", "content": "hi"}]})), 3);
        assert_eq!(plain, Needs { prompt_tokens: 3, ..Needs::default() });
        for off in [json!({"effort": "none"}), json!({"enabled": false})] {
            let r = req(json!({"messages": [], "reasoning": off}));
            assert!(!Needs::of(&r, 0).reasoning, "{off}");
        }
        assert!(Needs::of(&req(json!({"messages": [], "reasoning": {"exclude": true}})), 0).reasoning);
        assert!(Needs::of(&req(json!({"messages": [], "reasoning": {}})), 0).reasoning);
        assert!(Needs::of(&req(json!({"messages": [], "reasoning_effort": "low"})), 0).reasoning);
        assert!(!Needs::of(&req(json!({"messages": [], "reasoning_effort": "none"})), 0).reasoning);
    }

    #[test]
    fn auto_router_filters_by_needs_and_cost_tier() {
        let c = cat();
        let all: Vec<String> =
            ["acme/sonnet-3", "acme/sonnet-4", "acme/mini", "nope/x"].iter().map(|s| s.to_string()).collect();
        let ids = |v: Vec<usize>| v.into_iter().map(|i| id(&c, i).to_owned()).collect::<Vec<_>>();
        // Cheapest first; sonnet-3 and -4 tie and keep preference order.
        assert_eq!(
            ids(pick_auto(&c, &all, &Needs::default(), None).unwrap()),
            ["acme/mini", "acme/sonnet-3", "acme/sonnet-4"]
        );
        assert_eq!(ids(pick_auto(&c, &all, &Needs::default(), Some("low")).unwrap()), ["acme/mini"]);
        assert_eq!(
            ids(pick_auto(&c, &all, &Needs::default(), Some("medium")).unwrap()),
            ["acme/mini", "acme/sonnet-3"]
        );
        assert_eq!(ids(pick_auto(&c, &all, &Needs::default(), Some("max")).unwrap()).len(), 3);
        let images = Needs { images: true, ..Needs::default() };
        assert_eq!(ids(pick_auto(&c, &all, &images, None).unwrap()), ["acme/sonnet-4"]);
        let reasoning = Needs { reasoning: true, tools: true, ..Needs::default() };
        assert_eq!(ids(pick_auto(&c, &all, &reasoning, None).unwrap()), ["acme/sonnet-4"]);
        let long = Needs { prompt_tokens: 100_000, max_tokens: Some(1000), ..Needs::default() };
        assert_eq!(ids(pick_auto(&c, &all, &long, None).unwrap()), ["acme/sonnet-4"]);
        let audio = Needs { audio: true, ..Needs::default() };
        assert_eq!(pick_auto(&c, &all, &audio, None).unwrap_err(), RouteError::NoModels);
        assert_eq!(RouteError::NoModels.to_string(), "No models match your request and model restrictions");
        // No candidate list: the whole catalog.
        assert_eq!(pick_auto(&c, &[], &Needs::default(), None).unwrap().len(), 6);
    }

    #[test]
    fn free_router_needs_a_free_endpoint_that_serves() {
        let c = cat();
        let ids = |v: Vec<usize>| v.into_iter().map(|i| id(&c, i).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            ids(pick_free(&c, &Needs::default()).unwrap()),
            ["acme/sonnet-4:thinking", "other/sonnet-9", "acme/mini", "acme/mini:free"]
        );
        // acme/mini's free endpoint has a 4k context; acme/mini:free has the model's 8k.
        let long = Needs { prompt_tokens: 6000, ..Needs::default() };
        assert_eq!(ids(pick_free(&c, &long).unwrap()), ["acme/sonnet-4:thinking", "other/sonnet-9", "acme/mini:free"]);
        let images = Needs { images: true, ..Needs::default() };
        assert_eq!(pick_free(&c, &images).unwrap_err(), RouteError::NoModels);
    }
}
