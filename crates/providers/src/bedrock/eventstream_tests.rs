//! Event-stream framing tests: the generated reference fixtures (whole and
//! byte by byte), round trips and corruption.

use super::*;

pub(crate) fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/src/bedrock/testdata/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn decode_all(bytes: &[u8], piece: usize) -> Result<Vec<Message>, ProviderError> {
    let mut d = EventStreamDecoder::new();
    let mut out = Vec::new();
    for p in bytes.chunks(piece) {
        d.push(p, &mut out)?;
    }
    assert!(!d.has_partial());
    Ok(out)
}

#[test]
fn first_text_message_matches_the_worked_example() {
    let bytes = fixture_bytes("converse-stream-text.eventstream");
    assert_eq!(&bytes[..12], &[0, 0, 0, 0x89, 0, 0, 0, 0x52, 0x5c, 0xb1, 0x3d, 0x52]);
    assert_eq!(&bytes[133..137], &[0x70, 0x5f, 0x3c, 0x79]);
    let msgs = decode_all(&bytes, bytes.len()).unwrap();
    assert_eq!(msgs.len(), 6);
    let m = &msgs[0];
    assert_eq!(m.header_str(":event-type"), Some("messageStart"));
    assert_eq!(m.header_str(":content-type"), Some("application/json"));
    assert_eq!(m.header_str(":message-type"), Some("event"));
    assert_eq!(m.payload, br#"{"p":"abcdefghijkl","role":"assistant"}"#);
    let kinds: Vec<_> = msgs.iter().filter_map(|m| m.header_str(":event-type")).collect();
    assert_eq!(
        kinds,
        ["messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata"]
    );
}

#[test]
fn every_fixture_decodes_the_same_byte_by_byte() {
    for name in [
        "converse-stream-text.eventstream",
        "converse-stream-tool-use.eventstream",
        "converse-stream-throttling-exception.eventstream",
    ] {
        let bytes = fixture_bytes(name);
        let whole = decode_all(&bytes, bytes.len()).unwrap();
        assert!(!whole.is_empty(), "{name}");
        assert_eq!(decode_all(&bytes, 1).unwrap(), whole, "{name}");
        assert_eq!(decode_all(&bytes, 13).unwrap(), whole, "{name}");
        // Re-encoding string-header messages gives the same bytes back.
        let again: Vec<u8> = whole
            .iter()
            .flat_map(|m| {
                let hs: Vec<(&str, &str)> = m
                    .headers
                    .iter()
                    .map(|(n, v)| match v {
                        HeaderValue::String(s) => (n.as_str(), s.as_str()),
                        other => panic!("unexpected header {other:?}"),
                    })
                    .collect();
                encode_message(&hs, &m.payload)
            })
            .collect();
        assert_eq!(again, bytes, "{name}");
    }
}

#[test]
fn round_trip_and_typed_headers() {
    let bytes = encode_message(&[(":event-type", "chunk")], b"{}");
    let msgs = decode_all(&bytes, 1).unwrap();
    assert_eq!(msgs[0].header_str(":event-type"), Some("chunk"));
    assert_eq!(msgs[0].payload, b"{}");
    // An empty message is 16 bytes.
    assert_eq!(encode_message(&[], b"").len(), 16);
    let h = parse_headers(&[1, b'a', 0, 1, b'b', 4, 0, 0, 1, 0, 1, b'c', 6, 0, 2, 9, 8]).unwrap();
    assert_eq!(
        h,
        vec![
            ("a".into(), HeaderValue::Bool(true)),
            ("b".into(), HeaderValue::Int32(256)),
            ("c".into(), HeaderValue::Bytes(vec![9, 8]))
        ]
    );
    assert!(parse_headers(&[1, b'a', 4, 0]).is_err());
    assert!(parse_headers(&[1, b'a', 42]).is_err());
}

#[test]
fn corruption_and_oversize_are_errors() {
    let mut bytes = encode_message(&[(":event-type", "chunk")], b"{\"a\":1}");
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    assert!(matches!(decode_all(&bytes, 5), Err(ProviderError::InvalidResponse(m)) if m.contains("message CRC")));
    let mut bytes = encode_message(&[], b"x");
    bytes[9] ^= 1;
    assert!(matches!(decode_all(&bytes, 64), Err(ProviderError::InvalidResponse(m)) if m.contains("prelude CRC")));
    // A prelude announcing 17 MiB is refused before it is buffered.
    let mut big = ((MAX_MESSAGE + 1) as u32).to_be_bytes().to_vec();
    big.extend_from_slice(&0u32.to_be_bytes());
    let crc = crc32fast::hash(&big);
    big.extend_from_slice(&crc.to_be_bytes());
    let mut d = EventStreamDecoder::new();
    assert!(d.push(&big, &mut Vec::new()).is_err());
    // Headers longer than the message.
    let mut bad = 20u32.to_be_bytes().to_vec();
    bad.extend_from_slice(&10u32.to_be_bytes());
    let crc = crc32fast::hash(&bad);
    bad.extend_from_slice(&crc.to_be_bytes());
    assert!(EventStreamDecoder::new().push(&bad, &mut Vec::new()).is_err());
}
