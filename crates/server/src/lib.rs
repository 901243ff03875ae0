//! The Switchyard gateway: an axum app serving OpenRouter's API in front of
//! the configured upstreams, and its startup and graceful shutdown.

#![forbid(unsafe_code)]

mod accept;
mod activity;
pub mod auth;
mod body;
pub mod byok;
pub mod cache;
pub mod chat;
pub mod config;
mod dialects;
mod directory;
mod embeddings;
mod error;
pub mod fleet;
mod guardrails;
mod keys_api;
mod members;
mod oauth;
pub mod plugins;
mod presets;
mod probe;
pub mod ratelimit;
mod routes;
mod spend;
pub mod state;
pub mod sticky;
mod timing;
pub mod workspaces;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use switchyard_providers::{Upstream, build_client};
use switchyard_router::{Catalog, HealthBook};
use switchyard_store::{Account, GenerationWriter, NewKey, Store};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::Config;

use crate::error::GatewayError;
use crate::state::AppState;

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// The database could not be opened.
    #[error(transparent)]
    Store(#[from] switchyard_store::StoreError),
    /// The catalog is invalid.
    #[error(transparent)]
    Catalog(#[from] switchyard_router::CatalogError),
    /// A provider could not be set up.
    #[error(transparent)]
    Upstream(#[from] switchyard_providers::UpstreamSetupError),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(#[from] reqwest_error::Error),
    /// Redis is configured but cannot be reached.
    #[error(transparent)]
    Redis(#[from] fleet::RedisSetupError),
    /// The listen address is unavailable.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// Address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

mod reqwest_error {
    /// The HTTP client library's error, re-exported for [`super::StartError`].
    pub type Error = switchyard_providers::ClientError;
}

/// A running gateway.
pub struct RunningGateway {
    addr: SocketAddr,
    store: Store,
    bootstrap: Option<(Account, NewKey)>,
    models: usize,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
    writer: GenerationWriter,
}

impl RunningGateway {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/api/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// On first start: the operator's account and admin key (shown once).
    pub fn bootstrap(&self) -> Option<&(Account, NewKey)> {
        self.bootstrap.as_ref()
    }

    /// How many routable models the catalog holds.
    pub fn model_count(&self) -> usize {
        self.models
    }

    /// Stops accepting, lets in-flight requests finish, then flushes every
    /// pending generation record to the database.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Err(e) = (&mut self.server).await {
            tracing::error!(error = %e, "server task failed");
        }
        self.writer.finish().await;
    }

    /// Runs until the server stops (e.g. after ctrl-c), then flushes.
    pub async fn wait(mut self) {
        if let Err(e) = (&mut self.server).await {
            tracing::error!(error = %e, "server task failed");
        }
        self.writer.finish().await;
    }
}

/// Starts the gateway from `config`, reading provider keys through `env`.
/// `stop` ends it gracefully when it resolves (e.g. on ctrl-c).
pub async fn start(
    config: Config,
    env: &dyn Fn(&str) -> Option<String>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<RunningGateway, StartError> {
    let store = match &config.database_url {
        Some(url) => Store::connect(url).await?,
        None => Store::open_data_dir(&config.data_dir).await?,
    };
    let bootstrap = store.bootstrap().await?;
    let master_key = byok::master_key(&config, env)?;

    let s = &config.upstream;
    let client =
        build_client(Duration::from_millis(s.connect_timeout_ms), Duration::from_millis(s.pool_idle_timeout_ms))?;
    let mut upstreams = HashMap::new();
    for p in config::resolve_providers(&config, env)? {
        if let Some(up) = p.upstream {
            let upstream = Upstream::new(up, client.clone(), s.timeouts())?.with_media_policy(s.media_policy());
            upstreams.insert(upstream.config.slug.clone(), Arc::new(upstream));
        }
    }
    let catalog = Catalog::build(config.model_specs()?, |p| upstreams.contains_key(p))?;
    let models = catalog.models().len();

    let health = HealthBook::new(&catalog);
    let shared = fleet::Shared::build(&config, env).await?;
    let (sink, writer) = GenerationWriter::spawn(store.clone());
    let state = Arc::new(AppState {
        catalog: Arc::new(catalog),
        upstreams,
        store: store.clone(),
        sink,
        auth: shared.auth(store.clone()),
        max_body_bytes: config.max_body_bytes,
        keepalive: Duration::from_millis(s.stream_keepalive_ms.max(1)),
        default_model: config.default_model.clone(),
        routing: config.routing.clone(),
        health,
        sticky: sticky::StickyBook::default(),
        limiter: shared.limiter(&config.limits),
        guardrails: guardrails::GuardrailCache::default(),
        byok: byok::ByokBook::new(master_key),
        workspaces: workspaces::WorkspaceBook::default(),
        search: plugins::web::Engines::new(&config.search, env, client.clone()),
        cache: shared.cache(&config.cache),
        media: s.media_policy(),
    });
    tokio::task::spawn_blocking(switchyard_router::tokens::warm);

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Listen { addr: config.listen, source })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen { addr: config.listen, source })?;
    // Nagle's algorithm meeting delayed ACKs costs ~40 ms per small write.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let (tx, rx) = oneshot::channel::<()>();
    probe::spawn(&state);
    let app = router(state);
    let server = tokio::spawn(async move {
        let signal = async move {
            tokio::select! {
                _ = rx => {}
                _ = stop => {}
            }
        };
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(signal).await {
            tracing::error!(error = %e, "server stopped with an error");
        }
    });
    Ok(RunningGateway { addr, store, bootstrap, models, shutdown: Some(tx), server, writer })
}

/// The HTTP routes. `/v1/...` aliases serve clients configured with a bare
/// host as base URL.
pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/chat/completions", post(chat::chat_completions))
        .route("/responses", post(dialects::responses::responses))
        .route("/completions", post(dialects::completions::completions))
        .route("/messages", post(dialects::messages::messages))
        .route("/embeddings", post(embeddings::embeddings))
        .route("/embeddings/models", get(routes::embedding_models))
        .route("/models", get(routes::models))
        .route("/providers", get(directory::providers))
        .route("/models/{author}/{slug}/endpoints", get(directory::model_endpoints))
        .route("/key", get(routes::key))
        .route("/auth/key", get(routes::key))
        .route("/credits", get(routes::credits))
        .route("/keys", get(keys_api::list).post(keys_api::create))
        .route("/auth/keys", post(oauth::exchange))
        .route("/auth/keys/code", post(oauth::create_code))
        .route("/keys/{hash}", get(keys_api::get_one).patch(keys_api::update).delete(keys_api::delete))
        .route("/workspaces", get(workspaces::list).post(workspaces::create))
        .route("/workspaces/{id}", get(workspaces::get_one).patch(workspaces::update).delete(workspaces::delete))
        .route("/activity", get(activity::activity))
        .route("/byok", get(byok::list).post(byok::create))
        .route("/byok/{id}", get(byok::get_one).patch(byok::update).delete(byok::delete))
        .route("/guardrails", get(guardrails::api::list).post(guardrails::api::create))
        .route(
            "/guardrails/{id}",
            get(guardrails::api::get_one).patch(guardrails::api::update).delete(guardrails::api::delete),
        )
        .route("/guardrails/{id}/keys", post(guardrails::api::assign))
        .route("/guardrails/{id}/keys/{hash}", axum::routing::delete(guardrails::api::unassign))
        .route("/members", get(members::list).post(members::create))
        .route("/members/{id}", get(members::get_one).patch(members::update).delete(members::delete))
        .route("/members/{id}/keys", post(members::create_management_key))
        .route("/workspaces/{id}/members", get(members::workspace_list).post(members::workspace_add))
        .route("/workspaces/{id}/members/{member_id}", axum::routing::delete(members::workspace_remove))
        .route("/guardrails/{id}/members", post(guardrails::api::assign_members))
        .route("/guardrails/{id}/members/{member_id}", axum::routing::delete(guardrails::api::unassign_member))
        .route("/presets", get(presets::list))
        .route("/presets/{slug}", get(presets::get_one).put(presets::put).delete(presets::delete))
        .route("/generation", get(routes::generation))
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .nest("/api/v1", api.clone())
        .nest("/v1", api)
        .route("/health", get(|| async { "ok" }))
        .fallback(not_found)
        .with_state(state)
}

async fn not_found(method: Method, uri: axum::http::Uri) -> axum::response::Response {
    GatewayError::NotFound(format!("No route for {method} {}", uri.path())).into_response()
}

async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> axum::response::Response {
    let body = switchyard_api::ErrorBody {
        error: switchyard_api::ErrorDetail {
            code: 405,
            message: format!("Method {method} is not allowed on {}", uri.path()),
            metadata: None,
            availability: None,
        },
    };
    (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}
