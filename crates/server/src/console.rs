//! The web console: server-rendered pages (askama templates under `templates/`) with
//! htmx for live refresh; no build step beyond `cargo build`. Forms that change state
//! carry the session's CSRF token; every page but the login needs a session.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use dozor_store::{EventQuery, IncidentFilter, IncidentPatch, STATUSES, StoredEvent};
use serde::Deserialize;

use crate::api::{ms_time, parse_bound};
use crate::attack::{Technique, technique};
use crate::auth::{
    Principal, SESSION_COOKIE, cookie, random_hex, same_secret, set_cookie, token_hash,
};
use crate::charts::{BarChart, bar_chart};
use crate::state::Shared;

const LOGIN_CSRF_COOKIE: &str = "dozor_login_csrf";
const HTMX: &str = include_str!("../assets/htmx.min.js");
const STYLE: &str = include_str!("../assets/style.css");

/// The console routes.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/", get(root))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/dashboard", get(dashboard))
        .route("/incidents", get(incidents))
        .route("/incidents/table", get(incidents_table))
        .route("/incidents/{id}", get(incident))
        .route("/incidents/{id}/update", post(update_incident))
        .route("/events", get(events))
        .route("/rules", get(rules))
        .route("/lists", get(lists))
        .route("/lists/{name}", get(list).post(save_list))
        .route(
            "/assets/htmx.min.js",
            get(|| async { asset("text/javascript", HTMX) }),
        )
        .route(
            "/assets/style.css",
            get(|| async { asset("text/css", STYLE) }),
        )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        body,
    )
        .into_response()
}

fn render(template: impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "page could not be rendered",
            )
                .into_response()
        }
    }
}

