//! The planner: from resolved models, `provider` preferences and live
//! health to the ordered endpoints to try (§7.1, §7.2, §7.4, §7.6, §7.8).
//!
//! For each model (in `models` order, §7.4):
//!
//! 1. **Hard filters** ([`crate::prefs`]): tiers, `only`/`ignore`,
//!    quantization, data policy, distillation, modalities, context,
//!    `max_tokens`, `max_price`, `require_parameters`. Each removed endpoint
//!    is reported as an [`Exclusion`].
//! 2. **Default soft parameter preference** (§7.1, last paragraph): for
//!    `tools`, `response_format`, `structured_outputs` and `verbosity` in
//!    the request, if some but not all remaining endpoints take it, the ones
//!    that do not are excluded ([`ExcludedBy::Unsupported`]); if none take
//!    it, all stay (the parameter is dropped for them).
//! 3. **Ordering**, by this key, most significant first:
//!    * the position in `provider.order` of the first name selecting the
//!      endpoint (unnamed ones after the named ones) — only with `order`;
//!    * soft preferences (`preferred_min_throughput`, `preferred_max_latency`,
//!      over the last 5 minutes, unknown stats pass): failing endpoints go
//!      after passing ones and are listed in [`Route::deprioritized`];
//!    * with `service_tier: priority|fast` and no `order`, priority
//!      endpoints first, by throughput (§7.8);
//!    * the metric: with a sort (`provider.sort`, else the variant's, else
//!      price for `service_tier: flex`) — price (prompt + completion per
//!      token), throughput (p50 over 30 minutes, descending, unknown last),
//!      latency (p50 time to first token over 30 minutes, ascending, unknown
//!      last) or exacto (`uptime_last_30m` descending, unknown last, then
//!      throughput as above); without one, stable endpoints before recently
//!      failing ones ([`HealthBook::is_recently_failing`]);
//!    * price, then catalog order.
//! 4. **Load balancing** (§7.2), only without `order` and without a sort:
//!    the first endpoint is drawn at random among the stable endpoints of
//!    the leading group, weighted by 1/price² (price = prompt + completion
//!    per token); if some of them are free, uniformly among the free ones.
//!    The others keep price order, the recently failing ones last.
//! 5. **Stickiness** (§7.6): without `order`, the endpoint whose routing tag
//!    is `sticky` goes first (and no random draw is made).
//!
//! With `sort: {partition: "none"}` steps 3–5 run once over the endpoints of
//! all models together. Finally, with `allow_fallbacks: false` and neither
//! `order` nor `only`, only the first endpoint of each model is kept (with
//! `order`, endpoints it does not name were already excluded).

use std::time::{Duration, Instant};

use rand::Rng;
use serde::{Serialize, Serializer};
use switchyard_api::provider::{Partition, ProviderPreferences};

use crate::attempt::Attempt;
use crate::catalog::{Catalog, EndpointSpec, Model};
use crate::health::HealthBook;
use crate::params::endpoint_takes;
use crate::prefs::{self, Verdict};
use crate::resolve::{Needs, Resolved, Sort};

/// The window of the soft preferences (§7.1: a rolling 5 minutes).
pub const SOFT_WINDOW: Duration = Duration::from_secs(5 * 60);
/// The window of the throughput, latency and exacto sorts.
pub const SORT_WINDOW: Duration = Duration::from_secs(30 * 60);

/// Parameters under the default soft preference (§7.1).
const SOFT_PARAMETERS: [&str; 4] = ["tools", "response_format", "structured_outputs", "verbosity"];

/// Everything the planner needs to know about one request.
#[derive(Clone, Copy, Debug)]
pub struct RouteInput<'a> {
    /// The models, primary first, then the fallbacks.
    pub models: &'a [Resolved],
    /// `provider` preferences (already merged over server defaults).
    pub prefs: &'a ProviderPreferences,
    /// The parameters the request sets ([`crate::params::requested`]).
    pub requested: &'a [&'static str],
    /// What the request needs ([`Needs::of`]).
    pub needs: &'a Needs,
    /// The request's `service_tier`.
    pub service_tier: Option<&'a str>,
    /// The routing tag of the endpoint this conversation sticks to (§7.6).
    pub sticky: Option<&'a str>,
}

/// The ordered endpoints for one request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Route {
    /// Tried in order until one succeeds or a failure is final.
    pub attempts: Vec<Attempt>,
    /// Endpoints removed by a filter, with why.
    pub excluded: Vec<Exclusion>,
    /// Endpoints that failed a soft preference and were ordered after those
    /// that passed (within their `order` group, if any), with the preference
    /// (`preferred_min_throughput` or `preferred_max_latency`).
    pub deprioritized: Vec<(Attempt, &'static str)>,
    /// The first endpoint of some model was drawn at random (§7.2).
    pub load_balanced: bool,
}

/// One endpoint a filter removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Exclusion {
    /// The model's slug.
    pub model: String,
    /// The endpoint's routing tag.
    pub endpoint: String,
    /// The filter.
    pub by: ExcludedBy,
    /// What did not pass, for people.
    pub detail: String,
}

/// The filter that removed an endpoint. [`ExcludedBy::as_str`] gives
/// OpenRouter's `excluded_by` vocabulary (§6.2) where it has a word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExcludedBy {
    /// `only`, `ignore`, or `order` without fallbacks.
    AllowedProviders,
    /// `quantizations`.
    Quantization,
    /// `data_collection: deny`.
    DataPolicyTraining,
    /// `zdr: true`.
    DataPolicyZdr,
    /// `enforce_distillable_text`.
    Distillable,
    /// `max_price`.
    MaxPrice,
    /// `require_parameters`.
    RequireParameters,
    /// Prompt plus `max_tokens` over the context window.
    ContextLength,
    /// `max_tokens` over the endpoint's completion cap.
    MaxTokens,
    /// Not of the requested `service_tier`, or a tier nobody asked for.
    ServiceTier,
    /// The model does not take the request's images, files or audio.
    Modality,
    /// Does not take `tools`/`response_format`/`verbosity` while other
    /// endpoints of the model do (the default soft preference).
    Unsupported,
}

