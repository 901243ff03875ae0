//! Wire types of Switchyard's public API, in OpenRouter's shape.
//!
//! Pure data and serde, no I/O. Request types keep every field they do not
//! model in an `extra` map, so unknown fields reach the upstream untouched.

#![forbid(unsafe_code)]

pub mod chat;
pub mod embeddings;
pub mod error;
pub mod finish;
pub mod generation;
pub mod messages;
pub mod models;
pub mod money;
pub mod provider;
pub mod response;
pub mod responses;
pub mod usage;

pub use chat::{ChatRequest, Content, ContentPart, Message, Role};
pub use error::{ErrorBody, ErrorDetail, ErrorType};
pub use finish::FinishReason;
pub use money::{NanoUsd, PriceParseError, UnitPrice};
pub use response::{ChatChunk, ChatResponse, Choice, ChunkChoice};
pub use usage::Usage;

/// A JSON object with fields we pass through without interpreting them.
pub type Extra = serde_json::Map<String, serde_json::Value>;