fn server_error(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "console request failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

/// What every page's frame shows.
pub struct Frame {
    /// Page title.
    pub title: String,
    /// The user.
    pub user: String,
    /// The CSRF token forms and htmx requests send.
    pub csrf: String,
    /// The navigation entry to highlight.
    pub section: &'static str,
}

/// The signed-in user, or a redirect to the login page.
async fn session(state: &Shared, headers: &HeaderMap, uri: &str) -> Result<Principal, Response> {
    state
        .auth
        .principal(&state.store, headers)
        .await
        .ok_or_else(|| {
            let next: String = url_encode(uri);
            Redirect::to(&format!("/login?next={next}")).into_response()
        })
}

fn frame(principal: &Principal, title: impl Into<String>, section: &'static str) -> Frame {
    Frame {
        title: title.into(),
        user: principal.username.clone(),
        csrf: principal.csrf.clone().unwrap_or_default(),
        section,
    }
}

fn csrf_ok(principal: &Principal, sent: &str) -> bool {
    principal
        .csrf
        .as_deref()
        .is_none_or(|csrf| same_secret(sent, csrf))
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn time_text(ms: i64) -> String {
    let text = dozor_event::format_time(ms_time(ms));
    text.replace('T', " ").trim_end_matches('Z').to_owned()
}

async fn root(State(state): State<Shared>, method: Method, headers: HeaderMap) -> Response {
    if crate::ingest::http::wants_es(&headers) {
        return match crate::ingest::http::es_info(&state, &method, &headers).await {
            Ok(response) => response,
            Err(e) => e.into_response(),
        };
    }
    Redirect::to("/dashboard").into_response()
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct NextQuery {
    next: Option<String>,
}

fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") => n.to_owned(),
        _ => "/incidents".to_owned(),
    }
}

fn login_response(
    state: &Shared,
    status: StatusCode,
    next: String,
    error: Option<String>,
) -> Response {
    let csrf = random_hex(16);
    let cookie = set_cookie(
        LOGIN_CSRF_COOKIE,
        &csrf,
        3600,
        state.config.cookies_secure(),
    );
    let mut response = render(LoginPage { csrf, next, error });
    *response.status_mut() = status;
    if let Ok(value) = cookie.parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

async fn login_page(State(state): State<Shared>, Query(query): Query<NextQuery>) -> Response {
    login_response(
        &state,
        StatusCode::OK,
        safe_next(query.next.as_deref()),
        None,
    )
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

async fn login(
    State(state): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same_secret(&form.csrf, &expected) {
        return login_response(
            &state,
            StatusCode::FORBIDDEN,
            next,
            Some("The form expired; try again.".into()),
        );
    }
    if !state.auth.login_allowed(peer.ip()) {
        return login_response(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            next,
            Some("Too many failed attempts; wait a few minutes.".into()),
        );
    }
    match state
        .auth
        .login(&state.store, peer.ip(), &form.username, &form.password)
        .await
    {
        Ok(Some((token, session))) => {
            let max_age = (session.expires - crate::ingest::now_ms()) / 1000;
            let cookie = set_cookie(
                SESSION_COOKIE,
                &token,
                max_age,
                state.config.cookies_secure(),
            );
            let clear = set_cookie(LOGIN_CSRF_COOKIE, "", 0, state.config.cookies_secure());
            let mut response = Redirect::to(&next).into_response();
            for value in [cookie, clear] {
                if let Ok(value) = value.parse() {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            response
        }
        Ok(None) => login_response(
            &state,
            StatusCode::UNAUTHORIZED,
            next,
            Some("Wrong username or password.".into()),
        ),
        Err(e) => server_error(e),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let principal = match session(&state, &headers, "/").await {
        Ok(p) => p,
        Err(redirect) => return redirect,
    };
    if !csrf_ok(&principal, &form.csrf) {
        return (StatusCode::FORBIDDEN, "bad CSRF token").into_response();
    }
    if let Some(token) = cookie(&headers, SESSION_COOKIE)
        && let Err(e) = state.store.delete_session(&token_hash(&token)).await
    {
        return server_error(e);
    }
    let mut response = Redirect::to("/login").into_response();
    if let Ok(value) = set_cookie(SESSION_COOKIE, "", 0, state.config.cookies_secure()).parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    frame: Frame,
    per_day: BarChart,
    top_hosts: BarChart,
    top_rules: BarChart,
    open: i64,
    events: i64,
}

async fn dashboard(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let principal = match session(&state, &headers, "/dashboard").await {
        Ok(p) => p,
        Err(redirect) => return redirect,
    };
    let since = crate::ingest::now_ms() - 30 * 86_400_000;
    let result = async {
        let days = state.store.incidents_per_day(since).await?;
        let hosts = state.store.top_hosts(8).await?;
        let rules = state.store.top_rules(8).await?;
        let open = state.store.count_incidents_with_status("new").await?;
        let events = state.store.count_events().await?;
        Ok::<_, dozor_store::StoreError>((days, hosts, rules, open, events))
    }
    .await;
    match result {
        Ok((days, hosts, rules, open, events)) => render(DashboardPage {
            frame: frame(&principal, "Dashboard", "dashboard"),
            per_day: bar_chart(
                days.iter()
                    .map(|d| (time_text(d.day)[..10].to_owned(), d.count))
                    .collect(),
            ),
            top_hosts: bar_chart(hosts.into_iter().map(|c| (c.name, c.count)).collect()),
            top_rules: bar_chart(rules.into_iter().map(|c| (c.name, c.count)).collect()),
            open,
            events,
        }),
        Err(e) => server_error(e),
    }
}

#[derive(Deserialize, Default, Clone)]
struct IncidentQuery {
    status: Option<String>,
    severity: Option<String>,
    host: Option<String>,
}

impl IncidentQuery {
    fn filter(&self) -> IncidentFilter {
        IncidentFilter {
            status: self.status.clone(),
            severity: self.severity.clone(),
            host: self.host.clone(),
            rule_id: None,
            limit: 200,
        }
    }

    fn query_string(&self) -> String {
        let mut parts = Vec::new();
        for (name, value) in [
            ("status", &self.status),
            ("severity", &self.severity),
            ("host", &self.host),
        ] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                parts.push(format!("{name}={}", url_encode(value)));
            }
        }
        parts.join("&")
    }
}

/// An incident as a table row shows it.
struct IncidentRow {
    id: String,
    title: String,
    reference_rule: String,
    severity: String,
    status: String,
    hosts: String,
    techniques: String,
    first_seen: String,
    last_seen: String,
    alerts: i64,
    events: i64,
    assignee: String,
}

fn incident_row(i: &dozor_store::Incident) -> IncidentRow {
    IncidentRow {
        id: i.id.clone(),
        title: i.rule_title.clone(),
        reference_rule: i.reference_rule.clone().unwrap_or_default(),
        severity: i.severity.clone(),
        status: i.status.clone(),
        hosts: i.hosts.join(", "),
        techniques: i.techniques.join(", "),
        first_seen: time_text(i.first_seen),
        last_seen: time_text(i.last_seen),
        alerts: i.alert_count,
        events: i.event_count,
        assignee: i.assignee.clone().unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct IncidentsPage {
    frame: Frame,
    rows: Vec<IncidentRow>,
    statuses: &'static [&'static str],
    severities: &'static [&'static str],
    status: String,
    severity: String,
    host: String,
    query: String,
}

#[derive(Template)]
#[template(path = "incident_rows.html")]
struct IncidentRows {
    rows: Vec<IncidentRow>,
}

const SEVERITIES: &[&str] = &["critical", "high", "medium", "low", "informational"];

async fn incidents(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<IncidentQuery>,
) -> Response {
    let principal = match session(&state, &headers, "/incidents").await {
        Ok(p) => p,
        Err(redirect) => return redirect,
    };
    match state.store.incidents(&query.filter()).await {
        Ok(list) => render(IncidentsPage {
            frame: frame(&principal, "Incidents", "incidents"),
            rows: list.iter().map(incident_row).collect(),
            statuses: STATUSES,
            severities: SEVERITIES,
            status: query.status.clone().unwrap_or_default(),
            severity: query.severity.clone().unwrap_or_default(),
            host: query.host.clone().unwrap_or_default(),
            query: query.query_string(),
        }),
        Err(e) => server_error(e),
    }
}

async fn incidents_table(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<IncidentQuery>,
) -> Response {
    if let Err(redirect) = session(&state, &headers, "/incidents").await {
        return redirect;
    }
    match state.store.incidents(&query.filter()).await {
        Ok(list) => render(IncidentRows {
            rows: list.iter().map(incident_row).collect(),
        }),
        Err(e) => server_error(e),
    }
}

/// An evidence event as the timeline shows it.
struct EventView {
    id: String,
    time: String,
    format: String,
    source: String,
    host: String,
    summary: String,
    fields: Vec<(String, String)>,
    raw: String,
}

fn event_view(event: &StoredEvent) -> EventView {
    let mut fields = Vec::new();
    let mut raw = String::new();
    if let Some(object) = event.event.as_object() {
        for (name, value) in object {
            if name == "body" {
                raw = value
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| value.to_string());
                continue;
            }
            if name == dozor_event::RAW_KEY {
                if let Some(source_fields) = value.as_object() {
                    for (k, v) in source_fields {
                        fields.push((format!("{}.{k}", dozor_event::RAW_KEY), json_text(v)));
                    }
                }
                continue;
            }
            fields.push((name.clone(), json_text(value)));
        }
    }
    let get = |name: &str| event.event.get(name).map(json_text).unwrap_or_default();
    let summary = [
        get("subject"),
        get("action"),
        get("object"),
        get("object.query"),
        get("object.name"),
        get("status"),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(" · ");
    EventView {
        id: event.id.clone(),
        time: time_text(event.time),
        format: event.format.clone(),
        source: event.source.clone(),
        host: event.host.clone().unwrap_or_default(),
        summary,
        fields,
        raw,
    }
}

fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A note as the incident page shows it.
struct NoteView {
    author: String,
    time: String,
    kind: String,
    body: String,
}

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentPage {
    frame: Frame,
    row: IncidentRow,
    group: String,
    techniques: Vec<Technique>,
    events: Vec<EventView>,
    notes: Vec<NoteView>,
    findings: Vec<FindingView>,
    statuses: &'static [&'static str],
}

/// An analytic's explanation as the incident page shows it.
struct FindingView {
    time: String,
    event_id: String,
    details: Vec<(String, String)>,
}

async fn incident(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let principal = match session(&state, &headers, &format!("/incidents/{id}")).await {
        Ok(p) => p,
        Err(redirect) => return redirect,
    };
    let result = async {
        let Some(incident) = state.store.incident(&id).await? else {
            return Ok(None);
        };
        let ids = state.store.incident_event_ids(&id).await?;
        let events = state.store.events_by_id(&ids).await?;
        let notes = state.store.incident_notes(&id).await?;
        let findings = state.store.incident_findings(&id).await?;
        Ok::<_, dozor_store::StoreError>(Some((incident, events, notes, findings)))
    }
    .await;
    match result {
        Ok(Some((incident, events, notes, findings))) => render(IncidentPage {
            frame: frame(&principal, incident.rule_title.clone(), "incidents"),
            group: incident.group_key.clone(),
            techniques: incident.techniques.iter().map(|t| technique(t)).collect(),
            row: incident_row(&incident),
            events: events.iter().map(event_view).collect(),
            notes: notes
                .into_iter()
                .map(|n| NoteView {
                    author: n.author,
                    time: time_text(n.time),
                    kind: n.kind,
                    body: n.body,
                })
                .collect(),
            findings: findings
                .into_iter()
                .map(|f| FindingView {
                    time: time_text(f.time),
                    event_id: f.event_id,
                    details: f.details,
                })
                .collect(),
            statuses: STATUSES,
        }),
        Ok(None) => (StatusCode::NOT_FOUND, "no such incident").into_response(),
        Err(e) => server_error(e),
    }
}

#[derive(Deserialize)]
struct UpdateForm {
    csrf: String,
    status: Option<String>,
    assignee: Option<String>,
    comment: Option<String>,
}

async fn update_incident(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<UpdateForm>,
) -> Response {
    let principal = match session(&state, &headers, &format!("/incidents/{id}")).await {
        Ok(p) => p,
        Err(redirect) => return redirect,
    };
    if !csrf_ok(&principal, &form.csrf) {
        return (StatusCode::FORBIDDEN, "bad CSRF token").into_response();
    }
    let patch = IncidentPatch {
        status: form.status.filter(|s| !s.is_empty()),
        assignee: form.assignee,
        comment: form.comment.filter(|c| !c.trim().is_empty()),
    };
    match state
        .store
        .update_incident(&id, &patch, &principal.username)
        .await
    {
        Ok(Some(_)) => Redirect::to(&format!("/incidents/{id}")).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "no such incident").into_response(),
        Err(dozor_store::StoreError::Invalid(reason)) => {
            (StatusCode::BAD_REQUEST, reason).into_response()
        }
        Err(e) => server_error(e),
    }
}

#[derive(Template)]
#[template(path = "events.html")]
struct EventsPage {
    frame: Frame,
    q: String,
    from: String,
    to: String,
    error: Option<String>,
    events: Vec<EventView>,
    searched: bool,
}

#[derive(Deserialize, Default)]
struct EventsQuery {
    q: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

async fn events(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<EventsQuery>,
) -> Response {
    let principal = match session(&state, &headers, "/events").await {
        Ok(p) => p,
        Err(redirect) => return redirect,
    };
    let mut page = EventsPage {
        frame: frame(&principal, "Events", "events"),
        q: query.q.clone().unwrap_or_default(),
        from: query.from.clone().unwrap_or_default(),
        to: query.to.clone().unwrap_or_default(),
        error: None,
        events: Vec::new(),
        searched: query.q.is_some(),
    };
    let bounds = parse_bound(query.from.as_deref())
        .and_then(|from| Ok((from, parse_bound(query.to.as_deref())?)));
    match bounds {
        Err(e) => page.error = Some(e),
        Ok((from, to)) => {
            let search = EventQuery {
                text: page.q.clone(),
                from,
                to,
                limit: 200,
            };
            match state.store.search_events(&search).await {
                Ok(found) => page.events = found.iter().map(event_view).collect(),
                Err(e) => return server_error(e),
            }
        }
    }
    render(page)
}

/// A technique and the rules that detect it.
struct Coverage {
    technique: Technique,
    rules: Vec<String>,
}

/// A rule as the rules page lists it.
struct RuleRow {
    id: String,
    title: String,
    level: String,
    techniques: Vec<Technique>,
    reference_rule: String,
    source: String,
    tests_passed: usize,
    tests_failed: usize,
}

#[derive(Template)]
#[template(path = "rules.html")]
struct RulesPage {
    frame: Frame,
    rules: Vec<RuleRow>,
    coverage: Vec<Coverage>,
    rejected: Vec<crate::engine::RejectedRule>,
}

async fn rules(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let principal = match session(&state, &headers, "/rules").await {
        Ok(p) => p,
        Err(redirect) => return redirect,
    };
    let catalog = state.catalog.read().map(|c| c.clone()).unwrap_or_default();
    let mut coverage: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for rule in &catalog.rules {
        for t in &rule.techniques {
            coverage
                .entry(t.to_ascii_uppercase())
                .or_default()
                .push(rule.title.clone());
        }
    }
    render(RulesPage {
        frame: frame(&principal, "Rules", "rules"),
        rules: catalog
            .rules
            .iter()
            .map(|r| RuleRow {
                id: r.id.clone(),
                title: r.title.clone(),
                level: r.level.clone(),
                techniques: r.techniques.iter().map(|t| technique(t)).collect(),
                reference_rule: r.reference_rule.clone().unwrap_or_default(),
                source: r.source.clone(),
                tests_passed: r.tests_passed,
                tests_failed: r.tests_failed,
            })
            .collect(),
        coverage: coverage
            .into_iter()
            .map(|(id, rules)| Coverage {
                technique: technique(&id),
                rules,
            })
            .collect(),
        rejected: catalog.rejected,
    })
}

#[derive(Template)]
#[template(path = "lists.html")]
struct ListsPage {
    frame: Frame,
    lists: Vec<crate::engine::ListFile>,
}

async fn lists(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let principal = match session(&state, &headers, "/lists").await {
        Ok(p) => p,
        Err(redirect) => return redirect,
    };
    render(ListsPage {
        frame: frame(&principal, "Lists", "lists"),
        lists: state.engine.lists(),
    })
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    frame: Frame,
    list: crate::engine::ListFile,
    text: String,
    saved: bool,
}

#[derive(Deserialize, Default)]
struct SavedQuery {
    saved: Option<String>,
}

async fn list(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(query): Query<SavedQuery>,
) -> Response {
    let principal = match session(&state, &headers, &format!("/lists/{name}")).await {
        Ok(p) => p,
        Err(redirect) => return redirect,
    };
    let Some(list) = state.engine.lists().into_iter().find(|l| l.name == name) else {
        return (StatusCode::NOT_FOUND, "no such list").into_response();
    };
    render(ListPage {
        frame: frame(&principal, format!("List {name}"), "lists"),
        text: list.entries.join("\n"),
        list,
        saved: query.saved.is_some(),
    })
}

#[derive(Deserialize)]
struct ListForm {
    csrf: String,
    entries: String,
}

async fn save_list(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(form): Form<ListForm>,
) -> Response {
    let principal = match session(&state, &headers, &format!("/lists/{name}")).await {
        Ok(p) => p,
        Err(redirect) => return redirect,
    };
    if !csrf_ok(&principal, &form.csrf) {
        return (StatusCode::FORBIDDEN, "bad CSRF token").into_response();
    }
    if !state.engine.lists().iter().any(|l| l.name == name) {
        return (StatusCode::NOT_FOUND, "no such list").into_response();
    }
    let entries: Vec<String> = form
        .entries
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if let Err(e) = state
        .store
        .save_list(&name, &entries, &principal.username)
        .await
    {
        return server_error(e);
    }
    if let Err(e) = state.reload_rules().await {
        return (
            StatusCode::BAD_REQUEST,
            format!("saved, but the rules did not reload: {e:#}"),
        )
            .into_response();
    }
    Redirect::to(&format!("/lists/{}?saved=1", url_encode(&name))).into_response()
}
