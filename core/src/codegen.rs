//! Code generation: a namespace's `settings.codegen` targets, the
//! `CodeGeneratorRequest` of a version, the deterministic archive of a
//! generator's output, the job worker and on-demand generation.
//!
//! A promote queues one job per promoted version and target in its own
//! transaction (`Store::promote_enqueuing`). The worker, a task on the
//! registry's runtime, runs queued jobs one at a time: it is woken after a
//! promote and at start-up (when jobs a stopped process left `running` are
//! queued again), and looks for queued jobs every [`POLL_INTERVAL`] in case
//! another replica queued them. Generators run on a blocking thread, bounded
//! by the plugin host's time limit. A failing generator fails its job; the
//! promote was committed before the job started.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Weak};
use std::time::Duration;

use flate2::{Compression, GzBuilder};
use protoreg_plugin_sdk::CodeGeneratorResponse;
use serde_json::Value;

use crate::descriptor::{self, RawFile};
use crate::error::{RegistryError, Result};
use crate::fingerprint::sha256_hex;
use crate::ids::SchemaId;
use crate::plugin::{PluginCallError, PluginHost};
use crate::settings::{CodegenTarget, NamespaceSettings, PushTarget, check_go_package_prefix};
use crate::snapshot::VersionSnapshot;
use crate::state::Shared;
use crate::store::{BlobRef, JobRecord, JobResult, JobRow, JobTarget, StoreError};
use crate::verify::{self, Toolchain, Verification};

/// How often the worker looks for jobs queued by another replica.
pub const POLL_INTERVAL: Duration = Duration::from_secs(10);

/// The longest generator parameter accepted.
pub const MAX_PARAMETER_BYTES: usize = 4096;

/// Why code could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// Unknown version or generator (`not_found`), bad input, store errors.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The generator ran and refused the input: the `error` of its
    /// response, its failure (a non-zero exit), or output the registry
    /// cannot archive.
    #[error("{0}")]
    Rejected(String),
    /// The generator could not answer: it returned garbage or too much, ran
    /// over its time limit or is unhealthy.
    #[error("{0}")]
    Unavailable(String),
    /// The code was generated but pushing it to a target's repository
    /// failed; the log of the job (what was generated, the git error).
    #[error("{0}")]
    Push(String),
    /// The code was generated but the language's toolchain rejected it
    /// (`settings.codegen[].verify`); the log of the job with the tool's
    /// output.
    #[error("{0}")]
    Verify(String),
}

impl From<crate::store::StoreError> for GenerateError {
    fn from(err: crate::store::StoreError) -> Self {
        GenerateError::Registry(err.into())
    }
}

/// A generator that ran and said it failed (a `protoc-gen-*` exiting
/// non-zero, as protoc-gen-go does for a file without `go_package`; a
/// plugin's error reply) refused the input; one that could not answer is
/// unavailable.
impl From<PluginCallError> for GenerateError {
    fn from(err: PluginCallError) -> Self {
        match err {
            PluginCallError::Failed { .. } => GenerateError::Rejected(err.to_string()),
            PluginCallError::Invalid { .. }
            | PluginCallError::Timeout { .. }
            | PluginCallError::Unhealthy { .. }
            | PluginCallError::CannotStart { .. } => GenerateError::Unavailable(err.to_string()),
        }
    }
}

/// A generated archive: a gzip tar of the generator's files.
#[derive(Debug, Clone)]
pub struct Generated {
    pub archive: Vec<u8>,
    pub sha256: String,
    /// The job that generated it; `None` when served from a stored artifact.
    pub job_id: Option<i64>,
}

/// The targets of `settings.codegen`, without repeats (an artifact is kept
/// per (version, plugin, parameter)). Settings are validated when stored;
/// anything malformed here is skipped.
pub fn targets_of(settings: &Value) -> Vec<JobTarget> {
    let mut targets: Vec<JobTarget> = Vec::new();
    let entries = settings
        .get("codegen")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for entry in entries {
        let Some(plugin) = entry.get("plugin").and_then(Value::as_str) else {
            continue;
        };
        let parameter = entry
            .get("parameter")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let prefix = entry.get("go_package_prefix").and_then(Value::as_str);
        let target = JobTarget {
            plugin: plugin.to_owned(),
            parameter: with_managed_options(parameter, prefix),
        };
        if !targets.contains(&target) {
            targets.push(target);
        }
    }
    targets
}

