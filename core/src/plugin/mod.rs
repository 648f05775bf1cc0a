//! The plugin host: loads `cdylib` plugins (and `protoc-gen-*` executables)
//! and calls them with a time limit, an output limit and errors confined to
//! the call.
//!
//! A call runs on a thread of its own. When it overruns its time limit the
//! host stops waiting, returns a timeout, and marks the plugin unhealthy:
//! further calls are refused at once until the overdue call comes back.
//! Libraries are never unloaded (an abandoned call may still be running).

mod abi;
mod protoc;
mod rules;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use prost::Message;
use protoreg_plugin_sdk::abi::{
    PROTOREG_CALL_COMPAT, PROTOREG_CALL_CONFIGURE, PROTOREG_CALL_EVENT, PROTOREG_CALL_GENERATE,
};
use protoreg_plugin_sdk::{
    CodeGeneratorResponse, ConfigureRequest, ConfigureResponse, DeliveryOutcome, Event, EventAck,
    PluginKind, PluginManifest,
};
use serde::{Deserialize, Serialize};

pub use protoc::ProtocGenerator;
pub use rules::{json_to_struct, register_plugin_rules};

use abi::{Library, Reply};

/// `[plugins]` of the server configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PluginConfig {
    /// Plugin libraries, or directories whose shared libraries are loaded.
    /// Empty: the directory of the running executable, where `cargo build`
    /// puts the workspace's plugins (`libprotoreg_plugin_*`).
    pub paths: Vec<PathBuf>,
    /// How long one call may run before it is abandoned.
    pub call_timeout_ms: u64,
    /// The largest response a call may return.
    pub max_output_bytes: usize,
    /// Settings handed to each plugin once after loading, by plugin name.
    pub settings: BTreeMap<String, serde_json::Value>,
    /// `protoc-gen-*` executables usable as code generators.
    pub protoc: Vec<ProtocGenerator>,
}

impl Default for PluginConfig {
    fn default() -> Self {
        PluginConfig {
            paths: Vec::new(),
            call_timeout_ms: 30_000,
            max_output_bytes: 64 * 1024 * 1024,
            settings: BTreeMap::new(),
            protoc: Vec::new(),
        }
    }
}

impl PluginConfig {
    fn call_timeout(&self) -> Duration {
        Duration::from_millis(self.call_timeout_ms)
    }
}

/// Told about every plugin call (the server counts them in metrics).
pub trait PluginObserver: Send + Sync {
    /// `kind`: `configure`, `compat`, `generate` or `event`; `result`: `ok`,
    /// `error`, `invalid`, `timeout` or `unhealthy`.
    fn observe(&self, plugin: &str, kind: &str, result: &str, elapsed: Duration);
}

/// Why a call gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginCallError {
    /// The plugin said the call failed.
    #[error("plugin {plugin}: {message}")]
    Failed { plugin: String, message: String },
    /// The plugin's answer broke the protocol (garbage bytes, too large).
    #[error("plugin {plugin} returned an invalid response: {message}")]
    Invalid { plugin: String, message: String },
    #[error("plugin {plugin} did not answer within {timeout_ms} ms; it is marked unhealthy")]
    Timeout { plugin: String, timeout_ms: u64 },
    #[error("plugin {plugin} is unhealthy: an earlier call has not returned")]
    Unhealthy { plugin: String },
    /// The server could not start the call (no thread for it): nothing is
    /// wrong with the request or the plugin; retry later.
    #[error("plugin {plugin} could not be called: {message}")]
    CannotStart { plugin: String, message: String },
}

impl PluginCallError {
    fn label(&self) -> &'static str {
        match self {
            PluginCallError::Failed { .. } => "error",
            PluginCallError::Invalid { .. } => "invalid",
            PluginCallError::Timeout { .. } => "timeout",
            PluginCallError::Unhealthy { .. } => "unhealthy",
            PluginCallError::CannotStart { .. } => "cannot_start",
        }
    }

    /// The error of a call whose thread did not start.
    fn cannot_start(plugin: String, err: &std::io::Error) -> Self {
        PluginCallError::CannotStart {
            plugin,
            message: format!("cannot start a call thread: {err}"),
        }
    }
}

