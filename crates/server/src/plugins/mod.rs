//! Plugins (`plugins: [{"id": ..., "enabled"?: bool, ...options}]`): work
//! done around a request on top of any model. Each plugin has its module;
//! this one only reads the request's plugin list.

pub mod compression;
pub mod file_parser;
pub mod healing;
pub mod web;

use serde_json::{Map, Value};
use switchyard_api::ChatRequest;

use crate::error::GatewayError;

/// What a request says about one plugin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Switch<'a> {
    /// Not mentioned: the plugin's default applies.
    Unset,
    /// Listed with `enabled: false`.
    Off,
    /// Listed (and not disabled), with its options.
    On(&'a Map<String, Value>),
}

/// Checks the shape of `plugins`: an array of objects, each with a string
/// `id` and an optional boolean `enabled`.
pub fn validate(req: &ChatRequest) -> Result<(), GatewayError> {
    let Some(list) = &req.plugins else { return Ok(()) };
    let Some(items) = list.as_array() else {
        return Err(GatewayError::BadRequest("`plugins` must be an array of objects".into()));
    };
    for (i, item) in items.iter().enumerate() {
        let Some(obj) = item.as_object() else {
            return Err(GatewayError::BadRequest(format!("`plugins[{i}]` must be an object")));
        };
        if !obj.get("id").is_some_and(Value::is_string) {
            return Err(GatewayError::BadRequest(format!("`plugins[{i}].id` must be a string")));
        }
        if obj.get("enabled").is_some_and(|e| !e.is_boolean()) {
            return Err(GatewayError::BadRequest(format!("`plugins[{i}].enabled` must be a boolean")));
        }
    }
    compression::validate(req)?;
    file_parser::validate(req)?;
    Ok(())
}

/// What the request says about plugin `id` (the last mention wins).
pub fn switch<'a>(req: &'a ChatRequest, id: &str) -> Switch<'a> {
    let items = req.plugins.as_ref().and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let mentioned = |o: &&Map<String, Value>| o.get("id").and_then(Value::as_str) == Some(id);
    match items.iter().rev().filter_map(Value::as_object).find(mentioned) {
        None => Switch::Unset,
        Some(o) if o.get("enabled").and_then(Value::as_bool) == Some(false) => Switch::Off,
        Some(o) => Switch::On(o),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn req(plugins: Value) -> ChatRequest {
        serde_json::from_value(json!({"model": "m", "messages": [], "plugins": plugins})).unwrap()
    }

    #[test]
    fn reads_on_off_and_unset() {
        let r = req(json!([{"id": "web", "max_results": 3}, {"id": "file-parser", "enabled": false}]));
        assert!(matches!(switch(&r, "web"), Switch::On(o) if o["max_results"] == 3));
        assert_eq!(switch(&r, "file-parser"), Switch::Off);
        assert_eq!(switch(&r, "response-healing"), Switch::Unset);
        assert!(validate(&r).is_ok());
    }

    #[test]
    fn refuses_bad_shapes() {
        assert!(validate(&req(json!({"id": "web"}))).is_err());
        assert!(validate(&req(json!([{"enabled": true}]))).is_err());
        assert!(validate(&req(json!([{"id": "web", "enabled": "yes"}]))).is_err());
    }
}
