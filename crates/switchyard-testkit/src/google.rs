//! Fake Google auth for Vertex AI tests: an OAuth token endpoint (JWT
//! bearer and refresh-token grants, JWT signatures verified) and the GCE
//! metadata server's token path; plus credentials files pointing at them.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::StatusCode;
use serde_json::{Value, json};

use crate::record::Recorded;
use crate::server::{FakeUpstream, State};

/// A throwaway RSA key, generated for these tests only and valid nowhere.
const TEST_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC2bFH8WHV57Pur\nyZN3bkeYC1Hl/GxJkelUUBuIcloaDXB2cfvONFN7Gmc7KJo8RJ8c+QgmY1vw59+p\nV8QiEhl/Rs2eOi03yw5Q1GGitAgrYUX2BJ2rA0ilzDCLo5p30uZuXNi2mf8/j/Hz\nnmnfCvgt3u/i/xdx2e+agMa88EQH9jWBeyD/rSsfyDRnFWNSIgY6JmQeY8yIotBF\n3PyOhuBjbc86hFtY6aZHwRJYhlIDhbo1GWwtz04RpVNG3y7H/7ysgWQ+vzNRmeuM\neDNp7xd7LKbqaYIk1gyNE8TwRI31t9t22v2YtqsPSi/JJoEtC4odaSEkuHbjNSdV\nb8VzdlbZAgMBAAECggEABgSYx8xbQ8RvoQErXjtDHV7yOrYTFHI90kw6PEwZcNaU\nqTOlbO4I+vyp/yedvvM8lIYaoLmSZOYhWMLOc5lJQguh6OBecYK/XCdFeUqbImM5\nHZ6VXPjkwqNzzod9JwrME0P42j1GUGB9SN4m+/aurUS3gTONIHJiFyS8aas7c0+7\nnYSWlYzMP0AThReP5SsEaiDT38CoMEZzdjTnhgnm9pr11ZuD7R/SXcRMQop6G2Mb\nqrrf6UiyVwXhMynhfHBGjbzC6QggqstmXBKE2dMR/hGKr/7/5YP/cUPGMH9ZnVRH\nSIwY5zUsJUrhq9HmvnwU5Hx6zGHBbs2me7RcUGXlCQKBgQD2762trBDrpq+FDW9S\nFQCT+4jyQAdCPIx1XZ6VDYG4ccqg3UzfrNZX2kDexs4HQxozUdJS3W7xSHUf3s3m\nTsCH5M8tLbO2s+XF61P+wvqiE5u1tGdkLUfh4Ij/Nge3OrKt2V7EZnIAclilOR2w\nPUlgpTlS0vEVLyPJUrrGmc9UuwKBgQC9HnK8uUdBIAPA+SLA3wGGeawgkke1DQSf\n+ui1TiwcwNys/pEOL8ajQdkBQ7g3HKKUpHT3MYSj3UqysOEh1aJQuRg09bAcW9xE\n86/RnyY2RrQjeJdTMKQTyjyv6Hi9jCSaN314+43rcjHXcgJa9KJD7QMh0Gkmbsnu\nyFmU5yBTewKBgAUIrcm0kEO9iiZ0N6i8tN5PamNF2uAGy/Y4ilsPg213JGJTIJYO\nt+/iix//fYO4YnhZWqhFy1Uv3PNhX2EqidI7X93T6K34zN5UBcpTvzg+nhX+L31j\nTuvT3/cT6uRZVfslS0FFtV0894GmwGwvU6ectqZxlmiQJXKdNSGHUSqxAoGBAKI3\n9uUo7BTRuEaTrRrRbwaBYYMC1p1XUEtFtsymBDKZv/Bn39bSZkltVw29n8suNcrY\nkjfi8sp4K/XAwSv7iuJBEqGCyRBaP0Op33soT2epGCWA8BR8mZEcHRgqiT7VciQS\nSv82j5KQ/m22Lo0EYBdxuwkLMtazm2TF2Algg5r3AoGBANuZHyCqzdFsTX9hczO+\nG4iHvXUrx1Y+FZnppF35mRmJl8KC3CIr9xOV+2ZfrqMgZVqwTDb37gVVbwDWDt60\nQRD0Vhkpofuk0AO0PmTpV4fB4zAiZBDWDpWPLsSCPc9U3nnRSRplC2b6WPRRoa8V\nXoULt96slMBzpI/w/BO0QZfb\n-----END PRIVATE KEY-----\n";
/// Its public half (PKCS#1 `RSAPublicKey`, DER, base64).
const TEST_PUBLIC_DER: &str = "MIIBCgKCAQEAtmxR/Fh1eez7q8mTd25HmAtR5fxsSZHpVFAbiHJaGg1wdnH7zjRTexpnOyiaPESfHPkIJmNb8OffqVfEIhIZf0bNnjotN8sOUNRhorQIK2FF9gSdqwNIpcwwi6Oad9LmblzYtpn/P4/x855p3wr4Ld7v4v8XcdnvmoDGvPBEB/Y1gXsg/60rH8g0ZxVjUiIGOiZkHmPMiKLQRdz8jobgY23POoRbWOmmR8ESWIZSA4W6NRlsLc9OEaVTRt8ux/+8rIFkPr8zUZnrjHgzae8Xeyym6mmCJNYMjRPE8ESN9bfbdtr9mLarD0ovySaBLQuKHWkhJLh24zUnVW/Fc3ZW2QIDAQAB";
/// The service account the credentials name.
pub const SERVICE_ACCOUNT: &str = "switchyard-test@fake-project.iam.gserviceaccount.com";

