//! Google Gemini (AI Studio) `generateContent`, spoken natively.
//!
//! The canonical request (OpenAI Chat Completions plus OpenRouter fields) is
//! translated into a `generateContent` body; answers, stream chunks and
//! errors come back in canonical form. Concept mapping: the provider
//! reference's `gemini.md`.
//!
//! Gemini differs by model generation, so encoding looks at the upstream
//! model id ([`ModelTraits`]): thinking is a token budget on 2.5 and a level
//! on 3, schemas are plain JSON Schema from 2.5 on and an OpenAPI subset
//! before. Thought signatures travel to the client as `reasoning_details`
//! (format [`REASONING_FORMAT`]) and are put back on the parts they came
//! with when the conversation returns.

pub mod decode;
pub mod encode;
pub mod errors;
pub mod grounding;
pub mod schema;
pub mod stream;
pub mod wire;

use switchyard_api::ChatRequest;

use crate::error::ProviderError;
use wire::ThinkingConfig;

/// The `format` of `reasoning_details` produced from (and accepted back as)
/// Gemini thoughts and thought signatures; OpenRouter's spelling.
pub const REASONING_FORMAT: &str = "google-gemini-v1";

/// The signature Google documents for function calls whose real signature
/// is unknown (a conversation begun on another model): Gemini 3 refuses
/// unsigned calls in the current turn otherwise.
pub const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

/// The path to append to a base URL ending in the version segment
/// (`https://generativelanguage.googleapis.com/v1beta/`). A bare model id
/// gets the `models/` collection; an id that already names one
/// (`models/...`, `tunedModels/...`) is used as is.
pub fn request_path(upstream_model: &str, stream: bool) -> String {
    let resource =
        if upstream_model.contains('/') { upstream_model.to_owned() } else { format!("models/{upstream_model}") };
    if stream { format!("{resource}:streamGenerateContent?alt=sse") } else { format!("{resource}:generateContent") }
}

/// How a model takes a thinking setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Thinking {
    /// Does not think (Gemini 1.x and 2.0, Gemma): reasoning settings are dropped.
    Unsupported,
    /// `thinkingBudget` (Gemini 2.5).
    Budget {
        /// Smallest budget accepted when thinking is on.
        min: u32,
        /// Largest budget accepted.
        max: u32,
        /// A budget of 0 turns thinking off.
        can_disable: bool,
    },
    /// `thinkingLevel` (Gemini 3).
    Level {
        /// `MINIMAL` is accepted.
        minimal: bool,
        /// `MEDIUM` is accepted.
        medium: bool,
    },
}

/// What the encoder must know about the upstream model, read from its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelTraits {
    /// How thinking is configured.
    pub thinking: Thinking,
    /// Takes plain JSON Schema (`parametersJsonSchema`, `responseJsonSchema`).
    pub json_schema: bool,
    /// Accepts JSON output together with function calling.
    pub json_with_tools: bool,
    /// Validates thought signatures on function calls (Gemini 3).
    pub signed_calls: bool,
}

impl ModelTraits {
    /// The traits of `upstream_model` (`gemini-2.5-flash`, `models/gemini-3-pro-preview`...).
    /// Unversioned aliases (`gemini-flash-latest`) get the 2.5 behaviour,
    /// which later models still accept.
    pub fn of(upstream_model: &str) -> ModelTraits {
        let id = upstream_model.rsplit('/').next().unwrap_or(upstream_model).to_ascii_lowercase();
        let Some(rest) = id.strip_prefix("gemini-") else {
            return ModelTraits::LEGACY;
        };
        let pro = rest.contains("pro");
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        let mut nums = digits.split('.').map(|s| s.parse::<u32>().ok());
        let version = match (nums.next().flatten(), nums.next().flatten()) {
            (Some(major), minor) => (major, minor.unwrap_or(0)),
            (None, _) => (2, 5),
        };
        if version < (2, 5) {
            return ModelTraits::LEGACY;
        }
        let thinking = if version >= (3, 0) {
            Thinking::Level { minimal: !pro && version == (3, 0), medium: !pro || version > (3, 0) }
        } else if pro {
            Thinking::Budget { min: 128, max: 32768, can_disable: false }
        } else if rest.contains("flash-lite") {
            Thinking::Budget { min: 512, max: 24576, can_disable: true }
        } else {
            Thinking::Budget { min: 1, max: 24576, can_disable: true }
        };
        let gen3 = version >= (3, 0);
        ModelTraits { thinking, json_schema: true, json_with_tools: gen3, signed_calls: gen3 }
    }

    /// Models before 2.5 and non-Gemini models served by AI Studio.
    const LEGACY: ModelTraits = ModelTraits {
        thinking: Thinking::Unsupported,
        json_schema: false,
        json_with_tools: false,
        signed_calls: false,
    };
}

