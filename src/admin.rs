//! The admin API (`/admin/*`) and `GET /metrics`.
//!
//! Admin requests need `Authorization: Bearer <admin_key>` (compared in
//! constant time); with no `admin_key` configured they are served only to
//! clients on this machine (loopback addresses).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;
use switchyard_journal::{Journal, RecordFilter};

use crate::observe::Observe;

struct Admin {
    key: Option<Vec<u8>>,
    observe: Arc<Observe>,
}

/// `/admin/*` routes (and `/metrics` unless it has its own listener).
pub fn routes(observe: Arc<Observe>, admin_key: Option<&str>, metrics_here: bool) -> Router {
    let state = Arc::new(Admin {
        key: admin_key.map(|k| k.as_bytes().to_vec()),
        observe: observe.clone(),
    });
    let admin = Router::new()
        .route("/admin/stats", get(stats))
        .route("/admin/records", get(records))
        .route("/admin/records/{id}", get(record))
        .route("/admin/projects", get(projects))
        .route("/admin/events", get(events))
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize))
        .with_state(state);
    if metrics_here {
        admin.merge(metrics_routes(observe))
    } else {
        admin
    }
}

/// `GET /metrics`, in Prometheus' text format.
pub fn metrics_routes(observe: Arc<Observe>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .with_state(observe)
}

async fn metrics_text(State(observe): State<Arc<Observe>>) -> Response {
    match &observe.prometheus {
        Some(h) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            h.render(),
        )
            .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found_error",
            "metrics are disabled",
        ),
    }
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = json!({"error": {"message": message, "type": kind}});
    (status, axum::Json(body)).into_response()
}

/// An admin API error: `{"error":{"message","type"}}` with a status.
struct ApiError {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error(self.status, self.kind, &self.message)
    }
}

async fn authorize(State(admin): State<Arc<Admin>>, req: Request, next: Next) -> Response {
    if let Err(res) = check(admin.key.as_deref(), &req) {
        return res;
    }
    next.run(req).await
}

/// Whether `req` may use the admin API: `Authorization: Bearer <key>` compared
/// in constant time, or, with no key configured, a loopback client.
#[expect(
    clippy::result_large_err,
    reason = "the refusal is the response, built only for refused requests"
)]
pub(crate) fn check<B>(key: Option<&[u8]>, req: &http::Request<B>) -> Result<(), Response> {
    match key {
        Some(key) => {
            let given = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .unwrap_or_default();
            if !bool::from(given.as_bytes().ct_eq(key)) {
                let mut res = error(
                    StatusCode::UNAUTHORIZED,
                    "authentication_error",
                    "the admin API needs `Authorization: Bearer <admin_key>`",
                );
                res.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return Err(res);
            }
        }
        None => {
            let local = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .is_some_and(|c| c.0.ip().is_loopback());
            if !local {
                return Err(error(
                    StatusCode::FORBIDDEN,
                    "permission_error",
                    "the admin API is open only to this machine when no `admin_key` is configured",
                ));
            }
        }
    }
    Ok(())
}

fn journal(admin: &Admin) -> Result<&Journal, ApiError> {
    admin.observe.journal.as_ref().ok_or_else(|| ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        kind: "gateway_error",
        message: "the journal is disabled (`journal.enabled = false`)".into(),
    })
}

fn internal(e: String) -> ApiError {
    tracing::error!(error = %e, "admin query failed");
    ApiError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        kind: "gateway_error",
        message: e,
    }
}

fn bad(message: String) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        kind: "invalid_request_error",
        message,
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[derive(Deserialize)]
struct WindowQuery {
    window: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

/// `[since, until)` in ms: explicit times, or `window` back from now (default 24h).
fn window(q: &WindowQuery) -> Result<(i64, i64), ApiError> {
    let until = match &q.until {
        Some(t) => parse_time(t).map_err(|e| bad(format!("`until`: {e}")))?,
        None => now_ms() + 1,
    };
    let since = match (&q.since, &q.window) {
        (Some(t), _) => parse_time(t).map_err(|e| bad(format!("`since`: {e}")))?,
        (None, Some(w)) => until - parse_window(w).map_err(|e| bad(format!("`window`: {e}")))?,
        (None, None) => until - 86_400_000,
    };
    Ok((since, until))
}

/// `30s`, `15m`, `24h`, `7d` in ms.
fn parse_window(w: &str) -> Result<i64, String> {
    let (n, unit) = w.split_at(w.find(|c: char| !c.is_ascii_digit()).unwrap_or(w.len()));
    let n: i64 = n
        .parse()
        .map_err(|_| format!("`{w}` is not a duration like 15m, 24h or 7d"))?;
    let ms = match unit {
        "s" => 1000,
        "m" => 60_000,
        "h" | "" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("`{w}`: the unit must be s, m, h or d")),
    };
    Ok(n.saturating_mul(ms))
}

