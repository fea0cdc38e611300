//! A detector's state remembers the atoms found in each field's recent values, so
//! that a value seen again is not scanned again. Real events repeat their values (a
//! parent process starts several children); here the events of OTRF captures rich in
//! Sysmon process creations, each followed by the one before it again, get the same
//! matches from one state kept across all of them as from a fresh state for each,
//! against SigmaHQ's process-creation rules.

use std::io::Read;

use dozor_event::{Event, Timestamp};
use dozor_formats::{Collected, ReadContext};
use dozor_rules::{MatchState, RuleSet, RuleSetOptions};
use shared_testdata::shared_testdata;

mod shared_testdata;

/// The normalized events of the JSON lines in the members of one OTRF capture.
fn capture_events(name: &str) -> Vec<Event> {
    let path = shared_testdata().join("otrf").join(name);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut archive = zip::ZipArchive::new(file).expect("zip archive");
    let mut lines = Vec::new();
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).expect("member");
        if member.is_dir() || member.name().is_ok_and(|n| n.contains("__MACOSX")) {
            continue;
        }
        member.read_to_end(&mut lines).expect("read member");
        lines.push(b'\n');
    }
    let ctx = ReadContext {
        source: name.into(),
        received: Timestamp::UNIX_EPOCH,
        max_record: 1 << 20,
        defer_mapping: false,
    };
    let mut collected = Collected::default();
    dozor_formats::find("json")
        .expect("json format")
        .read(&mut &lines[..], &ctx, &mut collected)
        .expect("read");
    collected.events
}

#[test]
fn repeated_values_match_as_they_would_in_a_fresh_state() {
    let mut captured = Vec::new();
    for capture in [
        "cmd_bitsadmin_download_psh_script.zip",
        "cmd_wevtutil_modify_security_eventlog_path.zip",
        "empire_wmic_add_user_backdoor.zip",
        "purplesharp_ad_playbook_I.zip",
        "empire_uac_shellapi_fodhelper.zip",
    ] {
        captured.extend(capture_events(capture));
    }
    let mut events = Vec::with_capacity(captured.len() * 2);
    for (i, event) in captured.iter().enumerate() {
        events.push(event);
        if let Some(before) = i.checked_sub(1) {
            events.push(&captured[before]);
        }
    }
    let options = RuleSetOptions {
        builtin_rules: false,
        rule_paths: vec![shared_testdata().join("sigmahq/rules/windows/process_creation")],
        ..RuleSetOptions::default()
    };
    let rules = RuleSet::load(&options).expect("rules");
    let detector = rules.detector();
    let mut kept = MatchState::default();
    let (mut matched, mut fresh) = (Vec::new(), Vec::new());
    let mut matches = 0;
    for (i, event) in events.iter().enumerate() {
        matched.clear();
        detector.matching(event, &mut kept, &mut matched);
        fresh.clear();
        detector.matching(event, &mut MatchState::default(), &mut fresh);
        assert_eq!(matched, fresh, "event {i} of {}", events.len());
        matches += matched.len();
    }
    assert!(captured.len() > 1_000, "{} events", captured.len());
    assert!(matches > 50, "{matches} matches");
}