impl ExcludedBy {
    /// The `excluded_by` word.
    pub fn as_str(self) -> &'static str {
        match self {
            ExcludedBy::AllowedProviders => "allowed_providers",
            ExcludedBy::Quantization => "quantization",
            ExcludedBy::DataPolicyTraining => "data_policy:training",
            ExcludedBy::DataPolicyZdr => "data_policy:zdr",
            ExcludedBy::Distillable => "distillable_text",
            ExcludedBy::MaxPrice => "max_price",
            ExcludedBy::RequireParameters => "require_parameters",
            ExcludedBy::ContextLength => "context_length",
            ExcludedBy::MaxTokens => "max_tokens",
            ExcludedBy::ServiceTier => "service_tier",
            ExcludedBy::Modality => "modality",
            ExcludedBy::Unsupported => "unsupported_parameter",
        }
    }

    /// A filter the caller chose (a `provider` preference or tier), as
    /// opposed to one the request's content forces.
    pub fn is_preference(self) -> bool {
        !matches!(
            self,
            ExcludedBy::ContextLength | ExcludedBy::MaxTokens | ExcludedBy::Modality | ExcludedBy::Unsupported
        )
    }
}

impl std::fmt::Display for ExcludedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ExcludedBy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Why no route could be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// Not a model (400 `model_not_found`).
    #[error("{0} is not a valid model ID")]
    UnknownModel(String),
    /// A feature the gateway does not have (400).
    #[error("{0}")]
    Unsupported(String),
    /// A router found no model (404).
    #[error("No models match your request and model restrictions")]
    NoModels,
    /// Every endpoint of every model was filtered out (404).
    #[error("{}", no_endpoints_message(.models, .excluded))]
    NoEndpoints {
        /// The models' slugs.
        models: Vec<String>,
        /// What removed each endpoint.
        excluded: Vec<Exclusion>,
    },
}

impl RouteError {
    /// The HTTP status OpenRouter answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            RouteError::UnknownModel(_) | RouteError::Unsupported(_) => 400,
            // The prompt is too long for every endpoint (§6.1, §7.9): the request's fault.
            e if e.is_context_length() => 400,
            RouteError::NoModels | RouteError::NoEndpoints { .. } => 404,
        }
    }

    /// Every endpoint was removed only because the prompt does not fit its
    /// context window.
    pub fn is_context_length(&self) -> bool {
        matches!(self, RouteError::NoEndpoints { excluded, .. }
            if !excluded.is_empty() && excluded.iter().all(|x| x.by == ExcludedBy::ContextLength))
    }

    /// The `error.availability.code` (§6.2): `model_not_found`;
    /// `privacy_restricted` when only data policies removed endpoints;
    /// `constraint_filtered` when a preference removed some; else
    /// `no_endpoints`. `None` for [`RouteError::Unsupported`].
    pub fn availability_code(&self) -> Option<&'static str> {
        match self {
            RouteError::UnknownModel(_) => Some("model_not_found"),
            RouteError::Unsupported(_) => None,
            RouteError::NoModels => Some("no_endpoints"),
            RouteError::NoEndpoints { excluded, .. } => {
                let privacy = |b: ExcludedBy| matches!(b, ExcludedBy::DataPolicyTraining | ExcludedBy::DataPolicyZdr);
                Some(if !excluded.is_empty() && excluded.iter().all(|x| privacy(x.by)) {
                    "privacy_restricted"
                } else if excluded.iter().any(|x| x.by.is_preference()) {
                    "constraint_filtered"
                } else {
                    "no_endpoints"
                })
            }
        }
    }
}

fn no_endpoints_message(models: &[String], excluded: &[Exclusion]) -> String {
    let mut out = format!("No endpoints found for {}", models.join(", "));
    if excluded.is_empty() {
        out.push('.');
        return out;
    }
    out.push_str(": ");
    for (i, x) in excluded.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if models.len() > 1 {
            out.push_str(&x.model);
            out.push(' ');
        }
        out.push_str(&format!("{} ({}: {})", x.endpoint, x.by, x.detail));
    }
    if excluded.iter().all(|x| x.by == ExcludedBy::ContextLength) {
        out.push_str(
            ". The prompt is too long for the model's context window: shorten it, or enable middle-out \
             compression with `\"plugins\": [{\"id\": \"context-compression\"}]`",
        );
    }
    out
}