/// Milliseconds since the epoch, or RFC 3339 (`2025-01-31T12:00:00Z`, offsets allowed).
fn parse_time(t: &str) -> Result<i64, String> {
    if let Ok(ms) = t.parse::<i64>() {
        return Ok(ms);
    }
    let err = || format!("`{t}` is neither milliseconds since the epoch nor RFC 3339");
    let b = t.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return Err(err());
    }
    let num =
        |r: std::ops::Range<usize>| t.get(r).and_then(|s| s.parse::<i64>().ok()).ok_or_else(err);
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &t[19..];
    let mut ms = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(frac.len());
        let f = &frac[..digits];
        ms = format!("{f:0<3}")[..3].parse::<i64>().map_err(|_| err())?;
        rest = &frac[digits..];
    }
    let offset_min = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let oh: i64 = o[1..3].parse().map_err(|_| err())?;
            let om: i64 = o[4..6].parse().map_err(|_| err())?;
            sign * (oh * 60 + om)
        }
        _ => return Err(err()),
    };
    // Howard Hinnant's days_from_civil.
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(((days * 86_400 + h * 3600 + mi * 60 + s - offset_min * 60) * 1000) + ms)
}

async fn stats(
    State(admin): State<Arc<Admin>>,
    Query(q): Query<WindowQuery>,
) -> Result<Response, ApiError> {
    let (since, until) = window(&q)?;
    let journal = journal(&admin)?;
    let s = journal.stats(since, until).await.map_err(internal)?;
    Ok(axum::Json(json!({
        "window": {
            "since": switchyard_recorder::rfc3339(since),
            "until": switchyard_recorder::rfc3339(until),
            "since_ms": since,
            "until_ms": until,
        },
        "totals": s.totals,
        "by_model": s.by_model,
        "by_provider": s.by_provider,
        "by_source": s.by_source,
        "by_project": s.by_project,
        "by_key": s.by_key,
        "by_team": s.by_team,
        "journal": {
            "written": journal.written(),
            "dropped": journal.dropped(),
            "queued": journal.queued(),
            "capacity": journal.capacity(),
        },
    }))
    .into_response())
}

#[derive(Deserialize)]
struct RecordsQuery {
    project: Option<String>,
    source: Option<String>,
    model: Option<String>,
    provider: Option<String>,
    key: Option<String>,
    status: Option<String>,
    error_type: Option<String>,
    since: Option<String>,
    until: Option<String>,
    before: Option<String>,
    limit: Option<usize>,
}

async fn records(
    State(admin): State<Arc<Admin>>,
    Query(q): Query<RecordsQuery>,
) -> Result<Response, ApiError> {
    let time = |t: &Option<String>, name: &str| match t {
        Some(t) => parse_time(t)
            .map(Some)
            .map_err(|e| bad(format!("`{name}`: {e}"))),
        None => Ok(None),
    };
    let since_ms = time(&q.since, "since")?;
    let until_ms = time(&q.until, "until")?;
    let journal = journal(&admin)?;
    let filter = RecordFilter {
        project: q.project,
        source: q.source,
        model: q.model,
        provider: q.provider,
        key_id: q.key,
        status: q.status,
        error_type: q.error_type,
        since_ms,
        until_ms,
        before: q.before,
        limit: q.limit,
    };
    let page = journal.records(filter).await.map_err(internal)?;
    Ok(axum::Json(page).into_response())
}

async fn record(
    State(admin): State<Arc<Admin>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let journal = journal(&admin)?;
    match journal.record(id.clone()).await.map_err(internal)? {
        Some(r) => Ok(axum::Json(r).into_response()),
        None => Err(ApiError {
            status: StatusCode::NOT_FOUND,
            kind: "not_found_error",
            message: format!("no record `{id}` in the journal"),
        }),
    }
}

#[derive(Deserialize)]
struct ProjectsQuery {
    active_since_mins: Option<u64>,
}

async fn projects(
    State(admin): State<Arc<Admin>>,
    Query(q): Query<ProjectsQuery>,
) -> Result<Response, ApiError> {
    let journal = journal(&admin)?;
    let mins = q.active_since_mins.unwrap_or(60);
    let since = now_ms() - i64::try_from(mins.saturating_mul(60_000)).unwrap_or(i64::MAX);
    let projects = journal.projects(since).await.map_err(internal)?;
    Ok(axum::Json(json!({"active_since_mins": mins, "projects": projects})).into_response())
}

async fn events(State(admin): State<Arc<Admin>>) -> Response {
    let rx = admin.observe.feed.subscribe();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(ev) => Event::default().event(ev.kind).data(&*ev.json),
            // A slow reader lost the oldest events: say how many.
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => Event::default()
                .event("lagged")
                .data(json!({"missed": n}).to_string()),
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok::<_, Infallible>(event), rx))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_windows() {
        assert_eq!(parse_time("1700000000000"), Ok(1_700_000_000_000));
        assert_eq!(
            parse_time("2025-01-31T12:34:56.789Z"),
            Ok(1_738_326_896_789)
        );
        assert_eq!(
            parse_time("2025-01-31T13:34:56.789+01:00"),
            Ok(1_738_326_896_789)
        );
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Ok(0));
        assert!(parse_time("yesterday").is_err());
        assert_eq!(parse_window("15m"), Ok(900_000));
        assert_eq!(parse_window("7d"), Ok(604_800_000));
        assert!(parse_window("7w").is_err());
    }
}
