use super::*;

const HEADER: &str = "syntax = \"proto3\";\npackage o;\n\
    import \"google/protobuf/descriptor.proto\";\n\
    extend google.protobuf.MessageOptions { Cfg cfg = 50000; }\n\
    message Cfg { Cfg c = 1; int32 v = 2; repeated Cfg l = 3; }\n";

/// A message option whose value nests `levels` deep, in one of the three
/// forms protox accepts.
fn option_value(levels: usize, form: &str) -> String {
    let (open, close) = match form {
        "braces" => ("{c:".repeat(levels), "}".repeat(levels)),
        "angles" => ("<c:".repeat(levels), ">".repeat(levels)),
        "lists" => ("{l:[".repeat(levels), "]}".repeat(levels)),
        _ => unreachable!("unknown form {form}"),
    };
    format!("{HEADER}message M {{ option (cfg) = {open}{{v:1}}{close}; }}\n")
}

fn nested_messages(levels: usize) -> String {
    format!(
        "syntax = \"proto3\";\npackage p;\n{}{}\n",
        "message M { ".repeat(levels),
        "}".repeat(levels)
    )
}

fn package(segments: usize, segment: &str) -> String {
    format!(
        "syntax = \"proto3\";\npackage {};\nmessage M {{}}\n",
        vec![segment; segments].join(".")
    )
}

fn breach(text: &str) -> Option<Breach> {
    Scanner::new(text.as_bytes()).run().err()
}

#[test]
fn deep_option_values_are_refused_in_every_form() {
    for form in ["braces", "angles", "lists"] {
        let deep = option_value(3000, form);
        assert!(
            matches!(breach(&deep), Some(Breach::TooDeep { .. })),
            "{form}"
        );
        // Well inside the limit: accepted.
        assert_eq!(breach(&option_value(20, form)), None, "{form}");
    }
}

#[test]
fn too_deep_is_a_located_compile_error() {
    let err = check_source("o.proto", &option_value(2000, "braces")).unwrap_err();
    let RegistryError::CompileFailed { errors, message } = err else {
        panic!("not compile_failed: {err:?}");
    };
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].file, "o.proto");
    // The option is on line 6; the 101st bracket opens there.
    assert_eq!(errors[0].line, 6);
    assert!(errors[0].column > 100, "{:?}", errors[0]);
    assert!(
        message.contains("nesting deeper than 100 levels"),
        "{message}"
    );
}

#[test]
fn nesting_is_counted_to_the_limit_exactly() {
    assert_eq!(breach(&nested_messages(MAX_NESTING)), None);
    assert!(matches!(
        breach(&nested_messages(MAX_NESTING + 1)),
        Some(Breach::TooDeep { .. })
    ));
}

#[test]
fn brackets_in_comments_and_strings_do_not_count() {
    let noise = "{[(<".repeat(1000);
    let text = format!(
        "syntax = \"proto3\";\n// {noise}\n/* {noise}\n */\npackage p;\n\
         message M {{ string s = 1 [default = \"{noise}\\\"{noise}\"]; }}\n\
         message N {{ option (x) = {{ s: '{noise}' }}; }}\n"
    );
    assert_eq!(breach(&text), None);
}

#[test]
fn package_limits_are_protocs() {
    // protoc 3.21: 100 segments pass, more is "Exceeds Maximum Package
    // Depth"; 511 bytes pass, 512 is "Package name is too long".
    assert_eq!(breach(&package(100, "a")), None);
    assert!(matches!(
        breach(&package(101, "a")),
        Some(Breach::Name(NameBreach {
            package: true,
            segments: 101,
            ..
        }))
    ));
    assert_eq!(breach(&package(1, &"a".repeat(511))), None);
    assert!(matches!(
        breach(&package(1, &"a".repeat(512))),
        Some(Breach::Name(NameBreach {
            package: true,
            bytes: 512,
            ..
        }))
    ));
    // The 200 KB package of the report stops at its 101st segment.
    let err = check_source("p.proto", &package(100_000, "a")).unwrap_err();
    assert_eq!(err.code(), "invalid_argument");
    assert!(
        err.to_string().starts_with("p.proto:2:9: package name"),
        "{err}"
    );
}

#[test]
fn long_dotted_references_and_option_names_are_refused() {
    let reference = vec!["a"; 101].join(".");
    let field = format!("syntax = \"proto3\";\nmessage N {{ .{reference} f = 1; }}\n");
    assert!(matches!(
        breach(&field),
        Some(Breach::Name(NameBreach {
            package: false,
            segments: 101,
            ..
        }))
    ));
    let spaced = vec!["a"; 101].join(" . ");
    let option = format!("syntax = \"proto3\";\noption ({spaced}) = 1;\n");
    assert!(matches!(breach(&option), Some(Breach::Name(_))));
    // 21 segments of 100 bytes pass the byte limit before the segment one.
    let long = format!(
        "syntax = \"proto3\";\nmessage N {{ {} f = 1; }}\n",
        vec!["b".repeat(100); 30].join(".")
    );
    assert!(matches!(
        breach(&long),
        Some(Breach::Name(NameBreach {
            bytes: 2120,
            segments: 21,
            ..
        }))
    ));
    // Many short names in a row are each measured alone.
    let many = "message M { a.b c = 1; }\n".repeat(10_000);
    assert_eq!(breach(&many), None);
}