/// Plans a request: see the module documentation. `can_send(endpoint,
/// param)` tells whether the endpoint's adapter can carry a parameter (used
/// with `require_parameters` and the default soft preference). Randomness
/// comes only from `rng`, time only from `now`: the same inputs, health and
/// seed give the same route.
pub fn route(
    catalog: &Catalog,
    input: &RouteInput<'_>,
    health: &HealthBook,
    now: Instant,
    rng: &mut impl Rng,
    can_send: &dyn Fn(&EndpointSpec, &str) -> bool,
) -> Result<Route, RouteError> {
    if input.models.is_empty() {
        return Err(RouteError::NoModels);
    }
    let prefs = input.prefs;
    let global_sort = prefs.sort.filter(|s| s.partition() == Partition::None).map(|s| s.by());
    let ctx = Ctx { catalog, input, health, now };
    let mut out = Route::default();
    let mut skipped_tier = false;
    for r in input.models {
        let Some(model) = catalog.models().get(r.model) else {
            return Err(RouteError::UnknownModel(format!("#{}", r.model)));
        };
        let start = out.attempts.len();
        for (endpoint, e) in model.endpoints.iter().enumerate() {
            match prefs::admit(model, e, r, input, can_send) {
                Verdict::Keep => out.attempts.push(Attempt { model: r.model, endpoint }),
                Verdict::Skip => skipped_tier = true,
                Verdict::Exclude(by, detail) => out.excluded.push(Exclusion {
                    model: model.spec.id.clone(),
                    endpoint: e.routing_tag().to_owned(),
                    by,
                    detail,
                }),
            }
        }
        soft_parameters(model, &mut out, start, input.requested, can_send);
        if global_sort.is_none() {
            let sort = prefs.sort.map(|s| s.by()).or(r.sort).or_else(|| flex_price(input));
            ctx.order(&mut out, start, sort, rng);
        }
    }
    if let Some(sort) = global_sort {
        ctx.order(&mut out, 0, Some(sort), rng);
    }
    if !prefs.fallbacks_allowed()
        && prefs.order.as_ref().is_none_or(Vec::is_empty)
        && prefs.only.as_ref().is_none_or(Vec::is_empty)
    {
        let mut kept = 0;
        for i in 0..out.attempts.len() {
            let a = out.attempts[i];
            if !out.attempts[..kept].iter().any(|k| k.model == a.model) {
                out.attempts[kept] = a;
                kept += 1;
            }
        }
        out.attempts.truncate(kept);
        let attempts = &out.attempts;
        out.deprioritized.retain(|(a, _)| attempts.contains(a));
    }
    if out.attempts.is_empty() {
        // Unrequested tier endpoints are named only when nothing else explains the error.
        if skipped_tier && out.excluded.is_empty() {
            for r in input.models {
                let model = &catalog.models()[r.model];
                for e in &model.endpoints {
                    if prefs::admit(model, e, r, input, can_send) == Verdict::Skip {
                        out.excluded.push(Exclusion {
                            model: model.spec.id.clone(),
                            endpoint: e.routing_tag().to_owned(),
                            by: ExcludedBy::ServiceTier,
                            detail: prefs::unrequested_tier(e),
                        });
                    }
                }
            }
        }
        let mut models: Vec<String> = Vec::new();
        for r in input.models {
            let id = &catalog.models()[r.model].spec.id;
            if !models.contains(id) {
                models.push(id.clone());
            }
        }
        return Err(RouteError::NoEndpoints { models, excluded: out.excluded });
    }
    Ok(out)
}

/// `service_tier: flex` sorts by price (§7.8).
fn flex_price(input: &RouteInput<'_>) -> Option<Sort> {
    (prefs::requested_tier(input.service_tier) == Some("flex")).then_some(Sort::Price)
}

