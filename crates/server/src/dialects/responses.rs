//! `POST /api/v1/responses`: the OpenAI Responses API, stateless as
//! OpenRouter serves it, on top of the chat pipeline.

mod events;
mod output;
mod request;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use switchyard_api::ChatResponse;
use switchyard_api::responses::{RequestEcho, ResponsesRequest};

use crate::chat::dialect::{Dialect, StreamWriter};
use crate::error::GatewayError;
use crate::state::AppState;

/// The handler.
pub async fn responses(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let accepted = async {
        let (caller, bytes) = crate::accept::accept_inference(&state, &headers, body).await?;
        let req: ResponsesRequest = crate::body::parse_json(&bytes)?;
        let echo = Arc::new(RequestEcho::of(&req));
        Ok::<_, GatewayError>((caller, request::to_chat(req)?, echo))
    };
    match accepted.await {
        Ok((caller, chat, echo)) => {
            crate::chat::serve(state, &headers, caller, chat, started, Arc::new(Responses { echo })).await
        }
        Err(e) => e.into_response(),
    }
}

/// Writes the chat pipeline's answer as a `response` object or as
/// Responses stream events; errors keep OpenRouter's envelope.
struct Responses {
    echo: Arc<RequestEcho>,
}

impl Dialect for Responses {
    fn whole(&self, resp: ChatResponse) -> Result<Bytes, GatewayError> {
        serde_json::to_vec(&output::whole(resp, &self.echo))
            .map(Bytes::from)
            .map_err(|e| GatewayError::Internal(e.to_string()))
    }

    fn stream(&self) -> Box<dyn StreamWriter> {
        Box::new(events::Events::new(self.echo.clone()))
    }
}