/// A loaded plugin library.
pub struct LoadedPlugin {
    pub manifest: PluginManifest,
    pub path: PathBuf,
    library: Library,
    /// Calls that overran their limit and have not returned yet.
    overdue: Arc<AtomicUsize>,
    timeout: Duration,
    max_output: usize,
    observer: Arc<dyn PluginObserver>,
    /// Sinks the plugin said at configure it has nothing to do for
    /// (`ConfigureResponse.disabled_sinks`): name and reason. Not started.
    pub disabled_sinks: Vec<(String, String)>,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.manifest.name)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The state of one call, shared by the caller and the call's thread.
#[derive(Default)]
struct CallState {
    done: bool,
    abandoned: bool,
}

impl LoadedPlugin {
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// The API names of its kinds (`compat_rule`, `codegen`, `event_sink`).
    pub fn kinds(&self) -> Vec<&'static str> {
        self.manifest
            .kinds
            .iter()
            .filter_map(|k| PluginKind::try_from(*k).ok())
            .map(PluginKind::api_name)
            .collect()
    }

    pub fn healthy(&self) -> bool {
        self.overdue.load(Ordering::Acquire) == 0
    }

    /// One call, bounded in time and output. Blocks the calling thread (at
    /// most the time limit): call it from a blocking context.
    pub fn call(
        &self,
        kind: u32,
        target: &str,
        request: Vec<u8>,
    ) -> Result<Vec<u8>, PluginCallError> {
        let label = kind_label(kind);
        let started = Instant::now();
        let result = self.call_unobserved(kind, target, request);
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.label(),
        };
        self.observer
            .observe(self.name(), label, outcome, started.elapsed());
        result
    }

    fn call_unobserved(
        &self,
        kind: u32,
        target: &str,
        request: Vec<u8>,
    ) -> Result<Vec<u8>, PluginCallError> {
        let plugin = self.name().to_string();
        if !self.healthy() {
            return Err(PluginCallError::Unhealthy { plugin });
        }
        let state = Arc::new(Mutex::new(CallState::default()));
        let (sender, receiver) = mpsc::sync_channel(1);
        let library = self.library;
        let target = target.to_string();
        let max_output = self.max_output;
        let thread_state = state.clone();
        let overdue = self.overdue.clone();
        let thread_plugin = plugin.clone();
        let builder = std::thread::Builder::new().name(format!("plugin-{plugin}"));
        // Tests make the spawn fail for real: no stack that large exists.
        #[cfg(test)]
        let builder = if tests::FAIL_CALL_THREADS.get() {
            builder.stack_size(usize::MAX)
        } else {
            builder
        };
        let spawned = builder.spawn(move || {
            let reply = library.call(kind, &target, &request, max_output);
            let mut state = thread_state.lock().unwrap_or_else(|p| p.into_inner());
            state.done = true;
            if state.abandoned {
                overdue.fetch_sub(1, Ordering::AcqRel);
                tracing::warn!(plugin = %thread_plugin, "an overdue plugin call returned");
            } else {
                let _ = sender.send(reply);
            }
        });
        if let Err(e) = spawned {
            return Err(PluginCallError::cannot_start(plugin, &e));
        }
        let reply = match receiver.recv_timeout(self.timeout) {
            Ok(reply) => reply,
            Err(_) => {
                let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
                if state.done {
                    // It finished between the timeout and the lock.
                    receiver.try_recv().map_err(|_| PluginCallError::Invalid {
                        plugin: plugin.clone(),
                        message: "the call thread ended without a reply".into(),
                    })?
                } else {
                    state.abandoned = true;
                    self.overdue.fetch_add(1, Ordering::AcqRel);
                    tracing::error!(plugin = %plugin, timeout_ms = self.timeout.as_millis() as u64,
                        "plugin call overran its time limit; plugin marked unhealthy");
                    return Err(PluginCallError::Timeout {
                        plugin,
                        timeout_ms: self.timeout.as_millis() as u64,
                    });
                }
            }
        };
        match reply {
            Ok(Reply::Ok(bytes)) => Ok(bytes),
            Ok(Reply::Error(message)) => Err(PluginCallError::Failed { plugin, message }),
            Err(message) => Err(PluginCallError::Invalid { plugin, message }),
        }
    }

    /// Decodes a call's response as `M`; garbage is an invalid response.
    pub fn call_decoded<M: Message + Default>(
        &self,
        kind: u32,
        target: &str,
        request: Vec<u8>,
    ) -> Result<M, PluginCallError> {
        let bytes = self.call(kind, target, request)?;
        M::decode(bytes.as_slice()).map_err(|e| PluginCallError::Invalid {
            plugin: self.name().to_string(),
            message: format!("cannot decode the response: {e}"),
        })
    }
}

