//! The store against a SQLite file and against the local PostgreSQL server: the same
//! calls, the same answers.

use dozor_store::{
    AlertRecord, Batch, EventQuery, EventRecord, IncidentFilter, IncidentPatch, Session, Store,
    search_text,
};

/// The PostgreSQL server tests use: `DOZOR_TEST_POSTGRES`, or the local one.
fn postgres_admin_url() -> String {
    std::env::var("DOZOR_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A PostgreSQL database made for one test (with `psql`, so that the server's own
/// databases are left alone), dropped when the test ends.
struct TestDatabase {
    url: String,
    name: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

fn psql(statement: &str) -> Result<(), String> {
    let out = std::process::Command::new("psql")
        .args([
            postgres_admin_url().as_str(),
            "-v",
            "ON_ERROR_STOP=1",
            "-qc",
            statement,
        ])
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A new, empty PostgreSQL database; `None` (with a note) when no server answers
/// outside CI. In CI an absent server fails the test.
fn fresh_postgres() -> Option<TestDatabase> {
    let admin = postgres_admin_url();
    let name = format!("dozor_test_{}", dozor_store::new_id());
    if let Err(e) = psql(&format!("CREATE DATABASE {name}")) {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("PostgreSQL at {admin} is required in CI: {e}");
        }
        eprintln!("skipping: no PostgreSQL at {admin}: {e}");
        return None;
    }
    let (base, _) = admin.rsplit_once('/').expect("URL has a database");
    Some(TestDatabase {
        url: format!("{base}/{name}"),
        name,
    })
}

fn event(id: &str, time: i64, host: &str, query: &str) -> EventRecord {
    EventRecord {
        id: id.into(),
        time,
        recv_time: time + 5,
        format: "bind".into(),
        source: "syslog-udp 127.0.0.1".into(),
        host: Some(host.into()),
        search: search_text(
            [
                ("event_src.host", host.to_owned()),
                ("object.query", query.to_owned()),
            ],
            &format!("client query: {query} IN A"),
        ),
        body: serde_json::json!({"event_src.host": host, "object.query": query}).to_string(),
    }
}

fn alert(time: i64, host: &str, events: &[&str]) -> AlertRecord {
    AlertRecord {
        rule_id: "rule-1".into(),
        rule_title: "Telegram Bot API lookup".into(),
        reference_rule: Some("PT-CR-2186".into()),
        severity: "high".into(),
        techniques: vec!["T1102.002".into()],
        group_key: host.into(),
        hosts: vec![host.into()],
        time,
        events: events.iter().map(|id| ((*id).to_owned(), time)).collect(),
        details: Vec::new(),
    }
}

async fn exercise(store: &Store) {
    let hour = 3_600_000;
    let t0 = 1_700_000_000_000;
    let batch = Batch {
        events: vec![
            event("e1", t0, "ns1", "api.telegram.org"),
            event("e2", t0 + 1000, "ns1", "example.com"),
            event("e3", t0 + 2000, "ns2", "api.telegram.org"),
        ],
        alerts: vec![alert(t0, "ns1", &["e1"]), alert(t0 + 2000, "ns2", &["e3"])],
        checkpoint: Some(("node".into(), 42)),
        analytics_state: Some(("node".into(), r#"{"first_seen":{}}"#.into())),
        incident_window_ms: hour,
    };
    let outcome = store.commit(&batch).await.expect("commit");
    assert_eq!((outcome.events_stored, outcome.incidents_opened), (3, 2));
    assert_eq!(
        store.checkpoint("node").await.expect("checkpoint"),
        Some(42)
    );
    assert_eq!(
        store
            .analytics_state("node")
            .await
            .expect("state")
            .as_deref(),
        Some(r#"{"first_seen":{}}"#)
    );
    assert_eq!(store.analytics_state("other").await.expect("state"), None);

    // A replay of the same events stores nothing twice; a later alert within the
    // window extends the open incident, one past it opens another.
    let again = Batch {
        events: vec![
            event("e1", t0, "ns1", "api.telegram.org"),
            event("e4", t0 + hour / 2, "ns1", "api.telegram.org"),
        ],
        alerts: vec![
            alert(t0 + hour / 2, "ns1", &["e4"]),
            alert(t0 + 3 * hour, "ns1", &["e1"]),
        ],
        checkpoint: Some(("node".into(), 43)),
        analytics_state: None,
        incident_window_ms: hour,
    };
    let outcome = store.commit(&again).await.expect("commit");
    assert_eq!(
        (
            outcome.events_stored,
            outcome.incidents_opened,
            outcome.incidents_extended
        ),
        (1, 1, 1)
    );
    assert_eq!(store.count_events().await.expect("count"), 4);

    let all = store
        .incidents(&IncidentFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(all.len(), 3);
    let ns1 = store
        .incidents(&IncidentFilter {
            host: Some("ns1".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(ns1.len(), 2);
    let extended = ns1
        .iter()
        .find(|i| i.alert_count == 2)
        .expect("extended incident");
    assert_eq!(extended.event_count, 2);
    assert_eq!(extended.techniques, vec!["T1102.002"]);
    assert_eq!(
        store.incident_event_ids(&extended.id).await.expect("ids"),
        vec!["e1".to_owned(), "e4".to_owned()]
    );

    // Field, prefix and free-text search within a time range.
    let search = |text: &str, from: Option<i64>| EventQuery {
        text: text.into(),
        from,
        to: None,
        limit: 100,
    };
    let ids = |events: Vec<dozor_store::StoredEvent>| {
        events.into_iter().map(|e| e.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store
            .search_events(&search("object.query=API.TELEGRAM.ORG", None))
            .await
            .expect("search")),
        ["e4", "e3", "e1"]
    );
    assert_eq!(
        ids(store
            .search_events(&search("object.query=api.tele*  event_src.host=ns2", None))
            .await
            .expect("search")),
        ["e3"]
    );
    assert_eq!(
        ids(store
            .search_events(&search("\"example.com IN\"", None))
            .await
            .expect("search")),
        ["e2"]
    );
    assert_eq!(
        ids(store
            .search_events(&search("telegram", Some(t0 + 1500)))
            .await
            .expect("search")),
        ["e4", "e3"]
    );
    assert!(
        store
            .search_events(&search("object.query=api", None))
            .await
            .expect("search")
            .is_empty()
    );

    // Triage: status, assignee and comment, each leaving a note.
    let patch = IncidentPatch {
        status: Some("in_progress".into()),
        assignee: Some("alice".into()),
        comment: Some("looking at the resolver".into()),
    };
    let updated = store
        .update_incident(&extended.id, &patch, "admin")
        .await
        .expect("patch")
        .expect("exists");
    assert_eq!(
        (updated.status.as_str(), updated.assignee.as_deref()),
        ("in_progress", Some("alice"))
    );
    let notes = store.incident_notes(&extended.id).await.expect("notes");
    assert_eq!(
        notes.iter().map(|n| n.kind.as_str()).collect::<Vec<_>>(),
        ["status", "assignee", "comment"]
    );
    let bad = IncidentPatch {
        status: Some("closed".into()),
        ..Default::default()
    };
    assert!(
        store
            .update_incident(&extended.id, &bad, "admin")
            .await
            .is_err()
    );
    assert!(
        store
            .update_incident("nope", &patch, "admin")
            .await
            .expect("patch")
            .is_none()
    );

    // Users, sessions, lists and the dashboard figures.
    store
        .set_user("admin", "$argon2id$hash")
        .await
        .expect("user");
    assert_eq!(
        store.password_hash("admin").await.expect("hash").as_deref(),
        Some("$argon2id$hash")
    );
    let session = Session {
        username: "admin".into(),
        csrf: "c".into(),
        expires: i64::MAX / 2,
    };
    store.create_session("th", &session).await.expect("session");
    assert_eq!(
        store
            .session("th")
            .await
            .expect("session")
            .map(|s| s.username),
        Some("admin".into())
    );
    store.delete_session("th").await.expect("logout");
    assert!(store.session("th").await.expect("session").is_none());
    store
        .save_list("browsers", &["*\\chrome.exe".into()], "admin")
        .await
        .expect("list");
    assert_eq!(
        store.list_overrides().await.expect("lists")[0].entries,
        ["*\\chrome.exe"]
    );
    assert_eq!(store.top_hosts(5).await.expect("hosts")[0].name, "ns1");
    assert_eq!(store.top_rules(5).await.expect("rules")[0].count, 3);
    assert_eq!(
        store
            .count_incidents_with_status("in_progress")
            .await
            .expect("count"),
        1
    );
    assert_eq!(
        store
            .count_incidents_with_status("new")
            .await
            .expect("count"),
        2
    );
    assert_eq!(
        store
            .incidents_per_day(0)
            .await
            .expect("days")
            .iter()
            .map(|d| d.count)
            .sum::<i64>(),
        3
    );
    assert_eq!(
        store
            .delete_events_before(t0 + 1500)
            .await
            .expect("retention"),
        1,
        "only e2 is not evidence"
    );

    // An analytic's finding keeps its explanation, in order, once per event.
    let mut finding = alert(t0 + 5 * hour, "ws9", &["e9"]);
    finding.rule_id = "dozor-analytic-beaconing".into();
    finding.details = vec![
        ("contacts".into(), "12".into()),
        ("median interval".into(), "30.0s".into()),
        ("analytic".into(), "beaconing".into()),
    ];
    let findings = Batch {
        events: vec![event("e9", t0 + 5 * hour, "ws9", "api.telegram.org")],
        alerts: vec![finding.clone(), finding],
        checkpoint: Some(("node".into(), 50)),
        analytics_state: Some(("node".into(), "{}".into())),
        incident_window_ms: hour,
    };
    store.commit(&findings).await.expect("commit");
    let incident = store
        .incidents(&IncidentFilter::default())
        .await
        .expect("incidents")
        .into_iter()
        .find(|i| i.rule_id == "dozor-analytic-beaconing")
        .expect("the finding's incident");
    let kept = store
        .incident_findings(&incident.id)
        .await
        .expect("findings");
    assert_eq!(kept.len(), 1);
    let names: Vec<&str> = kept[0].details.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["contacts", "median interval", "analytic"]);
    assert_eq!(kept[0].event_id, "e9");
    assert_eq!(
        store
            .analytics_state("node")
            .await
            .expect("state")
            .as_deref(),
        Some("{}")
    );
}

#[tokio::test]
async fn sqlite_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("dozor.db").display()
    );
    let store = Store::open(&url).await.expect("open");
    exercise(&store).await;
    store.close().await;
    // Reopening migrates nothing twice and keeps the data.
    let store = Store::open(&url).await.expect("reopen");
    assert_eq!(store.count_events().await.expect("count"), 4);
}

#[tokio::test]
async fn postgres_store() {
    let Some(database) = fresh_postgres() else {
        return;
    };
    let store = Store::open(&database.url).await.expect("open");
    exercise(&store).await;
    store.close().await;
    let store = Store::open(&database.url).await.expect("reopen");
    assert_eq!(store.count_events().await.expect("count"), 4);
    store.close().await;
}
