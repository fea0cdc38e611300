//! The shipped T1102.002 pack passes its own tests, and the whole SigmaHQ tree loads.

mod common;

#[test]
fn shipped_rule_tests_pass() {
    let output = common::dozor(&["rules", "test"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    let summary = text.lines().last().unwrap_or_default();
    assert!(summary.ends_with(" passed, 0 failed"), "{summary}");
    let passed: u32 = summary
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(passed >= 20, "only {passed} rule tests");
}

#[test]
fn the_sigmahq_tree_loads() {
    let rules = common::shared_dir().join("testdata/sigmahq/rules");
    let output = common::dozor(&["rules", "validate", rules.to_str().expect("UTF-8 path")]);
    let text = String::from_utf8_lossy(&output.stdout);
    let first = text.lines().next().unwrap_or_default();
    let numbers: Vec<usize> = first
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    let (loaded, rejected) = (numbers[0], numbers[1]);
    assert!(loaded >= 3000, "{first}");
    assert!(
        rejected * 100 <= loaded + rejected,
        "more than 1% rejected: {text}"
    );
}

#[test]
fn placeholder_rules_load_when_their_lists_are_given() {
    let rules = common::shared_dir().join("testdata/sigmahq/rules-placeholder");
    let lists = tempfile::tempdir().expect("temp dir");
    let lists_arg = lists.path().to_str().expect("UTF-8 path").to_owned();
    let rules_arg = rules.to_str().expect("UTF-8 path").to_owned();
    // A rule is rejected at its first unknown placeholder: give lists until none is missing.
    let mut given = 0;
    let with = loop {
        let output = common::dozor(&["rules", "validate", "--lists", &lists_arg, &rules_arg]);
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let names: Vec<String> = text
            .lines()
            .filter_map(|l| {
                l.split("placeholder %")
                    .nth(1)?
                    .split('%')
                    .next()
                    .map(str::to_owned)
            })
            .collect();
        if names.is_empty() || given > 100 {
            break output;
        }
        for name in names {
            given += 1;
            std::fs::write(
                lists.path().join(format!("{name}.yml")),
                format!("name: {name}\nentries:\n  - example-{name}\n"),
            )
            .expect("write list");
        }
    };
    assert!(given > 0, "no placeholder rule needed a list");
    let text = String::from_utf8_lossy(&with.stdout);
    assert!(with.status.success(), "{text}");
    assert!(
        text.starts_with("loaded ")
            && text
                .lines()
                .next()
                .unwrap_or_default()
                .ends_with("rejected 0"),
        "{text}"
    );
}
