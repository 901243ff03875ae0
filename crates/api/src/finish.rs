//! Normalisation of provider finish reasons to OpenRouter's five values.

/// OpenRouter's normalised finish reasons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// Natural end or a stop sequence.
    Stop,
    /// Token cap or context window reached.
    Length,
    /// The model called tools.
    ToolCalls,
    /// Output withheld by a filter or refused.
    ContentFilter,
    /// Generation failed.
    Error,
}

impl FinishReason {
    /// Maps any provider's native reason onto the normalised set.
    pub fn normalize(native: &str) -> FinishReason {
        match native {
            "length" | "max_tokens" | "MAX_TOKENS" | "model_context_window_exceeded" | "max_output_tokens" => {
                FinishReason::Length
            }
            "tool_calls" | "tool_use" | "function_call" | "TOOL_CALL" => FinishReason::ToolCalls,
            "content_filter"
            | "SAFETY"
            | "RECITATION"
            | "BLOCKLIST"
            | "PROHIBITED_CONTENT"
            | "SPII"
            | "refusal"
            | "guardrail_intervened"
            | "content_filtered" => FinishReason::ContentFilter,
            "error" | "ERROR" => FinishReason::Error,
            _ => FinishReason::Stop,
        }
    }

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Error => "error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FinishReason;

    #[test]
    fn maps_native_reasons() {
        assert_eq!(FinishReason::normalize("end_turn"), FinishReason::Stop);
        assert_eq!(FinishReason::normalize("tool_use"), FinishReason::ToolCalls);
        assert_eq!(FinishReason::normalize("MAX_TOKENS"), FinishReason::Length);
        assert_eq!(FinishReason::normalize("SAFETY"), FinishReason::ContentFilter);
        assert_eq!(FinishReason::normalize("length").as_str(), "length");
    }
}
