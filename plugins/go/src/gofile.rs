//! protogen's `GeneratedFile`: the import bookkeeping of one output file.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use crate::gofmt::{GoWriter, go_quote};
use crate::model::GoIdent;
use crate::names::{GO_UNIVERSE, package_name_for_import_path};

pub(crate) struct GoFile {
    import_path: String,
    package_names: HashMap<String, String>,
    used_package_names: HashSet<String>,
    manual_imports: BTreeSet<String>,
    pub w: GoWriter,
}

impl GoFile {
    pub fn new(import_path: &str) -> Self {
        GoFile {
            import_path: import_path.to_string(),
            package_names: HashMap::new(),
            used_package_names: GO_UNIVERSE.iter().map(|s| s.to_string()).collect(),
            manual_imports: BTreeSet::new(),
            w: GoWriter::new(),
        }
    }

    /// `QualifiedGoIdent`: the name to write for `ident`, importing its
    /// package on first use (names are assigned in order of first use).
    pub fn qualified(&mut self, ident: &GoIdent) -> String {
        self.ident(&ident.import_path, &ident.name)
    }

    pub fn ident(&mut self, import_path: &str, name: &str) -> String {
        if import_path == self.import_path {
            return name.to_string();
        }
        if let Some(package) = self.package_names.get(import_path) {
            return format!("{package}.{name}");
        }
        let base = package_name_for_import_path(import_path);
        let mut package = base.clone();
        let mut i = 1;
        while self.used_package_names.contains(&package) {
            package = format!("{base}{i}");
            i += 1;
        }
        self.package_names
            .insert(import_path.to_string(), package.clone());
        self.used_package_names.insert(package.clone());
        format!("{package}.{name}")
    }

    /// `Import`: imports a package even when nothing of it is referenced.
    pub fn import(&mut self, import_path: &str) {
        self.manual_imports.insert(import_path.to_string());
    }

    /// The import block gofmt prints: one group sorted by path, every spec
    /// named (`_` for packages only imported for their side effects).
    pub fn import_block(&self) -> String {
        let mut imports: BTreeMap<&str, &str> = self
            .package_names
            .iter()
            .map(|(path, name)| (path.as_str(), name.as_str()))
            .collect();
        for path in &self.manual_imports {
            imports.entry(path.as_str()).or_insert("_");
        }
        if imports.is_empty() {
            return String::new();
        }
        let mut block = String::from("import (\n");
        for (path, name) in imports {
            block.push_str(&format!("\t{name} {}\n", go_quote(path)));
        }
        block.push_str(")\n");
        block
    }
}
