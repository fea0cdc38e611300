//! Sigma semantics, one construct at a time: each case is a detection, an event and
//! whether the rule must match it.

mod common;

use dozor_event::{Event, Timestamp, Value, taxonomy as t};
use dozor_rules::{Alert, RuleSet, RuleSetOptions};

fn load(detection: &str, extra: &str) -> Result<RuleSet, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let text = format!(
        "title: case\nid: case\nlogsource: {{product: teamcity}}\ndetection:\n{detection}\n{extra}"
    );
    std::fs::write(dir.path().join("r.yml"), text).map_err(|e| e.to_string())?;
    let lists = dir.path().join("lists");
    std::fs::create_dir(&lists).map_err(|e| e.to_string())?;
    std::fs::write(
        lists.join("admins.yml"),
        "name: admins\nentries:\n  - root\n  - 'adm*'\n  - 're:^svc_[0-9]+$'\n",
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(
        lists.join("nets.yml"),
        "name: nets\nentries:\n  - 'cidr:10.0.0.0/8'\n",
    )
    .map_err(|e| e.to_string())?;
    let set = RuleSet::load(&RuleSetOptions {
        builtin_rules: false,
        rule_paths: vec![dir.path().join("r.yml")],
        list_paths: vec![lists],
        ..RuleSetOptions::default()
    })
    .map_err(|e| e.to_string())?;
    match set.report().rejected.first() {
        Some(r) => Err(r.reason.clone()),
        None => Ok(set),
    }
}

fn event(raw: &[(&str, Value)]) -> Event {
    let mut e = Event::new();
    e.set(t::EVENT_SRC_TITLE, "teamcity");
    e.set(
        t::TIME,
        "2026-03-04T05:06:07Z".parse::<Timestamp>().expect("time"),
    );
    e.set(
        t::BODY,
        "the original record mentions Mimikatz and sekurlsa::logonpasswords",
    );
    for (name, value) in raw {
        e.set_raw(*name, value.clone());
    }
    e
}

fn s(text: &str) -> Value {
    Value::from(text)
}

fn matches(detection: &str, fields: &[(&str, Value)]) -> bool {
    let mut set = load(detection, "").unwrap_or_else(|e| panic!("rejected: {e}\n{detection}"));
    let mut alerts: Vec<Alert> = Vec::new();
    set.evaluate(&event(fields), &mut alerts);
    !alerts.is_empty()
}

macro_rules! cases {
    ($($name:ident: $detection:expr, [$($field:expr => $value:expr),*] => $want:expr;)*) => {$(
        #[test]
        fn $name() {
            let fields = [$(($field, $value)),*];
            assert_eq!(matches($detection, &fields), $want, "{}", $detection);
        }
    )*};
}

