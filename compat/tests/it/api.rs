//! The public API: policies, the registry, plugin rules, errors.

use protoreg_compat::{
    CheckContext, CompatError, Finding, Image, Location, Policy, Rule, RuleRegistry, Violation,
};

use crate::support::{compile_with_protox, load_side, proto_files};

fn images(case: &str) -> (Image, Image) {
    let dir = crate::support::cases_dir().join(case);
    (load_side(&dir, "previous"), load_side(&dir, "current"))
}

fn policy(use_: &[&str]) -> Policy {
    Policy {
        use_: use_.iter().map(|s| s.to_string()).collect(),
        ..Policy::default()
    }
}

#[test]
fn default_policy_runs_the_file_category() {
    let registry = RuleRegistry::builtin();
    let default = registry.resolve(&Policy::default()).unwrap();
    let file = registry.resolve(&policy(&["FILE"])).unwrap();
    assert_eq!(default.rules, file.rules);
    assert_eq!(default.rules.len(), 51);
    assert!(!default.rules.contains("PACKAGE_NO_DELETE"));
}

#[test]
fn deprecated_ids_expand_to_their_replacements() {
    let registry = RuleRegistry::builtin();
    let label = registry.resolve(&policy(&["FIELD_SAME_LABEL"])).unwrap();
    let expected: std::collections::BTreeSet<String> = [
        "FIELD_SAME_CARDINALITY",
        "FIELD_WIRE_COMPATIBLE_CARDINALITY",
        "FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(label.rules, expected);
    assert!(
        registry
            .resolve(&policy(&["FILE_SAME_PHP_GENERIC_SERVICES"]))
            .unwrap()
            .rules
            .is_empty()
    );
    let (previous, current) = images("field_same_cpp_string_type__break");
    let via_alias =
        protoreg_compat::check(&previous, &current, &policy(&["FIELD_SAME_CTYPE"])).unwrap();
    let direct = protoreg_compat::check(
        &previous,
        &current,
        &policy(&["FIELD_SAME_CPP_STRING_TYPE"]),
    )
    .unwrap();
    assert!(!direct.is_empty());
    assert_eq!(via_alias, direct);
}

#[test]
fn unknown_rules_are_errors_not_findings() {
    let (previous, current) = images("field_no_delete__break");
    let err = protoreg_compat::check(&previous, &current, &policy(&["NOT_A_RULE"])).unwrap_err();
    assert!(matches!(err, CompatError::UnknownRule(name) if name == "NOT_A_RULE"));
}

#[test]
fn except_and_categories_are_attached_to_violations() {
    let (previous, current) = images("field_same_type__break");
    let violations = protoreg_compat::check(&previous, &current, &policy(&["FILE"])).unwrap();
    let same_type: Vec<&Violation> = violations
        .iter()
        .filter(|v| v.rule == "FIELD_SAME_TYPE")
        .collect();
    assert!(!same_type.is_empty());
    assert_eq!(same_type[0].categories, vec!["FILE", "PACKAGE"]);
    let without = Policy {
        except: vec!["FIELD_SAME_TYPE".into()],
        ..policy(&["FILE"])
    };
    let violations = protoreg_compat::check(&previous, &current, &without).unwrap();
    assert!(violations.iter().all(|v| v.rule != "FIELD_SAME_TYPE"));
}

#[test]
fn violations_round_trip_through_serde() {
    let (previous, current) = images("message_no_delete__break");
    let violations = protoreg_compat::check(&previous, &current, &Policy::default()).unwrap();
    assert!(!violations.is_empty());
    let json = serde_json::to_string(&violations).unwrap();
    let back: Vec<Violation> = serde_json::from_str(&json).unwrap();
    // `against_file` is the host's (it attributes a finding to its owner) and
    // is not serialized: every other field survives the round trip.
    assert!(violations.iter().all(|v| v.against_file == "a.proto"));
    let sent: Vec<Violation> = violations
        .into_iter()
        .map(|v| Violation {
            against_file: String::new(),
            ..v
        })
        .collect();
    assert_eq!(back, sent);
    let policy: Policy =
        serde_json::from_str(r#"{"use":["WIRE"],"ignore_only":{"FIELD_SAME_TYPE":["a.proto"]}}"#)
            .unwrap();
    assert_eq!(policy.use_, vec!["WIRE"]);
}

#[test]
fn imports_are_not_checked() {
    let dir = crate::support::cases_dir().join("file_same_go_package__break");
    let bytes = |side: &str| {
        let path = dir.join(side);
        compile_with_protox(&path, &proto_files(&path))
    };
    // Everything is an import: nothing is checked.
    let previous = Image::from_file_descriptor_set_bytes(&bytes("previous"), |_| false).unwrap();
    let current = Image::from_file_descriptor_set_bytes(&bytes("current"), |_| false).unwrap();
    assert!(
        protoreg_compat::check(&previous, &current, &Policy::default())
            .unwrap()
            .is_empty()
    );
    // Only b.proto is a target: only its findings remain.
    let only_b = |name: &str| name == "b.proto";
    let previous = Image::from_file_descriptor_set_bytes(&bytes("previous"), only_b).unwrap();
    let current = Image::from_file_descriptor_set_bytes(&bytes("current"), only_b).unwrap();
    let violations = protoreg_compat::check(&previous, &current, &Policy::default()).unwrap();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].file, "b.proto");
}

