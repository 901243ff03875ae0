//! The providers Switchyard knows by name: rows of data, enabled by their
//! usual API-key environment variable. Most speak OpenAI's protocol; the
//! rest name their own.

use crate::openai::Quirks;
use crate::upstream::Protocol;

/// A provider known without configuration.
#[derive(Clone, Copy, Debug)]
pub struct KnownProvider {
    /// Routing slug.
    pub slug: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Default base URL.
    pub base_url: &'static str,
    /// Environment variable holding the API key.
    pub key_env: &'static str,
    /// Environment variable that overrides the base URL.
    pub base_url_env: &'static str,
    /// How it departs from OpenAI's API (OpenAI-protocol providers only).
    pub quirks: Quirks,
    /// Wire protocol.
    pub protocol: Protocol,
}

impl KnownProvider {
    /// The quirks of this provider.
    pub fn quirks(&self) -> Quirks {
        self.quirks
    }
}

/// Only OpenAI's own sampling parameters.
const OPENAI_SAMPLING: Quirks = Quirks { openai_sampling_only: true, ..Quirks::NONE };
/// OpenAI proper.
const OPENAI: Quirks = Quirks { max_completion_tokens: true, ..OPENAI_SAMPLING };
/// Groq: no logprobs, no message names.
const GROQ: Quirks = Quirks { refuses_logprobs: true, ..Quirks::NONE };
/// Mistral: `random_seed` and nine-character tool-call ids.
const MISTRAL: Quirks = Quirks { random_seed: true, short_tool_call_ids: true, ..OPENAI_SAMPLING };

/// Every known provider.
pub const KNOWN_PROVIDERS: &[KnownProvider] = &[
    row("openai", "OpenAI", "https://api.openai.com/v1", "OPENAI_API_KEY", "OPENAI_BASE_URL", OPENAI),
    row("groq", "Groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY", "GROQ_BASE_URL", GROQ),
    row("together", "Together", "https://api.together.xyz/v1", "TOGETHER_API_KEY", "TOGETHER_BASE_URL", Quirks::NONE),
    row(
        "fireworks",
        "Fireworks",
        "https://api.fireworks.ai/inference/v1",
        "FIREWORKS_API_KEY",
        "FIREWORKS_BASE_URL",
        Quirks::NONE,
    ),
    row(
        "deepinfra",
        "DeepInfra",
        "https://api.deepinfra.com/v1/openai",
        "DEEPINFRA_API_KEY",
        "DEEPINFRA_BASE_URL",
        Quirks::NONE,
    ),
    row("xai", "xAI", "https://api.x.ai/v1", "XAI_API_KEY", "XAI_BASE_URL", OPENAI_SAMPLING),
    row(
        "deepseek",
        "DeepSeek",
        "https://api.deepseek.com/v1",
        "DEEPSEEK_API_KEY",
        "DEEPSEEK_BASE_URL",
        OPENAI_SAMPLING,
    ),
    row("mistral", "Mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY", "MISTRAL_BASE_URL", MISTRAL),
    row(
        "openrouter",
        "OpenRouter",
        "https://openrouter.ai/api/v1",
        "OPENROUTER_API_KEY",
        "OPENROUTER_BASE_URL",
        Quirks::NONE,
    ),
    KnownProvider {
        slug: "anthropic",
        name: "Anthropic",
        base_url: "https://api.anthropic.com/v1",
        key_env: "ANTHROPIC_API_KEY",
        base_url_env: "ANTHROPIC_BASE_URL",
        quirks: Quirks::NONE,
        protocol: Protocol::Anthropic,
    },
    native(
        "google-ai-studio",
        "Google AI Studio",
        "https://generativelanguage.googleapis.com/v1beta",
        "GEMINI_API_KEY",
        "GEMINI_BASE_URL",
        Protocol::Gemini,
    ),
    native("cohere", "Cohere", "https://api.cohere.com/v2", "COHERE_API_KEY", "COHERE_BASE_URL", Protocol::Cohere),
    // No default endpoint: every Azure resource has its own. Set
    // AZURE_OPENAI_ENDPOINT to `https://RESOURCE.openai.azure.com/openai/v1`
    // (v1 API) or to the resource root plus AZURE_OPENAI_API_VERSION.
    native("azure", "Azure", "", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", Protocol::Azure),
    // Enabled by a service-account key file; project and region from
    // VERTEX_PROJECT (or the key's project_id) and VERTEX_LOCATION.
    native("google-vertex", "Google Vertex", "", "GOOGLE_APPLICATION_CREDENTIALS", "VERTEX_BASE_URL", Protocol::Vertex),
    // Enabled by AWS credentials; the base URL follows the region unless
    // AWS_BEDROCK_ENDPOINT overrides it (`{region}` is replaced).
    native(
        "amazon-bedrock",
        "Amazon Bedrock",
        "https://bedrock-runtime.{region}.amazonaws.com",
        "AWS_ACCESS_KEY_ID",
        "AWS_BEDROCK_ENDPOINT",
        Protocol::Bedrock,
    ),
];

/// A provider spoken to in its own protocol.
const fn native(
    slug: &'static str,
    name: &'static str,
    base_url: &'static str,
    key_env: &'static str,
    base_url_env: &'static str,
    protocol: Protocol,
) -> KnownProvider {
    // Azure serves OpenAI's models, reasoning ones included.
    let quirks = if matches!(protocol, Protocol::Azure) { OPENAI } else { Quirks::NONE };
    KnownProvider { slug, name, base_url, key_env, base_url_env, quirks, protocol }
}

const fn row(
    slug: &'static str,
    name: &'static str,
    base_url: &'static str,
    key_env: &'static str,
    base_url_env: &'static str,
    quirks: Quirks,
) -> KnownProvider {
    KnownProvider { slug, name, base_url, key_env, base_url_env, quirks, protocol: Protocol::Openai }
}

/// The known provider with this slug.
pub fn known(slug: &str) -> Option<&'static KnownProvider> {
    KNOWN_PROVIDERS.iter().find(|p| p.slug == slug)
}

