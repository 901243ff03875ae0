//! Vertex AI service-account tokens against the simulator's OAuth endpoint.

// Helpers outside #[test] fns are not covered by clippy.toml's test allowances.
#![allow(clippy::unwrap_used, clippy::panic)]

use rsa::RsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey as _, LineEnding};
use rsa::rand_core::OsRng;
use serde_json::json;
use switchyard_api::ErrorType;
use switchyard_providers::ProviderError;
use switchyard_providers::vertex::{ServiceAccount, TokenSource};
use switchyard_sim::SimServer;

/// A service account whose key is generated for this test only.
fn source(token_uri: &str) -> TokenSource {
    let pem = RsaPrivateKey::new(&mut OsRng, 2048).unwrap().to_pkcs8_pem(LineEnding::LF).unwrap();
    let text = json!({
        "type": "service_account",
        "project_id": "proj-1",
        "private_key": pem.as_str(),
        "client_email": "sa@proj-1.iam.gserviceaccount.com",
        "token_uri": token_uri,
    })
    .to_string();
    TokenSource::new(ServiceAccount::from_json(&text).unwrap()).unwrap()
}

fn scenario_client(spec: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-sim-scenario", spec.parse().unwrap());
    reqwest::Client::builder().default_headers(headers).build().unwrap()
}

#[tokio::test]
async fn vertex_token_is_fetched_once_then_cached() {
    let sim = SimServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let source = source(&format!("http://{}/token", sim.addr()));
    let client = reqwest::Client::new();

    let other = source.clone();
    let (a, b) = tokio::join!(source.token(&client), other.token(&client));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.starts_with("sim-vertex-token-"), "{a}");
    assert_eq!(a, b);
    assert_eq!(source.token(&client).await.unwrap(), a);

    let requests = sim.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let req = &requests[0];
    assert_eq!(req.path, "/token");
    assert_eq!(req.body["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
    assert_eq!(req.body["assertion"].as_str().unwrap().split('.').count(), 3);
    let content_type = req.headers.iter().find(|(k, _)| k == "content-type").map(|(_, v)| v.as_str());
    assert_eq!(content_type, Some("application/x-www-form-urlencoded"));

    source.invalidate().await;
    let c = source.token(&client).await.unwrap();
    assert_ne!(c, a);
    assert_eq!(sim.requests().len(), 2);
}

#[tokio::test]
async fn vertex_failing_token_endpoint_is_an_authentication_error() {
    let sim = SimServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let source = source(&format!("http://{}/oauth2/token", sim.addr()));

    let err = source.token(&scenario_client("status=401")).await.unwrap_err();
    let ProviderError::Upstream(f) = &err else { panic!("{err:?}") };
    assert_eq!(f.status, 401);
    assert_eq!(f.kind, ErrorType::Authentication);
    assert_eq!(f.provider_code.as_deref(), Some("invalid_grant"));

    let err = source.token(&scenario_client("status=503")).await.unwrap_err();
    assert_eq!(err.error_type(), ErrorType::ProviderOverloaded);

    // Failures are not cached: a healthy endpoint answers next time.
    assert!(source.token(&reqwest::Client::new()).await.unwrap().starts_with("sim-vertex-token-"));
    assert_eq!(sim.requests().len(), 3);
}

#[tokio::test]
async fn vertex_unreachable_token_endpoint_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = source(&format!("http://{addr}/token")).token(&reqwest::Client::new()).await.unwrap_err();
    assert!(matches!(err, ProviderError::Connect(_)), "{err:?}");
}
