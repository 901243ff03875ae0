//! End-to-end tests of the simulator's Google OAuth token endpoint.

// Helpers outside #[test] fns are not covered by clippy.toml's test allowances.
#![allow(clippy::unwrap_used, clippy::panic)]

use serde_json::{Value, json};
use switchyard_sim::{Outcome, SimServer};

const GRANT: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";
/// base64url of `{"alg":"RS256","typ":"JWT"}`.
const RS256_HEADER: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9";
/// base64url of `{"alg":"HS256"}`.
const HS256_HEADER: &str = "eyJhbGciOiJIUzI1NiJ9";
/// base64url of `{"iss":"sa@p.iam.gserviceaccount.com"}`.
const CLAIMS: &str = "eyJpc3MiOiJzYUBwLmlhbS5nc2VydmljZWFjY291bnQuY29tIn0";

async fn post(sim: &SimServer, path: &str, body: String, scenario: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("http://{}{path}", sim.addr()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(spec) = scenario {
        req = req.header("x-sim-scenario", spec);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

fn form(grant: &str, assertion: &str) -> String {
    format!("grant_type={grant}&assertion={assertion}")
}

#[tokio::test]
async fn issues_tokens_and_records() {
    let sim = SimServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let jwt = format!("{RS256_HEADER}.{CLAIMS}.c2ln");
    let (status, v) = post(&sim, "/token", form(GRANT, &jwt), None).await;
    assert_eq!(status, 200);
    assert_eq!(v, json!({"access_token": "sim-vertex-token-0", "expires_in": 3600, "token_type": "Bearer"}));
    let (status, v) = post(&sim, "/oauth2/token", form(GRANT, &jwt), None).await;
    assert_eq!(status, 200);
    assert_eq!(v["access_token"], "sim-vertex-token-1");

    let recorded = sim.requests();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0].method, "POST");
    assert_eq!(recorded[0].path, "/token");
    assert_eq!(recorded[0].body["grant_type"], "urn:ietf:params:oauth:grant-type:jwt-bearer");
    assert_eq!(recorded[0].body["assertion"], jwt.as_str());
    assert_eq!(recorded[0].outcome, Outcome::Completed);
}

#[tokio::test]
async fn rejects_bad_grants() {
    let sim = SimServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let good = format!("{RS256_HEADER}.{CLAIMS}.c2ln");
    let cases = [
        (form("client_credentials", &good), "unsupported_grant_type"),
        (format!("grant_type={GRANT}"), "invalid_request"),
        (form(GRANT, "only.two"), "invalid_grant"),
        (form(GRANT, &format!("{HS256_HEADER}.{CLAIMS}.c2ln")), "invalid_grant"),
        (form(GRANT, &format!("{RS256_HEADER}.{CLAIMS}.")), "invalid_grant"),
        (form(GRANT, &format!("{RS256_HEADER}.bm90IGpzb24.c2ln")), "invalid_grant"),
    ];
    for (body, error) in cases {
        let (status, v) = post(&sim, "/token", body.clone(), None).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(v["error"], error, "{body}: {v}");
        assert!(v["error_description"].is_string());
    }
}

#[tokio::test]
async fn scenario_status_fails_with_oauth_error() {
    let sim = SimServer::start("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let jwt = format!("{RS256_HEADER}.{CLAIMS}.c2ln");
    let (status, v) = post(&sim, "/token", form(GRANT, &jwt), Some("status=401")).await;
    assert_eq!(status, 401);
    assert_eq!(v["error"], "invalid_grant");
    assert!(v["error_description"].is_string());
    assert_eq!(sim.requests().len(), 1);
}