/// `thinkingConfig` per OpenRouter's rules: an explicit `reasoning.max_tokens`
/// is the budget; an effort is a share of the output cap (or, without one,
/// of the model's largest budget) on 2.5 models and a level on Gemini 3.
/// Thought summaries come back unless the client excluded reasoning. Models
/// that do not think get no `thinkingConfig` at all.
pub fn thinking_config(
    req: &ChatRequest,
    traits: ModelTraits,
    model: &str,
) -> Result<Option<ThinkingConfig>, ProviderError> {
    let r = req.reasoning.as_ref();
    let effort = r.and_then(|r| r.effort.as_deref()).or(req.reasoning_effort.as_deref());
    let enabled = r.and_then(|r| r.enabled);
    let budget = r.and_then(|r| r.max_tokens);
    let exclude = req.reasoning_excluded();
    let off = enabled == Some(false) || effort == Some("none");
    let effort = effort.or(enabled.filter(|e| *e).map(|_| "medium"));
    let cannot_disable = || encode::unsupported(format!("reasoning cannot be turned off on `{model}`"));
    let mut config = ThinkingConfig { include_thoughts: Some(!exclude), ..ThinkingConfig::default() };
    match traits.thinking {
        Thinking::Unsupported => return Ok(None),
        Thinking::Budget { can_disable: true, .. } if off => {
            return Ok(Some(ThinkingConfig { thinking_budget: Some(0), ..ThinkingConfig::default() }));
        }
        Thinking::Budget { .. } | Thinking::Level { minimal: false, .. } if off => return Err(cannot_disable()),
        Thinking::Level { .. } if off => config.thinking_level = Some("MINIMAL"),
        Thinking::Budget { min, max, .. } => {
            config.thinking_budget = match (budget, effort) {
                (Some(n), _) => Some(n.clamp(min, max)),
                (None, Some(e)) => {
                    let base = u64::from(req.max_output_tokens().unwrap_or(max));
                    // Bounded by `max`, so the cast back cannot truncate.
                    Some((base * effort_percent(e)? / 100).clamp(u64::from(min), u64::from(max)) as u32)
                }
                (None, None) => None,
            };
        }
        Thinking::Level { minimal, medium } => match (budget, effort) {
            (Some(n), _) => config.thinking_budget = Some(n),
            (None, Some(e)) => {
                effort_percent(e)?;
                config.thinking_level = Some(match e {
                    "minimal" if minimal => "MINIMAL",
                    "minimal" | "low" => "LOW",
                    "medium" if medium => "MEDIUM",
                    _ => "HIGH",
                });
            }
            (None, None) => {}
        },
    }
    Ok(Some(config))
}

/// OpenRouter's effort to budget ratios, in percent.
fn effort_percent(effort: &str) -> Result<u64, ProviderError> {
    Ok(match effort {
        "max" | "xhigh" => 95,
        "high" => 80,
        "medium" => 50,
        "low" => 20,
        "minimal" => 10,
        other => return Err(encode::unsupported(format!("unknown reasoning effort `{other}`"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_reference() {
        assert_eq!(request_path("gemini-2.5-flash", false), "models/gemini-2.5-flash:generateContent");
        assert_eq!(request_path("gemini-2.5-flash", true), "models/gemini-2.5-flash:streamGenerateContent?alt=sse");
        assert_eq!(request_path("tunedModels/my-tune", false), "tunedModels/my-tune:generateContent");
    }

    #[test]
    fn traits_follow_the_model_generation() {
        let t = ModelTraits::of("gemini-2.5-pro");
        assert_eq!(t.thinking, Thinking::Budget { min: 128, max: 32768, can_disable: false });
        assert!(t.json_schema && !t.json_with_tools && !t.signed_calls);
        assert_eq!(
            ModelTraits::of("models/gemini-2.5-flash-lite").thinking,
            Thinking::Budget { min: 512, max: 24576, can_disable: true }
        );
        assert_eq!(
            ModelTraits::of("gemini-2.5-flash").thinking,
            Thinking::Budget { min: 1, max: 24576, can_disable: true }
        );
        assert_eq!(ModelTraits::of("gemini-flash-latest").thinking, ModelTraits::of("gemini-2.5-flash").thinking);
        let g3 = ModelTraits::of("gemini-3-pro-preview");
        assert_eq!(g3.thinking, Thinking::Level { minimal: false, medium: false });
        assert!(g3.json_with_tools && g3.signed_calls);
        assert_eq!(ModelTraits::of("gemini-3-flash-preview").thinking, Thinking::Level { minimal: true, medium: true });
        for legacy in ["gemini-2.0-flash", "gemini-1.5-pro", "gemma-3-27b-it"] {
            assert_eq!(ModelTraits::of(legacy), ModelTraits::LEGACY, "{legacy}");
        }
    }
}
