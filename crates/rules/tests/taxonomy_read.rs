//! The taxonomy fields a rule set reads, which decide whether `hunt` may leave the
//! Sysmon mapping of unmatched events undone.

mod common;

use dozor_event::{Field, taxonomy};
use dozor_rules::{RuleSet, RuleSetOptions};

fn load(rules: &str) -> RuleSet {
    common::load_rules(rules, RuleSetOptions::default())
}

const SOURCE_FIELDS_ONLY: &str = r#"
title: raw fields
id: raw-fields
name: raw_fields
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\cmd.exe'
    CommandLine|fieldref: ParentCommandLine
  condition: selection
"#;

#[test]
fn rules_on_source_fields_read_only_routing_fields_and_time() {
    let read = load(SOURCE_FIELDS_ONLY).taxonomy_fields_read();
    assert!(read.contains(&taxonomy::TIME));
    assert!(read.contains(&taxonomy::EVENT_SRC_TITLE));
    let routing = |field: &Field| {
        field.name().starts_with("event_src.")
            || [taxonomy::MSGID, taxonomy::TIME, taxonomy::FORMAT].contains(field)
    };
    assert!(read.iter().all(routing), "{read:?}");
}

#[test]
fn every_taxonomy_field_a_rule_reads_is_reported() {
    let rules = format!(
        "{SOURCE_FIELDS_ONLY}---{}",
        r#"
title: taxonomy fields
id: taxonomy-fields
name: taxonomy_fields
logsource: {product: windows, category: process_creation}
detection:
  selection:
    subject.account.name: admin
    object.process.cmdline|fieldref: object.process.parent.cmdline
  filter:
    object.process.name: x.exe
  condition: selection and not filter
---
title: keywords
id: keywords
logsource: {product: windows, category: process_creation}
detection:
  keywords: [telegram]
  condition: keywords
---
title: many
id: many
correlation:
  type: event_count
  rules: [taxonomy_fields]
  group-by: [src.ip]
  timespan: 1m
  condition: {gte: 2}
"#
    );
    let read = load(&rules).taxonomy_fields_read();
    for field in [
        taxonomy::SUBJECT_ACCOUNT_NAME,
        taxonomy::OBJECT_PROCESS_CMDLINE,
        taxonomy::OBJECT_PROCESS_PARENT_CMDLINE,
        taxonomy::OBJECT_PROCESS_NAME,
        taxonomy::BODY,
        taxonomy::SRC_IP,
    ] {
        assert!(read.contains(&field), "{field} missing from {read:?}");
    }
    let mut sorted = read.clone();
    sorted.dedup();
    assert_eq!(sorted, read);
}