fn kind_label(kind: u32) -> &'static str {
    match kind {
        PROTOREG_CALL_CONFIGURE => "configure",
        PROTOREG_CALL_COMPAT => "compat",
        PROTOREG_CALL_GENERATE => "generate",
        PROTOREG_CALL_EVENT => "event",
        _ => "unknown",
    }
}

/// Something that can generate code: a generator of a loaded plugin, or a
/// `protoc-gen-*` executable.
#[derive(Debug, Clone)]
pub enum Generator {
    Plugin {
        plugin: Arc<LoadedPlugin>,
        name: String,
    },
    Protoc(ProtocGenerator),
}

impl Generator {
    /// Runs the generator on an encoded `CodeGeneratorRequest`.
    pub fn generate(&self, request: Vec<u8>) -> Result<CodeGeneratorResponse, PluginCallError> {
        match self {
            Generator::Plugin { plugin, name } => {
                plugin.call_decoded(PROTOREG_CALL_GENERATE, name, request)
            }
            Generator::Protoc(exe) => exe.generate(request),
        }
    }
}

/// An event sink of a loaded plugin.
#[derive(Debug, Clone)]
pub struct Sink {
    pub plugin: Arc<LoadedPlugin>,
    pub name: String,
}

impl Sink {
    /// Delivers one event; `Err` means "deliver again later". A sink that
    /// answers "failed for good" is told to skip the event (logged).
    pub fn deliver(&self, event: &Event) -> Result<(), PluginCallError> {
        let ack = self.deliver_with_ack(event)?;
        match DeliveryOutcome::try_from(ack.outcome).unwrap_or(DeliveryOutcome::Unspecified) {
            DeliveryOutcome::Retry => Err(PluginCallError::Failed {
                plugin: self.plugin.name().to_string(),
                message: format!("asked to retry: {}", ack.error),
            }),
            DeliveryOutcome::Failed => {
                tracing::warn!(sink = %self.key(), event = event.id, error = %ack.error,
                    "the sink failed the event for good; skipped");
                Ok(())
            }
            DeliveryOutcome::Unspecified | DeliveryOutcome::Delivered => Ok(()),
        }
    }

    /// Delivers one event and returns the sink's whole answer (delivered,
    /// retry or failed, with status code, error and retry-after).
    pub fn deliver_with_ack(&self, event: &Event) -> Result<EventAck, PluginCallError> {
        let mut event = event.clone();
        event.sink = self.name.clone();
        self.plugin
            .call_decoded::<EventAck>(PROTOREG_CALL_EVENT, &self.name, event.encode_to_vec())
    }

    /// Whether it delivers to destinations (webhook subscriptions).
    pub fn destinations(&self) -> bool {
        self.plugin
            .manifest
            .sinks
            .iter()
            .any(|s| s.name == self.name && s.destinations)
    }

    /// `plugin/sink`, unique per server: the sink's delivery cursor key.
    pub fn key(&self) -> String {
        format!("{}/{}", self.plugin.name(), self.name)
    }
}