/// Checks `settings.codegen`: a list of `{plugin, parameter?, output?}`
/// (read and validated by [`NamespaceSettings`]) whose plugins name
/// generators the host knows.
pub fn validate_settings(settings: &Value, host: &PluginHost) -> Result<()> {
    let settings = NamespaceSettings::from_json(settings)?;
    settings.validate()?;
    for (i, target) in settings.codegen.iter().flatten().enumerate() {
        validate_parameter(&target.parameter)?;
        if host.generator(&target.plugin).is_none() {
            return Err(RegistryError::InvalidArgument(format!(
                "settings.codegen[{i}]: no code generator named {:?} is loaded (known: {})",
                target.plugin,
                known_generators(host)
            )));
        }
    }
    Ok(())
}

fn known_generators(host: &PluginHost) -> String {
    let mut names: Vec<String> = host
        .plugins()
        .iter()
        .flat_map(|p| p.manifest.generators.iter().map(|g| g.name.clone()))
        .chain(host.protoc_generators().iter().map(|p| p.name.clone()))
        .collect();
    names.sort();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// The parameter option the registry reads itself (managed mode, see
/// [`request_for`]) rather than passing it to the generator.
pub const GO_PACKAGE_PREFIX: &str = "go_package_prefix=";

/// A job's parameter: the target's, with its managed options appended
/// (`go_package_prefix=…`), so that the job, its artifact and an on-demand
/// `?parameter=` name the same generation.
fn with_managed_options(parameter: &str, go_package_prefix: Option<&str>) -> String {
    match go_package_prefix {
        Some(prefix) if parameter.is_empty() => format!("{GO_PACKAGE_PREFIX}{prefix}"),
        Some(prefix) => format!("{parameter},{GO_PACKAGE_PREFIX}{prefix}"),
        None => parameter.to_owned(),
    }
}

/// The parameter a generator gets: `parameter` without the registry's
/// managed options, plus, for `go_package_prefix=P`, an `M<file>=P/<dir>`
/// mapping for each file of `files` that has no `go_package` option (as
/// buf's managed mode does; files with one keep it, so their output is
/// exactly the generator's without managed mode).
fn generator_parameter(parameter: &str, files: &[RawFile]) -> Result<String> {
    let mut prefix = None;
    let mut options: Vec<String> = Vec::new();
    for option in parameter.split(',').filter(|o| !o.is_empty()) {
        match option.strip_prefix(GO_PACKAGE_PREFIX) {
            Some(value) => {
                check_go_package_prefix(value).map_err(|why| {
                    RegistryError::InvalidArgument(format!("{GO_PACKAGE_PREFIX}: {why}"))
                })?;
                prefix = Some(value);
            }
            None => options.push(option.to_owned()),
        }
    }
    let Some(prefix) = prefix else {
        return Ok(parameter.to_owned());
    };
    for file in files {
        let proto = <prost_types::FileDescriptorProto as prost::Message>::decode(&file.bytes[..])
            .map_err(|e| RegistryError::internal("decoding a served descriptor", e))?;
        let has_go_package = proto
            .options
            .as_ref()
            .is_some_and(|o| o.go_package.as_deref().is_some_and(|p| !p.is_empty()));
        if has_go_package {
            continue;
        }
        let path = match file.name.rsplit_once('/') {
            Some((dir, _)) => format!("{prefix}/{dir}"),
            None => prefix.to_owned(),
        };
        options.push(format!("M{}={path}", file.name));
    }
    Ok(options.join(","))
}

pub fn validate_parameter(parameter: &str) -> Result<()> {
    if parameter.len() > MAX_PARAMETER_BYTES {
        return Err(RegistryError::InvalidArgument(format!(
            "a generator parameter is at most {MAX_PARAMETER_BYTES} bytes"
        )));
    }
    for option in parameter.split(',') {
        if let Some(prefix) = option.strip_prefix(GO_PACKAGE_PREFIX) {
            check_go_package_prefix(prefix).map_err(|why| {
                RegistryError::InvalidArgument(format!("{GO_PACKAGE_PREFIX}: {why}"))
            })?;
        }
    }
    Ok(())
}

/// The encoded `CodeGeneratorRequest` for a version: its own files to
/// generate, the parameter with the managed options applied
/// ([`generator_parameter`]), and its served descriptor set's files
/// (dependencies first) as `proto_file`, copied byte for byte so that custom
/// options and unknown fields reach the generator exactly as compiled.
pub fn request_for(version: &VersionSnapshot, parameter: &str) -> Result<Vec<u8>> {
    encode_request(version, parameter, false)
}

/// The request of the files a version's generated code needs beside it
/// (for verification): every file of its served descriptor set but the
/// well-known types (`google/protobuf/…`, which the runtimes ship).
fn support_request_for(version: &VersionSnapshot, parameter: &str) -> Result<Vec<u8>> {
    encode_request(version, parameter, true)
}

fn encode_request(version: &VersionSnapshot, parameter: &str, all: bool) -> Result<Vec<u8>> {
    use prost::encoding;
    let files = descriptor::split_file_descriptor_set(version.descriptor_set.clone())?;
    let mut request = Vec::with_capacity(version.descriptor_set.len() + 256);
    if all {
        for file in files
            .iter()
            .filter(|f| !f.name.starts_with("google/protobuf/"))
        {
            encoding::string::encode(1, &file.name, &mut request);
        }
    } else {
        for own in &version.files {
            encoding::string::encode(1, &own.name, &mut request);
        }
    }
    let parameter = generator_parameter(parameter, &files)?;
    if !parameter.is_empty() {
        encoding::string::encode(2, &parameter, &mut request);
    }
    for file in &files {
        encoding::bytes::encode(15, &file.bytes, &mut request);
    }
    Ok(request)
}

/// A path a generator may write: relative, `/`-separated, no `..` or empty
/// segment, no backslash, at most 1024 bytes.
fn check_output_name(name: &str) -> std::result::Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 1024
        && !name.starts_with('/')
        && !name.contains('\\')
        && !name.contains('\0')
        && name
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..");
    if ok {
        Ok(())
    } else {
        Err(format!("the generator wrote an invalid file name {name:?}"))
    }
}