/// The default soft preference (§7.1): among `out.attempts[start..]`, for
/// each soft parameter the request sets, if some endpoints take it and some
/// do not, exclude those that do not.
fn soft_parameters(
    model: &Model,
    out: &mut Route,
    start: usize,
    requested: &[&'static str],
    can_send: &dyn Fn(&EndpointSpec, &str) -> bool,
) {
    for param in SOFT_PARAMETERS {
        if !requested.contains(&param) {
            continue;
        }
        let takes = |a: &Attempt| {
            let e = &model.endpoints[a.endpoint];
            endpoint_takes(model, e, param) && can_send(e, param)
        };
        let segment = &out.attempts[start..];
        let taking = segment.iter().filter(|a| takes(a)).count();
        if taking == 0 || taking == segment.len() {
            continue;
        }
        let mut kept = start;
        for i in start..out.attempts.len() {
            let a = out.attempts[i];
            if takes(&a) {
                out.attempts[kept] = a;
                kept += 1;
            } else {
                let e = &model.endpoints[a.endpoint];
                out.excluded.push(Exclusion {
                    model: model.spec.id.clone(),
                    endpoint: e.routing_tag().to_owned(),
                    by: ExcludedBy::Unsupported,
                    detail: format!("does not take `{param}`, which other endpoints of the model do"),
                });
            }
        }
        out.attempts.truncate(kept);
    }
}

/// The ordering key of one attempt; smaller first. `pos` is unique, so an
/// unstable sort is deterministic.
#[derive(Clone, Copy, Debug, Default)]
struct Key {
    order_rank: u32,
    demoted: Option<&'static str>,
    /// 0: a priority endpoint put first for `service_tier: priority`.
    tier_rank: u8,
    a: f64,
    b: f64,
    price: i64,
    pos: u32,
}

impl Key {
    fn compare(&self, o: &Key) -> std::cmp::Ordering {
        self.order_rank
            .cmp(&o.order_rank)
            .then(self.demoted.is_some().cmp(&o.demoted.is_some()))
            .then(self.tier_rank.cmp(&o.tier_rank))
            .then(self.a.total_cmp(&o.a))
            .then(self.b.total_cmp(&o.b))
            .then(self.price.cmp(&o.price))
            .then(self.pos.cmp(&o.pos))
    }
}

const NO_ATTEMPT: Attempt = Attempt { model: 0, endpoint: 0 };
/// Segments up to this long are ordered without allocating.
const STACK: usize = 32;

struct Ctx<'a, 'i> {
    catalog: &'a Catalog,
    input: &'a RouteInput<'i>,
    health: &'a HealthBook,
    now: Instant,
}

impl Ctx<'_, '_> {
    fn endpoint(&self, a: Attempt) -> &EndpointSpec {
        &self.catalog.models()[a.model].endpoints[a.endpoint]
    }

    /// Orders `out.attempts[start..]` (steps 3–5 of the module docs).
    fn order(&self, out: &mut Route, start: usize, sort: Option<Sort>, rng: &mut impl Rng) {
        let n = out.attempts.len() - start;
        if n == 0 {
            return;
        }
        if n <= STACK {
            let mut buf = [(Key::default(), NO_ATTEMPT); STACK];
            self.order_with(out, start, sort, rng, &mut buf[..n]);
        } else {
            let mut buf = vec![(Key::default(), NO_ATTEMPT); n];
            self.order_with(out, start, sort, rng, &mut buf);
        }
    }

    fn order_with(
        &self,
        out: &mut Route,
        start: usize,
        sort: Option<Sort>,
        rng: &mut impl Rng,
        buf: &mut [(Key, Attempt)],
    ) {
        let prefs = self.input.prefs;
        let ordered = prefs.order.as_ref().is_some_and(|o| !o.is_empty());
        let priority_first = !ordered && prefs::requested_tier(self.input.service_tier) == Some("priority");
        for (i, slot) in buf.iter_mut().enumerate() {
            let a = out.attempts[start + i];
            let e = self.endpoint(a);
            let tier_rank = u8::from(
                !(priority_first && e.service_tier.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("priority"))),
            );
            let (ka, kb) = if tier_rank == 0 {
                (self.throughput_rank(a), 0.0)
            } else {
                match sort {
                    Some(s) => self.metric(a, s),
                    None => (f64::from(u8::from(self.health.is_recently_failing(a, self.now))), 0.0),
                }
            };
            let key = Key {
                order_rank: if ordered {
                    prefs::order_rank(prefs, e).map_or(u32::MAX, |r| u32::try_from(r).unwrap_or(u32::MAX - 1))
                } else {
                    0
                },
                demoted: self.demoted(a),
                tier_rank,
                a: ka,
                b: kb,
                price: e.prompt.0.saturating_add(e.completion.0),
                pos: u32::try_from(i).unwrap_or(u32::MAX),
            };
            *slot = (key, a);
        }
        buf.sort_unstable_by(|x, y| x.0.compare(&y.0));

        let sticky = if ordered {
            None
        } else {
            self.input
                .sticky
                .and_then(|tag| buf.iter().position(|(_, a)| self.endpoint(*a).routing_tag().eq_ignore_ascii_case(tag)))
        };
        if let Some(i) = sticky {
            buf[..=i].rotate_right(1);
        } else if !ordered && sort.is_none() && self.load_balance(buf, rng) {
            out.load_balanced = true;
        }
        for (i, (key, a)) in buf.iter().enumerate() {
            out.attempts[start + i] = *a;
            if let Some(why) = key.demoted {
                out.deprioritized.push((*a, why));
            }
        }
    }

    /// §7.2: draws the first endpoint among the leading stable group,
    /// weighted by 1/price² (uniform among free ones). True when a draw
    /// among two or more was made.
    fn load_balance(&self, buf: &mut [(Key, Attempt)], rng: &mut impl Rng) -> bool {
        let Some((first, _)) = buf.first() else { return false };
        if first.tier_rank == 0 || first.a != 0.0 {
            return false;
        }
        let group = buf
            .iter()
            .take_while(|(k, _)| {
                k.demoted.is_some() == first.demoted.is_some() && k.tier_rank == first.tier_rank && k.a == 0.0
            })
            .count();
        if group < 2 {
            return false;
        }
        // Sorted by price: free endpoints (price ≤ 0) lead the group.
        let free = buf[..group].iter().take_while(|(k, _)| k.price <= 0).count();
        let pick = if free > 0 {
            if free == 1 {
                return false;
            }
            rng.random_range(0..free)
        } else {
            let weight = |k: &Key| {
                let p = k.price as f64;
                1.0 / (p * p)
            };
            let total: f64 = buf[..group].iter().map(|(k, _)| weight(k)).sum();
            let mut r = rng.random::<f64>() * total;
            let mut pick = group - 1;
            for (i, (k, _)) in buf[..group].iter().enumerate() {
                r -= weight(k);
                if r < 0.0 {
                    pick = i;
                    break;
                }
            }
            pick
        };
        buf[..=pick].rotate_right(1);
        true
    }

    /// Throughput p50 over [`SORT_WINDOW`], negated (higher first); unknown last.
    fn throughput_rank(&self, a: Attempt) -> f64 {
        self.health.throughput_percentiles(a, self.now, SORT_WINDOW).map_or(f64::INFINITY, |p| -p.p50)
    }

    fn metric(&self, a: Attempt, sort: Sort) -> (f64, f64) {
        match sort {
            Sort::Price => (0.0, 0.0),
            Sort::Throughput => (self.throughput_rank(a), 0.0),
            Sort::Latency => {
                (self.health.latency_percentiles(a, self.now, SORT_WINDOW).map_or(f64::INFINITY, |p| p.p50), 0.0)
            }
            Sort::Exacto => {
                (self.health.uptime_last_30m(a, self.now).map_or(f64::INFINITY, |u| -u), self.throughput_rank(a))
            }
        }
    }

    /// The soft preference `a` fails, if any (§7.1): every percentile given
    /// must pass; unknown stats pass. Latency thresholds are in seconds.
    fn demoted(&self, a: Attempt) -> Option<&'static str> {
        let prefs = self.input.prefs;
        if let Some(min) = &prefs.preferred_min_throughput
            && let Some(p) = self.health.throughput_percentiles(a, self.now, SOFT_WINDOW)
            && min.given().any(|(q, v)| p.get(q) < v)
        {
            return Some("preferred_min_throughput");
        }
        if let Some(max) = &prefs.preferred_max_latency
            && let Some(p) = self.health.latency_percentiles(a, self.now, SOFT_WINDOW)
            && max.given().any(|(q, v)| p.get(q) > v * 1000.0)
        {
            return Some("preferred_max_latency");
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::parse_catalog;
    use crate::health::Outcome;
    use crate::resolve::resolve;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use serde_json::{Value, json};

    const CAT: &str = r#"
[[models]]
id = "a/one"
supported_parameters = ["temperature", "tools", "top_k"]
context_length = 100000
[[models.endpoints]]
provider = "alpha"
model = "m"
prompt = "0.000001"
quantization = "fp8"
zdr = true
[[models.endpoints]]
provider = "beta"
model = "m"
prompt = "0.000002"
training = true
supported_parameters = ["temperature"]
[[models.endpoints]]
provider = "gamma"
model = "m"
prompt = "0.000003"
tag = "gamma/eu"
retains_prompts = true
max_completion_tokens = 1000
context_length = 8000
[[models.endpoints]]
provider = "alpha"
model = "m-flex"
prompt = "0.0000005"
tag = "alpha/flex"
service_tier = "flex"
[[models.endpoints]]
provider = "alpha"
model = "m-prio"
prompt = "0.000004"
tag = "alpha/priority"
service_tier = "priority"

[[models]]
id = "b/two"
distillable = true
input_modalities = ["text", "image"]
[[models.endpoints]]
provider = "alpha"
model = "two"
prompt = "0.0000015"
[[models.endpoints]]
provider = "delta"
model = "two"
prompt = "0.0000001"

[[models]]
id = "c/free"
[[models.endpoints]]
provider = "p1"
model = "f"
[[models.endpoints]]
provider = "p2"
model = "f"
[[models.endpoints]]
provider = "p3"
model = "f"
prompt = "0.000001"
"#;

    struct World {
        c: Catalog,
        h: HealthBook,
        now: Instant,
    }

    impl World {
        fn new() -> World {
            World::of(CAT)
        }

        fn of(text: &str) -> World {
            let c = Catalog::build(parse_catalog(text).unwrap(), |_| true).unwrap();
            let h = HealthBook::new(&c);
            World { c, h, now: Instant::now() }
        }

        fn at(&self, model: &str, tag: &str) -> Attempt {
            let m = self.c.index_of(model).unwrap();
            let e = self.c.models()[m].endpoints.iter().position(|e| e.routing_tag() == tag).unwrap();
            Attempt { model: m, endpoint: e }
        }

        fn fail(&self, model: &str, tag: &str) {
            for _ in 0..2 {
                self.h.record(self.at(model, tag), self.now, Outcome::Failure { rate_limited: false });
            }
        }

        fn perf(&self, model: &str, tag: &str, ttft_ms: u64, tps: f64) {
            let ok = Outcome::Success { ttft: Duration::from_millis(ttft_ms), tokens_per_sec: Some(tps) };
            for _ in 0..5 {
                self.h.record(self.at(model, tag), self.now, ok);
            }
        }

        fn tags(&self, r: &Route) -> Vec<String> {
            let multi = r.attempts.iter().any(|a| a.model != r.attempts[0].model);
            r.attempts
                .iter()
                .map(|a| {
                    let tag = a.endpoint(&self.c).routing_tag();
                    if multi { format!("{}@{tag}", a.model(&self.c).spec.id) } else { tag.to_owned() }
                })
                .collect()
        }
    }

    struct Req {
        models: Vec<&'static str>,
        prefs: Value,
        requested: Vec<&'static str>,
        needs: Needs,
        tier: Option<&'static str>,
        sticky: Option<&'static str>,
        seed: u64,
        can_send: fn(&EndpointSpec, &str) -> bool,
    }

    impl Default for Req {
        fn default() -> Req {
            Req {
                models: vec!["a/one"],
                prefs: json!({}),
                requested: vec![],
                needs: Needs::default(),
                tier: None,
                sticky: None,
                seed: 7,
                can_send: |_, _| true,
            }
        }
    }

    impl Req {
        fn prefs(v: Value) -> Req {
            Req { prefs: v, ..Req::default() }
        }

        fn go(&self, w: &World) -> Result<Route, RouteError> {
            let models: Vec<Resolved> = self.models.iter().map(|s| resolve(&w.c, s).unwrap()).collect();
            let prefs: ProviderPreferences = serde_json::from_value(self.prefs.clone()).unwrap();
            let input = RouteInput {
                models: &models,
                prefs: &prefs,
                requested: &self.requested,
                needs: &self.needs,
                service_tier: self.tier,
                sticky: self.sticky,
            };
            let mut rng = StdRng::seed_from_u64(self.seed);
            route(&w.c, &input, &w.h, w.now, &mut rng, &self.can_send)
        }

        fn tags(&self, w: &World) -> Vec<String> {
            w.tags(&self.go(w).unwrap())
        }
    }

    fn by(r: &Route) -> Vec<(&str, ExcludedBy)> {
        r.excluded.iter().map(|x| (x.endpoint.as_str(), x.by)).collect()
    }

    #[test]
    fn same_seed_same_route_and_tiers_stay_out_by_default() {
        let w = World::new();
        let first = Req::default().go(&w).unwrap();
        for _ in 0..10 {
            assert_eq!(Req::default().go(&w).unwrap(), first);
        }
        assert!(first.load_balanced);
        assert!(first.excluded.is_empty(), "unrequested tiers are not reported");
        let mut tags = w.tags(&first);
        tags.sort();
        assert_eq!(tags, ["alpha", "beta", "gamma/eu"]);
        // Different seeds reach every stable endpoint first, eventually.
        let firsts: std::collections::HashSet<String> =
            (0..200).map(|seed| Req { seed, ..Req::default() }.tags(&w)[0].clone()).collect();
        assert_eq!(firsts.len(), 3);
    }

    #[test]
    fn inverse_square_weighting_and_failing_last() {
        let w = World::of(
            r#"
[[models]]
id = "x/y"
[[models.endpoints]]
provider = "a"
model = "m"
prompt = "0.000001"
[[models.endpoints]]
provider = "b"
model = "m"
prompt = "0.000002"
[[models.endpoints]]
provider = "c"
model = "m"
prompt = "0.000003"
"#,
        );
        w.fail("x/y", "b");
        assert!(w.h.is_recently_failing(w.at("x/y", "b"), w.now));
        let models = [resolve(&w.c, "x/y").unwrap()];
        let prefs = ProviderPreferences::default();
        let input = RouteInput {
            models: &models,
            prefs: &prefs,
            requested: &[],
            needs: &Needs::default(),
            service_tier: None,
            sticky: None,
        };
        let mut rng = StdRng::seed_from_u64(42);
        let (mut a, mut c) = (0u32, 0u32);
        const N: u32 = 20_000;
        for _ in 0..N {
            let r = route(&w.c, &input, &w.h, w.now, &mut rng, &|_, _| true).unwrap();
            let tags = w.tags(&r);
            assert_eq!(tags[2], "b", "the failing endpoint is always last");
            match tags[..2] {
                [ref x, ref y] if x == "a" && y == "c" => a += 1,
                [ref x, ref y] if x == "c" && y == "a" => c += 1,
                _ => panic!("{tags:?}"),
            }
        }
        let share = f64::from(a) / f64::from(N);
        assert!((share - 0.9).abs() < 0.02, "A first {share}, C first {}", f64::from(c) / f64::from(N));
    }

    #[test]
    fn free_endpoints_are_drawn_uniformly_before_paid_ones() {
        let w = World::new();
        let mut seen = [0u32; 2];
        for seed in 0..2000 {
            let tags = Req { models: vec!["c/free"], seed, ..Req::default() }.tags(&w);
            assert_eq!(tags[2], "p3");
            seen[usize::from(tags[0] == "p2")] += 1;
        }
        assert!(seen.iter().all(|&n| (900..1100).contains(&n)), "{seen:?}");
    }

    #[test]
    fn order_puts_named_providers_first_then_the_rest_by_price() {
        let w = World::new();
        let r = Req::prefs(json!({"order": ["gamma", "BETA"]})).go(&w).unwrap();
        assert_eq!(w.tags(&r), ["gamma/eu", "beta", "alpha"]);
        assert!(!r.load_balanced);
        // Without fallbacks: only the named ones, the rest reported.
        let r = Req::prefs(json!({"order": ["gamma"], "allow_fallbacks": false})).go(&w).unwrap();
        assert_eq!(w.tags(&r), ["gamma/eu"]);
        assert_eq!(by(&r), [("alpha", ExcludedBy::AllowedProviders), ("beta", ExcludedBy::AllowedProviders)]);
        // An exact tier tag in `order` admits the tier endpoint.
        assert_eq!(Req::prefs(json!({"order": ["alpha/flex"]})).tags(&w)[0], "alpha/flex");
        // The rest after `order` is price order with failing endpoints last, not a draw.
        w.fail("a/one", "alpha");
        assert_eq!(Req::prefs(json!({"order": ["gamma"]})).tags(&w), ["gamma/eu", "beta", "alpha"]);
    }

    #[test]
    fn allow_fallbacks_false_keeps_the_first_endpoint_of_each_model() {
        let w = World::new();
        let r =
            Req { models: vec!["a/one", "b/two"], ..Req::prefs(json!({"allow_fallbacks": false, "sort": "price"})) }
                .go(&w)
                .unwrap();
        assert_eq!(w.tags(&r), ["a/one@alpha", "b/two@delta"]);
        // With `only`, every allowed provider stays.
        let tags = Req::prefs(json!({"allow_fallbacks": false, "only": ["alpha", "beta"], "sort": "price"})).tags(&w);
        assert_eq!(tags, ["alpha", "beta"]);
    }

    #[test]
    fn only_and_ignore_follow_the_base_slug_rule() {
        let w = World::new();
        let r = Req::prefs(json!({"only": ["gamma", "alpha"]})).go(&w).unwrap();
        let mut tags = w.tags(&r);
        tags.sort();
        assert_eq!(tags, ["alpha", "gamma/eu"], "base slug matches the region, not the tiers");
        assert_eq!(by(&r), [("beta", ExcludedBy::AllowedProviders)]);
        assert_eq!(Req::prefs(json!({"only": ["gamma/eu"]})).tags(&w), ["gamma/eu"]);
        assert_eq!(Req::prefs(json!({"only": ["alpha/priority"]})).tags(&w), ["alpha/priority"]);
        let r = Req::prefs(json!({"ignore": ["Alpha", "gamma"], "sort": "price"})).go(&w).unwrap();
        assert_eq!(w.tags(&r), ["beta"]);
        assert_eq!(r.excluded[0].detail, "`Alpha` is in `provider.ignore`");
    }

    #[test]
    fn quantization_data_policy_and_distillation() {
        let w = World::new();
        let sorted = |v: Value| Req::prefs(v).tags(&w);
        assert_eq!(sorted(json!({"quantizations": ["FP8"]})), ["alpha"]);
        let r = Req::prefs(json!({"quantizations": ["unknown"], "sort": "price"})).go(&w).unwrap();
        assert_eq!(w.tags(&r), ["beta", "gamma/eu"]);
        assert_eq!(r.excluded[0].detail, "`fp8` is not among unknown");
        let r = Req::prefs(json!({"data_collection": "deny"})).go(&w).unwrap();
        assert_eq!(w.tags(&r), ["alpha"]);
        assert_eq!(by(&r), [("beta", ExcludedBy::DataPolicyTraining), ("gamma/eu", ExcludedBy::DataPolicyTraining)]);
        assert_eq!(r.excluded[1].detail, "retains prompts (`data_collection: deny`)");
        let r = Req::prefs(json!({"zdr": true})).go(&w).unwrap();
        assert_eq!(w.tags(&r), ["alpha"]);
        assert!(r.excluded.iter().all(|x| x.by == ExcludedBy::DataPolicyZdr && x.by.as_str() == "data_policy:zdr"));
        let r = Req { models: vec!["a/one", "b/two"], ..Req::prefs(json!({"enforce_distillable_text": true})) }
            .go(&w)
            .unwrap();
        assert!(r.attempts.iter().all(|a| a.model(&w.c).spec.id == "b/two"));
        assert_eq!(r.excluded.len(), 3);
        let e = Req::prefs(json!({"zdr": true, "data_collection": "deny", "only": ["beta"]})).go(&w).unwrap_err();
        assert_eq!(e.availability_code(), Some("constraint_filtered"));
        let e = Req { models: vec!["b/two"], ..Req::prefs(json!({"zdr": true})) }.go(&w).unwrap_err();
        assert_eq!(e.availability_code(), Some("privacy_restricted"));
        assert_eq!(e.http_status(), 404);
    }

    #[test]
    fn max_price_and_require_parameters_name_what_failed() {
        let w = World::new();
        let r = Req::prefs(json!({"max_price": {"prompt": 2}, "sort": "price"})).go(&w).unwrap();
        assert_eq!(w.tags(&r), ["alpha", "beta"]);
        assert_eq!(r.excluded[0].detail, "prompt $3.00/M > $2.00/M");
        let req = Req {
            requested: vec!["temperature", "seed"],
            ..Req::prefs(json!({"require_parameters": true, "max_price": {"prompt": "2.5"}}))
        };
        let e = req.go(&w).unwrap_err();
        assert_eq!(
            e.to_string(),
            "No endpoints found for a/one: alpha (require_parameters: seed), beta (require_parameters: seed), \
             gamma/eu (max_price: prompt $3.00/M > $2.50/M)"
        );
        assert!(matches!(&e, RouteError::NoEndpoints { models, .. } if models == &["a/one"]));
        // The adapter's say counts too.
        let req = Req {
            requested: vec!["temperature"],
            can_send: |e, p| !(e.provider == "alpha" && p == "temperature"),
            ..Req::prefs(json!({"require_parameters": true, "sort": "price"}))
        };
        assert_eq!(req.tags(&w), ["beta", "gamma/eu"]);
        // Without require_parameters nothing is removed for top_k.
        assert_eq!(Req { requested: vec!["top_k"], ..Req::default() }.go(&w).unwrap().attempts.len(), 3);
    }

    #[test]
    fn context_max_tokens_and_modalities() {
        let w = World::new();
        let long =
            Req { needs: Needs { prompt_tokens: 9000, ..Needs::default() }, ..Req::prefs(json!({"sort": "price"})) };
        let r = long.go(&w).unwrap();
        assert_eq!(w.tags(&r), ["alpha", "beta"]);
        assert_eq!(r.excluded[0].by, ExcludedBy::ContextLength);
        assert_eq!(r.excluded[0].detail, "needs 9000 tokens, context is 8000");
        let capped =
            Req { needs: Needs { max_tokens: Some(2000), ..Needs::default() }, ..Req::prefs(json!({"sort": "price"})) };
        let r = capped.go(&w).unwrap();
        assert_eq!(by(&r), [("gamma/eu", ExcludedBy::MaxTokens)]);
        let image =
            Req { models: vec!["a/one", "b/two"], needs: Needs { images: true, ..Needs::default() }, ..Req::default() };
        let r = image.go(&w).unwrap();
        assert!(r.attempts.iter().all(|a| a.model(&w.c).spec.id == "b/two"));
        assert!(r.excluded.iter().all(|x| x.by == ExcludedBy::Modality && x.model == "a/one"));
        let too_long = Req { needs: Needs { prompt_tokens: 200_000, ..Needs::default() }, ..Req::default() };
        let e = too_long.go(&w).unwrap_err();
        assert_eq!(e.availability_code(), Some("no_endpoints"));
        assert!(e.is_context_length());
        assert_eq!(e.http_status(), 400);
        assert!(e.to_string().contains("context-compression"), "{e}");
        // With compression, a window holding half of the request is enough (§7.9).
        let compressed = Req {
            needs: Needs { prompt_tokens: 15_000, compress_up_to: u64::MAX, ..Needs::default() },
            ..Req::prefs(json!({"sort": "price"}))
        };
        let r = compressed.go(&w).unwrap();
        assert_eq!(r.attempts.len(), 3, "{:?}", r.excluded);
        // By default only windows up to 8,192 tokens compress: gamma's does.
        let default = |prompt_tokens| Req {
            needs: Needs { prompt_tokens, compress_up_to: 8192, ..Needs::default() },
            ..Req::prefs(json!({"sort": "price"}))
        };
        assert_eq!(w.tags(&default(15_000).go(&w).unwrap()), ["alpha", "beta", "gamma/eu"]);
        assert!(default(150_000).go(&w).unwrap_err().is_context_length());
        let asked = Req {
            needs: Needs { prompt_tokens: 150_000, compress_up_to: u64::MAX, ..Needs::default() },
            ..Req::prefs(json!({"sort": "price"}))
        };
        assert_eq!(w.tags(&asked.go(&w).unwrap()), ["alpha", "beta"]);
    }

    #[test]
    fn tools_soft_preference_keeps_only_takers_when_some_take() {
        let w = World::new();
        let r = Req { requested: vec!["tools"], ..Req::default() }.go(&w).unwrap();
        let mut tags = w.tags(&r);
        tags.sort();
        assert_eq!(tags, ["alpha", "gamma/eu"]);
        assert_eq!(by(&r), [("beta", ExcludedBy::Unsupported)]);
        // None take it: all stay.
        let r = Req { requested: vec!["tools"], can_send: |_, p| p != "tools", ..Req::default() }.go(&w).unwrap();
        assert_eq!(r.attempts.len(), 3);
        assert!(r.excluded.is_empty());
    }

    #[test]
    fn strict_sorts() {
        let w = World::new();
        assert_eq!(Req::prefs(json!({"sort": "price"})).tags(&w), ["alpha", "beta", "gamma/eu"]);
        w.perf("a/one", "beta", 900, 80.0);
        w.perf("a/one", "gamma/eu", 100, 40.0);
        // alpha has no stats: last for throughput and latency.
        assert_eq!(Req::prefs(json!({"sort": "throughput"})).tags(&w), ["beta", "gamma/eu", "alpha"]);
        assert_eq!(Req::prefs(json!({"sort": {"by": "latency"}})).tags(&w), ["gamma/eu", "beta", "alpha"]);
        // exacto: success rate, then throughput.
        w.h.record(w.at("a/one", "beta"), w.now, Outcome::Failure { rate_limited: false });
        assert_eq!(Req::prefs(json!({"sort": "exacto"})).tags(&w), ["gamma/eu", "beta", "alpha"]);
        let r = Req::prefs(json!({"sort": "price"})).go(&w).unwrap();
        assert!(!r.load_balanced);
        // A sort ignores recent failures: strict by metric.
        w.fail("a/one", "alpha");
        assert_eq!(Req::prefs(json!({"sort": "price"})).tags(&w), ["alpha", "beta", "gamma/eu"]);
        // Without a sort the failing endpoint goes last.
        for seed in 0..20 {
            assert_eq!(Req { seed, ..Req::default() }.tags(&w)[2], "alpha");
        }
    }

    #[test]
    fn variants_sort_and_admit_their_tier() {
        let w = World::new();
        assert_eq!(
            Req { models: vec!["a/one:floor"], ..Req::default() }.tags(&w),
            ["alpha/flex", "alpha", "beta", "gamma/eu"]
        );
        w.perf("a/one", "alpha/priority", 50, 300.0);
        w.perf("a/one", "beta", 50, 100.0);
        assert_eq!(
            Req { models: vec!["a/one:nitro"], ..Req::default() }.tags(&w),
            ["alpha/priority", "beta", "alpha", "gamma/eu"]
        );
        // provider.sort beats the variant's sort, the tier stays admitted.
        assert_eq!(
            Req { models: vec!["a/one:nitro"], ..Req::prefs(json!({"sort": "price"})) }.tags(&w),
            ["alpha", "beta", "gamma/eu", "alpha/priority"]
        );
    }

    #[test]
    fn service_tiers() {
        let w = World::new();
        let flex = Req { tier: Some("flex"), ..Req::default() }.go(&w).unwrap();
        assert_eq!(w.tags(&flex), ["alpha/flex"]);
        assert!(flex.excluded.iter().all(|x| x.by == ExcludedBy::ServiceTier));
        assert_eq!(flex.excluded.len(), 3);
        w.perf("a/one", "alpha/priority", 50, 300.0);
        for tier in ["priority", "fast"] {
            let tags = Req { tier: Some(tier), ..Req::default() }.tags(&w);
            assert_eq!(tags[0], "alpha/priority");
            assert_eq!(tags.len(), 4);
        }
        // Nothing but tier endpoints nobody asked for: they are named.
        let w = World::of(
            r#"
[[models]]
id = "t/only"
[[models.endpoints]]
provider = "o"
model = "m"
tag = "o/flex"
service_tier = "flex"
"#,
        );
        let e = Req { models: vec!["t/only"], ..Req::default() }.go(&w).unwrap_err();
        assert_eq!(
            e.to_string(),
            "No endpoints found for t/only: o/flex (service_tier: `flex` endpoints are used only when asked for by \
             `service_tier`, a `:nitro`/`:floor` variant or their exact tag)"
        );
        assert_eq!(Req { models: vec!["t/only:floor"], ..Req::default() }.tags(&w), ["o/flex"]);
    }

    #[test]
    fn soft_performance_preferences_move_endpoints_back() {
        let w = World::new();
        w.perf("a/one", "alpha", 3000, 10.0);
        w.perf("a/one", "beta", 500, 100.0);
        // gamma has no stats: passes.
        let r = Req::prefs(json!({"preferred_min_throughput": 50, "sort": "price"})).go(&w).unwrap();
        assert_eq!(w.tags(&r), ["beta", "gamma/eu", "alpha"]);
        assert_eq!(r.deprioritized, [(w.at("a/one", "alpha"), "preferred_min_throughput")]);
        let r = Req::prefs(json!({"preferred_max_latency": {"p90": 1}, "sort": "price"})).go(&w).unwrap();
        assert_eq!(w.tags(&r), ["beta", "gamma/eu", "alpha"]);
        assert_eq!(r.deprioritized[0].1, "preferred_max_latency");
        // In the default mode the draw happens among the passing ones only.
        for seed in 0..50 {
            let tags = Req { seed, ..Req::prefs(json!({"preferred_max_latency": 2})) }.tags(&w);
            assert_eq!(tags[2], "alpha");
        }
        // Old stats no longer count: 5-minute window.
        let later = World { now: w.now + Duration::from_secs(600), ..World::new() };
        assert!(Req::prefs(json!({"preferred_max_latency": 2})).go(&later).unwrap().deprioritized.is_empty());
    }

    #[test]
    fn sticky_endpoint_goes_first_unless_order_is_set() {
        let w = World::new();
        for seed in 0..30 {
            let r = Req { sticky: Some("gamma/eu"), seed, ..Req::default() }.go(&w).unwrap();
            assert_eq!(w.tags(&r), ["gamma/eu", "alpha", "beta"]);
            assert!(!r.load_balanced);
        }
        assert_eq!(Req { sticky: Some("beta"), ..Req::prefs(json!({"sort": "price"})) }.tags(&w)[0], "beta");
        assert_eq!(Req { sticky: Some("beta"), ..Req::prefs(json!({"order": ["gamma"]})) }.tags(&w)[0], "gamma/eu");
        // An unknown sticky tag changes nothing.
        assert_eq!(Req { sticky: Some("zeta"), ..Req::default() }.go(&w).unwrap(), Req::default().go(&w).unwrap());
    }

    #[test]
    fn partition_model_versus_none() {
        let w = World::new();
        let two = |v: Value| Req { models: vec!["a/one", "b/two"], ..Req::prefs(v) }.tags(&w);
        assert_eq!(
            two(json!({"sort": "price"})),
            ["a/one@alpha", "a/one@beta", "a/one@gamma/eu", "b/two@delta", "b/two@alpha"]
        );
        assert_eq!(
            two(json!({"sort": {"by": "price", "partition": "none"}})),
            ["b/two@delta", "a/one@alpha", "b/two@alpha", "a/one@beta", "a/one@gamma/eu"]
        );
        // Default partition keeps every endpoint of the first model first.
        let tags = Req { models: vec!["a/one", "b/two"], ..Req::default() }.tags(&w);
        assert!(tags[..3].iter().all(|t| t.starts_with("a/one@")), "{tags:?}");
    }

    #[test]
    fn no_endpoints_lists_every_model_and_filter() {
        let w = World::new();
        let e = Req { models: vec!["a/one", "b/two"], ..Req::prefs(json!({"max_price": {"prompt": 0.05}})) }
            .go(&w)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "No endpoints found for a/one, b/two: a/one alpha (max_price: prompt $1.00/M > $0.05/M), \
             a/one beta (max_price: prompt $2.00/M > $0.05/M), a/one gamma/eu (max_price: prompt $3.00/M > $0.05/M), \
             b/two alpha (max_price: prompt $1.50/M > $0.05/M), b/two delta (max_price: prompt $0.10/M > $0.05/M)"
        );
        let RouteError::NoEndpoints { excluded, .. } = &e else { panic!() };
        assert_eq!(serde_json::to_value(&excluded[0]).unwrap()["by"], "max_price");
        assert_eq!(e.availability_code(), Some("constraint_filtered"));
        let empty = Req { models: vec![], ..Req::default() };
        assert_eq!(empty.go(&w).unwrap_err(), RouteError::NoModels);
    }
}