/// What `GET /api/v1/providers` says about a provider: its published policies
/// and where it is based (ISO 3166 alpha-2).
#[derive(Clone, Copy, Debug)]
pub struct PublicInfo {
    /// Privacy policy.
    pub privacy_policy_url: &'static str,
    /// Terms of service.
    pub terms_of_service_url: &'static str,
    /// Status page.
    pub status_page_url: &'static str,
    /// Headquarters country.
    pub headquarters: &'static str,
}

const fn info(privacy: &'static str, terms: &'static str, status: &'static str, hq: &'static str) -> PublicInfo {
    PublicInfo { privacy_policy_url: privacy, terms_of_service_url: terms, status_page_url: status, headquarters: hq }
}

/// The public facts of a known provider.
pub fn public_info(slug: &str) -> Option<PublicInfo> {
    Some(match slug {
        "openai" => info(
            "https://openai.com/policies/privacy-policy/",
            "https://openai.com/policies/row-terms-of-use/",
            "https://status.openai.com",
            "US",
        ),
        "anthropic" => info(
            "https://www.anthropic.com/legal/privacy",
            "https://www.anthropic.com/legal/commercial-terms",
            "https://status.anthropic.com",
            "US",
        ),
        "google-ai-studio" => info(
            "https://policies.google.com/privacy",
            "https://ai.google.dev/gemini-api/terms",
            "https://aistudio.google.com/status",
            "US",
        ),
        "google-vertex" => info(
            "https://cloud.google.com/terms/cloud-privacy-notice",
            "https://cloud.google.com/terms",
            "https://status.cloud.google.com",
            "US",
        ),
        "amazon-bedrock" => info(
            "https://aws.amazon.com/privacy/",
            "https://aws.amazon.com/service-terms/",
            "https://health.aws.amazon.com/health/status",
            "US",
        ),
        "azure" => info(
            "https://www.microsoft.com/en-us/privacy/privacystatement",
            "https://www.microsoft.com/licensing/terms/",
            "https://azure.status.microsoft/status",
            "US",
        ),
        "groq" => {
            info("https://groq.com/privacy-policy/", "https://groq.com/terms-of-use/", "https://groqstatus.com", "US")
        }
        "together" => info(
            "https://www.together.ai/privacy",
            "https://www.together.ai/terms-of-service",
            "https://status.together.ai",
            "US",
        ),
        "fireworks" => info(
            "https://fireworks.ai/privacy-policy",
            "https://fireworks.ai/terms-of-service",
            "https://status.fireworks.ai",
            "US",
        ),
        "deepinfra" => {
            info("https://deepinfra.com/privacy", "https://deepinfra.com/terms", "https://status.deepinfra.com", "US")
        }
        "xai" => info(
            "https://x.ai/legal/privacy-policy",
            "https://x.ai/legal/terms-of-service",
            "https://status.x.ai",
            "US",
        ),
        "deepseek" => info(
            "https://cdn.deepseek.com/policies/en-US/deepseek-privacy-policy.html",
            "https://cdn.deepseek.com/policies/en-US/deepseek-open-platform-terms-of-service.html",
            "https://status.deepseek.com",
            "CN",
        ),
        "mistral" => info(
            "https://mistral.ai/terms#privacy-policy",
            "https://mistral.ai/terms#terms-of-service",
            "https://status.mistral.ai",
            "FR",
        ),
        "cohere" => {
            info("https://cohere.com/privacy", "https://cohere.com/terms-of-use", "https://status.cohere.com", "CA")
        }
        "openrouter" => {
            info("https://openrouter.ai/privacy", "https://openrouter.ai/terms", "https://status.openrouter.ai", "US")
        }
        _ => return None,
    })
}