/// The generator's files by name. An entry without a name continues the
/// previous file (the protoc plugin protocol); insertion points are not
/// supported.
pub fn output_files(
    response: &CodeGeneratorResponse,
) -> std::result::Result<BTreeMap<String, Vec<u8>>, String> {
    if let Some(error) = response.error.as_deref().filter(|e| !e.is_empty()) {
        return Err(error.to_owned());
    }
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut last: Option<String> = None;
    for file in &response.file {
        let content = file.content.as_deref().unwrap_or_default().as_bytes();
        if file
            .insertion_point
            .as_deref()
            .is_some_and(|p| !p.is_empty())
        {
            return Err(format!(
                "the generator wrote to insertion point {:?}, which protoreg does not support",
                file.insertion_point.as_deref().unwrap_or_default()
            ));
        }
        match file.name.as_deref().filter(|n| !n.is_empty()) {
            Some(name) => {
                check_output_name(name)?;
                if files.insert(name.to_owned(), content.to_vec()).is_some() {
                    return Err(format!("the generator wrote {name:?} twice"));
                }
                last = Some(name.to_owned());
            }
            None => match last.as_ref().and_then(|n| files.get_mut(n)) {
                Some(previous) => previous.extend_from_slice(content),
                None => return Err("the generator's first file has no name".into()),
            },
        }
    }
    Ok(files)
}

/// A gzip tar of `files` that depends only on their names and bytes:
/// entries sorted by name, mode 0644, mtime 0, uid/gid 0, no owner names,
/// gzip header without a time or file name.
pub fn archive(files: &BTreeMap<String, Vec<u8>>) -> std::io::Result<Vec<u8>> {
    let gzip = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::default());
    let mut tar = tar::Builder::new(gzip);
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        tar.append_data(&mut header, name, data.as_slice())?;
    }
    let mut gzip = tar.into_inner()?;
    gzip.flush()?;
    gzip.finish()
}

