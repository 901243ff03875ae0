//! OpenRouter's `provider` object: per-request routing preferences.
//!
//! Every documented field is typed; a field of the wrong type fails
//! deserialization (the server answers 400 naming the field). Unknown fields
//! are kept in `extra` so newer clients do not break.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::Extra;

/// The `provider` object of a chat request (or a server-side default).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct ProviderPreferences {
    /// Providers to try first, in this order (slugs or display names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Vec<String>>,
    /// `false`: only the primary / `order` / `only` providers. Default `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_fallbacks: Option<bool>,
    /// Only endpoints that take every parameter of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_parameters: Option<bool>,
    /// `deny`: skip endpoints that keep or train on prompts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_collection: Option<DataCollection>,
    /// `true`: only zero-data-retention endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zdr: Option<bool>,
    /// Only models whose authors allow distillation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_distillable_text: Option<bool>,
    /// Allow-list of providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<Vec<String>>,
    /// Block-list of providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<Vec<String>>,
    /// Allowed quantizations (`int4`, `fp8`, `bf16`, ..., `unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantizations: Option<Vec<String>>,
    /// Strict ordering by a metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<SortPref>,
    /// Hard price ceilings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_price: Option<MaxPrice>,
    /// Soft: endpoints slower than this (tokens/s) move to the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_min_throughput: Option<PercentileThreshold>,
    /// Soft: endpoints with a longer time to first token (seconds) move to the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_max_latency: Option<PercentileThreshold>,
    /// Fields this version does not know.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ProviderPreferences {
    /// These preferences laid over server-side `defaults`: each field the
    /// request sets wins, except that the `ignore` lists are unioned, `zdr`
    /// is OR-ed and `data_collection: deny` on either side wins (account
    /// privacy settings can only be tightened by a request, §7.1, §7.10).
    pub fn merged_over(&self, defaults: &ProviderPreferences) -> ProviderPreferences {
        let ignore = match (&self.ignore, &defaults.ignore) {
            (Some(mine), Some(theirs)) => {
                let mut all = theirs.clone();
                for slug in mine {
                    if !all.iter().any(|s| s.eq_ignore_ascii_case(slug)) {
                        all.push(slug.clone());
                    }
                }
                Some(all)
            }
            (mine, theirs) => mine.clone().or_else(|| theirs.clone()),
        };
        let zdr = match (self.zdr, defaults.zdr) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (mine, theirs) => mine.or(theirs),
        };
        let data_collection = match (self.data_collection, defaults.data_collection) {
            (Some(DataCollection::Deny), _) | (_, Some(DataCollection::Deny)) => Some(DataCollection::Deny),
            (mine, theirs) => mine.or(theirs),
        };
        let mut extra = defaults.extra.clone();
        extra.extend(self.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        ProviderPreferences {
            order: self.order.clone().or_else(|| defaults.order.clone()),
            allow_fallbacks: self.allow_fallbacks.or(defaults.allow_fallbacks),
            require_parameters: self.require_parameters.or(defaults.require_parameters),
            data_collection,
            zdr,
            enforce_distillable_text: self.enforce_distillable_text.or(defaults.enforce_distillable_text),
            only: self.only.clone().or_else(|| defaults.only.clone()),
            ignore,
            quantizations: self.quantizations.clone().or_else(|| defaults.quantizations.clone()),
            sort: self.sort.or(defaults.sort),
            max_price: self.max_price.or(defaults.max_price),
            preferred_min_throughput: self.preferred_min_throughput.or(defaults.preferred_min_throughput),
            preferred_max_latency: self.preferred_max_latency.or(defaults.preferred_max_latency),
            extra,
        }
    }

    /// `allow_fallbacks`, defaulting to `true`.
    pub fn fallbacks_allowed(&self) -> bool {
        self.allow_fallbacks.unwrap_or(true)
    }
}

/// `data_collection`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DataCollection {
    /// Endpoints that keep or train on prompts may be used (the default).
    #[default]
    Allow,
    /// Skip endpoints that keep or train on prompts.
    Deny,
}

/// The metric of `provider.sort`.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum SortBy {
    /// Cheapest first (prompt + completion price).
    Price,
    /// Highest throughput (tokens/s) first.
    Throughput,
    /// Lowest time to first token first.
    Latency,
    /// Quality first: success rate, then throughput.
    Exacto,
}

impl SortBy {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            SortBy::Price => "price",
            SortBy::Throughput => "throughput",
            SortBy::Latency => "latency",
            SortBy::Exacto => "exacto",
        }
    }
}

