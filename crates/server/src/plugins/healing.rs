//! The `response-healing` plugin (reference §3.5): a whole (non-streaming)
//! answer to a request for JSON (`response_format` `json_object` or
//! `json_schema`) whose content is not quite JSON is repaired by a tolerant
//! parser ([`repair`]), then checked against the request's JSON schema.
//!
//! The answer says what happened in `response_healing`, one entry per
//! choice with content: `{"index", "status", "errors"?}` where `status` is
//! * `valid`: the content was already JSON (and matched the schema): untouched;
//! * `repaired`: the content is replaced by the repaired JSON (compact);
//! * `unrepairable`: no JSON could be recovered: the content is left as is;
//! * `schema_mismatch`: JSON, but not what the schema asks (`errors` says
//!   why, at most five): the content is left as is.
//!
//! (The reference specifies no field for this; it is a Switchyard extra.)
//! Streams are not healed: their content has already reached the client.

use serde_json::{Map, Number, Value, json};
use switchyard_api::{ChatRequest, ChatResponse};

use super::{Switch, switch};

/// Deepest nesting the repair follows (deeper input is refused, not
/// overflowed).
const MAX_DEPTH: usize = 200;
/// Schema errors reported per choice.
const MAX_ERRORS: usize = 5;

/// What the request asks healing for: `None` when it is off, or when the
/// request wants no JSON.
pub fn wanted(req: &ChatRequest) -> Option<Format> {
    if !matches!(switch(req, "response-healing"), Switch::On(_)) || req.is_stream() {
        return None;
    }
    let format = req.response_format.as_ref()?;
    match format.get("type").and_then(Value::as_str)? {
        "json_object" => Some(Format::Object),
        "json_schema" => Some(Format::Schema(
            format.get("json_schema").and_then(|s| s.get("schema")).cloned().unwrap_or(Value::Bool(true)),
        )),
        _ => None,
    }
}

/// The JSON asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum Format {
    /// Any JSON object.
    Object,
    /// A value matching this schema.
    Schema(Value),
}

/// Heals every choice of `resp` for `req` (nothing when healing is off).
pub fn apply(req: &ChatRequest, resp: &mut ChatResponse) {
    let Some(format) = wanted(req) else { return };
    let mut report = Vec::new();
    for (i, choice) in resp.choices.iter_mut().enumerate() {
        let Some(content) = choice.message.content.as_mut() else { continue };
        let (status, errors, healed) = heal(content, &format);
        if let Some(h) = healed {
            *content = h;
        }
        let mut entry = json!({"index": i, "status": status});
        if !errors.is_empty() {
            entry["errors"] = json!(errors);
        }
        report.push(entry);
    }
    resp.extra.insert("response_healing".into(), Value::Array(report));
}

/// The status, schema errors and, when repaired, the new content.
fn heal(content: &str, format: &Format) -> (&'static str, Vec<String>, Option<String>) {
    let (value, changed) = match serde_json::from_str::<Value>(content) {
        Ok(v) => (v, false),
        Err(_) => match repair(content) {
            Some(v) => (v, true),
            None => return ("unrepairable", Vec::new(), None),
        },
    };
    let errors = check(&value, format);
    if !errors.is_empty() {
        return ("schema_mismatch", errors, None);
    }
    if changed { ("repaired", Vec::new(), Some(value.to_string())) } else { ("valid", Vec::new(), None) }
}

/// Why `value` is not what `format` asks for (empty: it is).
fn check(value: &Value, format: &Format) -> Vec<String> {
    match format {
        Format::Object if value.is_object() => Vec::new(),
        Format::Object => vec!["a JSON object is required".to_owned()],
        Format::Schema(schema) => match jsonschema::validator_for(schema) {
            Ok(v) => v.iter_errors(value).take(MAX_ERRORS).map(|e| format!("{}: {e}", e.instance_path())).collect(),
            // A schema that cannot be compiled (e.g. remote `$ref`s) checks nothing.
            Err(_) => Vec::new(),
        },
    }
}

