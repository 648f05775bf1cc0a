//! Every case: our findings, printed as buf prints them, equal expected.json.

use crate::support::{case_dirs, expected_lines, name, run_case};

/// A case with `known-difference.txt` documents a difference between
/// protox's source info and buf's (e.g. tab width). On such cases our findings
/// must differ from buf's in columns only; the oracle test checks them
/// exactly on buf-built images.
fn differs_in_columns_only(expected: &str, actual: &str) -> bool {
    let parse = |line: &str| serde_json::from_str::<serde_json::Value>(line).ok();
    let (Some(mut e), Some(mut a)) = (parse(expected), parse(actual)) else {
        return false;
    };
    for key in ["start_column", "end_column"] {
        e[key] = serde_json::Value::Null;
        a[key] = serde_json::Value::Null;
    }
    e == a
}

#[test]
fn every_case_matches_the_findings_recorded_from_buf() {
    let cases = case_dirs();
    assert!(cases.len() >= 200, "corpus has only {} cases", cases.len());
    let mut mismatches = Vec::new();
    let mut known = Vec::new();
    for case in &cases {
        let actual: Vec<String> = run_case(case).iter().map(|v| v.to_buf_json()).collect();
        let expected = expected_lines(case);
        if case.join("known-difference.txt").is_file() {
            let columns_only = actual != expected
                && actual.len() == expected.len()
                && expected
                    .iter()
                    .zip(&actual)
                    .all(|(e, a)| differs_in_columns_only(e, a));
            if columns_only {
                known.push(name(case));
                continue;
            }
            if actual == expected {
                mismatches.push(format!(
                    "== {}: now identical to buf, remove known-difference.txt",
                    name(case)
                ));
                continue;
            }
        } else if actual == expected {
            continue;
        }
        {
            mismatches.push(format!(
                "== {}\n-- expected\n{}\n-- actual\n{}",
                name(case),
                expected.join("\n"),
                actual.join("\n")
            ));
        }
    }
    println!(
        "{} cases: {} identical to buf, {} with a documented protox source-info difference {:?}, {} differing",
        cases.len(),
        cases.len() - known.len() - mismatches.len(),
        known.len(),
        known,
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {} cases differ from buf:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
}

#[test]
fn every_rule_is_exercised_by_a_recorded_break() {
    let registry = protoreg_compat::RuleRegistry::builtin();
    let mut seen = std::collections::BTreeSet::new();
    for case in case_dirs() {
        for line in expected_lines(&case) {
            let value: serde_json::Value = serde_json::from_str(&line).expect("json line");
            seen.insert(value["type"].as_str().expect("type").to_string());
        }
    }
    let missing: Vec<String> = registry
        .rules()
        .into_iter()
        .map(|r| r.id)
        .filter(|id| !seen.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "rules without a recorded finding: {missing:?}"
    );
}