/// `provider.sort.partition`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Partition {
    /// Every endpoint of the primary model before any fallback model.
    #[default]
    Model,
    /// Sort the endpoints of all models together.
    None,
}

/// `provider.sort`: a metric name, or `{by, partition}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortPref {
    /// `"price"` and the like.
    By(SortBy),
    /// `{by, partition}`.
    Detailed {
        /// The metric.
        by: SortBy,
        /// How models are grouped; `None` means the default, `model`.
        partition: Option<Partition>,
    },
}

impl SortPref {
    /// The metric.
    pub fn by(self) -> SortBy {
        match self {
            SortPref::By(by) | SortPref::Detailed { by, .. } => by,
        }
    }

    /// The partition, defaulting to `model`.
    pub fn partition(self) -> Partition {
        match self {
            SortPref::By(_) => Partition::Model,
            SortPref::Detailed { partition, .. } => partition.unwrap_or_default(),
        }
    }
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct DetailedSort {
    by: SortBy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    partition: Option<Partition>,
}

impl<'de> Deserialize<'de> for SortPref {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            v @ Value::String(_) => serde_json::from_value(v)
                .map(SortPref::By)
                .map_err(|_| D::Error::custom("`sort` must be one of `price`, `throughput`, `latency`, `exacto`")),
            v @ Value::Object(_) => serde_json::from_value::<DetailedSort>(v)
                .map(|s| SortPref::Detailed { by: s.by, partition: s.partition })
                .map_err(|e| D::Error::custom(format!("`sort`: {e}"))),
            _ => Err(D::Error::custom("`sort` must be a string or an object `{by, partition}`")),
        }
    }
}

impl Serialize for SortPref {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            SortPref::By(by) => by.serialize(s),
            SortPref::Detailed { by, partition } => DetailedSort { by, partition }.serialize(s),
        }
    }
}

/// `provider.max_price`: prompt and completion in USD per million tokens,
/// `request` per request, `image` per image, `audio` per million audio
/// tokens. Numbers or numeric strings are accepted.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct MaxPrice {
    /// USD per million prompt tokens.
    #[serde(default, deserialize_with = "number_or_string", skip_serializing_if = "Option::is_none")]
    pub prompt: Option<f64>,
    /// USD per million completion tokens.
    #[serde(default, deserialize_with = "number_or_string", skip_serializing_if = "Option::is_none")]
    pub completion: Option<f64>,
    /// USD per request.
    #[serde(default, deserialize_with = "number_or_string", skip_serializing_if = "Option::is_none")]
    pub request: Option<f64>,
    /// USD per image.
    #[serde(default, deserialize_with = "number_or_string", skip_serializing_if = "Option::is_none")]
    pub image: Option<f64>,
    /// USD per million audio tokens.
    #[serde(default, deserialize_with = "number_or_string", skip_serializing_if = "Option::is_none")]
    pub audio: Option<f64>,
}

fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_f64().map(Some).ok_or_else(|| D::Error::custom("a price must be a number")),
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => Err(D::Error::custom(format!("`{s}` is not a number"))),
        },
        _ => Err(D::Error::custom("a price must be a number")),
    }
}

/// `preferred_min_throughput` / `preferred_max_latency`: a number (applies
/// to p50) or `{p50, p75, p90, p99}`; every percentile given must pass.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq)]
pub struct PercentileThreshold {
    /// Median.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50: Option<f64>,
    /// 75th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p75: Option<f64>,
    /// 90th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90: Option<f64>,
    /// 99th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<f64>,
}

