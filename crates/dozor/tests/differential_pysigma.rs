//! Differential test against an independent implementation: pySigma 2 with its SQLite
//! backend, on the SigmaHQ Windows rules over the OTRF sample. Every (rule, event)
//! match must be the same on both sides, or explained in
//! `tests/differential/known-differences.yml` (see `pysigma_otrf.py`).

mod common;

use std::path::Path;
use std::process::Command;

#[test]
fn dozor_and_pysigma_agree_on_sigmahq_windows_rules_over_otrf() {
    let probe = Command::new("python3")
        .args(["-c", "import sigma.backends.sqlite, yaml"])
        .output();
    let ready = probe.as_ref().is_ok_and(|o| o.status.success());
    assert!(
        ready,
        "pySigma is missing: pip install pysigma==2.0.1 pysigma-backend-sqlite==2.1.1 pyyaml (.ci/run installs them)"
    );
    let shared = common::shared_dir();
    let otrf = shared.join("testdata/otrf");
    let rules = shared.join("testdata/sigmahq/rules/windows");
    let alerts = tempfile::NamedTempFile::new().expect("temp file");
    let output = common::dozor(&[
        "hunt",
        "--no-builtin",
        "--rules",
        rules.to_str().expect("UTF-8 path"),
        "--output",
        "jsonl",
        otrf.to_str().expect("UTF-8 path"),
    ]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(alerts.path(), &output.stdout).expect("write alerts");
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential");
    let diff = Command::new("python3")
        .arg(here.join("pysigma_otrf.py"))
        .arg(&otrf)
        .arg(&rules)
        .arg(alerts.path())
        .arg(here.join("known-differences.yml"))
        .output()
        .expect("python3 runs");
    let report = String::from_utf8_lossy(&diff.stdout);
    println!("{report}");
    assert!(
        diff.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&diff.stderr)
    );
    let compared: usize = report
        .split("rules compared ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(compared > 2000, "only {compared} rules compared");
}