#[test]
fn identifiers_and_declared_full_names_are_bounded() {
    let long = "x".repeat(MAX_IDENTIFIER_BYTES + 1);
    assert!(matches!(
        breach(&format!("message {long} {{}}")),
        Some(Breach::Identifier { bytes: 1025, .. })
    ));
    // Eight nested blocks with 1,000-byte names: an 8,000-byte full name.
    let name = "n".repeat(1000);
    let nested = format!(
        "{}{}",
        format!("message {name} {{ ").repeat(8),
        "}".repeat(8)
    );
    assert!(matches!(breach(&nested), Some(Breach::Scope { .. })));
    let four = format!(
        "{}{}",
        format!("message {name} {{ ").repeat(4),
        "}".repeat(4)
    );
    assert_eq!(breach(&four), None);
}

#[test]
fn numbers_are_not_names() {
    let text = "option (a) = 1.5e-3; option (b) = .5; option (c) = 0x1F; \
                option (d) = -inf; option (e) = 1E+5;";
    assert_eq!(breach(text), None);
    let dots = format!("option (a) = {};", vec!["1"; 500].join("."));
    assert_eq!(breach(&dots), None);
}

/// Every `.proto` file of the repository (test corpora included) and of
/// the system's protobuf and Go module sources passes: the bounds refuse
/// only what no real schema needs. (Measured on 918 such files: the
/// largest name cost was 3.3 bytes per byte of source, a tenth of
/// [`NAME_BUDGET_PER_BYTE`].)
#[test]
fn the_repositorys_own_protos_pass() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = 0;
    let mut stack = vec![root];
    // protoc's own includes and the Go module sources, where installed.
    for extra in ["/usr/include/google", "/usr/share/gocode/src"] {
        if std::path::Path::new(extra).is_dir() {
            stack.push(extra.into());
        }
    }
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && name != ".git" && name != "node_modules" {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "proto") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                if let Err(err) = check_source(&path.display().to_string(), &text) {
                    panic!("{err}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} .proto files found");
}

/// At the limit, protox compiles what the bounds let through (on the
/// compile thread's stack), in every form.
#[test]
fn the_compiler_handles_the_deepest_accepted_input() {
    for form in ["braces", "angles"] {
        // 1 level for `message M {`, the rest for the option value.
        let text = option_value(MAX_NESTING - 2, form);
        check_source("o.proto", &text).unwrap();
        let sources = std::sync::Arc::new([("o.proto".to_owned(), text)].into_iter().collect());
        let outcome = std::thread::Builder::new()
            .stack_size(crate::compile::COMPILE_STACK_BYTES)
            .spawn(move || crate::compile::compile_schema(sources, Default::default()))
            .unwrap()
            .join()
            .unwrap();
        // protox may refuse a deep value for its own reasons; it must not
        // crash, and what it says must be a compile error.
        if let Err(err) = outcome {
            assert_eq!(err.code(), "compile_failed", "{form}: {err}");
        }
    }
    // protox itself stops nested messages at 32 levels, as protoc does.
    let compile = |text: String| {
        let sources = std::sync::Arc::new([("p.proto".to_owned(), text)].into_iter().collect());
        std::thread::Builder::new()
            .stack_size(crate::compile::COMPILE_STACK_BYTES)
            .spawn(move || crate::compile::compile_schema(sources, Default::default()))
            .unwrap()
            .join()
            .unwrap()
    };
    let compiled = compile(nested_messages(31)).expect("31 nested messages compile");
    assert_eq!(compiled.types.messages.len(), 1);
    let err = compile(nested_messages(MAX_NESTING)).unwrap_err();
    assert_eq!(err.code(), "compile_failed", "{err}");
}

#[test]
fn short_declarations_in_a_long_scope_exhaust_the_name_budget() {
    // 4,000-byte scope, then fields of a few bytes each: each field's full
    // name is 4 KB, 500 times the source it takes.
    let scope = format!("package {};\n", vec!["p".repeat(100); 5].join("."))
        + &format!("message {} {{ ", "m".repeat(1000)).repeat(3);
    let fields: String = (1..20_000).map(|i| format!("int32 f{i}={i};")).collect();
    let text = format!("syntax = \"proto3\";\n{scope}{fields}{}", "}".repeat(3));
    assert!(matches!(breach(&text), Some(Breach::NameBudget { .. })));
    // The same fields in a short scope are fine.
    let text = format!("syntax = \"proto3\";\npackage p;\nmessage M {{ {fields} }}");
    assert_eq!(breach(&text), None);
}