/// Runs the generator on one version and archives its output; also
/// returns the files, by path.
pub(crate) async fn generate(
    host: &PluginHost,
    version: &VersionSnapshot,
    target: &JobTarget,
) -> std::result::Result<(Generated, BTreeMap<String, Vec<u8>>), GenerateError> {
    let generator = host.generator(&target.plugin).ok_or_else(|| {
        RegistryError::NotFound(format!(
            "no code generator named {:?} is loaded",
            target.plugin
        ))
    })?;
    let request = request_for(version, &target.parameter)?;
    let response = tokio::task::spawn_blocking(move || generator.generate(request))
        .await
        .map_err(|e| RegistryError::internal("generator thread", e))??;
    let files = output_files(&response).map_err(GenerateError::Rejected)?;
    let (archive, files) = tokio::task::spawn_blocking(move || archive(&files).map(|a| (a, files)))
        .await
        .map_err(|e| RegistryError::internal("archive thread", e))?
        .map_err(|e| RegistryError::internal("writing the archive", e))?;
    let sha256 = sha256_hex(&archive);
    Ok((
        Generated {
            archive,
            sha256,
            job_id: None,
        },
        files,
    ))
}

/// Whether a job pushes to its targets' `push` repositories: jobs queued by
/// a promote do; on-demand generation (a download) does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Push {
    Targets,
    Never,
}

/// Runs a claimed job to its end and records the outcome (one
/// transaction, with its `codegen.finished` event and a `codegen.pushed`
/// event per commit pushed). With [`Push::Targets`], the files go to the
/// `push` repository of every target of the namespace's settings that
/// names this job's generator and parameter, before the outcome is
/// recorded; a push that fails fails the job.
pub(crate) async fn run_job(
    shared: &Shared,
    record: JobRecord,
    push: Push,
) -> std::result::Result<(JobRow, Option<Generated>), GenerateError> {
    let job = record.job;
    let target = JobTarget {
        plugin: job.plugin.clone(),
        parameter: job.parameter.clone(),
    };
    let verify_asked = targets_matching(shared, &job, &target)
        .iter()
        .any(|t| t.verify);
    let outcome = match version_of_job(shared, &job).await {
        Ok(version) => match generate(&shared.plugins, &version, &target).await {
            Ok((generated, files)) => {
                let verification = match verify_asked {
                    true => Some(verify_files(shared, &version, &target, &files).await),
                    false => None,
                };
                Ok((generated, files, verification))
            }
            Err(err) => Err(err),
        },
        Err(err) => Err(err.into()),
    };
    let mut pushed = Vec::new();
    let mut verified = None;
    let (result, generated) = match outcome {
        Ok((_, files, Some(Verification::Failed(output)))) => {
            verified = Some(false);
            tracing::warn!(job = job.id, plugin = %target.plugin, "generated code failed verification");
            let log = format!(
                "generated {} file(s) with {}\nverification failed; nothing stored or pushed: {output}",
                files.len(),
                target.plugin,
            );
            (Err(GenerateError::Verify(log)), None)
        }
        Ok((generated, files, verification)) => {
            let mut lines = vec![format!(
                "generated {} file(s) with {} ({} bytes archived)",
                files.len(),
                target.plugin,
                generated.archive.len()
            )];
            match verification {
                Some(Verification::Verified(what)) => {
                    verified = Some(true);
                    lines.push(format!("verified: {what}"));
                }
                Some(Verification::NotVerified(why)) => {
                    verified = Some(false);
                    tracing::warn!(job = job.id, plugin = %target.plugin, %why, "generated code not verified");
                    lines.push(format!("not verified: {why}"));
                }
                Some(Verification::Failed(_)) | None => {}
            }
            let targets = match push {
                Push::Targets => push_targets(shared, &job, &target),
                Push::Never => Vec::new(),
            };
            let message = format!(
                "protoreg: {}/{} v{} ({})",
                job.namespace, job.schema, record.version, job.plugin
            );
            let mut failed = None;
            for push_target in &targets {
                let names = (job.namespace.as_str(), job.schema.as_str());
                match push::push(
                    &shared.git,
                    push_target,
                    names,
                    &files,
                    &message,
                    &mut lines,
                )
                .await
                {
                    Ok(push::PushOutcome::Pushed { commit }) => pushed.push(serde_json::json!({
                        "url": push_target.url, "branch": push_target.branch,
                        "path": push_target.path, "commit": commit,
                    })),
                    Ok(push::PushOutcome::Unchanged { .. }) => {}
                    Err(err) => {
                        tracing::warn!(job = job.id, url = %push_target.url, %err, "pushing generated code failed");
                        failed = Some(err);
                        break;
                    }
                }
            }
            match failed {
                None => (Ok(lines.join("\n")), Some(generated)),
                Some(err) => {
                    lines.push(err);
                    (Err(GenerateError::Push(lines.join("\n"))), None)
                }
            }
        }
        Err(err) => (Err(err), None),
    };
    let log = match &result {
        Ok(log) => log.clone(),
        Err(GenerateError::Registry(RegistryError::Internal(m))) => {
            tracing::error!(job = job.id, message = %m, "code generation job failed");
            "internal error; see the server log".to_owned()
        }
        Err(err) => err.to_string(),
    };
    let job_result = match &generated {
        Some(g) => JobResult::Succeeded {
            archive: BlobRef {
                sha256: &g.sha256,
                data: &g.archive,
            },
            log: &log,
            verified,
        },
        None => JobResult::Failed {
            log: &log,
            verified,
        },
    };
    let row = retry_finish(job.id, || {
        shared
            .store
            .finish_job(&job, record.version, job_result, &pushed)
    })
    .await?;
    tracing::info!(job = row.id, namespace = %row.namespace, schema = %row.schema,
        version = record.version, plugin = %row.plugin, status = %row.status, "code generation job finished");
    match result {
        Ok(_) => Ok((
            row.clone(),
            generated.map(|g| Generated {
                job_id: Some(row.id),
                ..g
            }),
        )),
        Err(err) => Err(err),
    }
}