#[test]
fn invalid_bytes_and_duplicate_files_are_errors() {
    assert!(matches!(
        Image::from_file_descriptor_set_bytes(&[0xff, 0xff], |_| true),
        Err(CompatError::Decode(_))
    ));
    let file = prost_types::FileDescriptorProto {
        name: Some("a.proto".into()),
        ..Default::default()
    };
    assert!(matches!(
        Image::from_prost_files([file.clone(), file], |_| true),
        Err(CompatError::InvalidImage(_))
    ));
}

/// A rule from outside the crate, as a plugin would provide it.
struct NoNewFiles;

impl Rule for NoNewFiles {
    fn id(&self) -> &str {
        "PLUGIN_NO_NEW_FILES"
    }
    fn purpose(&self) -> &str {
        "Checks that no file is added."
    }
    fn check(
        &self,
        ctx: &CheckContext<'_>,
        findings: &mut Vec<Finding>,
    ) -> Result<(), CompatError> {
        for file in &ctx.current.files {
            if ctx.previous.file_by_name(&file.name).is_none() && !file.is_import {
                findings.push(Finding::new(
                    format!("File {:?} was added.", file.name),
                    Some(Location {
                        file: file.name.clone(),
                        span: None,
                    }),
                    None,
                ));
            }
        }
        Ok(())
    }
}

#[test]
fn plugin_rules_register_beside_builtin_ones() {
    let mut registry = RuleRegistry::builtin();
    let plugin: Box<dyn Rule> = Box::new(NoNewFiles);
    registry.register(plugin, &["FILE"], false).unwrap();
    assert!(matches!(
        registry.register(Box::new(NoNewFiles), &[], false),
        Err(CompatError::DuplicateRule(_))
    ));
    // Renaming sub/b.proto is a FILE_NO_DELETE for buf and an added file for the plugin.
    let (previous, current) = images("scenario__renamed_file");
    let violations = registry
        .check(&previous, &current, &policy(&["FILE"]))
        .unwrap();
    let rules: Vec<&str> = violations.iter().map(|v| v.rule.as_str()).collect();
    assert_eq!(rules, vec!["FILE_NO_DELETE", "PLUGIN_NO_NEW_FILES"]);
    assert_eq!(
        violations[1].message,
        "File \"foo/v1/new.proto\" was added."
    );
    let ignored = Policy {
        ignore_only: [(
            "PLUGIN_NO_NEW_FILES".to_string(),
            vec!["foo/v1".to_string()],
        )]
        .into(),
        ..policy(&["FILE"])
    };
    let violations = registry.check(&previous, &current, &ignored).unwrap();
    assert_eq!(violations.len(), 1);
}
