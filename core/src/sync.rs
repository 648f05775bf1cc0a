//! Repository sync: a source's branch fetched with the `git` command into a
//! mirror under `git.cache_dir`, the commit's tree read with `git archive`
//! (no work tree, so two jobs never race on one), and each schema's
//! `.proto` files published, importers after the schemas they import (as
//! `protoreg load`); then the staged namespace is checked for
//! compatibility and promoted when the source has `auto_promote`.
//!
//! Jobs are `jobs` rows of kind `sync` (`store/sources.rs`). The worker, a
//! task on the registry's runtime, runs one job at a time: it is woken
//! when a job is queued and looks for jobs every `git.poll_interval_ms`
//! (jobs another replica queued). At start it queues again the jobs a
//! stopped process left running (and, at every look, those of a dead
//! replica whose lease expired); publishing is idempotent (the same files
//! give the same fingerprint), so a job run twice has one outcome.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, json};
use tokio::sync::Notify;

use crate::error::RegistryError;
use crate::git::{self, Git, GitConfig};
use crate::ids::{NamespaceId, SchemaId};
use crate::ops::PublishRequest;
use crate::registry::Registry;
use crate::store::{JobRow, SourceRow, SyncResult};

/// `sources.layout`.
pub const LAYOUT_FOLDERS: &str = "folders";
pub const LAYOUT_MAPPING: &str = "mapping";

/// One entry of a source's explicit `schemas` mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaMapping {
    pub schema: String,
    /// A folder under the source's `root`.
    pub root: String,
}

/// A schema and its files (path → text).
pub type SchemaFiles = (SchemaId, BTreeMap<String, String>);

/// The handle the server keeps: wakes the worker when a job is queued.
#[derive(Debug, Clone, Default)]
pub struct SyncWorker {
    wake: Arc<Notify>,
}

impl SyncWorker {
    /// Starts the worker on the current runtime.
    pub fn start(registry: Registry, config: GitConfig) -> Self {
        let worker = SyncWorker::default();
        let wake = worker.wake.clone();
        let config = Arc::new(config);
        tokio::spawn(async move { run_worker(registry, config, wake).await });
        worker
    }

    /// Tells the worker a job was queued.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

async fn run_worker(registry: Registry, config: Arc<GitConfig>, wake: Arc<Notify>) {
    while !registry.is_ready() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let poll = Duration::from_millis(config.poll_interval_ms.max(100));
    loop {
        // At start-up, and then at every look: jobs a stopped process (this
        // one before a restart, or a replica that died) left running, once
        // their lease expired.
        match registry.store().requeue_running_syncs().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                jobs = n,
                "sync jobs left running by a stopped process queued again"
            ),
            Err(err) => tracing::warn!(%err, "queueing interrupted sync jobs again failed"),
        }
        loop {
            match registry.store().claim_sync_job().await {
                Ok(Some(job)) => run_job(&registry, &config, job).await,
                Ok(None) => break,
                Err(err) => {
                    tracing::warn!(%err, "claiming a sync job failed");
                    break;
                }
            }
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(poll) => {}
        }
    }
}