cases! {
    equality_ignores_case: "  sel: {Image: 'C:\\Windows\\cmd.exe'}\n  condition: sel", ["Image" => s("c:\\WINDOWS\\CMD.EXE")] => true;
    cased_respects_case: "  sel: {Image|cased: 'cmd.exe'}\n  condition: sel", ["Image" => s("CMD.exe")] => false;
    contains: "  sel: {CommandLine|contains: 'invoke-'}\n  condition: sel", ["CommandLine" => s("powershell Invoke-Expression")] => true;
    startswith: "  sel: {CommandLine|startswith: 'power'}\n  condition: sel", ["CommandLine" => s("powershell x")] => true;
    endswith_no: "  sel: {CommandLine|endswith: 'power'}\n  condition: sel", ["CommandLine" => s("powershell x")] => false;
    list_is_or: "  sel: {User: [alice, bob]}\n  condition: sel", ["User" => s("BOB")] => true;
    all_is_and: "  sel: {CommandLine|contains|all: [a1, b2]}\n  condition: sel", ["CommandLine" => s("x a1 y")] => false;
    all_is_and_yes: "  sel: {CommandLine|contains|all: [a1, b2]}\n  condition: sel", ["CommandLine" => s("b2 x a1 y")] => true;
    wildcard_star_and_question: "  sel: {Image: '*\\c?d.exe'}\n  condition: sel", ["Image" => s("C:\\x\\cmd.exe")] => true;
    escaped_wildcard_is_literal: "  sel: {Name: 'a\\*b'}\n  condition: sel", ["Name" => s("axxb")] => false;
    escaped_wildcard_matches_star: "  sel: {Name: 'a\\*b'}\n  condition: sel", ["Name" => s("a*b")] => true;
    backslash_kept: "  sel: {Path: 'C:\\temp'}\n  condition: sel", ["Path" => s("c:\\TEMP")] => true;
    integer_matches_text: "  sel: {EventID: 4688}\n  condition: sel", ["EventID" => s("4688")] => true;
    integer_matches_integer: "  sel: {EventID: 4688}\n  condition: sel", ["EventID" => Value::Int(4688)] => true;
    exists_true: "  sel: {Image|exists: true}\n  condition: sel", ["Image" => s("")] => true;
    exists_false: "  sel: {Image|exists: false}\n  condition: sel", ["Other" => s("x")] => true;
    null_matches_missing: "  sel: {Image: null}\n  condition: sel", ["Other" => s("x")] => true;
    null_matches_empty: "  sel: {Image: null}\n  condition: sel", ["Image" => s("")] => true;
    null_not_value: "  sel: {Image: null}\n  condition: sel", ["Image" => s("x")] => false;
    neq: "  sel: {User|neq: SYSTEM}\n  condition: sel", ["User" => s("alice")] => true;
    neq_equal: "  sel: {User|neq: SYSTEM}\n  condition: sel", ["User" => s("system")] => false;
    neq_missing: "  sel: {User|neq: SYSTEM}\n  condition: sel", ["Other" => s("x")] => false;
    windash_slash: "  sel: {CommandLine|windash|contains: ' -enc '}\n  condition: sel", ["CommandLine" => s("powershell /enc AAA")] => true;
    windash_en_dash: "  sel: {CommandLine|windash|contains: ' -enc '}\n  condition: sel", ["CommandLine" => s("powershell \u{2013}enc AAA")] => true;
    re_case_sensitive: "  sel: {CommandLine|re: '^abc'}\n  condition: sel", ["CommandLine" => s("ABC")] => false;
    re_i: "  sel: {CommandLine|re|i: '^abc'}\n  condition: sel", ["CommandLine" => s("ABC")] => true;
    re_m: "  sel: {CommandLine|re|m: '^two$'}\n  condition: sel", ["CommandLine" => s("one\ntwo")] => true;
    re_s: "  sel: {CommandLine|re|s: 'one.two'}\n  condition: sel", ["CommandLine" => s("one\ntwo")] => true;
    base64: "  sel: {Data|base64: 'http://'}\n  condition: sel", ["Data" => s("aHR0cDovLw==")] => true;
    base64offset_contains: "  sel: {Data|base64offset|contains: 'http://'}\n  condition: sel", ["Data" => s("SGVsbG8gaHR0cDovL2V4YW1wbGU=")] => true;
    utf16le_base64: "  sel: {Data|utf16le|base64offset|contains: 'ping'}\n  condition: sel", ["Data" => s("JABjAD0AcABpAG4AZwA=")] => true;
    wide_base64: "  sel: {Data|wide|base64offset|contains: 'ping'}\n  condition: sel", ["Data" => s("JABjAD0AcABpAG4AZwA=")] => true;
    utf16be_base64: "  sel: {Data|utf16be|base64: 'ab'}\n  condition: sel", ["Data" => s("AGEAYg==")] => true;
    utf16_bom_base64: "  sel: {Data|utf16|base64: 'ab'}\n  condition: sel", ["Data" => s("//5hAGIA")] => true;
    lt: "  sel: {Size|lt: 10}\n  condition: sel", ["Size" => s("9")] => true;
    lte_equal: "  sel: {Size|lte: 10}\n  condition: sel", ["Size" => Value::Int(10)] => true;
    gt_no: "  sel: {Size|gt: 10}\n  condition: sel", ["Size" => Value::Int(10)] => false;
    gte: "  sel: {Size|gte: 10}\n  condition: sel", ["Size" => s("10")] => true;
    gt_not_a_number: "  sel: {Size|gt: 10}\n  condition: sel", ["Size" => s("many")] => false;
    hour: "  sel: {Stamp|hour: 5}\n  condition: sel", ["Stamp" => s("2026-03-04T05:06:07Z")] => true;
    minute: "  sel: {Stamp|minute: 6}\n  condition: sel", ["Stamp" => s("2026-03-04T05:06:07Z")] => true;
    day: "  sel: {Stamp|day: 4}\n  condition: sel", ["Stamp" => s("2026-03-04T05:06:07Z")] => true;
    week: "  sel: {Stamp|week: 10}\n  condition: sel", ["Stamp" => s("2026-03-04T05:06:07Z")] => true;
    month: "  sel: {Stamp|month: 3}\n  condition: sel", ["Stamp" => s("2026-03-04T05:06:07Z")] => true;
    year: "  sel: {Stamp|year: 2025}\n  condition: sel", ["Stamp" => s("2026-03-04T05:06:07Z")] => false;
    cidr_v4: "  sel: {Ip|cidr: 10.0.0.0/8}\n  condition: sel", ["Ip" => s("10.20.30.40")] => true;
    cidr_v4_out: "  sel: {Ip|cidr: 10.0.0.0/8}\n  condition: sel", ["Ip" => s("11.0.0.1")] => false;
    cidr_v6: "  sel: {Ip|cidr: '2001:db8::/32'}\n  condition: sel", ["Ip" => Value::Ip("2001:db8::1".parse().expect("ip"))] => true;
    expand_text_and_wildcard: "  sel: {User|expand: '%admins%'}\n  condition: sel", ["User" => s("Administrator")] => true;
    expand_regex: "  sel: {User|expand: '%admins%'}\n  condition: sel", ["User" => s("svc_42")] => true;
    expand_no: "  sel: {User|expand: '%admins%'}\n  condition: sel", ["User" => s("alice")] => false;
    expand_cidr: "  sel: {Ip|expand: '%nets%'}\n  condition: sel", ["Ip" => s("10.1.2.3")] => true;
    fieldref: "  sel: {Target|fieldref: Source}\n  condition: sel", ["Target" => s("ABC"), "Source" => s("abc")] => true;
    fieldref_contains: "  sel: {Target|fieldref|contains: Source}\n  condition: sel", ["Target" => s("xabcx"), "Source" => s("abc")] => true;
    fieldref_no: "  sel: {Target|fieldref: Source}\n  condition: sel", ["Target" => s("abc"), "Source" => s("abd")] => false;
    keywords: "  keywords: ['*sekurlsa::*', 'nothing']\n  condition: keywords", ["X" => s("y")] => true;
    keywords_all: "  keywords:\n    '|all': [mimikatz, logonpasswords]\n  condition: keywords", ["X" => s("y")] => true;
    keywords_all_no: "  keywords:\n    '|all': [mimikatz, lsadump]\n  condition: keywords", ["X" => s("y")] => false;
    not_filter: "  sel: {A: x}\n  filter: {B: y}\n  condition: sel and not filter", ["A" => s("x"), "B" => s("y")] => false;
    precedence: "  a: {A: x}\n  b: {B: y}\n  c: {C: z}\n  condition: a or b and c", ["A" => s("x")] => true;
    parentheses: "  a: {A: x}\n  b: {B: y}\n  c: {C: z}\n  condition: (a or b) and c", ["A" => s("x")] => false;
    one_of_pattern: "  sel_a: {A: x}\n  sel_b: {B: y}\n  condition: 1 of sel_*", ["B" => s("y")] => true;
    all_of_pattern: "  sel_a: {A: x}\n  sel_b: {B: y}\n  condition: all of sel_*", ["B" => s("y")] => false;
    all_of_them_skips_underscore: "  sel: {A: x}\n  _aux: {B: y}\n  condition: all of them", ["A" => s("x")] => true;
    list_of_maps_is_or: "  sel:\n    - {A: x}\n    - {B: y}\n  condition: sel", ["B" => s("y")] => true;
    list_condition_is_or: "  a: {A: x}\n  b: {B: y}\n  condition:\n    - a\n    - b", ["B" => s("y")] => true;
    taxonomy_fields_by_name: "  sel: {event_src.title: TEAMCITY}\n  condition: sel", ["X" => s("y")] => true;
    value_list_in_event: "  sel: {Tags: b}\n  condition: sel", ["Tags" => Value::List(vec![s("a"), s("b")])] => true;
}

