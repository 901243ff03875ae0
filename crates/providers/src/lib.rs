//! Native protocol adapters.
//!
//! Each upstream protocol gets a module with the same small file set: `encode`
//! (canonical request to native body), `decode` (native answer to canonical),
//! `stream` (native events to canonical chunks) and `errors` (native failures
//! to [`ProviderError`]). Translation is pure; [`call`] is the thin HTTP layer.

#![forbid(unsafe_code)]

pub mod anthropic;
pub mod bedrock;
mod call;
pub mod cohere;
mod embed;
pub mod error;
pub mod fetch;
pub mod gemini;
pub mod known;
pub mod openai;
mod send;
pub mod sse;
mod translate;
pub mod upstream;
pub mod vertex;

pub use call::{Answer, ChunkStream, StreamEvent, call};
pub use embed::embed;
pub use error::{ProviderError, UpstreamFailure};
pub use reqwest::Error as ClientError;
pub use upstream::{Protocol, Timeouts, Upstream, UpstreamConfig, UpstreamSetupError, VertexSettings, build_client};
