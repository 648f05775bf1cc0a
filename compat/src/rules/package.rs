//! Rules that allow moving types between files of a package, but not deleting
//! them from the package.

use std::collections::BTreeMap;

use super::{deleted_element_location, go_quote};
use crate::error::CompatError;
use crate::model::{FileId, Schema, strip_package};
use crate::pairs;
use crate::rule::CheckContext;
use crate::violation::Finding;

type Result = std::result::Result<(), CompatError>;

/// An element of a package: its file and source path.
struct Element {
    file: FileId,
    path: Vec<i32>,
}

/// Elements by package, then nested name.
type PackageIndex = BTreeMap<String, BTreeMap<String, Element>>;

fn index_messages(schema: &Schema) -> PackageIndex {
    let mut out = PackageIndex::new();
    for m in &schema.messages {
        let package = schema.files[m.file].package.clone();
        out.entry(package).or_default().insert(
            m.nested_name.clone(),
            Element {
                file: m.file,
                path: m.path.clone(),
            },
        );
    }
    out
}

fn index_enums(schema: &Schema) -> PackageIndex {
    let mut out = PackageIndex::new();
    for e in &schema.enums {
        let package = schema.files[e.file].package.clone();
        out.entry(package).or_default().insert(
            e.nested_name.clone(),
            Element {
                file: e.file,
                path: e.path.clone(),
            },
        );
    }
    out
}

fn index_extensions(schema: &Schema) -> PackageIndex {
    let mut out = PackageIndex::new();
    for f in schema.fields.iter().filter(|f| f.is_extension()) {
        let package = schema.files[f.file].package.clone();
        out.entry(package.clone()).or_default().insert(
            strip_package(&f.full_name, &package).to_string(),
            Element {
                file: f.file,
                path: f.path.clone(),
            },
        );
    }
    out
}

fn index_services(schema: &Schema) -> PackageIndex {
    let mut out = PackageIndex::new();
    for s in &schema.services {
        let package = schema.files[s.file].package.clone();
        out.entry(package).or_default().insert(
            s.name.clone(),
            Element {
                file: s.file,
                path: s.path.clone(),
            },
        );
    }
    out
}

/// When buf considers a package to still exist for a `PACKAGE_*_NO_DELETE`
/// rule (buf's indexes differ: services are indexed by every file's package,
/// the other elements only by the packages that hold one).
#[derive(Clone, Copy)]
enum PackagePresence {
    /// The current image has an element of the same kind in the package.
    SameKind,
    /// The current image has a file in the package.
    AnyFile,
}

/// Where buf reports an element deleted from a package when its file still
/// exists.
#[derive(Clone, Copy)]
enum Anchor {
    /// The closest enclosing message of the current file, else the file
    /// (enums, extensions).
    EnclosingMessageInFile,
    /// The closest enclosing message among the package's current messages,
    /// whatever their file, else the file (messages).
    EnclosingMessageInPackage,
    /// The file (services).
    File,
}

/// The closest enclosing element of `nested_name` (`A.B.C` → `A.B`, `A`).
fn enclosing_element<'a>(
    elements: &'a BTreeMap<String, Element>,
    nested_name: &str,
) -> Option<&'a Element> {
    let parts: Vec<&str> = nested_name.split('.').collect();
    (1..parts.len())
        .rev()
        .find_map(|i| elements.get(&parts[..i].join(".")))
}

/// Elements deleted from a package that still exists. Where the element's
/// file still exists, buf reports at the closest enclosing message (or the
/// file); services only ever at the file.
fn deleted_from_package(
    ctx: &CheckContext<'_>,
    out: &mut Vec<Finding>,
    kind: &str,
    index: fn(&Schema) -> PackageIndex,
    anchor: Anchor,
    presence: PackagePresence,
) {
    let current = index(ctx.current);
    let current_packages = pairs::files_by_package(ctx.current);
    let current_files = pairs::files_by_name(ctx.current);
    for (package, previous) in index(ctx.previous) {
        // buf only looks into packages that still hold an element of this
        // kind; for services, into packages that still hold a file.
        let package_present = match presence {
            PackagePresence::SameKind => current.contains_key(&package),
            PackagePresence::AnyFile => current_packages.contains_key(&package),
        };
        if !package_present {
            continue;
        }
        let current_elements = current.get(&package);
        for (nested_name, element) in previous {
            if current_elements.is_some_and(|c| c.contains_key(&nested_name)) {
                continue;
            }
            let prev_file = &ctx.previous.files[element.file].name;
            let location = current_files.get(prev_file).map(|file| match anchor {
                Anchor::EnclosingMessageInFile => {
                    deleted_element_location(ctx.current, *file, &nested_name)
                }
                Anchor::EnclosingMessageInPackage => current_elements
                    .and_then(|elements| enclosing_element(elements, &nested_name))
                    .and_then(|e| ctx.current.location(e.file, &e.path))
                    .unwrap_or_else(|| ctx.current.file_location(*file)),
                Anchor::File => ctx.current.file_location(*file),
            });
            let against_file = ctx
                .previous
                .location(element.file, &element.path)
                .map(|l| l.file)
                .or_else(|| Some(prev_file.clone()));
            out.push(Finding::new(
                format!(
                    "Previously present {kind} {} was deleted from package {}.",
                    go_quote(&nested_name),
                    go_quote(&package)
                ),
                location,
                against_file,
            ));
        }
    }
}

pub fn enum_no_delete(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    deleted_from_package(
        ctx,
        out,
        "enum",
        index_enums,
        Anchor::EnclosingMessageInFile,
        PackagePresence::SameKind,
    );
    Ok(())
}

pub fn extension_no_delete(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    deleted_from_package(
        ctx,
        out,
        "extension",
        index_extensions,
        Anchor::EnclosingMessageInFile,
        PackagePresence::SameKind,
    );
    Ok(())
}

pub fn message_no_delete(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    deleted_from_package(
        ctx,
        out,
        "message",
        index_messages,
        Anchor::EnclosingMessageInPackage,
        PackagePresence::SameKind,
    );
    Ok(())
}

pub fn service_no_delete(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    deleted_from_package(
        ctx,
        out,
        "service",
        index_services,
        Anchor::File,
        PackagePresence::AnyFile,
    );
    Ok(())
}

pub fn no_delete(ctx: &CheckContext<'_>, out: &mut Vec<Finding>) -> Result {
    let current = pairs::files_by_package(ctx.current);
    for (package, files) in pairs::files_by_package(ctx.previous) {
        if current.contains_key(&package) {
            continue;
        }
        out.push(Finding::new(
            format!(
                "Previously present package {} was deleted.",
                go_quote(&package)
            ),
            None,
            files.first().map(|f| ctx.previous.files[*f].name.clone()),
        ));
    }
    Ok(())
}
