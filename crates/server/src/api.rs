//! The JSON API under `/api/v1` (described by `openapi.json`, served at
//! `/api/v1/openapi.json`). Everything but `health` needs a bearer token, Basic
//! credentials or a console session; cookie-authenticated changes must carry the
//! session's CSRF token in `X-CSRF-Token`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use dozor_store::{EventQuery, Incident, IncidentFilter, IncidentPatch, StoreError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::attack::technique;
use crate::auth::{Principal, same_secret};
use crate::state::Shared;

/// The OpenAPI description of this API.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// An API failure: a status and a message, answered as `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.0, Json(json!({ "error": self.1 }))).into_response();
        if self.0 == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"dozor\""),
            );
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(reason) => ApiError(StatusCode::BAD_REQUEST, reason),
            e => {
                tracing::error!(error = %e, "store error");
                ApiError(StatusCode::INTERNAL_SERVER_ERROR, "storage error".into())
            }
        }
    }
}

/// The authenticated caller, or 401. Cookie sessions changing state must also show
/// their CSRF token.
pub async fn require(
    state: &Shared,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Principal, ApiError> {
    let principal = state
        .auth
        .principal(&state.store, headers)
        .await
        .ok_or_else(|| ApiError(StatusCode::UNAUTHORIZED, "authentication required".into()))?;
    if let Some(csrf) = &principal.csrf
        && !matches!(*method, Method::GET | Method::HEAD)
    {
        let sent = headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !same_secret(sent, csrf) {
            return Err(ApiError(
                StatusCode::FORBIDDEN,
                "missing or wrong X-CSRF-Token".into(),
            ));
        }
    }
    Ok(principal)
}

/// The API routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/auth/token", post(token))
        .route("/api/v1/incidents", get(incidents))
        .route(
            "/api/v1/incidents/{id}",
            get(incident).patch(patch_incident),
        )
        .route("/api/v1/events", get(events))
        .route("/api/v1/rules", get(rules))
        .route("/api/v1/openapi.json", get(openapi))
}

async fn health(State(state): State<Shared>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "database": format!("{:?}", state.store.backend()).to_lowercase(),
        }))
        .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "unavailable", "error": e.to_string() })),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

async fn token(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(credentials): Json<Credentials>,
) -> Result<Json<Value>, ApiError> {
    if !state.auth.login_allowed(peer.ip()) {
        return Err(ApiError(
            StatusCode::TOO_MANY_REQUESTS,
            "too many failed logins; wait".into(),
        ));
    }
    match state
        .auth
        .login(
            &state.store,
            peer.ip(),
            &credentials.username,
            &credentials.password,
        )
        .await?
    {
        Some((token, session)) => Ok(Json(json!({
            "token": token,
            "expires": dozor_event::format_time(ms_time(session.expires)),
        }))),
        None => Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "wrong username or password".into(),
        )),
    }
}

/// A time from milliseconds since the epoch.
pub fn ms_time(ms: i64) -> dozor_event::Timestamp {
    dozor_event::Timestamp::from_millisecond(ms).unwrap_or(dozor_event::Timestamp::UNIX_EPOCH)
}

/// The API's form of an incident.
pub fn incident_json(incident: &Incident) -> Value {
    json!({
        "id": incident.id,
        "status": incident.status,
        "severity": incident.severity,
        "assignee": incident.assignee,
        "rule": {
            "id": incident.rule_id,
            "title": incident.rule_title,
            "reference_rule": incident.reference_rule,
        },
        "reference_rules": incident.reference_rule.iter().collect::<Vec<_>>(),
        "techniques": incident.techniques.iter().map(|t| technique(t)).collect::<Vec<_>>(),
        "hosts": incident.hosts,
        "group": incident.group_key,
        "first_seen": dozor_event::format_time(ms_time(incident.first_seen)),
        "last_seen": dozor_event::format_time(ms_time(incident.last_seen)),
        "alert_count": incident.alert_count,
        "event_count": incident.event_count,
        "created": dozor_event::format_time(ms_time(incident.created)),
        "updated": dozor_event::format_time(ms_time(incident.updated)),
    })
}

#[derive(Deserialize, Default)]
struct IncidentQuery {
    status: Option<String>,
    severity: Option<String>,
    rule: Option<String>,
    host: Option<String>,
    limit: Option<i64>,
}

