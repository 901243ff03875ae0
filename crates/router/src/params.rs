//! Request parameters in OpenRouter's `supported_parameters` vocabulary:
//! which ones a request uses, which ones an endpoint takes, and removing the
//! ones it does not. OpenRouter drops an unsupported parameter for that
//! provider, or skips the provider when `provider.require_parameters` is set.

use serde_json::Value;
use switchyard_api::ChatRequest;

use crate::catalog::{EndpointSpec, Model};

/// Parameters in `extra` (fields the canonical request does not model) that
/// are part of the vocabulary.
const EXTRA_PARAMETERS: &[&str] =
    &["logit_bias", "logprobs", "top_logprobs", "parallel_tool_calls", "prediction", "web_search_options", "verbosity"];

/// The vocabulary names of the parameters `req` sets, in a fixed order.
/// `max_tokens` is left out: every endpoint takes an output cap.
pub fn requested(req: &ChatRequest) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut add = |set: bool, name: &'static str| {
        if set {
            out.push(name);
        }
    };
    add(req.temperature.is_some(), "temperature");
    add(req.top_p.is_some(), "top_p");
    add(req.top_k.is_some(), "top_k");
    add(req.frequency_penalty.is_some(), "frequency_penalty");
    add(req.presence_penalty.is_some(), "presence_penalty");
    add(req.repetition_penalty.is_some(), "repetition_penalty");
    add(req.min_p.is_some(), "min_p");
    add(req.top_a.is_some(), "top_a");
    add(req.seed.is_some(), "seed");
    add(req.stop.is_some(), "stop");
    add(req.tools.as_ref().is_some_and(|t| !t.is_empty()), "tools");
    add(req.tool_choice.is_some(), "tool_choice");
    add(req.response_format.is_some(), "response_format");
    add(is_json_schema(req.response_format.as_ref()), "structured_outputs");
    add(req.reasoning.is_some() || req.reasoning_effort.is_some(), "reasoning");
    add(req.include_reasoning.is_some(), "include_reasoning");
    for name in EXTRA_PARAMETERS {
        add(req.extra.get(*name).is_some_and(|v| !v.is_null()), name);
    }
    out
}

fn is_json_schema(format: Option<&Value>) -> bool {
    format.and_then(|f| f.get("type")).and_then(Value::as_str) == Some("json_schema")
}

/// True when the endpoint's list (or else the model's) names `param`. A model
/// without a list takes everything: configured local models rarely have one.
pub fn endpoint_takes(model: &Model, endpoint: &EndpointSpec, param: &str) -> bool {
    let list = endpoint.supported_parameters.as_deref().unwrap_or(&model.spec.supported_parameters);
    if list.is_empty() {
        return true;
    }
    let listed = |name: &str| list.iter().any(|p| p == name);
    match param {
        // Catalogs name reasoning control by any of these three.
        "reasoning" | "include_reasoning" => {
            listed("reasoning") || listed("include_reasoning") || listed("reasoning_effort")
        }
        _ => listed(param),
    }
}

/// Removes the named parameters from `req`, returning a copy, or `None` when
/// none of them is set (the common case, which then costs no copy).
pub fn without(req: &ChatRequest, drop: &[&str]) -> Option<ChatRequest> {
    if drop.is_empty() {
        return None;
    }
    let mut out = req.clone();
    for name in drop {
        match *name {
            "temperature" => out.temperature = None,
            "top_p" => out.top_p = None,
            "top_k" => out.top_k = None,
            "frequency_penalty" => out.frequency_penalty = None,
            "presence_penalty" => out.presence_penalty = None,
            "repetition_penalty" => out.repetition_penalty = None,
            "min_p" => out.min_p = None,
            "top_a" => out.top_a = None,
            "seed" => out.seed = None,
            "stop" => out.stop = None,
            "tools" => {
                out.tools = None;
                out.tool_choice = None;
            }
            "tool_choice" => out.tool_choice = None,
            "response_format" | "structured_outputs" => out.response_format = None,
            "reasoning" => {
                out.reasoning = None;
                out.reasoning_effort = None;
            }
            "include_reasoning" => out.include_reasoning = None,
            other => {
                out.extra.remove(other);
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Catalog, parse_catalog};
    use serde_json::json;

    fn req(v: Value) -> ChatRequest {
        serde_json::from_value(v).unwrap()
    }

    const CAT: &str = r#"
[[models]]
id = "a/listed"
supported_parameters = ["temperature", "tools", "tool_choice", "reasoning_effort"]
[[models.endpoints]]
provider = "p"
model = "m"
[[models.endpoints]]
provider = "q"
model = "m"
supported_parameters = ["temperature", "top_k"]
[[models]]
id = "a/open"
[[models.endpoints]]
provider = "p"
model = "m"
"#;

    #[test]
    fn names_what_the_request_sets() {
        let r = req(json!({
            "messages": [], "temperature": 0.2, "seed": 1, "tools": [{"type": "function", "function": {"name": "f"}}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {}}},
            "reasoning": {"effort": "low"}, "logit_bias": {"1": 2}, "verbosity": null, "max_tokens": 5
        }));
        assert_eq!(
            requested(&r),
            ["temperature", "seed", "tools", "response_format", "structured_outputs", "reasoning", "logit_bias"]
        );
    }

    #[test]
    fn endpoint_list_overrides_model_list_and_no_list_takes_all() {
        let c = Catalog::build(parse_catalog(CAT).unwrap(), |_| true).unwrap();
        let listed = c.get("a/listed").unwrap();
        assert!(endpoint_takes(listed, &listed.endpoints[0], "reasoning"));
        assert!(!endpoint_takes(listed, &listed.endpoints[0], "top_k"));
        assert!(endpoint_takes(listed, &listed.endpoints[1], "top_k"));
        assert!(!endpoint_takes(listed, &listed.endpoints[1], "tools"));
        let open = c.get("a/open").unwrap();
        assert!(endpoint_takes(open, &open.endpoints[0], "logit_bias"));
    }

    #[test]
    fn without_removes_only_the_named_parameters() {
        let r = req(json!({"messages": [], "temperature": 0.2, "top_k": 3, "logit_bias": {"1": 2}, "foo": 1}));
        assert!(without(&r, &[]).is_none());
        let out = without(&r, &["top_k", "logit_bias"]).unwrap();
        assert_eq!(out.temperature, Some(0.2));
        assert_eq!(out.top_k, None);
        assert!(out.extra.get("logit_bias").is_none());
        assert!(out.extra.get("foo").is_some());
    }
}