impl FakeUpstream {
    /// A `service_account` credentials JSON whose `token_uri` is this fake.
    pub fn service_account_json(&self) -> String {
        json!({
            "type": "service_account", "project_id": "fake-project", "private_key_id": "fake-key-1",
            "private_key": TEST_KEY_PEM, "client_email": SERVICE_ACCOUNT, "client_id": "1",
            "token_uri": format!("http://{}/token", self.addr()),
        })
        .to_string()
    }

    /// A gcloud `authorized_user` credentials JSON whose `token_uri` is this fake.
    pub fn authorized_user_json(&self) -> String {
        json!({
            "type": "authorized_user", "client_id": "fake-client", "client_secret": "fake-secret",
            "refresh_token": "fake-refresh", "quota_project_id": "fake-project",
            "token_uri": format!("http://{}/token", self.addr()),
        })
        .to_string()
    }

    /// `host:port` for `GCE_METADATA_HOST`: this fake answers the metadata server's token path.
    pub fn metadata_host(&self) -> String {
        self.addr().to_string()
    }

    /// Access tokens handed out so far (token endpoint and metadata server).
    pub fn tokens_issued(&self) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.path == "/token" || r.path.ends_with("/service-accounts/default/token"))
            .count()
    }
}

/// Whether `authorization` carries a token this fake issued.
pub(crate) fn valid_bearer(authorization: Option<&str>) -> bool {
    authorization.is_some_and(|a| a.starts_with("Bearer ya29.fake-"))
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn issue(state: &Arc<State>, kind: &str) -> Response {
    let n = state.next_id.fetch_add(1, Ordering::Relaxed) + 1;
    (StatusCode::OK, axum::Json(json!({"access_token": format!("ya29.fake-{kind}-{n}"), "expires_in": 3599, "token_type": "Bearer"}))).into_response()
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `POST /token`: the OAuth token endpoint.
pub(crate) fn token(state: &Arc<State>, rec: &Recorded) -> Response {
    if !rec
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "form body expected",
        );
    }
    let f = form(&rec.body);
    let get = |k: &str| f.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    match get("grant_type") {
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer") => {
            let host = rec.header("host").unwrap_or_default();
            match verify_jwt(
                get("assertion").unwrap_or_default(),
                &format!("http://{host}/token"),
            ) {
                Ok(()) => issue(state, "sa"),
                Err(e) => oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", &e),
            }
        }
        Some("refresh_token") => {
            if get("client_id") == Some("fake-client")
                && get("client_secret") == Some("fake-secret")
                && get("refresh_token") == Some("fake-refresh")
            {
                issue(state, "user")
            } else {
                oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad Request")
            }
        }
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Invalid grant_type",
        ),
    }
}

fn verify_jwt(jwt: &str, aud: &str) -> Result<(), String> {
    let mut parts = jwt.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a JWT".into());
    };
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(c).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    if header["alg"] != "RS256" {
        return Err("alg must be RS256".into());
    }
    let public = STANDARD
        .decode(TEST_PUBLIC_DER)
        .map_err(|e| e.to_string())?;
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|e| e.to_string())?;
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, public)
        .verify(format!("{h}.{c}").as_bytes(), &sig)
        .map_err(|_| "Invalid JWT Signature.".to_owned())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if claims["iss"] != SERVICE_ACCOUNT {
        return Err(format!("unknown iss {}", claims["iss"]));
    }
    if claims["aud"] != aud {
        return Err(format!("Invalid JWT: aud {} is not {aud}", claims["aud"]));
    }
    if !claims["scope"]
        .as_str()
        .is_some_and(|s| s.contains("https://www.googleapis.com/auth/cloud-platform"))
    {
        return Err("missing cloud-platform scope".into());
    }
    let exp = claims["exp"].as_u64().unwrap_or(0);
    let iat = claims["iat"].as_u64().unwrap_or(0);
    if exp <= now || exp - iat > 3600 {
        return Err("Invalid JWT: Token must be a short-lived token (60 minutes)".into());
    }
    Ok(())
}

/// `GET /computeMetadata/v1/instance/service-accounts/default/token`.
pub(crate) fn metadata(state: &Arc<State>, rec: &Recorded) -> Response {
    if rec.header("metadata-flavor") != Some("Google") {
        return (
            StatusCode::FORBIDDEN,
            "Missing required header: Metadata-Flavor",
        )
            .into_response();
    }
    issue(state, "metadata")
}
