//! OpenAI stream events to canonical chunks.

use serde_json::Value;
use switchyard_api::ChatChunk;

use super::errors::from_error_object;
use crate::call::StreamEvent;
use crate::error::ProviderError;
use crate::sse::SseEvent;

/// Decodes one SSE event. `Ok(None)` for events that carry nothing.
pub fn decode_event(ev: &SseEvent) -> Result<Option<StreamEvent>, ProviderError> {
    let data = ev.data.trim();
    if data.is_empty() {
        return Ok(None);
    }
    if data == "[DONE]" {
        return Ok(Some(StreamEvent::Done));
    }
    match serde_json::from_str::<ChatChunk>(data) {
        Ok(mut chunk) if chunk.error.is_none() && !chunk.extra.contains_key("error") => {
            super::compat::chunk(&mut chunk);
            Ok(Some(StreamEvent::Chunk(Box::new(chunk))))
        }
        _ => {
            // Either an error event or something that is not a chunk at all.
            let v: Value = serde_json::from_str(data)
                .map_err(|e| ProviderError::InvalidResponse(format!("undecodable stream event: {e}")))?;
            match v.get("error") {
                Some(err) => Err(from_error_object(200, None, Some(err), Some(v.clone()))),
                None => Err(ProviderError::InvalidResponse("stream event is not a chat completion chunk".into())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::SseDecoder;

    fn fixture(name: &str) -> Vec<StreamEvent> {
        let path = format!("{}/tests/fixtures/openai/{name}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(path).unwrap();
        let mut d = SseDecoder::default();
        let mut evs = Vec::new();
        d.push(&bytes, &mut evs).unwrap();
        d.finish(&mut evs).unwrap();
        evs.iter().filter_map(|e| decode_event(e).unwrap()).collect()
    }

    fn chunks(evs: &[StreamEvent]) -> Vec<&ChatChunk> {
        evs.iter()
            .filter_map(|e| match e {
                StreamEvent::Chunk(c) => Some(&**c),
                StreamEvent::Done => None,
            })
            .collect()
    }

    #[test]
    fn parallel_tool_call_fragments_reassemble() {
        let evs = fixture("chat-stream-parallel-tool-calls.sse");
        assert!(matches!(evs.last(), Some(StreamEvent::Done)));
        let mut args = [String::new(), String::new()];
        for c in chunks(&evs) {
            for ch in &c.choices {
                if let Some(Value::Array(calls)) = &ch.delta.tool_calls {
                    for call in calls {
                        let i = call["index"].as_u64().unwrap() as usize;
                        args[i].push_str(call["function"]["arguments"].as_str().unwrap_or(""));
                    }
                }
            }
        }
        for a in &args {
            let _: Value = serde_json::from_str(a).unwrap();
        }
    }

    #[test]
    fn every_recorded_fixture_decodes_with_usage_last() {
        for name in [
            "chat-stream-tool-call.sse",
            "chat-stream-refusal.sse",
            "chat-stream-logprobs.sse",
            "chat-stream-length-finish.sse",
        ] {
            let evs = fixture(name);
            let cs = chunks(&evs);
            assert!(cs.last().unwrap().usage.is_some(), "{name}");
        }
        let refusal = fixture("chat-stream-refusal.sse");
        assert!(chunks(&refusal).iter().any(|c| c.choices.iter().any(|ch| ch.delta.refusal.is_some())));
    }

    #[test]
    fn error_events_become_failures() {
        let ev = SseEvent {
            event: None,
            data: r#"{"error":{"message":"overloaded","type":"server_error","code":"server_error"}}"#.into(),
        };
        assert!(decode_event(&ev).unwrap_err().retryable());
        let ev = SseEvent { event: None, data: "{nope".into() };
        assert!(matches!(decode_event(&ev), Err(ProviderError::InvalidResponse(_))));
    }
}
