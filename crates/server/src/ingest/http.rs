//! HTTP ingest: `POST /api/v1/ingest` (NDJSON from Winlogbeat, Elastic Agent, Vector or
//! Fluent Bit, or raw text lines) and an Elasticsearch-compatible `POST /_bulk` (with
//! `GET /` and `GET /_license`, which Beats and Logstash ask before shipping). A request
//! is answered only once its records are synced to the journal.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::now_ms;
use crate::api::{ApiError, require};
use crate::journal::{Kind, Record};
use crate::metrics::Source;
use crate::state::Shared;

/// The Elasticsearch version Dozor answers as (Beats 8 require 8.x).
const ES_VERSION: &str = "8.17.0";

/// The ingest routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/ingest", post(ingest))
        .route("/_bulk", post(bulk))
        .route("/{index}/_bulk", post(bulk_index))
        .route("/_license", get(license))
}

#[derive(Deserialize, Default)]
struct IngestQuery {
    /// The format of the lines; detected when absent.
    format: Option<String>,
}

async fn ingest(
    State(state): State<Shared>,
    method: Method,
    headers: HeaderMap,
    Query(query): Query<IngestQuery>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let principal = require(&state, &method, &headers).await?;
    let format = query.format.unwrap_or_default();
    if !format.is_empty() && dozor_formats::find(&format).is_none() {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("unknown format {format:?}"),
        ));
    }
    let lines = body
        .split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace))
        .count();
    if lines == 0 {
        return Ok(Json(json!({ "accepted": 0 })));
    }
    let record = Record {
        kind: Kind::Lines,
        received: now_ms(),
        source: format!("http {}", principal.username),
        format,
        data: body.to_vec(),
    };
    accept(&state, "http", vec![record], lines as u64).await?;
    Ok(Json(json!({ "accepted": lines })))
}

async fn accept(
    state: &Shared,
    transport: &str,
    records: Vec<Record>,
    count: u64,
) -> Result<(), ApiError> {
    state
        .appender
        .append(records)
        .await
        .map_err(|e| ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    state
        .metrics
        .records_in
        .get_or_create(&Source {
            source: transport.into(),
        })
        .inc_by(count);
    Ok(())
}

async fn bulk_index(
    State(state): State<Shared>,
    method: Method,
    headers: HeaderMap,
    Path(index): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    bulk_into(state, method, headers, Some(index), body).await
}

async fn bulk(
    State(state): State<Shared>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    bulk_into(state, method, headers, None, body).await
}

/// One `_bulk` action and whether a document line follows it.
fn action_of(line: &Value) -> Option<(&str, &Value)> {
    let object = line.as_object()?;
    let (action, meta) = object.iter().next()?;
    Some((action.as_str(), meta))
}

async fn bulk_into(
    state: Shared,
    method: Method,
    headers: HeaderMap,
    default_index: Option<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let principal = require(&state, &method, &headers).await?;
    let started = std::time::Instant::now();
    let mut lines = body
        .split(|&b| b == b'\n')
        .filter(|l| !l.iter().all(u8::is_ascii_whitespace));
    let mut documents: Vec<u8> = Vec::new();
    let mut count = 0u64;
    let mut items = Vec::new();
    let mut errors = false;
    while let Some(line) = lines.next() {
        let parsed: Option<Value> = serde_json::from_slice(line).ok();
        let Some((action, meta)) = parsed.as_ref().and_then(action_of) else {
            errors = true;
            items.push(json!({"index": {"status": 400, "error": {"type": "parse_exception", "reason": "expected an action line"}}}));
            continue;
        };
        let index = meta
            .get("_index")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| default_index.clone())
            .unwrap_or_default();
        match action {
            "index" | "create" => {
                let Some(document) = lines.next() else {
                    errors = true;
                    items.push(json!({action: {"_index": index, "status": 400, "error": {"type": "parse_exception", "reason": "action without a document"}}}));
                    break;
                };
                documents.extend_from_slice(document);
                documents.push(b'\n');
                count += 1;
                let id = format!("{}-{count}", now_ms());
                items.push(json!({action: {"_index": index, "_id": id, "_version": 1, "result": "created", "status": 201}}));
            }
            "update" => {
                lines.next();
                errors = true;
                items.push(json!({action: {"_index": index, "status": 400, "error": {"type": "illegal_argument_exception", "reason": "Dozor stores events; updates are not supported"}}}));
            }
            _ => {
                errors = true;
                items.push(json!({action: {"_index": index, "status": 400, "error": {"type": "illegal_argument_exception", "reason": format!("unsupported action {action}")}}}));
            }
        }
    }
    if count > 0 {
        let record = Record {
            kind: Kind::Lines,
            received: now_ms(),
            source: format!("bulk {}", principal.username),
            format: "json".into(),
            data: documents,
        };
        accept(&state, "bulk", vec![record], count).await?;
    }
    Ok(Json(
        json!({ "took": started.elapsed().as_millis() as u64, "errors": errors, "items": items }),
    )
    .into_response())
}

/// `GET /` for Elasticsearch clients: who we answer as.
pub async fn es_info(
    state: &Shared,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    require(state, method, headers).await?;
    let mut response = Json(json!({
        "name": state.config.node,
        "cluster_name": "dozor",
        "cluster_uuid": "dozor",
        "version": {
            "number": ES_VERSION,
            "build_flavor": "default",
            "build_type": "dozor",
            "lucene_version": "9.12.0",
            "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0",
        },
        "tagline": "You Know, for Search",
    }))
    .into_response();
    response.headers_mut().insert(
        "x-elastic-product",
        axum::http::HeaderValue::from_static("Elasticsearch"),
    );
    Ok(response)
}

async fn license(
    State(state): State<Shared>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    require(&state, &method, &headers).await?;
    let mut response = Json(json!({
        "license": {"status": "active", "type": "basic", "mode": "basic", "uid": "dozor"}
    }))
    .into_response();
    response.headers_mut().insert(
        "x-elastic-product",
        axum::http::HeaderValue::from_static("Elasticsearch"),
    );
    Ok(response)
}

/// Whether a `GET /` comes from an Elasticsearch client rather than a browser.
pub fn wants_es(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    !accept.contains("text/html") && headers.contains_key(axum::http::header::AUTHORIZATION)
}
