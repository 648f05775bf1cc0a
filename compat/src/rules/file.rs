//! Rules on file-level values: options, syntax, package.

use super::{against, go_quote};
use crate::descriptor::FileOptions;
use crate::error::CompatError;
use crate::model::File;
use crate::pairs;
use crate::rule::CheckContext;
use crate::violation::Finding;

type Result = std::result::Result<(), CompatError>;

/// Reports `File <name> changed from "<prev>" to "<cur>".` at `path` of each
/// file pair whose `value` differs.
fn same_value(
    ctx: &CheckContext<'_>,
    out: &mut Vec<Finding>,
    name: &str,
    path: &[i32],
    value: impl Fn(&File) -> String,
) {
    for (prev, cur) in pairs::files(ctx) {
        let previous = value(&ctx.previous.files[prev]);
        let current = value(&ctx.current.files[cur]);
        if previous != current {
            out.push(Finding::new(
                format!(
                    "File {name} changed from {} to {}.",
                    go_quote(&previous),
                    go_quote(&current)
                ),
                // buf reports an option removed in the new file at the file.
                Some(
                    ctx.current
                        .location(cur, path)
                        .unwrap_or_else(|| ctx.current.file_location(cur)),
                ),
                against(ctx.previous, prev, path),
            ));
        }
    }
}

fn string_option(
    ctx: &CheckContext<'_>,
    out: &mut Vec<Finding>,
    option: &str,
    number: i32,
    get: fn(&FileOptions) -> &Option<String>,
) {
    same_value(
        ctx,
        out,
        &format!("option \"{option}\""),
        &[8, number],
        |f| get(&f.options).clone().unwrap_or_default(),
    );
}

fn bool_option(
    ctx: &CheckContext<'_>,
    out: &mut Vec<Finding>,
    option: &str,
    number: i32,
    default: bool,
    get: fn(&FileOptions) -> Option<bool>,
) {
    same_value(
        ctx,
        out,
        &format!("option \"{option}\""),
        &[8, number],
        |f| get(&f.options).unwrap_or(default).to_string(),
    );
}

pub fn same_cc_enable_arenas(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    bool_option(ctx, out, "cc_enable_arenas", 31, true, |o| {
        o.cc_enable_arenas
    });
    Ok(())
}

pub fn same_cc_generic_services(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    bool_option(ctx, out, "cc_generic_services", 16, false, |o| {
        o.cc_generic_services
    });
    Ok(())
}

pub fn same_java_generic_services(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    bool_option(ctx, out, "java_generic_services", 17, false, |o| {
        o.java_generic_services
    });
    Ok(())
}

pub fn same_java_multiple_files(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    bool_option(ctx, out, "java_multiple_files", 10, false, |o| {
        o.java_multiple_files
    });
    Ok(())
}

pub fn same_py_generic_services(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    bool_option(ctx, out, "py_generic_services", 18, false, |o| {
        o.py_generic_services
    });
    Ok(())
}

pub fn same_csharp_namespace(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    string_option(ctx, out, "csharp_namespace", 37, |o| &o.csharp_namespace);
    Ok(())
}

pub fn same_go_package(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    string_option(ctx, out, "go_package", 11, |o| &o.go_package);
    Ok(())
}

pub fn same_java_outer_classname(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    string_option(ctx, out, "java_outer_classname", 8, |o| {
        &o.java_outer_classname
    });
    Ok(())
}

pub fn same_java_package(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    string_option(ctx, out, "java_package", 1, |o| &o.java_package);
    Ok(())
}

pub fn same_objc_class_prefix(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    string_option(ctx, out, "objc_class_prefix", 36, |o| &o.objc_class_prefix);
    Ok(())
}

pub fn same_php_class_prefix(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    string_option(ctx, out, "php_class_prefix", 40, |o| &o.php_class_prefix);
    Ok(())
}

pub fn same_php_metadata_namespace(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    string_option(ctx, out, "php_metadata_namespace", 44, |o| {
        &o.php_metadata_namespace
    });
    Ok(())
}

pub fn same_php_namespace(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    string_option(ctx, out, "php_namespace", 41, |o| &o.php_namespace);
    Ok(())
}

pub fn same_ruby_package(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    string_option(ctx, out, "ruby_package", 45, |o| &o.ruby_package);
    Ok(())
}

pub fn same_swift_prefix(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    string_option(ctx, out, "swift_prefix", 39, |o| &o.swift_prefix);
    Ok(())
}

pub fn same_optimize_for(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    same_value(ctx, out, "option \"optimize_for\"", &[8, 9], |f| {
        match f.options.optimize_for.unwrap_or(1) {
            1 => "SPEED".to_string(),
            2 => "CODE_SIZE".to_string(),
            3 => "LITE_RUNTIME".to_string(),
            other => other.to_string(),
        }
    });
    Ok(())
}

pub fn same_syntax(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    same_value(ctx, out, "syntax", &[12], |f| f.syntax.name().to_string());
    Ok(())
}

pub fn same_package(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    same_value(ctx, out, "package", &[2], |f| f.package.clone());
    Ok(())
}