/// Every loaded plugin, plus the `protoc-gen-*` generators.
#[derive(Default)]
pub struct PluginHost {
    plugins: Vec<Arc<LoadedPlugin>>,
    protoc: Vec<ProtocGenerator>,
    /// Libraries that failed their checks, with the reason.
    refused: Vec<(PathBuf, String)>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("plugins", &self.plugins)
            .field("protoc", &self.protoc)
            .finish()
    }
}

/// Observes nothing.
#[derive(Debug)]
pub struct NoObserver;

impl PluginObserver for NoObserver {
    fn observe(&self, _: &str, _: &str, _: &str, _: Duration) {}
}

impl PluginHost {
    /// Loads every configured plugin. A library that fails a check is
    /// refused with one log line; the others still load.
    pub fn load(config: &PluginConfig, observer: Arc<dyn PluginObserver>) -> Self {
        let protoc = config
            .protoc
            .iter()
            .map(|p| ProtocGenerator {
                timeout: config.call_timeout(),
                max_output: config.max_output_bytes,
                ..p.clone()
            })
            .collect();
        let mut host = PluginHost {
            protoc,
            ..PluginHost::default()
        };
        for path in candidate_libraries(config) {
            match host.open(&path, config, observer.clone()) {
                Ok(plugin) => {
                    tracing::info!(plugin = %plugin.name(), version = %plugin.manifest.version,
                        path = %path.display(), kinds = ?plugin.kinds(), "plugin loaded");
                    host.plugins.push(Arc::new(plugin));
                }
                Err(reason) => {
                    tracing::error!(path = %path.display(), %reason, "plugin refused");
                    host.refused.push((path, reason));
                }
            }
        }
        host
    }

    fn open(
        &self,
        path: &Path,
        config: &PluginConfig,
        observer: Arc<dyn PluginObserver>,
    ) -> Result<LoadedPlugin, String> {
        let library = Library::open(path)?;
        let manifest = match library.manifest()? {
            Reply::Ok(bytes) => PluginManifest::decode(bytes.as_slice())
                .map_err(|e| format!("invalid manifest: {e}"))?,
            Reply::Error(message) => return Err(format!("manifest failed: {message}")),
        };
        self.check_manifest(&manifest)?;
        let mut plugin = LoadedPlugin {
            manifest,
            path: path.to_path_buf(),
            library,
            overdue: Arc::new(AtomicUsize::new(0)),
            timeout: config.call_timeout(),
            max_output: config.max_output_bytes,
            observer,
            disabled_sinks: Vec::new(),
        };
        let settings = config
            .settings
            .get(plugin.name())
            .cloned()
            .unwrap_or(serde_json::Value::Object(Default::default()));
        let request = ConfigureRequest {
            settings: Some(json_to_struct(&settings)?),
        };
        let response = plugin
            .call(PROTOREG_CALL_CONFIGURE, "", request.encode_to_vec())
            .map_err(|e| format!("configure failed: {e}"))?;
        // Plugins older than `disabled_sinks` answer an empty message.
        let response = ConfigureResponse::decode(response.as_slice())
            .map_err(|e| format!("configure answered garbage: {e}"))?;
        for disabled in response.disabled_sinks {
            if plugin
                .manifest
                .sinks
                .iter()
                .any(|s| s.name == disabled.name)
            {
                tracing::info!(plugin = %plugin.name(), sink = %disabled.name, reason = %disabled.reason,
                    "event sink disabled by its configuration; not started");
                plugin.disabled_sinks.push((disabled.name, disabled.reason));
            }
        }
        Ok(plugin)
    }