#[test]
fn what_cannot_be_honoured_is_rejected_with_a_reason() {
    for (detection, reason) in [
        ("  sel: {A|re: '('}\n  condition: sel", "regular expression"),
        ("  sel: {A|wide: x}\n  condition: sel", "base64"),
        ("  sel: {A|expand: '%nolist%'}\n  condition: sel", "no list"),
        (
            "  sel: {A: x}\n  condition: sel and missing",
            "unknown detection",
        ),
        ("  sel: {A|cidr: 'not-a-net'}\n  condition: sel", "CIDR"),
        ("  sel: {A|base64: 'a*'}\n  condition: sel", "wildcards"),
        ("  sel: {A|re|cidr: x}\n  condition: sel", "combined"),
    ] {
        match load(detection, "") {
            Ok(_) => panic!("accepted: {detection}"),
            Err(e) => assert!(e.contains(reason), "{detection}: {e}"),
        }
    }
}

#[test]
fn filter_rules_remove_matches_of_their_targets() {
    let mut set = common::load_rules(
        "title: case\nid: case\nlogsource: {product: teamcity}\ndetection:\n  sel: {A: x}\n  condition: sel\n---\ntitle: allow bob\nfilter:\n  rules: [case]\n  selection: {User: bob}\n  condition: not selection\n",
        RuleSetOptions::default(),
    );
    let mut alerts = Vec::new();
    set.evaluate(&event(&[("A", s("x")), ("User", s("alice"))]), &mut alerts);
    assert_eq!(alerts.len(), 1);
    set.evaluate(&event(&[("A", s("x")), ("User", s("bob"))]), &mut alerts);
    assert_eq!(alerts.len(), 1, "bob is filtered out");
}