/// The `push` destinations of the namespace's targets that generate what
/// `target` does (same generator, same parameter with managed options),
/// without repeats.
fn push_targets(shared: &Shared, job: &JobRow, target: &JobTarget) -> Vec<PushTarget> {
    let mut out: Vec<PushTarget> = Vec::new();
    for entry in targets_matching(shared, job, target) {
        if let Some(push) = entry.push
            && !out.contains(&push)
        {
            out.push(push);
        }
    }
    out
}

/// The namespace's `settings.codegen` targets that generate what `target`
/// does (same generator, same parameter with managed options).
fn targets_matching(shared: &Shared, job: &JobRow, target: &JobTarget) -> Vec<CodegenTarget> {
    let Some(entry) = shared.entry(&job.namespace) else {
        return Vec::new();
    };
    let settings = entry.view.load().info.settings.clone();
    let Ok(settings) = NamespaceSettings::from_json(&settings) else {
        return Vec::new();
    };
    settings
        .codegen
        .into_iter()
        .flatten()
        .filter(|entry| {
            entry.plugin == target.plugin
                && with_managed_options(&entry.parameter, entry.go_package_prefix.as_deref())
                    == target.parameter
        })
        .collect()
}

/// Checks a job's files with the toolchain of its generator
/// ([`crate::verify`]), with the files they import generated beside them.
async fn verify_files(
    shared: &Shared,
    version: &VersionSnapshot,
    target: &JobTarget,
    files: &BTreeMap<String, Vec<u8>>,
) -> Verification {
    let Some(toolchain) = Toolchain::of(&target.plugin) else {
        return Verification::NotVerified(format!(
            "no toolchain checks the output of {:?} (verify knows python, go and go-grpc)",
            target.plugin
        ));
    };
    let (support_name, support_parameter) =
        verify::support_generator(&target.plugin, &target.parameter);
    let own: Vec<&str> = version.files.iter().map(|f| f.name.as_str()).collect();
    let imports_others = match descriptor::split_file_descriptor_set(version.descriptor_set.clone())
    {
        Ok(set) => set
            .iter()
            .any(|f| !f.name.starts_with("google/protobuf/") && !own.contains(&f.name.as_str())),
        Err(err) => return Verification::NotVerified(format!("reading the descriptor set: {err}")),
    };
    let mut support = BTreeMap::new();
    if imports_others || support_name != target.plugin {
        let Some(generator) = shared.plugins.generator(support_name) else {
            return Verification::NotVerified(format!(
                "the {support_name:?} generator, whose files those of {:?} import, is not loaded",
                target.plugin
            ));
        };
        let request = match support_request_for(version, &support_parameter) {
            Ok(request) => request,
            Err(err) => return Verification::NotVerified(err.to_string()),
        };
        let generated = tokio::task::spawn_blocking(move || generator.generate(request)).await;
        support = match generated {
            Ok(Ok(response)) => match output_files(&response) {
                Ok(files) => files,
                Err(err) => {
                    return Verification::Failed(format!(
                        "{support_name} did not generate what the files import: {err}"
                    ));
                }
            },
            Ok(Err(err)) => {
                return Verification::Failed(format!(
                    "{support_name} did not generate what the files import: {err}"
                ));
            }
            Err(err) => return Verification::NotVerified(format!("generator thread: {err}")),
        };
    }
    verify::verify(
        &shared.verify,
        toolchain,
        &target.parameter,
        files,
        &support,
    )
    .await
}

