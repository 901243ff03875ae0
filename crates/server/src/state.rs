//! Shared, read-mostly state built once at startup.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use switchyard_providers::Upstream;
use switchyard_router::{Catalog, HealthBook};
use switchyard_store::{GenerationSink, Store};

use crate::auth::Auth;
use crate::config::RoutingSettings;
use crate::sticky::StickyBook;

/// Everything a request handler needs.
pub struct AppState {
    /// Routable models.
    pub catalog: Arc<Catalog>,
    /// Enabled upstreams by provider slug.
    pub upstreams: HashMap<String, Arc<Upstream>>,
    /// The database.
    pub store: Store,
    /// Where finished generations go.
    pub sink: GenerationSink,
    /// Key and balance cache.
    pub auth: Auth,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Keep-alive interval while a stream waits.
    pub keepalive: Duration,
    /// Model used when a request names none.
    pub default_model: Option<String>,
    /// Routing defaults from the config.
    pub routing: RoutingSettings,
    /// Live per-endpoint health, from this instance's traffic.
    pub health: HealthBook,
    /// Conversations pinned to the provider that served them.
    pub sticky: StickyBook,
    /// Request caps.
    pub limiter: crate::ratelimit::RateLimiter,
    /// Each key's guardrails, compiled, and the guardrails' budget spend.
    pub guardrails: crate::guardrails::GuardrailCache,
    /// BYOK: the master key and each account's own provider keys.
    pub byok: crate::byok::ByokBook,
    /// Workspaces' routing defaults, cached briefly.
    pub workspaces: crate::workspaces::WorkspaceBook,
    /// The web plugin's external search engines.
    pub search: crate::plugins::web::Engines,
    /// Response caching: in-process, or in Redis for a fleet.
    pub cache: crate::cache::Cache,
    /// How file URLs are fetched for the file-parser plugin (SSRF-guarded).
    pub media: switchyard_providers::fetch::FetchPolicy,
}
