//! `POST /api/v1/messages`: Anthropic's Messages API in front of every
//! model of the catalog. The request becomes the canonical chat request and
//! runs the chat pipeline; [`Messages`] writes the answer, the stream events
//! and the errors the way Anthropic's SDKs read them.

mod answer;
mod errors;
mod request;
mod stream;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use switchyard_api::ChatResponse;
use switchyard_api::messages::MessagesRequest;

use crate::chat::dialect::{Dialect, StreamWriter};
use crate::error::GatewayError;
use crate::state::AppState;

pub use request::to_chat;

/// The handler. Auth is `x-api-key` or `Authorization: Bearer`;
/// `anthropic-version` and `anthropic-beta` are accepted and ignored.
pub async fn messages(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let accepted = async {
        let (caller, bytes) = crate::accept::accept_inference(&state, &headers, body).await?;
        let req: MessagesRequest = crate::body::parse_json(&bytes)?;
        let dialect = Messages { stops: req.stop_sequences.clone().unwrap_or_default() };
        Ok::<_, GatewayError>((caller, to_chat(req)?, dialect))
    };
    match accepted.await {
        Ok((caller, req, dialect)) => {
            let resp = crate::chat::serve(state, &headers, caller, req, started, Arc::new(dialect)).await;
            errors::with_request_id(resp).await
        }
        Err(e) => errors::response(e),
    }
}

/// Anthropic's Messages shape.
pub struct Messages {
    /// The request's stop sequences, to name the one that matched.
    stops: Vec<String>,
}

impl Dialect for Messages {
    fn whole(&self, resp: ChatResponse) -> Result<Bytes, GatewayError> {
        // A provider failure in the middle of the answer keeps the partial
        // content with a null stop reason, as chat keeps it with `error`.
        let msg = answer::message(resp, &self.stops);
        serde_json::to_vec(&msg).map(Bytes::from).map_err(|e| GatewayError::Internal(e.to_string()))
    }

    fn stream(&self) -> Box<dyn StreamWriter> {
        Box::new(stream::MessageEvents::new(self.stops.clone()))
    }

    fn error(&self, e: GatewayError) -> Response {
        errors::response(e)
    }
}
