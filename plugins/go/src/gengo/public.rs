//! `import public`: forwarding declarations for every exported symbol of
//! the imported file. protoc-gen-go generates the imported file, parses it
//! and forwards each exported type, const and var; this reads the same
//! declarations back from our own (gofmt-formatted) output for that file.

/// A top-level declaration of a generated file: `type`, `const` or `var`,
/// its name, and whether its type or value is a `pkg.Name` selector.
pub(super) struct Decl {
    pub token: &'static str,
    pub name: String,
    pub is_selector: bool,
}

/// The type, const and var declarations of `source`, in order.
pub(super) fn top_level_decls(source: &str) -> Vec<Decl> {
    let mut decls = Vec::new();
    let mut block: Option<&'static str> = None;
    for line in source.lines() {
        if let Some(token) = block {
            if line == ")" {
                block = None;
            } else if let Some(spec) = line.strip_prefix('\t')
                && !spec.starts_with(['\t', '/', '}', ')'])
            {
                decls.push(value_spec(token, spec));
            }
            continue;
        }
        for token in ["const", "var"] {
            if line == format!("{token} (") {
                block = Some(token);
            } else if let Some(spec) = line.strip_prefix(token).and_then(|l| l.strip_prefix(' ')) {
                decls.push(value_spec(token, spec));
            }
        }
        if let Some(spec) = line.strip_prefix("type ") {
            let (name, rest) = spec.split_once(' ').unwrap_or((spec, ""));
            let is_selector = rest.strip_prefix("= ").is_some_and(is_selector_expr);
            decls.push(Decl {
                token: "type",
                name: name.to_string(),
                is_selector,
            });
        }
    }
    decls
}

fn value_spec(token: &'static str, spec: &str) -> Decl {
    let name = spec
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    let value = spec.split_once("= ").map(|(_, v)| v);
    let value = value.map(|v| v.split("//").next().unwrap_or(v).trim());
    Decl {
        token,
        name,
        is_selector: value.is_some_and(is_selector_expr),
    }
}

/// `pkg.Name`, nothing more.
fn is_selector_expr(expr: &str) -> bool {
    let ident = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    expr.split_once('.')
        .is_some_and(|(package, name)| ident(package) && ident(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_declarations_of_generated_go() {
        let source = "package p\n\nconst (\n\t_ = protoimpl.EnforceVersion(20 - protoimpl.MinVersion)\n)\n\n\
            type E = sub.E\n\ntype M struct {\n\tstate protoimpl.MessageState\n}\n\n\
            var (\n\tE_name = map[int32]string{\n\t\t0: \"ZERO\",\n\t}\n\t// doc\n\tE_X = &file_x_extTypes[0]\n)\n\n\
            var File_x protoreflect.FileDescriptor\n";
        let decls: Vec<(&str, String, bool)> = top_level_decls(source)
            .into_iter()
            .map(|d| (d.token, d.name, d.is_selector))
            .collect();
        assert_eq!(
            decls,
            vec![
                ("const", "_".to_string(), false),
                ("type", "E".to_string(), true),
                ("type", "M".to_string(), false),
                ("var", "E_name".to_string(), false),
                ("var", "E_X".to_string(), false),
                ("var", "File_x".to_string(), false),
            ]
        );
    }
}