/// Recovers the JSON value in `text`: inside a Markdown code fence if
/// there is one, from the first `{` or `[` to the end of that value
/// (leading and trailing prose dropped), tolerating trailing or missing
/// commas, unclosed brackets and strings, unquoted or single-quoted keys and
/// strings, comments, Python literals (`True`, `None`), `NaN` and unescaped
/// quotes inside strings. `None` when there is no object or array.
pub fn repair(text: &str) -> Option<Value> {
    let body = unfence(text);
    let start = body.find(['{', '['])?;
    let mut p = Parser { s: body[start..].chars().collect(), i: 0, depth: 0 };
    p.value()
}

/// The inside of the first ```` ``` ```` fence (language tag dropped), or
/// the text itself.
fn unfence(text: &str) -> &str {
    let Some(open) = text.find("```") else { return text };
    let after = &text[open + 3..];
    let body = after.find('\n').map_or(after, |nl| &after[nl + 1..]);
    match body.find("```") {
        Some(close) => &body[..close],
        None => body,
    }
}

struct Parser {
    s: Vec<char>,
    i: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    /// Skips whitespace and `//` / `/* */` comments.
    fn skip(&mut self) {
        loop {
            while self.peek().is_some_and(char::is_whitespace) {
                self.i += 1;
            }
            let next = self.s.get(self.i + 1).copied();
            match (self.peek(), next) {
                (Some('/'), Some('/')) => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.i += 1;
                    }
                }
                (Some('/'), Some('*')) => {
                    self.i += 2;
                    while self.i < self.s.len() && !(self.peek() == Some('*') && self.s.get(self.i + 1) == Some(&'/')) {
                        self.i += 1;
                    }
                    self.i = (self.i + 2).min(self.s.len());
                }
                _ => return,
            }
        }
    }

    fn value(&mut self) -> Option<Value> {
        self.skip();
        match self.peek()? {
            '{' => self.nested(Self::object),
            '[' => self.nested(Self::array),
            c if is_quote(c) => Some(Value::String(self.string())),
            c if c == '-' || c == '+' || c == '.' || c.is_ascii_digit() => self.number(),
            _ => Some(self.bare()),
        }
    }

    /// Too deep a nesting fails the whole repair.
    fn nested(&mut self, f: fn(&mut Self) -> Option<Value>) -> Option<Value> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        let v = f(self);
        self.depth -= 1;
        v
    }

    fn object(&mut self) -> Option<Value> {
        self.i += 1;
        let mut map = Map::new();
        loop {
            self.skip();
            match self.peek() {
                None => break,
                Some('}') => {
                    self.i += 1;
                    break;
                }
                Some(',') => {
                    self.i += 1;
                    continue;
                }
                // A stray closer of the other kind ends the object too.
                Some(']') => break,
                _ => {}
            }
            let key = match self.peek() {
                Some(c) if is_quote(c) => self.string(),
                _ => self.word(|c| c == ':' || c == ',' || c == '}' || c.is_whitespace()),
            };
            self.skip();
            if self.peek() == Some(':') {
                self.i += 1;
            }
            self.skip();
            let value = match self.peek() {
                None | Some(',' | '}') => Value::Null,
                _ => self.value()?,
            };
            if !key.is_empty() {
                map.insert(key, value);
            }
        }
        Some(Value::Object(map))
    }

    fn array(&mut self) -> Option<Value> {
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.skip();
            match self.peek() {
                None => break,
                Some(']') => {
                    self.i += 1;
                    break;
                }
                Some(',') => {
                    self.i += 1;
                    continue;
                }
                Some('}') => break,
                _ => items.push(self.value()?),
            }
        }
        Some(Value::Array(items))
    }

    /// A quoted string. A quote like the opening one ends it only when what
    /// follows can follow a string (`,` `:` `}` `]` another quote, or the
    /// end); otherwise it is taken as an unescaped quote inside. The end of
    /// the input closes an unterminated string.
    fn string(&mut self) -> String {
        let open = self.peek().unwrap_or('"');
        self.i += 1;
        let mut out = String::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            if c == '\\' {
                let Some(e) = self.peek() else { break };
                self.i += 1;
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'u' => out.push(self.unicode_escape()),
                    other => out.push(other),
                }
            } else if closes(open, c) {
                let mut j = self.i;
                while self.s.get(j).is_some_and(|c| c.is_whitespace()) {
                    j += 1;
                }
                match self.s.get(j) {
                    None | Some(',' | ':' | '}' | ']') => return out,
                    Some(&q) if is_quote(q) => return out,
                    _ => out.push(c),
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    /// After `\u`: four hex digits (a surrogate pair is joined; a broken
    /// one becomes U+FFFD).
    fn unicode_escape(&mut self) -> char {
        let hex = |p: &mut Self| -> Option<u32> {
            let digits: String = p.s.get(p.i..p.i + 4)?.iter().collect();
            let v = u32::from_str_radix(&digits, 16).ok()?;
            p.i += 4;
            Some(v)
        };
        let Some(hi) = hex(self) else { return '\u{fffd}' };
        if (0xD800..0xDC00).contains(&hi) && self.peek() == Some('\\') && self.s.get(self.i + 1) == Some(&'u') {
            self.i += 2;
            if let Some(lo) = hex(self) {
                let code = 0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF);
                return char::from_u32(code).unwrap_or('\u{fffd}');
            }
        }
        char::from_u32(hi).unwrap_or('\u{fffd}')
    }

    fn number(&mut self) -> Option<Value> {
        let text = self.word(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '+' | '.')));
        let t = text.trim_start_matches('+');
        if let Ok(n) = t.parse::<i64>() {
            return Some(Value::from(n));
        }
        if let Ok(n) = t.parse::<u64>() {
            return Some(Value::from(n));
        }
        match t.parse::<f64>().ok().and_then(Number::from_f64) {
            Some(n) => Some(Value::Number(n)),
            None if t.ends_with("Infinity") || t.ends_with("NaN") => Some(Value::Null),
            None => Some(Value::String(text)),
        }
    }

    /// An unquoted word: a literal (`true`, `False`, `None`, `null`,
    /// `undefined`, `NaN`) or a bare string running to the next separator.
    fn bare(&mut self) -> Value {
        let word = self.word(|c| matches!(c, ',' | '}' | ']' | '\n'));
        let word = word.trim();
        match word {
            "true" | "True" => Value::Bool(true),
            "false" | "False" => Value::Bool(false),
            "null" | "None" | "undefined" | "NaN" | "Infinity" | "-Infinity" => Value::Null,
            _ => Value::String(word.to_owned()),
        }
    }

    fn word(&mut self, stop: impl Fn(char) -> bool) -> String {
        let start = self.i;
        while self.peek().is_some_and(|c| !stop(c)) {
            self.i += 1;
        }
        self.s[start..self.i].iter().collect()
    }
}

