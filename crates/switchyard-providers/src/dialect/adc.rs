//! Google Application Default Credentials: an OAuth access token for
//! Vertex AI, from a service-account key (JWT bearer flow), a gcloud user
//! credentials file (refresh-token flow) or the metadata server; cached and
//! refreshed before it expires, one refresh at a time.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::HttpClient;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use switchyard_core::Error;
use tokio::sync::Mutex;
use tokio::time::Instant;

const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
const TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// A token is refreshed this long before it expires.
const MARGIN: Duration = Duration::from_secs(120);

/// Where tokens come from.
enum Source {
    ServiceAccount {
        email: String,
        key_id: Option<String>,
        key: Arc<ring::rsa::KeyPair>,
        token_uri: String,
    },
    User {
        client_id: String,
        client_secret: String,
        refresh_token: String,
        token_uri: String,
    },
    Metadata {
        host: String,
    },
}

/// A cached access-token source.
pub(crate) struct Adc {
    source: Source,
    client: HttpClient,
    cache: Mutex<Option<(Arc<str>, Instant)>>,
    /// The project named by the credentials, if any.
    pub project: Option<String>,
}

impl std::fmt::Debug for Adc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.source {
            Source::ServiceAccount { email, .. } => format!("service account {email}"),
            Source::User { .. } => "user credentials".into(),
            Source::Metadata { host } => format!("metadata server {host}"),
        };
        f.debug_struct("Adc")
            .field("source", &kind)
            .finish_non_exhaustive()
    }
}

fn fail(msg: impl Into<String>) -> Error {
    Error::internal(msg.into())
}

impl Adc {
    /// Finds credentials: `file`, else `GOOGLE_APPLICATION_CREDENTIALS`, else
    /// gcloud's `application_default_credentials.json`, else the metadata server.
    pub(crate) fn discover(file: Option<&Path>, client: HttpClient) -> Result<Adc, Error> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let path = file
            .map(Path::to_path_buf)
            .or_else(|| env("GOOGLE_APPLICATION_CREDENTIALS").map(PathBuf::from))
            .or_else(|| {
                let dir = env("CLOUDSDK_CONFIG")
                    .map(PathBuf::from)
                    .or_else(|| env("HOME").map(|h| Path::new(&h).join(".config/gcloud")))?;
                Some(dir.join("application_default_credentials.json")).filter(|p| p.exists())
            });
        let (source, project) = match path {
            Some(p) => {
                let text = std::fs::read_to_string(&p).map_err(|e| {
                    fail(format!("reading Google credentials `{}`: {e}", p.display()))
                })?;
                let v: Value = serde_json::from_str(&text).map_err(|e| {
                    fail(format!(
                        "Google credentials `{}` are not JSON: {e}",
                        p.display()
                    ))
                })?;
                Self::from_json(&v).map_err(|e| {
                    fail(format!(
                        "Google credentials `{}`: {}",
                        p.display(),
                        e.message()
                    ))
                })?
            }
            None => {
                let host =
                    env("GCE_METADATA_HOST").unwrap_or_else(|| "metadata.google.internal".into());
                (Source::Metadata { host }, None)
            }
        };
        Ok(Adc {
            source,
            client,
            cache: Mutex::new(None),
            project,
        })
    }

    fn from_json(v: &Value) -> Result<(Source, Option<String>), Error> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let need = |k: &str| s(k).ok_or_else(|| fail(format!("missing `{k}`")));
        let token_uri = s("token_uri").unwrap_or_else(|| TOKEN_URI.into());
        match s("type").as_deref() {
            Some("service_account") => {
                let pem = need("private_key")?;
                let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
                let der = STANDARD
                    .decode(b64.trim())
                    .map_err(|_| fail("`private_key` is not PEM"))?;
                let key = ring::rsa::KeyPair::from_pkcs8(&der)
                    .map_err(|_| fail("`private_key` is not a PKCS#8 RSA key"))?;
                let source = Source::ServiceAccount {
                    email: need("client_email")?,
                    key_id: s("private_key_id"),
                    key: Arc::new(key),
                    token_uri,
                };
                Ok((source, s("project_id")))
            }
            Some("authorized_user") => {
                let source = Source::User {
                    client_id: need("client_id")?,
                    client_secret: need("client_secret")?,
                    refresh_token: need("refresh_token")?,
                    token_uri,
                };
                Ok((source, s("quota_project_id")))
            }
            other => Err(fail(format!(
                "unsupported credentials type {other:?} (service_account or authorized_user)"
            ))),
        }
    }

    /// A valid access token, from the cache or freshly fetched.
    pub(crate) async fn token(&self) -> Result<Arc<str>, Error> {
        let mut cache = self.cache.lock().await;
        if let Some((token, until)) = cache.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let (token, expires_in) = self.fetch().await?;
        let ttl = Duration::from_secs(expires_in)
            .saturating_sub(MARGIN)
            .max(Duration::from_secs(1));
        let token: Arc<str> = Arc::from(token);
        *cache = Some((token.clone(), Instant::now() + ttl));
        Ok(token)
    }

    async fn fetch(&self) -> Result<(String, u64), Error> {
        let request = match &self.source {
            Source::ServiceAccount {
                email,
                key_id,
                key,
                token_uri,
            } => {
                let jwt = sign_jwt(email, key_id.as_deref(), key, token_uri)?;
                let body = format!(
                    "grant_type={}&assertion={}",
                    enc("urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    enc(&jwt)
                );
                self.client
                    .reqwest()
                    .post(token_uri)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
            }
            Source::User {
                client_id,
                client_secret,
                refresh_token,
                token_uri,
            } => {
                let body = format!(
                    "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
                    enc(client_id),
                    enc(client_secret),
                    enc(refresh_token)
                );
                self.client
                    .reqwest()
                    .post(token_uri)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
            }
            Source::Metadata { host } => self
                .client
                .reqwest()
                .get(format!(
                    "http://{host}/computeMetadata/v1/instance/service-accounts/default/token"
                ))
                .header("metadata-flavor", "Google"),
        };
        let res = tokio::time::timeout(Duration::from_secs(30), request.send())
            .await
            .map_err(|_| Error::timeout("the Google token endpoint did not answer within 30s"))?
            .map_err(|e| {
                Error::connect("could not reach the Google token endpoint")
                    .with_source(e.without_url())
            })?;
        let status = res.status();
        let v: Value = res.json().await.map_err(|e| {
            Error::upstream("the Google token endpoint answered something that is not JSON")
                .with_source(e.without_url())
        })?;
        if !status.is_success() {
            let why = v
                .get("error_description")
                .or_else(|| v.get("error"))
                .map(Value::to_string)
                .unwrap_or_default();
            return Err(Error::upstream(format!(
                "the Google token endpoint refused the credentials ({status}): {why}"
            )));
        }
        let token = v
            .get("access_token")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::upstream("the Google token endpoint sent no access_token"))?;
        Ok((
            token.to_owned(),
            v.get("expires_in").and_then(Value::as_u64).unwrap_or(3600),
        ))
    }
}

/// An RS256-signed JWT asking for a cloud-platform token.
fn sign_jwt(
    email: &str,
    key_id: Option<&str>,
    key: &ring::rsa::KeyPair,
    aud: &str,
) -> Result<String, Error> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut header = json!({"alg": "RS256", "typ": "JWT"});
    if let Some(k) = key_id {
        header["kid"] = k.into();
    }
    let claims = json!({"iss": email, "scope": SCOPE, "aud": aud, "iat": now, "exp": now + 3600});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .map_err(|_| fail("signing the service-account JWT failed"))?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}

/// Percent-encodes a form value.
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