impl PercentileThreshold {
    /// `(percentile, threshold)` for each percentile given.
    pub fn given(&self) -> impl Iterator<Item = (u8, f64)> + '_ {
        [(50, self.p50), (75, self.p75), (90, self.p90), (99, self.p99)]
            .into_iter()
            .filter_map(|(p, v)| v.map(|v| (p, v)))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdObject {
    #[serde(default)]
    p50: Option<f64>,
    #[serde(default)]
    p75: Option<f64>,
    #[serde(default)]
    p90: Option<f64>,
    #[serde(default)]
    p99: Option<f64>,
}

impl<'de> Deserialize<'de> for PercentileThreshold {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => {
                let p50 = n.as_f64().ok_or_else(|| D::Error::custom("the threshold must be a number"))?;
                Ok(PercentileThreshold { p50: Some(p50), ..Default::default() })
            }
            v @ Value::Object(_) => serde_json::from_value::<ThresholdObject>(v)
                .map(|t| PercentileThreshold { p50: t.p50, p75: t.p75, p90: t.p90, p99: t.p99 })
                .map_err(|e| D::Error::custom(format!("percentile threshold: {e}"))),
            _ => Err(D::Error::custom("expected a number or an object `{p50, p75, p90, p99}`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn prefs(v: Value) -> Result<ProviderPreferences, serde_json::Error> {
        serde_json::from_value(v)
    }

    #[test]
    fn every_field_parses() {
        let p = prefs(json!({
            "order": ["openai", "Amazon Bedrock"], "allow_fallbacks": false, "require_parameters": true,
            "data_collection": "deny", "zdr": true, "enforce_distillable_text": true,
            "only": ["openai"], "ignore": ["groq"], "quantizations": ["fp8", "unknown"],
            "sort": {"by": "throughput", "partition": "none"},
            "max_price": {"prompt": 1, "completion": "2.5", "request": 0.01, "image": 0.5, "audio": 3},
            "preferred_min_throughput": 50, "preferred_max_latency": {"p90": 2.5}, "future_field": [1]
        }))
        .unwrap();
        assert_eq!(p.order.as_deref().unwrap(), ["openai", "Amazon Bedrock"]);
        assert!(!p.fallbacks_allowed());
        assert_eq!(p.data_collection, Some(DataCollection::Deny));
        assert_eq!(p.sort.unwrap().by(), SortBy::Throughput);
        assert_eq!(p.sort.unwrap().partition(), Partition::None);
        let m = p.max_price.unwrap();
        assert_eq!(
            (m.prompt, m.completion, m.request, m.image, m.audio),
            (Some(1.0), Some(2.5), Some(0.01), Some(0.5), Some(3.0))
        );
        assert_eq!(p.preferred_min_throughput.unwrap().given().collect::<Vec<_>>(), [(50, 50.0)]);
        assert_eq!(p.preferred_max_latency.unwrap().given().collect::<Vec<_>>(), [(90, 2.5)]);
        assert_eq!(p.extra["future_field"], json!([1]));
        // And back again.
        let back: ProviderPreferences = serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn sort_as_plain_string_defaults_to_model_partition() {
        let p = prefs(json!({"sort": "price"})).unwrap();
        assert_eq!(p.sort, Some(SortPref::By(SortBy::Price)));
        assert_eq!(p.sort.unwrap().partition(), Partition::Model);
        assert_eq!(serde_json::to_value(&p).unwrap(), json!({"sort": "price"}));
        assert_eq!(prefs(json!({"sort": null})).unwrap().sort, None);
    }

    #[test]
    fn bad_types_fail_and_name_the_problem() {
        for bad in [
            json!({"order": "openai"}),
            json!({"allow_fallbacks": "no"}),
            json!({"data_collection": "maybe"}),
            json!({"zdr": 1}),
            json!({"sort": "fastest"}),
            json!({"sort": {"by": "price", "partition": "all"}}),
            json!({"sort": 3}),
            json!({"max_price": {"prompt": "cheap"}}),
            json!({"max_price": {"prompt": true}}),
            json!({"preferred_min_throughput": "fast"}),
            json!({"preferred_max_latency": {"p42": 1}}),
            json!({"quantizations": [8]}),
        ] {
            assert!(prefs(bad.clone()).is_err(), "{bad}");
        }
        let e = prefs(json!({"sort": "fastest"})).unwrap_err().to_string();
        assert!(e.contains("price"), "{e}");
    }

    #[test]
    fn request_overrides_defaults_but_ignore_unions_and_privacy_tightens() {
        let defaults = prefs(json!({
            "ignore": ["groq"], "zdr": true, "data_collection": "deny", "sort": "price",
            "only": ["openai", "anthropic"], "allow_fallbacks": false, "x": 1
        }))
        .unwrap();
        let req = prefs(json!({
            "ignore": ["together", "GROQ"], "zdr": false, "data_collection": "allow",
            "sort": "latency", "only": ["openai"], "x": 2
        }))
        .unwrap();
        let m = req.merged_over(&defaults);
        assert_eq!(m.ignore.as_deref().unwrap(), ["groq", "together"]);
        assert_eq!(m.zdr, Some(true));
        assert_eq!(m.data_collection, Some(DataCollection::Deny));
        assert_eq!(m.sort, Some(SortPref::By(SortBy::Latency)));
        assert_eq!(m.only.as_deref().unwrap(), ["openai"]);
        assert_eq!(m.allow_fallbacks, Some(false));
        assert_eq!(m.extra["x"], 2);
        assert_eq!(ProviderPreferences::default().merged_over(&defaults), defaults);
        assert_eq!(req.merged_over(&ProviderPreferences::default()).zdr, Some(false));
    }
}
