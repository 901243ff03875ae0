//! Incremental server-sent-events decoder with a bounded buffer.
//!
//! Bytes arrive in arbitrary pieces; events come out as soon as their blank
//! line is seen. A line longer than the cap is an error rather than
//! unbounded memory growth.

use bytes::{Buf, BytesMut};

/// One decoded event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if any.
    pub event: Option<String>,
    /// The `data:` lines joined by `\n`.
    pub data: String,
}

/// Why the byte stream is not valid SSE.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SseError {
    /// A single event grew past the cap.
    #[error("server-sent event larger than {0} bytes")]
    TooLarge(usize),
    /// An event's bytes are not UTF-8.
    #[error("server-sent event is not valid UTF-8")]
    NotUtf8,
}

/// Splits a byte stream into [`SseEvent`]s.
#[derive(Debug)]
pub struct SseDecoder {
    buf: BytesMut,
    current: SseEvent,
    has_fields: bool,
    max_event: usize,
}

impl Default for SseDecoder {
    fn default() -> Self {
        SseDecoder::new(16 * 1024 * 1024)
    }
}

impl SseDecoder {
    /// A decoder refusing events larger than `max_event` bytes.
    pub fn new(max_event: usize) -> SseDecoder {
        SseDecoder { buf: BytesMut::new(), current: SseEvent::default(), has_fields: false, max_event }
    }

    /// Feeds bytes; returns every event completed by them.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        self.buf.extend_from_slice(bytes);
        while let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
            let mut line = self.buf.split_to(pos + 1);
            line.truncate(pos);
            if line.last() == Some(&b'\r') {
                line.truncate(pos - 1);
            }
            self.line(&line, out)?;
        }
        if self.buf.len() + self.current.data.len() > self.max_event {
            return Err(SseError::TooLarge(self.max_event));
        }
        Ok(())
    }

    /// Flushes an event left without its closing blank line at end of input.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        if !self.buf.is_empty() {
            let line = std::mem::take(&mut self.buf);
            self.line(&line, out)?;
        }
        self.dispatch(out);
        Ok(())
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        if line.is_empty() {
            self.dispatch(out);
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(()); // comment / keep-alive
        }
        let line = std::str::from_utf8(line).map_err(|_| SseError::NotUtf8)?;
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.has_data() {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_fields = true;
            }
            "event" => {
                self.current.event = Some(value.to_owned());
                self.has_fields = true;
            }
            _ => {} // id, retry: not used by any LLM protocol we speak
        }
        Ok(())
    }

    fn has_data(&self) -> bool {
        self.has_fields && !self.current.data.is_empty()
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        if self.has_fields {
            out.push(std::mem::take(&mut self.current));
            self.has_fields = false;
        }
    }

    /// Bytes held that do not yet form a complete line.
    pub fn pending(&self) -> usize {
        self.buf.remaining()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(input: &[u8], piece: usize) -> Vec<SseEvent> {
        let mut d = SseDecoder::default();
        let mut out = Vec::new();
        for chunk in input.chunks(piece) {
            d.push(chunk, &mut out).unwrap();
        }
        d.finish(&mut out).unwrap();
        out
    }

    #[test]
    fn splits_events_whatever_the_piece_size() {
        let input = b": OPENROUTER PROCESSING\n\ndata: {\"a\":1}\n\nevent: ping\ndata: x\r\n\r\ndata: [DONE]\n\n";
        for piece in [1, 2, 3, 7, 100] {
            let evs = decode_in_pieces(input, piece);
            assert_eq!(evs.len(), 3, "piece {piece}");
            assert_eq!(evs[0].data, "{\"a\":1}");
            assert_eq!(evs[1].event.as_deref(), Some("ping"));
            assert_eq!(evs[2].data, "[DONE]");
        }
    }

    #[test]
    fn flushes_last_event_without_blank_line() {
        let evs = decode_in_pieces(b"event: message_stop\ndata: {}", 4);
        assert_eq!(evs, vec![SseEvent { event: Some("message_stop".into()), data: "{}".into() }]);
    }

    #[test]
    fn multi_line_data_is_joined() {
        assert_eq!(decode_in_pieces(b"data: a\ndata: b\n\n", 5)[0].data, "a\nb");
    }

    #[test]
    fn refuses_oversized_events() {
        let mut d = SseDecoder::new(8);
        let mut out = Vec::new();
        assert_eq!(d.push(b"data: 0123456789", &mut out), Err(SseError::TooLarge(8)));
    }

    #[test]
    fn decodes_recorded_openai_fixture() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/openai/chat-stream-tool-call.sse");
        let bytes = std::fs::read(path).unwrap();
        let evs = decode_in_pieces(&bytes, 13);
        assert_eq!(evs.last().map(|e| e.data.as_str()), Some("[DONE]"));
        assert!(evs.len() > 5);
    }
}
