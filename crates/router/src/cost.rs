//! Usage to money, exactly: integer femto-dollar arithmetic rounded once.

use switchyard_api::models::ModelPricing;
use switchyard_api::{NanoUsd, Usage};

/// A request's cost and its split, in nano-dollars.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// Everything charged.
    pub total: NanoUsd,
    /// Prompt share (uncached, cache reads, cache writes).
    pub prompt: NanoUsd,
    /// Completion share (visible and reasoning tokens).
    pub completion: NanoUsd,
}

/// Prices `usage` at `pricing`. Prompt tokens include cached and cache-write
/// tokens, which are billed at their own rates when the endpoint has them;
/// completion tokens include reasoning tokens, billed at the
/// `internal_reasoning` rate when that is set.
pub fn cost_of(pricing: &ModelPricing, usage: &Usage) -> Cost {
    let cached = usage.cached_tokens().min(usage.prompt_tokens);
    let written = usage.cache_write_tokens().min(usage.prompt_tokens - cached);
    let plain_prompt = usage.prompt_tokens - cached - written;
    let prompt = pricing.prompt.times(plain_prompt)
        + pricing.input_cache_read.unwrap_or(pricing.prompt).times(cached)
        + pricing.input_cache_write.unwrap_or(pricing.prompt).times(written);

    let reasoning = usage.reasoning_tokens().min(usage.completion_tokens);
    let completion = if pricing.internal_reasoning.is_zero() {
        pricing.completion.times(usage.completion_tokens)
    } else {
        pricing.completion.times(usage.completion_tokens - reasoning) + pricing.internal_reasoning.times(reasoning)
    };
    let request = pricing.request.times(1);
    Cost {
        total: (prompt + completion + request).round_to_nano(),
        prompt: prompt.round_to_nano(),
        completion: completion.round_to_nano(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_api::usage::{CompletionTokensDetails, PromptTokensDetails};

    fn pricing(prompt: &str, completion: &str) -> ModelPricing {
        ModelPricing { prompt: prompt.parse().unwrap(), completion: completion.parse().unwrap(), ..Default::default() }
    }

    #[test]
    fn plain_tokens() {
        let u = Usage { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500, ..Default::default() };
        // $2.5/M in, $10/M out: 2500 + 5000 micro... = 0.0025 + 0.005 USD
        let c = cost_of(&pricing("0.0000025", "0.00001"), &u);
        assert_eq!(c.total, NanoUsd(7_500_000));
        assert_eq!(c.prompt, NanoUsd(2_500_000));
        assert_eq!(c.completion, NanoUsd(5_000_000));
    }

    #[test]
    fn cached_and_reasoning_tokens_use_their_rates() {
        let mut p = pricing("0.000003", "0.000015");
        p.input_cache_read = Some("0.0000003".parse().unwrap());
        p.input_cache_write = Some("0.00000375".parse().unwrap());
        p.internal_reasoning = "0.00001".parse().unwrap();
        let u = Usage {
            prompt_tokens: 2000,
            completion_tokens: 100,
            total_tokens: 2100,
            prompt_tokens_details: Some(PromptTokensDetails {
                cached_tokens: Some(1024),
                cache_write_tokens: Some(500),
                ..Default::default()
            }),
            completion_tokens_details: Some(CompletionTokensDetails {
                reasoning_tokens: Some(40),
                ..Default::default()
            }),
            ..Default::default()
        };
        let c = cost_of(&p, &u);
        // 476*3000 + 1024*300 + 500*3750 = 1_428_000+307_200+1_875_000 nano
        assert_eq!(c.prompt, NanoUsd(3_610_200));
        // 60*15000 + 40*10000
        assert_eq!(c.completion, NanoUsd(1_300_000));
        assert_eq!(c.total, NanoUsd(4_910_200));
    }

    #[test]
    fn sub_nano_prices_round_once() {
        let p = pricing("0.0000000375", "0.0000000375");
        let u = Usage { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2, ..Default::default() };
        assert_eq!(cost_of(&p, &u).total, NanoUsd(75));
    }

    #[test]
    fn inconsistent_details_never_underflow() {
        let u = Usage {
            prompt_tokens: 10,
            prompt_tokens_details: Some(PromptTokensDetails { cached_tokens: Some(50), ..Default::default() }),
            ..Default::default()
        };
        assert_eq!(cost_of(&pricing("0.000001", "0"), &u).total, NanoUsd(10_000));
    }
}
