//! The hard filters of `provider` preferences (§7.1, §7.8, §7.10): which
//! endpoints of a model may serve a request at all, and why not.
//!
//! Provider names are matched against an endpoint's routing tag (§7.1 "Slug
//! matching"), case-insensitively, a space in the name standing for a `-` in
//! the slug (so the display name `Amazon Bedrock` matches `amazon-bedrock`;
//! names that differ from their slug otherwise, like `Moonshot AI`, are not
//! known here). A base slug (`google-vertex`) matches the provider's
//! regions and variants (`google-vertex/us-east5`, `deepinfra/turbo`) but a
//! service-tier endpoint (`openai/flex`) only when named exactly.

use switchyard_api::UnitPrice;
use switchyard_api::provider::{DataCollection, ProviderPreferences};

use crate::catalog::{EndpointSpec, Model};
use crate::params::endpoint_takes;
use crate::resolve::Resolved;
use crate::route::{ExcludedBy, RouteInput};

/// `a` and `b` are the same name: ASCII case-insensitive, a space in `name`
/// matching a `-` in `slug`.
fn name_eq(name: &str, slug: &str) -> bool {
    name.len() == slug.len()
        && name.bytes().zip(slug.bytes()).all(|(a, b)| a.eq_ignore_ascii_case(&b) || (a == b' ' && b == b'-'))
}

/// True when `name` names exactly this endpoint's routing tag.
pub fn names_exactly(name: &str, e: &EndpointSpec) -> bool {
    name_eq(name, e.routing_tag())
}

/// True when `name` (from `order`, `only` or `ignore`) selects the endpoint:
/// its exact routing tag, or — for endpoints that are not a service tier —
/// its provider or the base of its tag (`google-vertex` for
/// `google-vertex/us-east5`).
pub fn matches_slug(name: &str, e: &EndpointSpec) -> bool {
    if names_exactly(name, e) {
        return true;
    }
    if e.service_tier.is_some() {
        return false;
    }
    name_eq(name, &e.provider) || e.routing_tag().split_once('/').is_some_and(|(base, _)| name_eq(name, base))
}

/// The tier a request's `service_tier` asks for: `flex`, or `priority` (for
/// `priority` and `fast`); `default`, `auto` and the rest ask for none.
pub fn requested_tier(service_tier: Option<&str>) -> Option<&'static str> {
    let t = service_tier?;
    if t.eq_ignore_ascii_case("flex") {
        Some("flex")
    } else if t.eq_ignore_ascii_case("priority") || t.eq_ignore_ascii_case("fast") {
        Some("priority")
    } else {
        None
    }
}

/// The position in `order` of the first name selecting `e`.
pub fn order_rank(prefs: &ProviderPreferences, e: &EndpointSpec) -> Option<usize> {
    prefs.order.as_deref()?.iter().position(|n| matches_slug(n, e))
}

fn list(v: &Option<Vec<String>>) -> Option<&[String]> {
    v.as_deref().filter(|l| !l.is_empty())
}

/// What the filters make of one endpoint.
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict {
    /// A candidate.
    Keep,
    /// A service-tier endpoint nobody asked for: not a candidate, and not
    /// worth reporting unless nothing else is left.
    Skip,
    /// Removed by a filter.
    Exclude(ExcludedBy, String),
}

/// Why a tier endpoint nobody asked for is not used.
pub(crate) fn unrequested_tier(e: &EndpointSpec) -> String {
    format!(
        "`{}` endpoints are used only when asked for by `service_tier`, a `:nitro`/`:floor` variant or their exact tag",
        e.service_tier.as_deref().unwrap_or_default()
    )
}

fn usd_per_million(p: UnitPrice) -> f64 {
    p.per_million_usd()
}

fn usd_per_unit(p: UnitPrice) -> f64 {
    p.0 as f64 / 1e15
}

/// Dollars with at least two decimals, more when it takes more.
pub(crate) fn dollars(x: f64) -> String {
    let cents = x * 100.0;
    if (cents - cents.round()).abs() < 1e-6 { format!("${x:.2}") } else { format!("${x}") }
}