/// Attempts to record a job's end ([`retry_finish`]).
const FINISH_ATTEMPTS: u32 = 6;
/// The wait after the first failed attempt; doubled after each.
const FINISH_FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// Records a job's end with `finish` (idempotent, `Store::finish_job`),
/// retried with backoff (at most [`FINISH_ATTEMPTS`] times, about 3 s in
/// all) so that a passing store error does not leave the job `running`
/// until the next start; each failure is logged at warn.
async fn retry_finish<T, F, Fut>(job: i64, mut finish: F) -> std::result::Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, StoreError>>,
{
    let mut backoff = FINISH_FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        match finish().await {
            Ok(row) => return Ok(row),
            Err(err) if attempt < FINISH_ATTEMPTS => {
                tracing::warn!(job, attempt, %err, retry_in_ms = backoff.as_millis() as u64,
                    "recording a code generation job's end failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff *= 2;
                attempt += 1;
            }
            Err(err) => {
                tracing::warn!(job, attempt, %err,
                    "recording a code generation job's end failed; it stays running until the next start");
                return Err(err);
            }
        }
    }
}

/// The version a job generates for: from the namespace's view when it is
/// current or staged there, else from the store.
async fn version_of_job(shared: &Shared, job: &JobRow) -> Result<Arc<VersionSnapshot>> {
    let version_id = job
        .version_id
        .ok_or_else(|| RegistryError::Internal(format!("job {} has no version", job.id)))?;
    if let Some(entry) = shared.entry(&job.namespace) {
        let view = entry.view.load();
        if let Some(found) = view
            .schemas
            .values()
            .flat_map(|e| [&e.current, &e.staged])
            .flatten()
            .find(|v| v.version_id == version_id)
        {
            return Ok(found.clone());
        }
    }
    let rows = shared.store.versions_by_ids(&[version_id]).await?;
    let row = rows
        .into_iter()
        .next()
        .ok_or_else(|| RegistryError::NotFound(format!("version row {} not found", version_id)))?;
    let names = std::collections::HashMap::from([(row.schema_id, SchemaId::parse(&job.schema)?)]);
    crate::load::load_snapshots(&shared.store, &names, vec![row])
        .await?
        .remove(&version_id)
        .ok_or_else(|| RegistryError::Internal(format!("version {} did not load", version_id)))
}

/// Starts the worker on the current runtime: queues again the jobs a
/// stopped process left `running`, then runs queued jobs whenever woken.
/// Stops when the registry is gone.
pub(crate) fn start_worker(shared: &Arc<Shared>) {
    let weak: Weak<Shared> = Arc::downgrade(shared);
    let wake = shared.codegen_wake.clone();
    actix::spawn(async move {
        if let Some(shared) = weak.upgrade() {
            match shared.store.requeue_running_jobs().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(jobs = n, "queued again jobs left running"),
                Err(err) => tracing::error!(%err, "cannot queue again jobs left running"),
            }
        }
        loop {
            let Some(shared) = weak.upgrade() else {
                return;
            };
            run_queued(&shared).await;
            drop(shared);
            let _ = tokio::time::timeout(POLL_INTERVAL, wake.notified()).await;
        }
    });
}

/// Runs queued jobs (and jobs a dead replica left running, once their
/// lease expired) until none is left.
async fn run_queued(shared: &Shared) {
    loop {
        let record = match shared.store.claim_next_job().await {
            Ok(Some(record)) => record,
            Ok(None) => return,
            Err(err) => {
                tracing::error!(%err, "cannot claim a job");
                return;
            }
        };
        let id = record.job.id;
        // The outcome is recorded in the job; only a store failure to
        // record it is worth a log line here.
        if let Err(GenerateError::Registry(err)) = run_job(shared, record, Push::Targets).await
            && !matches!(err, RegistryError::NotFound(_))
        {
            tracing::debug!(%err, job = id, "job ended with an error");
        }
    }
}

pub mod push;

#[cfg(test)]
mod tests;