fn is_quote(c: char) -> bool {
    matches!(c, '"' | '\'' | '\u{201c}' | '\u{201d}')
}

fn closes(open: char, c: char) -> bool {
    match open {
        '\u{201c}' | '\u{201d}' => matches!(c, '\u{201c}' | '\u{201d}' | '"'),
        _ => c == open,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Broken JSON as models write it, and what it must repair to (`None`:
    /// nothing to recover).
    fn corpus() -> Vec<(&'static str, Option<Value>)> {
        vec![
            (r#"{"a": 1}"#, Some(json!({"a": 1}))),
            ("```json\n{\"a\": 1}\n```", Some(json!({"a": 1}))),
            ("```\n[1, 2]\n```\nHope this helps!", Some(json!([1, 2]))),
            ("Here is the JSON you asked for:\n{\"name\": \"Ada\"}", Some(json!({"name": "Ada"}))),
            ("Sure! {\"ok\": true} Let me know if you need more.", Some(json!({"ok": true}))),
            (r#"{"a": 1, "b": 2,}"#, Some(json!({"a": 1, "b": 2}))),
            (r#"[1, 2, 3,]"#, Some(json!([1, 2, 3]))),
            (r#"{"a": [1, 2,], "b": {"c": 3,},}"#, Some(json!({"a": [1, 2], "b": {"c": 3}}))),
            (r#"{"a": 1"#, Some(json!({"a": 1}))),
            (r#"{"a": {"b": [1, 2"#, Some(json!({"a": {"b": [1, 2]}}))),
            (r#"{"text": "unfinished"#, Some(json!({"text": "unfinished"}))),
            (r#"{"a": "x", "b":"#, Some(json!({"a": "x", "b": null}))),
            (r#"{name: "Ada", age: 36}"#, Some(json!({"name": "Ada", "age": 36}))),
            (r#"{'name': 'Ada', 'tags': ['x', 'y']}"#, Some(json!({"name": "Ada", "tags": ["x", "y"]}))),
            (
                r#"{"ok": True, "missing": None, "bad": False}"#,
                Some(json!({"ok": true, "missing": null, "bad": false})),
            ),
            (r#"{"a": 1 "b": 2}"#, Some(json!({"a": 1, "b": 2}))),
            (r#"["a" "b"]"#, Some(json!(["a", "b"]))),
            (r#"{"quote": "he said "hi" to me"}"#, Some(json!({"quote": "he said \"hi\" to me"}))),
            ("{\"a\": 1, // the count\n \"b\": /* two */ 2}", Some(json!({"a": 1, "b": 2}))),
            (r#"{"n": +5, "f": .5, "e": 1e3, "neg": -2}"#, Some(json!({"n": 5, "f": 0.5, "e": 1000.0, "neg": -2}))),
            (r#"{"x": NaN, "y": undefined, "z": -Infinity}"#, Some(json!({"x": null, "y": null, "z": null}))),
            (r#"{"esc": "line\nnext \u00e9 \"q\""}"#, Some(json!({"esc": "line\nnext é \"q\""}))),
            ("{\u{201c}smart\u{201d}: \u{201c}quotes\u{201d}}", Some(json!({"smart": "quotes"}))),
            (r#"{"status": ok, "code": 200}"#, Some(json!({"status": "ok", "code": 200}))),
            (r#"{"a": [1, 2}"#, Some(json!({"a": [1, 2]}))),
            (r#"[{"id": 1}, {"id": 2"#, Some(json!([{"id": 1}, {"id": 2}]))),
            ("{\"emoji\": \"\\ud83d\\ude00\"}", Some(json!({"emoji": "😀"}))),
            ("```json\n{\"a\": [1, 2,\n", Some(json!({"a": [1, 2]}))),
            ("no json here at all", None),
            ("", None),
        ]
    }

    #[test]
    fn repairs_the_corpus() {
        for (input, want) in corpus() {
            assert_eq!(repair(input), want, "input: {input:?}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = "[".repeat(100_000);
        assert_eq!(repair(&deep), None);
        let ok = format!("{}{}", "[".repeat(50), "]".repeat(50));
        assert!(repair(&ok).is_some());
    }

    fn request(format: Value, plugins: Value) -> ChatRequest {
        serde_json::from_value(json!({"model": "m", "messages": [], "response_format": format, "plugins": plugins}))
            .unwrap()
    }

    #[test]
    fn heals_only_when_asked_for_json() {
        let on = json!([{"id": "response-healing"}]);
        assert_eq!(wanted(&request(json!({"type": "json_object"}), on.clone())), Some(Format::Object));
        assert_eq!(wanted(&request(json!({"type": "text"}), on.clone())), None);
        assert_eq!(wanted(&request(json!({"type": "json_object"}), json!([]))), None);
        let off = json!([{"id": "response-healing", "enabled": false}]);
        assert_eq!(wanted(&request(json!({"type": "json_object"}), off)), None);
        let mut streamed = request(json!({"type": "json_object"}), on);
        streamed.stream = Some(true);
        assert_eq!(wanted(&streamed), None);
    }

    #[test]
    fn validates_against_the_schema() {
        let schema = Format::Schema(json!({
            "type": "object", "required": ["city", "days"],
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "additionalProperties": false
        }));
        let (status, errors, healed) = heal("```json\n{city: 'Paris', days: 3,}\n```", &schema);
        assert_eq!((status, errors.len()), ("repaired", 0));
        assert_eq!(healed.as_deref(), Some(r#"{"city":"Paris","days":3}"#));
        let (status, errors, healed) = heal(r#"{"city": "Paris", "days": "three""#, &schema);
        assert_eq!(status, "schema_mismatch");
        assert!(errors[0].contains("/days"), "{errors:?}");
        assert_eq!(healed, None);
        assert_eq!(heal(r#"{"city": "Paris", "days": 3}"#, &schema).0, "valid");
        assert_eq!(heal("I cannot answer that.", &schema).0, "unrepairable");
        assert_eq!(heal("[1, 2]", &Format::Object).0, "schema_mismatch");
    }
}