/// Applies the hard filters to endpoint `e` of `model`, in this order (the
/// first that fails is reported): service tier (§7.8), `only`, `ignore`,
/// `order` without fallbacks, `quantizations`, `data_collection`, `zdr`
/// (§7.10), `enforce_distillable_text`, input modalities, context length,
/// `max_tokens` against the endpoint's completion cap, `max_price`,
/// `require_parameters`.
pub(crate) fn admit(
    model: &Model,
    e: &EndpointSpec,
    resolved: &Resolved,
    input: &RouteInput<'_>,
    can_send: &dyn Fn(&EndpointSpec, &str) -> bool,
) -> Verdict {
    let prefs = input.prefs;
    let asked_tier = requested_tier(input.service_tier);
    // Service tiers (§7.8): tier endpoints are opt-in; `flex` asks for them only.
    if let Some(tier) = e.service_tier.as_deref() {
        let admitted = asked_tier.is_some_and(|t| t.eq_ignore_ascii_case(tier))
            || resolved.admit_tier.is_some_and(|t| t.eq_ignore_ascii_case(tier))
            || prefs.order.iter().chain(prefs.only.iter()).flatten().any(|n| names_exactly(n, e));
        if !admitted {
            return Verdict::Skip;
        }
    }
    if asked_tier == Some("flex") && !e.service_tier.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("flex")) {
        return Verdict::Exclude(ExcludedBy::ServiceTier, "not a flex endpoint (`service_tier: flex`)".to_owned());
    }
    // Allowed providers.
    if let Some(only) = list(&prefs.only)
        && !only.iter().any(|n| matches_slug(n, e))
    {
        return Verdict::Exclude(ExcludedBy::AllowedProviders, "not in `provider.only`".to_owned());
    }
    if let Some(ignore) = list(&prefs.ignore)
        && let Some(n) = ignore.iter().find(|n| matches_slug(n, e))
    {
        return Verdict::Exclude(ExcludedBy::AllowedProviders, format!("`{n}` is in `provider.ignore`"));
    }
    if !prefs.fallbacks_allowed() && list(&prefs.order).is_some() && order_rank(prefs, e).is_none() {
        return Verdict::Exclude(
            ExcludedBy::AllowedProviders,
            "not in `provider.order` and `allow_fallbacks` is false".to_owned(),
        );
    }
    // Quantization: an endpoint without one counts as `unknown`.
    if let Some(quants) = list(&prefs.quantizations) {
        let q = e.quantization.as_deref().unwrap_or("unknown");
        if !quants.iter().any(|x| x.eq_ignore_ascii_case(q)) {
            return Verdict::Exclude(ExcludedBy::Quantization, format!("`{q}` is not among {}", quants.join(", ")));
        }
    }
    // Data policies (§7.10).
    if prefs.data_collection == Some(DataCollection::Deny) && (e.training || e.retains_prompts) {
        let what = if e.training { "may train on prompts" } else { "retains prompts" };
        return Verdict::Exclude(ExcludedBy::DataPolicyTraining, format!("{what} (`data_collection: deny`)"));
    }
    if prefs.zdr == Some(true) && !e.zdr {
        return Verdict::Exclude(ExcludedBy::DataPolicyZdr, "not a zero-data-retention endpoint".to_owned());
    }
    if prefs.enforce_distillable_text == Some(true) && !model.spec.distillable {
        return Verdict::Exclude(ExcludedBy::Distillable, "the model's author does not allow distillation".to_owned());
    }
    // What the request needs.
    let needs = input.needs;
    if let Some(m) = needs.missing_modality(model) {
        return Verdict::Exclude(ExcludedBy::Modality, format!("the model does not take {m} input"));
    }
    let context = e.context_length.unwrap_or(model.spec.context_length);
    if !needs.fits(context) {
        return Verdict::Exclude(
            ExcludedBy::ContextLength,
            format!("needs {} tokens, context is {context}", needs.context_tokens()),
        );
    }
    if let (Some(want), Some(cap)) = (needs.max_tokens, e.max_completion_tokens)
        && want > cap
    {
        return Verdict::Exclude(ExcludedBy::MaxTokens, format!("max_tokens {want} > {cap}"));
    }
    // Price ceilings.
    if let Some(max) = &prefs.max_price {
        let checks = [
            ("prompt", usd_per_million(e.prompt), max.prompt, "/M"),
            ("completion", usd_per_million(e.completion), max.completion, "/M"),
            ("request", usd_per_unit(e.request), max.request, "/request"),
            ("image", usd_per_unit(e.image), max.image, "/image"),
        ];
        for (what, price, ceiling, unit) in checks {
            if let Some(ceiling) = ceiling
                && price > ceiling + ceiling.abs() * 1e-9
            {
                return Verdict::Exclude(
                    ExcludedBy::MaxPrice,
                    format!("{what} {}{unit} > {}{unit}", dollars(price), dollars(ceiling)),
                );
            }
        }
    }
    // Every parameter of the request.
    if prefs.require_parameters == Some(true) {
        let takes = |p: &str| endpoint_takes(model, e, p) && can_send(e, p);
        if !input.requested.iter().all(|p| takes(p)) {
            let missing: Vec<&str> = input.requested.iter().copied().filter(|p| !takes(p)).collect();
            return Verdict::Exclude(ExcludedBy::RequireParameters, missing.join(", "));
        }
    }
    Verdict::Keep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(provider: &str, tag: Option<&str>, tier: Option<&str>) -> EndpointSpec {
        let mut e: EndpointSpec = toml::from_str(&format!("provider = \"{provider}\"\nmodel = \"m\"")).unwrap();
        e.tag = tag.map(str::to_owned);
        e.service_tier = tier.map(str::to_owned);
        e
    }

    #[test]
    fn base_slug_rule() {
        let region = ep("google-vertex", Some("google-vertex/us-east5"), None);
        let plain = ep("google-vertex", None, None);
        let flex = ep("google-vertex", Some("google-vertex/flex"), Some("flex"));
        let turbo = ep("deepinfra", Some("deepinfra/turbo"), None);
        assert!(matches_slug("google-vertex", &region));
        assert!(matches_slug("Google-Vertex", &plain));
        assert!(matches_slug("Google Vertex", &region), "display names with spaces");
        assert!(matches_slug("google-vertex/us-east5", &region));
        assert!(!matches_slug("google-vertex/us-east5", &plain));
        assert!(!matches_slug("google-vertex", &flex), "tiers must be named");
        assert!(matches_slug("google-vertex/FLEX", &flex));
        assert!(matches_slug("DeepInfra", &turbo));
        assert!(!matches_slug("deepinfra/turbo2", &turbo));
        assert!(!matches_slug("google", &plain));
        assert!(!matches_slug("google-vertex/us", &region));
        assert!(!matches_slug("ü", &ep("u", None, None)));
    }

    #[test]
    fn tiers_and_money() {
        assert_eq!(requested_tier(Some("Fast")), Some("priority"));
        assert_eq!(requested_tier(Some("flex")), Some("flex"));
        assert_eq!(requested_tier(Some("default")), None);
        assert_eq!(requested_tier(None), None);
        assert_eq!(dollars(3.0), "$3.00");
        assert_eq!(dollars(0.075), "$0.075");
        assert_eq!(dollars(1.5), "$1.50");
    }
}