/// Runs one claimed job to its end and records it.
async fn run_job(registry: &Registry, config: &GitConfig, job: JobRow) {
    let started = std::time::Instant::now();
    let mut log = Log::default();
    let result = match job.source_id {
        None => Err("the job names no source".to_owned()),
        Some(id) => match registry.store().source(id).await {
            Ok(Some(source)) => sync(registry, config, &source, &job, &mut log).await,
            Ok(None) => Err(format!("source {id} was removed")),
            Err(err) => Err(format!("reading source {id}: {err}")),
        },
    };
    let result = match result {
        Ok(mut done) => {
            log.line(format!(
                "sync succeeded in {} ms",
                started.elapsed().as_millis()
            ));
            done.log = log.text();
            done
        }
        Err(err) => {
            log.line(format!("sync failed: {err}"));
            SyncResult {
                succeeded: false,
                log: log.text(),
                commit: log.commit.clone(),
                published: log.published.clone(),
                promoted: Vec::new(),
                schemas: Vec::new(),
            }
        }
    };
    let mut backoff = Duration::from_millis(100);
    for attempt in 1..=6 {
        match registry.store().finish_sync_job(&job, &result).await {
            Ok(row) => {
                tracing::info!(job = row.id, source = ?row.source_id, namespace = %row.namespace,
                    status = %row.status, commit = ?row.git_info().commit, "sync job finished");
                return;
            }
            Err(err) => {
                tracing::warn!(job = job.id, attempt, %err, "recording a sync job's end failed");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
        }
    }
}

/// A job's log, and what it did so far (kept when it fails half-way).
#[derive(Debug, Default)]
struct Log {
    lines: Vec<String>,
    commit: Option<String>,
    published: Vec<String>,
}

impl Log {
    fn line(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }

    fn text(&self) -> String {
        let mut text = self.lines.join("\n");
        text.push('\n');
        text
    }
}

/// The sync itself: fetch, read the tree, publish, check, promote.
async fn sync(
    registry: &Registry,
    config: &GitConfig,
    source: &SourceRow,
    job: &JobRow,
    log: &mut Log,
) -> Result<SyncResult, String> {
    let git = Git {
        config,
        url: &source.url,
    };
    let mirror = mirror_dir(config, source.id);
    if !mirror.join("HEAD").is_file() {
        std::fs::create_dir_all(&mirror)
            .map_err(|e| format!("creating the mirror {}: {e}", mirror.display()))?;
        let path = mirror.to_string_lossy().into_owned();
        git.run(None, &["init", "--bare", "--quiet", &path], 1 << 20)
            .await
            .map_err(|e| e.to_string())?;
    }
    let branch_ref = format!("refs/heads/{}", source.branch);
    let refspec = format!("+{branch_ref}:{branch_ref}");
    log.line(format!("fetching {} {}", source.url, source.branch));
    git.run(
        Some(&mirror),
        &[
            "fetch",
            "--quiet",
            "--no-tags",
            "--force",
            "--",
            &source.url,
            &refspec,
        ],
        1 << 20,
    )
    .await
    .map_err(|e| e.to_string())?;
    let info = job.git_info();
    let wanted = info.commit.clone();
    let commit = match &wanted {
        Some(commit) => {
            let object = format!("{commit}^{{commit}}");
            if git
                .run(Some(&mirror), &["cat-file", "-e", &object], 1 << 10)
                .await
                .is_err()
            {
                // Not on the branch any more (a force push): fetch it by id.
                git.run(
                    Some(&mirror),
                    &["fetch", "--quiet", "--no-tags", "--", &source.url, commit],
                    1 << 20,
                )
                .await
                .map_err(|e| format!("commit {commit} is not in the repository: {e}"))?;
            }
            resolve(&git, &mirror, &object).await?
        }
        None => resolve(&git, &mirror, &format!("{branch_ref}^{{commit}}")).await?,
    };
    log.commit = Some(commit.clone());
    log.line(format!("commit {commit}"));

    let root = git::normalize_root(&source.root)?;
    let mut args = vec!["archive", "--format=tar", commit.as_str()];
    if !root.is_empty() {
        args.push("--");
        args.push(&root);
    }
    let tar = git
        .run(Some(&mirror), &args, config.max_tree_bytes)
        .await
        .map_err(|e| e.to_string())?;
    let files = git::protos_of_tar(&tar, &root)?;
    drop(tar);
    let schemas = group(source, files, log)?;
    if schemas.is_empty() {
        return Err(format!(
            "no schema with .proto files under {:?} at {commit}",
            source.root
        ));
    }
    let namespace = NamespaceId::parse(&source.namespace).map_err(|e| e.to_string())?;
    let created_by = format!("git:{}", info.requested_by.as_deref().unwrap_or("sync"));
    let mut metadata = Map::new();
    metadata.insert("git_commit".into(), json!(commit));
    metadata.insert(
        "git_ref".into(),
        json!(info.git_ref.clone().unwrap_or(branch_ref)),
    );
    metadata.insert("git_repo".into(), json!(source.url));
    let names: Vec<String> = schemas.iter().map(|(s, _)| s.to_string()).collect();
    for (schema, sources) in schemas {
        let count = sources.len();
        let request = PublishRequest {
            schema: schema.clone(),
            sources,
            created_by: created_by.clone(),
            metadata: metadata.clone(),
            force: false,
        };
        match registry.publish(&namespace, request).await {
            Ok(outcome) if outcome.no_change => log.line(format!(
                "{schema}: no change (version {}, {count} files)",
                outcome.version.version
            )),
            Ok(outcome) => {
                log.line(format!(
                    "{schema}: version {} staged ({count} files)",
                    outcome.version.version
                ));
                log.published.push(schema.to_string());
            }
            Err(RegistryError::CompileFailed { message, errors }) => {
                log.line(format!("{schema}: {message}"));
                for error in errors {
                    log.line(format!("  {error}"));
                }
                return Err(format!("schema {schema} does not compile"));
            }
            Err(err) => return Err(format!("publishing {schema}: {err}")),
        }
    }

    // Compatibility of everything staged, checked whether or not it is
    // promoted: a breaking change fails the sync.
    let promoted = match registry
        .promote(namespace.as_str(), !source.auto_promote)
        .await
    {
        Ok(outcome) if outcome.promoted.is_empty() => {
            log.line("nothing staged: nothing to promote");
            Vec::new()
        }
        Ok(outcome) if outcome.dry_run => {
            log.line(format!(
                "compatible; {} schema(s) left staged (auto_promote is off)",
                outcome.promoted.len()
            ));
            Vec::new()
        }
        Ok(outcome) => {
            let promoted: Vec<String> = outcome
                .promoted
                .iter()
                .map(|p| p.schema.to_string())
                .collect();
            for p in &outcome.promoted {
                log.line(format!(
                    "{}: version {} promoted (revision {})",
                    p.schema, p.to_version, outcome.revision
                ));
            }
            promoted
        }
        Err(RegistryError::Incompatible {
            message,
            violations,
        }) => {
            log.line(message);
            for v in violations {
                log.line(format!(
                    "  {}:{}:{}: {} ({})",
                    v.file, v.line, v.column, v.message, v.rule
                ));
            }
            return Err("incompatible change: nothing promoted".into());
        }
        Err(err) => return Err(format!("promoting: {err}")),
    };
    Ok(SyncResult {
        succeeded: true,
        log: String::new(),
        commit: Some(commit),
        published: log.published.clone(),
        promoted,
        schemas: names,
    })
}

async fn resolve(git: &Git<'_>, mirror: &std::path::Path, object: &str) -> Result<String, String> {
    let out = git
        .run(
            Some(mirror),
            &["rev-parse", "--verify", "--quiet", object],
            1 << 10,
        )
        .await
        .map_err(|_| format!("{object} is not in the repository"))?;
    Ok(String::from_utf8_lossy(&out).trim().to_owned())
}

/// The mirror of a source.
pub fn mirror_dir(config: &GitConfig, source: i64) -> PathBuf {
    config.cache_dir.join(format!("source-{source}.git"))
}

/// The files of the tree (relative to the source's root) grouped into
/// schemas, in publish order: each schema after the schemas whose files it
/// imports, by name otherwise.
fn group(
    source: &SourceRow,
    files: BTreeMap<String, String>,
    log: &mut Log,
) -> Result<Vec<SchemaFiles>, String> {
    let mut schemas: BTreeMap<SchemaId, BTreeMap<String, String>> = BTreeMap::new();
    if source.layout == LAYOUT_MAPPING {
        let mapping: Vec<SchemaMapping> = serde_json::from_str(&source.schemas)
            .map_err(|e| format!("the source's schema mapping is unreadable: {e}"))?;
        for entry in mapping {
            let schema = SchemaId::parse(&entry.schema).map_err(|e| e.to_string())?;
            let folder = git::normalize_root(&entry.root)?;
            let prefix = if folder.is_empty() {
                String::new()
            } else {
                format!("{folder}/")
            };
            let own: BTreeMap<String, String> = files
                .iter()
                .filter_map(|(path, text)| {
                    path.strip_prefix(&prefix)
                        .map(|rest| (rest.to_owned(), text.clone()))
                })
                .collect();
            if own.is_empty() {
                log.line(format!("{schema}: no .proto files under {:?}", entry.root));
                continue;
            }
            schemas.insert(schema, own);
        }
    } else {
        let mut ignored = BTreeSet::new();
        for (path, text) in files {
            let Some((folder, rest)) = path.split_once('/') else {
                ignored.insert(path);
                continue;
            };
            match SchemaId::parse(folder) {
                Ok(schema) => {
                    schemas
                        .entry(schema)
                        .or_default()
                        .insert(rest.to_owned(), text);
                }
                Err(_) => {
                    ignored.insert(folder.to_owned());
                }
            }
        }
        for path in ignored {
            log.line(format!(
                "ignoring {path}: each folder under the root is a schema named after it"
            ));
        }
    }
    Ok(import_order(schemas))
}

/// Schemas ordered so that each comes after the schemas whose files it
/// imports (a publish resolves imports only to what the namespace has), by
/// name otherwise; a cycle falls back to name order.
pub fn import_order(schemas: BTreeMap<SchemaId, BTreeMap<String, String>>) -> Vec<SchemaFiles> {
    let owner: BTreeMap<&str, &SchemaId> = schemas
        .iter()
        .flat_map(|(schema, files)| files.keys().map(move |p| (p.as_str(), schema)))
        .collect();
    let needs: BTreeMap<SchemaId, BTreeSet<SchemaId>> = schemas
        .iter()
        .map(|(schema, files)| {
            let deps = files
                .values()
                .flat_map(|text| imports(text))
                .filter_map(|import| owner.get(import.as_str()).copied())
                .filter(|dep| *dep != schema)
                .cloned()
                .collect();
            (schema.clone(), deps)
        })
        .collect();
    let mut left = schemas;
    let mut ordered = Vec::new();
    while !left.is_empty() {
        let next = left
            .keys()
            .find(|name| needs[*name].iter().all(|dep| !left.contains_key(dep)))
            .or_else(|| left.keys().next())
            .cloned();
        let Some(next) = next else { break };
        if let Some(files) = left.remove(&next) {
            ordered.push((next, files));
        }
    }
    ordered
}

/// The files a `.proto` source imports (`import [public|weak] "x";`).
pub fn imports(text: &str) -> Vec<String> {
    static IMPORT: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"(?m)^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;"#)
            .expect("a valid pattern")
    });
    IMPORT
        .captures_iter(text)
        .map(|c| c[1].to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(files: &[(&str, &str)]) -> BTreeMap<String, String> {
        files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect()
    }

    #[test]
    fn importers_come_after_what_they_import() {
        let mut schemas = BTreeMap::new();
        schemas.insert(
            SchemaId::parse("a-orders").unwrap(),
            schema(&[("orders.proto", "import \"stock/item.proto\";\n")]),
        );
        schemas.insert(
            SchemaId::parse("z-stock").unwrap(),
            schema(&[("stock/item.proto", "syntax = \"proto3\";")]),
        );
        let names: Vec<String> = import_order(schemas)
            .into_iter()
            .map(|(s, _)| s.to_string())
            .collect();
        assert_eq!(names, ["z-stock", "a-orders"]);
    }

    #[test]
    fn imports_are_read_from_import_lines() {
        let text = "syntax = \"proto3\";\nimport \"a.proto\";\n  import public \"b/c.proto\" ;\n// import \"no.proto\";\n";
        assert_eq!(imports(text), ["a.proto", "b/c.proto"]);
    }
}
