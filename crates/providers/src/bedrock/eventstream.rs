//! The AWS event-stream binary framing used by ConverseStream
//! (`application/vnd.amazon.eventstream`).
//!
//! A message is a 12-byte prelude (total length, headers length, CRC-32 of
//! the first 8 bytes), typed headers, a payload and a CRC-32 of everything
//! before it. [`EventStreamDecoder`] buffers across reads, verifies both
//! CRCs and refuses messages over [`MAX_MESSAGE`] bytes.

use crate::error::ProviderError;

/// Largest message accepted (the AWS limit).
pub const MAX_MESSAGE: usize = 16 * 1024 * 1024;
/// Largest headers section accepted (the AWS limit).
pub const MAX_HEADERS: usize = 128 * 1024;
/// Prelude (12 bytes) plus the trailing message CRC (4 bytes).
const OVERHEAD: usize = 16;

/// A typed header value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderValue {
    /// Types 0 and 1.
    Bool(bool),
    /// Type 2.
    Byte(i8),
    /// Type 3.
    Int16(i16),
    /// Type 4.
    Int32(i32),
    /// Type 5.
    Int64(i64),
    /// Type 6.
    Bytes(Vec<u8>),
    /// Type 7.
    String(String),
    /// Type 8, milliseconds since the epoch.
    Timestamp(i64),
    /// Type 9.
    Uuid([u8; 16]),
}

/// One decoded message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Headers in wire order.
    pub headers: Vec<(String, HeaderValue)>,
    /// The payload (JSON for Bedrock).
    pub payload: Vec<u8>,
}

impl Message {
    /// The value of a string header such as `:event-type`.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|(n, v)| match v {
            HeaderValue::String(s) if n == name => Some(s.as_str()),
            _ => None,
        })
    }
}

/// Incremental decoder: feed it bytes as they arrive, split anywhere.
#[derive(Debug, Default)]
pub struct EventStreamDecoder {
    buf: Vec<u8>,
}

fn invalid(msg: impl Into<String>) -> ProviderError {
    ProviderError::InvalidResponse(format!("event stream: {}", msg.into()))
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl EventStreamDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        EventStreamDecoder::default()
    }

    /// True when bytes of an unfinished message are buffered (a stream that
    /// ends now was cut short).
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Appends `bytes` and moves every complete message to `out`. A framing
    /// or CRC error is fatal: the stream cannot be resynchronised.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<Message>) -> Result<(), ProviderError> {
        self.buf.extend_from_slice(bytes);
        let mut start = 0;
        let result = loop {
            let rest = &self.buf[start..];
            if rest.len() < 12 {
                break Ok(());
            }
            let total = be32(rest, 0) as usize;
            let headers_len = be32(rest, 4) as usize;
            if crc32fast::hash(&rest[..8]) != be32(rest, 8) {
                break Err(invalid("prelude CRC mismatch"));
            }
            if total > MAX_MESSAGE {
                break Err(invalid(format!("message of {total} bytes exceeds the {MAX_MESSAGE}-byte limit")));
            }
            if headers_len > MAX_HEADERS || total < OVERHEAD + headers_len {
                break Err(invalid(format!("bad lengths (total {total}, headers {headers_len})")));
            }
            if rest.len() < total {
                break Ok(());
            }
            if crc32fast::hash(&rest[..total - 4]) != be32(rest, total - 4) {
                break Err(invalid("message CRC mismatch"));
            }
            let headers = match parse_headers(&rest[12..12 + headers_len]) {
                Ok(h) => h,
                Err(e) => break Err(e),
            };
            out.push(Message { headers, payload: rest[12 + headers_len..total - 4].to_vec() });
            start += total;
        };
        self.buf.drain(..start);
        if result.is_err() {
            self.buf.clear();
        }
        result
    }
}

fn parse_headers(mut b: &[u8]) -> Result<Vec<(String, HeaderValue)>, ProviderError> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], ProviderError> {
        if b.len() < n {
            return Err(invalid("truncated header"));
        }
        let (head, tail) = b.split_at(n);
        *b = tail;
        Ok(head)
    }
    fn arr<const N: usize>(b: &mut &[u8]) -> Result<[u8; N], ProviderError> {
        let mut a = [0u8; N];
        a.copy_from_slice(take(b, N)?);
        Ok(a)
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let name_len = take(&mut b, 1)?[0] as usize;
        let name = String::from_utf8(take(&mut b, name_len)?.to_vec()).map_err(|_| invalid("header name not UTF-8"))?;
        let value = match take(&mut b, 1)?[0] {
            0 => HeaderValue::Bool(true),
            1 => HeaderValue::Bool(false),
            2 => HeaderValue::Byte(i8::from_be_bytes(arr(&mut b)?)),
            3 => HeaderValue::Int16(i16::from_be_bytes(arr(&mut b)?)),
            4 => HeaderValue::Int32(i32::from_be_bytes(arr(&mut b)?)),
            5 => HeaderValue::Int64(i64::from_be_bytes(arr(&mut b)?)),
            6 => {
                let n = u16::from_be_bytes(arr(&mut b)?) as usize;
                HeaderValue::Bytes(take(&mut b, n)?.to_vec())
            }
            7 => {
                let n = u16::from_be_bytes(arr(&mut b)?) as usize;
                let s = String::from_utf8(take(&mut b, n)?.to_vec()).map_err(|_| invalid("header value not UTF-8"))?;
                HeaderValue::String(s)
            }
            8 => HeaderValue::Timestamp(i64::from_be_bytes(arr(&mut b)?)),
            9 => HeaderValue::Uuid(arr(&mut b)?),
            t => return Err(invalid(format!("unknown header value type {t}"))),
        };
        out.push((name, value));
    }
    Ok(out)
}

/// Encodes one message with string (type 7) headers. Names are cut at 255
/// bytes and values at 65535 bytes (the format's limits).
pub fn encode_message(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    for (name, value) in headers {
        let name = &name.as_bytes()[..name.len().min(255)];
        let value = &value.as_bytes()[..value.len().min(65535)];
        h.push(name.len() as u8);
        h.extend_from_slice(name);
        h.push(7);
        h.extend_from_slice(&(value.len() as u16).to_be_bytes());
        h.extend_from_slice(value);
    }
    let total = (OVERHEAD + h.len() + payload.len()) as u32;
    let mut out = Vec::with_capacity(total as usize);
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&(h.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

#[cfg(test)]
#[path = "eventstream_tests.rs"]
mod tests;
