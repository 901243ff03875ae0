//! JSON Schema to Gemini's OpenAPI 3.0 Schema subset, for models before 2.5
//! that lack `parametersJsonSchema` / `responseJsonSchema`.
//!
//! The subset refuses unknown keywords (`additionalProperties`, `$schema`,
//! `$ref`...), so the conversion keeps only what it knows: upper-case
//! `type` (a `["T", "null"]` pair becomes `nullable`), `properties`,
//! `items`, `required`, `enum` (strings only), `anyOf` (also from `oneOf`),
//! string/number bounds and the formats Gemini accepts. Local `$ref`s
//! (`#/$defs/...`, `#/definitions/...`) are inlined, to a bounded depth.

use serde_json::{Map, Value};

/// Deepest `$ref` chain inlined; deeper (recursive) references become an
/// untyped object.
const MAX_REF_DEPTH: u32 = 8;

/// Keywords copied unchanged.
const KEPT: &[&str] = &[
    "description",
    "title",
    "nullable",
    "required",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "minProperties",
    "maxProperties",
    "minimum",
    "maximum",
    "pattern",
    "propertyOrdering",
];

/// Converts a JSON Schema into the OpenAPI subset.
pub fn to_openapi(schema: &Value) -> Value {
    let defs = schema.get("$defs").or_else(|| schema.get("definitions")).and_then(Value::as_object);
    convert(schema, defs, 0)
}

fn convert(v: &Value, defs: Option<&Map<String, Value>>, depth: u32) -> Value {
    let Some(o) = v.as_object() else { return Value::Object(Map::new()) };
    if let Some(r) = o.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").or_else(|| r.strip_prefix("#/definitions/"));
        return match name.and_then(|n| defs?.get(n)) {
            Some(target) if depth < MAX_REF_DEPTH => convert(target, defs, depth + 1),
            _ => serde_json::json!({"type": "OBJECT"}),
        };
    }
    let mut out = Map::new();
    let mut ty = match o.get("type") {
        Some(Value::String(t)) => Some(t.to_ascii_uppercase()),
        Some(Value::Array(ts)) => {
            let names: Vec<&str> = ts.iter().filter_map(Value::as_str).collect();
            if names.contains(&"null") {
                out.insert("nullable".into(), Value::Bool(true));
            }
            names.iter().find(|t| **t != "null").map(|t| t.to_ascii_uppercase())
        }
        _ => None,
    };
    if ty.is_none() {
        ty = if o.contains_key("properties") {
            Some("OBJECT".into())
        } else if o.contains_key("items") {
            Some("ARRAY".into())
        } else {
            None
        };
    }
    for key in KEPT {
        if let Some(val) = o.get(*key) {
            out.insert((*key).into(), val.clone());
        }
    }
    let strings = |vals: &[Value]| vals.iter().all(Value::is_string).then(|| Value::Array(vals.to_vec()));
    let enum_values = match (o.get("enum"), o.get("const")) {
        (Some(Value::Array(vals)), _) => strings(vals),
        (None, Some(c)) => strings(std::slice::from_ref(c)),
        _ => None,
    };
    if let Some(e) = enum_values {
        out.insert("enum".into(), e);
    }
    if let (Some(f), Some(t)) = (o.get("format").and_then(Value::as_str), ty.as_deref())
        && matches!(
            (t, f),
            ("STRING", "enum" | "date-time") | ("NUMBER", "float" | "double") | ("INTEGER", "int32" | "int64")
        )
    {
        out.insert("format".into(), Value::String(f.to_owned()));
    }
    if let Some(props) = o.get("properties").and_then(Value::as_object) {
        let converted = props.iter().map(|(k, s)| (k.clone(), convert(s, defs, depth))).collect();
        out.insert("properties".into(), Value::Object(converted));
    }
    if let Some(items) = o.get("items") {
        out.insert("items".into(), convert(items, defs, depth));
    }
    if let Some(Value::Array(alts)) = o.get("anyOf").or_else(|| o.get("oneOf")) {
        let (nulls, rest): (Vec<&Value>, Vec<&Value>) =
            alts.iter().partition(|a| a.get("type").and_then(Value::as_str) == Some("null"));
        if !nulls.is_empty() {
            out.insert("nullable".into(), Value::Bool(true));
        }
        match rest.as_slice() {
            [only] => {
                if let Value::Object(inner) = convert(only, defs, depth) {
                    for (k, val) in inner {
                        out.entry(k).or_insert(val);
                    }
                }
            }
            many => {
                let converted = many.iter().map(|a| convert(a, defs, depth)).collect();
                out.insert("anyOf".into(), Value::Array(converted));
            }
        }
    }
    if let Some(t) = ty {
        out.insert("type".into(), Value::String(t));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn openai_schema_becomes_the_subset() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "city": {"type": "string", "description": "City name", "format": "uri"},
                "when": {"type": ["string", "null"], "format": "date-time"},
                "unit": {"enum": ["c", "f"], "type": "string"},
                "days": {"type": "array", "items": {"$ref": "#/$defs/day"}},
                "level": {"anyOf": [{"type": "integer", "format": "int32"}, {"type": "null"}]},
                "mode": {"const": "fast"}
            },
            "required": ["city"],
            "$defs": {"day": {"type": "object", "properties": {"n": {"type": "integer"}}, "additionalProperties": false}}
        });
        assert_eq!(
            to_openapi(&schema),
            json!({
                "type": "OBJECT",
                "required": ["city"],
                "properties": {
                    "city": {"type": "STRING", "description": "City name"},
                    "when": {"type": "STRING", "nullable": true, "format": "date-time"},
                    "unit": {"type": "STRING", "enum": ["c", "f"]},
                    "days": {"type": "ARRAY", "items": {"type": "OBJECT", "properties": {"n": {"type": "INTEGER"}}}},
                    "level": {"nullable": true, "type": "INTEGER", "format": "int32"},
                    "mode": {"enum": ["fast"]}
                }
            })
        );
    }

    #[test]
    fn recursive_refs_stop() {
        let schema = json!({"$ref": "#/$defs/node", "$defs": {"node": {"type": "object",
            "properties": {"next": {"$ref": "#/$defs/node"}}}}});
        let mut v = &to_openapi(&schema);
        let mut depth = 0;
        while let Some(next) = v.get("properties").and_then(|p| p.get("next")) {
            v = next;
            depth += 1;
        }
        assert_eq!(depth, MAX_REF_DEPTH as usize);
        assert_eq!(v, &json!({"type": "OBJECT"}));
    }
}
