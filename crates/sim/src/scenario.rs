//! Scenario spec parsing.
//!
//! A scenario is chosen per request from the `x-sim-scenario` header (if
//! present) or else the request's `model` string. The spec is a
//! comma-separated list of directives such as `tokens=5,tool,token_ms=20`.
//! Unknown directives (including plain model names like `gpt-4o`) are
//! ignored, so any ordinary model name selects the default scenario: a text
//! answer of [`DEFAULT_TOKENS`] tokens. A directive may carry a
//! `provider/`-style prefix (`sim/tokens=5`), which is stripped.

/// Number of answer tokens when the spec has no `tokens=N` directive.
pub const DEFAULT_TOKENS: u32 = 8;

/// Upper bound on generated pieces, so a typo cannot allocate unboundedly.
const MAX_COUNT: u32 = 1_000_000;

/// A parsed scenario: what the simulated upstream should do for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Number of text tokens in the answer (`tokens=N`).
    pub tokens: u32,
    /// Number of parallel tool calls; 0 means a text answer (`tool`, `tools=K`).
    pub tool_calls: u32,
    /// Answer content is a JSON object string (`json`).
    pub json: bool,
    /// Also produce reasoning output (`reasoning`).
    pub reasoning: bool,
    /// Cached prompt tokens (`cached=N`): OpenAI `prompt_tokens_details.cached_tokens`,
    /// Anthropic `cache_read_input_tokens`, Gemini `cachedContentTokenCount`,
    /// Cohere `usage.cached_tokens`.
    pub cached: u64,
    /// Forced prompt token count (`prompt_tokens=N`).
    pub prompt_tokens: Option<u64>,
    /// Answer with this HTTP error status (`status=CODE`, 400..=599 only).
    pub status: Option<u16>,
    /// `retry-after` header value in seconds for error statuses (`retry_after=S`).
    pub retry_after: Option<u64>,
    /// Delay before the response headers, in ms (`first_byte_ms=M`).
    pub first_byte_ms: u64,
    /// Delay before each streamed content chunk, in ms (`token_ms=M`).
    pub token_ms: u64,
    /// Abort the connection after K content chunks (`drop_after=K`).
    pub drop_after: Option<u32>,
    /// Never answer (`hang`).
    pub hang: bool,
    /// Respond with an in-band error instead of an answer (`error_event`).
    pub error_event: bool,
    /// In streams, emit the in-band error after K content chunks (`error_after=K`).
    pub error_after: Option<u32>,
    /// Override of the finish reason (`finish=REASON`).
    pub finish: Option<String>,
    /// Refuse the prompt as longer than the model's window
    /// (`context_exceeded`): OpenAI's 400 `context_length_exceeded`.
    pub context_exceeded: bool,
    /// Answer with exactly this content (`content=<percent-encoded>`, e.g.
    /// `content=%7Bname%3A%20%27x%27%7D` for `{name: 'x'}`; ASCII, since
    /// streams split it in 5-byte pieces). Implies `json`'s fragmenting.
    pub content: Option<String>,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            tokens: DEFAULT_TOKENS,
            tool_calls: 0,
            json: false,
            reasoning: false,
            cached: 0,
            prompt_tokens: None,
            status: None,
            retry_after: None,
            first_byte_ms: 0,
            token_ms: 0,
            drop_after: None,
            hang: false,
            error_event: false,
            error_after: None,
            finish: None,
            context_exceeded: false,
            content: None,
        }
    }
}

impl Scenario {
    /// Parses a spec string. Never fails: malformed or unknown directives are
    /// ignored and leave the corresponding default in place.
    pub fn parse(spec: &str) -> Scenario {
        let mut s = Scenario::default();
        for item in spec.split(',') {
            let item = item.trim();
            let (key, value) = match item.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (item, None),
            };
            let key = key.rsplit('/').next().unwrap_or(key);
            let num = || value.and_then(|v| v.parse::<u64>().ok());
            let count = || num().map(|n| n.min(u64::from(MAX_COUNT)) as u32);
            match (key, value) {
                ("tokens", _) => s.tokens = count().unwrap_or(s.tokens),
                ("tool", None) => s.tool_calls = s.tool_calls.max(1),
                ("tools", _) => {
                    if let Some(k) = count() {
                        s.tool_calls = k.clamp(1, 128);
                    }
                }
                ("json", None) => s.json = true,
                ("reasoning", None) => s.reasoning = true,
                ("cached", _) => s.cached = num().unwrap_or(s.cached),
                ("prompt_tokens", _) => s.prompt_tokens = num().or(s.prompt_tokens),
                ("status", _) => {
                    if let Some(code) = num().filter(|c| (400..=599).contains(c)) {
                        s.status = Some(code as u16);
                    }
                }
                ("retry_after", _) => s.retry_after = num().or(s.retry_after),
                ("first_byte_ms", _) => s.first_byte_ms = num().unwrap_or(s.first_byte_ms),
                ("token_ms", _) => s.token_ms = num().unwrap_or(s.token_ms),
                ("drop_after", _) => s.drop_after = count().or(s.drop_after),
                ("hang", None) => s.hang = true,
                ("error_event", None) => s.error_event = true,
                ("error_after", _) => s.error_after = count().or(s.error_after),
                ("context_exceeded", None) => s.context_exceeded = true,
                ("content", Some(text)) => {
                    s.content = Some(percent_decode(text));
                    s.json = true;
                }
                ("finish", Some(reason)) if !reason.is_empty() => {
                    s.finish = Some(reason.to_owned());
                }
                _ => {}
            }
        }
        s
    }
}

/// `%XX` escapes decoded (invalid ones kept as they are).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_percent_decoded() {
        let s = Scenario::parse("content=%7Bname%3A%20%27x%27%2C%7D,tokens=2");
        assert_eq!(s.content.as_deref(), Some("{name: 'x',}"));
        assert!(s.json);
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn plain_model_is_default() {
        assert_eq!(Scenario::parse("gpt-4o"), Scenario::default());
        assert_eq!(Scenario::parse(""), Scenario::default());
    }

    #[test]
    fn directives() {
        let s = Scenario::parse("sim/tokens=5, tools=3,reasoning,status=429,retry_after=7,finish=length,bogus=1");
        assert_eq!(s.tokens, 5);
        assert_eq!(s.tool_calls, 3);
        assert!(s.reasoning);
        assert_eq!(s.status, Some(429));
        assert_eq!(s.retry_after, Some(7));
        assert_eq!(s.finish.as_deref(), Some("length"));
        let s = Scenario::parse("tool,json,cached=4,prompt_tokens=9,drop_after=2,error_after=1,hang");
        assert_eq!(s.tool_calls, 1);
        assert!(s.json && s.hang);
        assert_eq!((s.cached, s.prompt_tokens), (4, Some(9)));
        assert_eq!((s.drop_after, s.error_after), (Some(2), Some(1)));
        assert_eq!(Scenario::parse("status=200").status, None);
        assert_eq!(Scenario::parse("tokens=x").tokens, DEFAULT_TOKENS);
    }
}
