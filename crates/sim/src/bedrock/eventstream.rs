//! AWS event-stream binary framing (`application/vnd.amazon.eventstream`),
//! encode side only, as used by Bedrock `ConverseStream`.
//!
//! A message is: `total_len` (u32 BE) · `headers_len` (u32 BE) · CRC32 of
//! those 8 bytes · headers · payload · CRC32 of everything before it. Each
//! header is `name_len` (u8) · name · value type · value; only string values
//! (type 7: u16 BE length + UTF-8) are produced here.

use bytes::Bytes;

/// Header value type tag for UTF-8 strings.
const STRING: u8 = 7;
/// Prelude (two lengths + CRC) plus the trailing message CRC.
const OVERHEAD: usize = 12 + 4;

/// Encodes one message with string-valued `headers` (in the given order)
/// and `payload`. Names longer than 255 bytes or values longer than 65535
/// bytes are truncated (never the case for the fixed headers used here).
pub(crate) fn encode(headers: &[(&str, &str)], payload: &[u8]) -> Bytes {
    let mut encoded_headers = Vec::with_capacity(96);
    for (name, value) in headers {
        let name = &name.as_bytes()[..name.len().min(usize::from(u8::MAX))];
        let value = &value.as_bytes()[..value.len().min(usize::from(u16::MAX))];
        encoded_headers.push(name.len() as u8);
        encoded_headers.extend_from_slice(name);
        encoded_headers.push(STRING);
        encoded_headers.extend_from_slice(&(value.len() as u16).to_be_bytes());
        encoded_headers.extend_from_slice(value);
    }
    let total = OVERHEAD + encoded_headers.len() + payload.len();
    let mut buf = Vec::with_capacity(total);
    buf.extend_from_slice(&(total as u32).to_be_bytes());
    buf.extend_from_slice(&(encoded_headers.len() as u32).to_be_bytes());
    let prelude_crc = crc32fast::hash(&buf);
    buf.extend_from_slice(&prelude_crc.to_be_bytes());
    buf.extend_from_slice(&encoded_headers);
    buf.extend_from_slice(payload);
    let message_crc = crc32fast::hash(&buf);
    buf.extend_from_slice(&message_crc.to_be_bytes());
    Bytes::from(buf)
}

/// A normal `event` message of type `event_type` with a JSON payload.
pub(crate) fn event(event_type: &str, payload: &[u8]) -> Bytes {
    encode(&[(":event-type", event_type), (":content-type", "application/json"), (":message-type", "event")], payload)
}

/// A modelled `exception` message of type `exception_type` with a JSON payload.
pub(crate) fn exception(exception_type: &str, payload: &[u8]) -> Bytes {
    encode(
        &[(":exception-type", exception_type), (":content-type", "application/json"), (":message-type", "exception")],
        payload,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One decoded message: string headers in order, and the payload.
    type Decoded = (Vec<(String, String)>, Vec<u8>);

    fn be32(b: &[u8]) -> usize {
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
    }

    /// Tiny test decoder: splits `data` into messages, checking both CRCs.
    fn decode_all(mut data: &[u8]) -> Vec<Decoded> {
        let mut out = Vec::new();
        while !data.is_empty() {
            let (total, headers_len) = (be32(data), be32(&data[4..]));
            let msg = &data[..total];
            assert_eq!(be32(&msg[8..]) as u32, crc32fast::hash(&msg[..8]), "prelude crc");
            assert_eq!(be32(&msg[total - 4..]) as u32, crc32fast::hash(&msg[..total - 4]), "message crc");
            let (mut h, mut headers) = (&msg[12..12 + headers_len], Vec::new());
            while !h.is_empty() {
                let n = usize::from(h[0]);
                let name = String::from_utf8(h[1..1 + n].to_vec()).unwrap();
                assert_eq!(h[1 + n], STRING);
                let len = usize::from(u16::from_be_bytes([h[2 + n], h[3 + n]]));
                let value = String::from_utf8(h[4 + n..4 + n + len].to_vec()).unwrap();
                headers.push((name, value));
                h = &h[4 + n + len..];
            }
            out.push((headers, msg[12 + headers_len..total - 4].to_vec()));
            data = &data[total..];
        }
        out
    }

    fn reencode(fixture: &[u8]) -> Vec<u8> {
        let messages = decode_all(fixture);
        assert!(!messages.is_empty());
        let mut out = Vec::new();
        for (headers, payload) in &messages {
            let refs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            out.extend_from_slice(&encode(&refs, payload));
        }
        out
    }

    #[test]
    fn first_fixture_message_is_byte_identical() {
        let fixture = include_bytes!("../../tests/fixtures/bedrock/converse-stream-text.eventstream");
        let (headers, payload) = &decode_all(fixture)[0];
        assert_eq!(headers[0], (":event-type".to_owned(), "messageStart".to_owned()));
        assert_eq!(payload.as_slice(), br#"{"p":"abcdefghijkl","role":"assistant"}"#);
        let encoded = event("messageStart", payload);
        assert_eq!(encoded.len(), 137);
        assert_eq!(&encoded[..], &fixture[..137]);
        assert_eq!(&encoded[8..12], [0x5c, 0xb1, 0x3d, 0x52]);
        assert_eq!(&encoded[133..], [0x70, 0x5f, 0x3c, 0x79]);
    }

    #[test]
    fn whole_fixtures_reencode_identically() {
        let text = include_bytes!("../../tests/fixtures/bedrock/converse-stream-text.eventstream");
        let tool = include_bytes!("../../tests/fixtures/bedrock/converse-stream-tool-use.eventstream");
        let throttle = include_bytes!("../../tests/fixtures/bedrock/converse-stream-throttling-exception.eventstream");
        for fixture in [&text[..], &tool[..], &throttle[..]] {
            assert_eq!(reencode(fixture), fixture);
        }
        let (_, payload) = &decode_all(throttle)[0];
        assert_eq!(&exception("throttlingException", payload)[..], &throttle[..]);
    }
}