    fn check_manifest(&self, manifest: &PluginManifest) -> Result<(), String> {
        let name_ok = !manifest.name.is_empty()
            && manifest
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
            && manifest.name.as_bytes()[0].is_ascii_alphanumeric();
        if !name_ok {
            return Err(format!(
                "invalid plugin name {:?} (lowercase letters, digits, '-', '_', '.')",
                manifest.name
            ));
        }
        if self.plugins.iter().any(|p| p.name() == manifest.name) {
            return Err(format!(
                "a plugin named {} is already loaded",
                manifest.name
            ));
        }
        let mut generators: BTreeSet<&str> = self.generator_names().into_iter().collect();
        for generator in &manifest.generators {
            if !generators.insert(&generator.name) {
                return Err(format!(
                    "generator {:?} is already provided",
                    generator.name
                ));
            }
        }
        for rule in &manifest.rules {
            let id_ok = rule
                .id
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_uppercase())
                && rule
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if !id_ok {
                return Err(format!("invalid rule id {:?}", rule.id));
            }
        }
        Ok(())
    }

    pub fn plugins(&self) -> &[Arc<LoadedPlugin>] {
        &self.plugins
    }

    /// Libraries that were refused at load, with the reason.
    pub fn refused(&self) -> &[(PathBuf, String)] {
        &self.refused
    }

    pub fn protoc_generators(&self) -> &[ProtocGenerator] {
        &self.protoc
    }

    fn generator_names(&self) -> Vec<&str> {
        self.plugins
            .iter()
            .flat_map(|p| p.manifest.generators.iter().map(|g| g.name.as_str()))
            .chain(self.protoc.iter().map(|p| p.name.as_str()))
            .collect()
    }

    /// The generator called `name`, from a plugin or a protoc executable.
    pub fn generator(&self, name: &str) -> Option<Generator> {
        for plugin in &self.plugins {
            if plugin.manifest.generators.iter().any(|g| g.name == name) {
                return Some(Generator::Plugin {
                    plugin: plugin.clone(),
                    name: name.to_string(),
                });
            }
        }
        self.protoc
            .iter()
            .find(|p| p.name == name)
            .cloned()
            .map(Generator::Protoc)
    }

    /// Every event sink of every plugin that receives the event stream:
    /// not those disabled at configure, not the destination sinks
    /// ([`PluginHost::destination_sink`]).
    pub fn sinks(&self) -> Vec<Sink> {
        self.plugins
            .iter()
            .flat_map(|plugin| {
                plugin
                    .manifest
                    .sinks
                    .iter()
                    .filter(|s| {
                        !s.destinations && !plugin.disabled_sinks.iter().any(|(n, _)| *n == s.name)
                    })
                    .map(|s| Sink {
                        plugin: plugin.clone(),
                        name: s.name.clone(),
                    })
            })
            .collect()
    }

    /// The destination sink `plugin/sink` (webhook deliveries), if loaded,
    /// enabled and declaring `destinations`.
    pub fn destination_sink(&self, key: &str) -> Option<Sink> {
        let (plugin_name, sink_name) = key.split_once('/')?;
        let plugin = self.plugins.iter().find(|p| p.name() == plugin_name)?;
        let declared = plugin
            .manifest
            .sinks
            .iter()
            .any(|s| s.name == sink_name && s.destinations);
        let disabled = plugin.disabled_sinks.iter().any(|(n, _)| n == sink_name);
        (declared && !disabled).then(|| Sink {
            plugin: plugin.clone(),
            name: sink_name.to_string(),
        })
    }
}

/// The files to try: configured files as they are, configured directories'
/// shared libraries, and with no configuration the executable's directory's
/// `libprotoreg_plugin_*` libraries.
fn candidate_libraries(config: &PluginConfig) -> Vec<PathBuf> {
    let suffix = std::env::consts::DLL_SUFFIX;
    let in_dir = |dir: &Path, prefix: &str| -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(prefix) && n.ends_with(suffix))
            })
            .collect();
        found.sort();
        found
    };
    if config.paths.is_empty() {
        let exe_dir = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf));
        let prefix = format!("{}protoreg_plugin_", std::env::consts::DLL_PREFIX);
        return exe_dir.map(|d| in_dir(&d, &prefix)).unwrap_or_default();
    }
    config
        .paths
        .iter()
        .flat_map(|path| {
            if path.is_dir() {
                in_dir(path, "")
            } else {
                vec![path.clone()]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