async fn incidents(
    State(state): State<Shared>,
    method: Method,
    headers: HeaderMap,
    Query(query): Query<IncidentQuery>,
) -> Result<Json<Value>, ApiError> {
    require(&state, &method, &headers).await?;
    let filter = IncidentFilter {
        status: query.status,
        severity: query.severity,
        rule_id: query.rule,
        host: query.host,
        limit: query.limit.unwrap_or(100),
    };
    let incidents = state.store.incidents(&filter).await?;
    Ok(Json(json!({
        "count": incidents.len(),
        "incidents": incidents.iter().map(incident_json).collect::<Vec<_>>(),
    })))
}

async fn incident(
    State(state): State<Shared>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require(&state, &method, &headers).await?;
    let incident = state
        .store
        .incident(&id)
        .await?
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no incident {id}")))?;
    let ids = state.store.incident_event_ids(&id).await?;
    let events = state.store.events_by_id(&ids).await?;
    let notes = state.store.incident_notes(&id).await?;
    let findings = state.store.incident_findings(&id).await?;
    let mut body = incident_json(&incident);
    body["events"] = json!(events);
    body["notes"] = json!(
        notes
            .iter()
            .map(|n| json!({
                "author": n.author,
                "time": dozor_event::format_time(ms_time(n.time)),
                "kind": n.kind,
                "body": n.body,
            }))
            .collect::<Vec<_>>()
    );
    body["findings"] = json!(
        findings
            .iter()
            .map(|f| json!({
                "rule_id": f.rule_id,
                "event_id": f.event_id,
                "time": dozor_event::format_time(ms_time(f.time)),
                "details": f.details.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect::<serde_json::Map<String, Value>>(),
            }))
            .collect::<Vec<_>>()
    );
    Ok(Json(body))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    status: Option<String>,
    assignee: Option<String>,
    comment: Option<String>,
}

async fn patch_incident(
    State(state): State<Shared>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<PatchBody>,
) -> Result<Json<Value>, ApiError> {
    let principal = require(&state, &method, &headers).await?;
    let patch = IncidentPatch {
        status: body.status,
        assignee: body.assignee,
        comment: body.comment,
    };
    if patch.status.is_none() && patch.assignee.is_none() && patch.comment.is_none() {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "nothing to change: give status, assignee or comment".into(),
        ));
    }
    let incident = state
        .store
        .update_incident(&id, &patch, &principal.username)
        .await?
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no incident {id}")))?;
    Ok(Json(incident_json(&incident)))
}

#[derive(Deserialize, Default)]
struct EventsQuery {
    q: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<i64>,
    /// Also count every match (`total`).
    count: Option<bool>,
}

/// A time bound given as RFC 3339 or as milliseconds since the epoch.
pub fn parse_bound(text: Option<&str>) -> Result<Option<i64>, String> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(Some(ms));
    }
    text.parse::<dozor_event::Timestamp>()
        .map(|t| Some(t.as_millisecond()))
        .map_err(|e| format!("{text:?} is not an RFC 3339 time nor milliseconds: {e}"))
}

async fn events(
    State(state): State<Shared>,
    method: Method,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> Result<Json<Value>, ApiError> {
    require(&state, &method, &headers).await?;
    let bad = |e: String| ApiError(StatusCode::BAD_REQUEST, e);
    let search = EventQuery {
        text: query.q.unwrap_or_default(),
        from: parse_bound(query.from.as_deref()).map_err(bad)?,
        to: parse_bound(query.to.as_deref()).map_err(bad)?,
        limit: query.limit.unwrap_or(100),
    };
    let events = state.store.search_events(&search).await?;
    let mut body = json!({ "count": events.len(), "events": events });
    if query.count == Some(true) {
        body["total"] = json!(state.store.count_matching(&search).await?);
    }
    Ok(Json(body))
}

async fn rules(
    State(state): State<Shared>,
    method: Method,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    require(&state, &method, &headers).await?;
    let catalog = state.catalog.read().map(|c| c.clone()).unwrap_or_default();
    let rules: Vec<Value> = catalog
        .rules
        .iter()
        .map(|r| {
            let mut v = json!(r);
            v["techniques"] = json!(
                r.techniques
                    .iter()
                    .map(|t| technique(t))
                    .collect::<Vec<_>>()
            );
            v
        })
        .collect();
    Ok(Json(
        json!({ "count": rules.len(), "rules": rules, "rejected": catalog.rejected }),
    ))
}

async fn openapi(
    State(state): State<Shared>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require(&state, &method, &headers).await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response())
}
