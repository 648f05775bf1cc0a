//! The state the registry handle, the namespace actors and the background
//! tasks share: the live namespaces (each a view and its actor's address),
//! the store, the hooks and the limits. It imports none of its users: the
//! actor's behaviour (messages, handlers) lives in `actor`, the mutations
//! in `ops`, and what a mutation needs done afterwards comes back to the
//! actor as an `ops::Effects` value.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use actix::prelude::*;
use arc_swap::ArcSwap;

use crate::checkpoint::{CheckpointSource, Checkpoints};
use crate::compat::{BufRules, CompatCheck};
use crate::descriptor::RawFile;
use crate::git::GitConfig;
use crate::ids::{self, NamespaceId};
use crate::limits::Limits;
use crate::plugin::PluginHost;
use crate::snapshot::NamespaceView;
use crate::store::{Store, StoreConfig};
use crate::verify::VerifyConfig;

/// How to open a registry.
#[derive(Clone)]
pub struct RegistryConfig {
    pub store: StoreConfig,
    pub limits: Limits,
    pub compat: Arc<dyn CompatCheck>,
    /// Loaded plugins (code generators and event sinks are looked up here;
    /// their rules belong in `compat`, see [`BufRules::with_plugins`]).
    pub plugins: Arc<PluginHost>,
    /// How often namespaces that changed get their restore checkpoint
    /// rewritten in the background (see `checkpoint`); `None`: only at
    /// `Registry::write_checkpoints`.
    pub checkpoint_interval: Option<Duration>,
    /// PostgreSQL: how often the replica listener compares every
    /// namespace's stored revision with its view, as the fallback of the
    /// change notifications (see `registry::sync`).
    pub replica_sync: Duration,
    /// How `git` runs (credentials, time limit, cache directory) for
    /// pushing generated code (`settings.codegen[].push`).
    pub git: Arc<GitConfig>,
    /// The toolchains that check generated code
    /// (`settings.codegen[].verify`).
    pub verify: Arc<VerifyConfig>,
}

impl RegistryConfig {
    pub fn new(store: StoreConfig) -> Self {
        Self {
            store,
            limits: Limits::default(),
            compat: Arc::new(BufRules::default()),
            plugins: Arc::new(PluginHost::default()),
            checkpoint_interval: Some(Duration::from_secs(2)),
            replica_sync: Duration::from_millis(100),
            git: Arc::new(GitConfig::default()),
            verify: Arc::new(VerifyConfig::default()),
        }
    }
}

/// The one writer of a namespace (invariant 2 of docs/ARCHITECTURE.md): its state. What
/// it does (`Actor`, the messages and their handlers) is in `actor`.
pub struct NamespaceActor {
    pub(crate) shared: Arc<Shared>,
    /// Weak, so that a deleted namespace's actor stops once its entry is
    /// gone from the registry (the entry holds the actor's address).
    pub(crate) entry: Weak<NamespaceEntry>,
}

/// One live namespace: its view and the actor that changes it.
pub struct NamespaceEntry {
    pub view: ArcSwap<NamespaceView>,
    actor: OnceLock<Addr<NamespaceActor>>,
}

impl NamespaceEntry {
    /// The namespace's actor, once started.
    pub(crate) fn actor(&self) -> Option<&Addr<NamespaceActor>> {
        self.actor.get()
    }
}

impl std::fmt::Debug for NamespaceEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamespaceEntry")
            .field("namespace", &self.view.load().info.name)
            .finish()
    }
}

/// State shared by the registry handle and every actor.
pub struct Shared {
    pub store: Store,
    pub compat: Arc<dyn CompatCheck>,
    pub plugins: Arc<PluginHost>,
    /// See [`RegistryConfig::git`].
    pub(crate) git: Arc<GitConfig>,
    /// See [`RegistryConfig::verify`].
    pub(crate) verify: Arc<VerifyConfig>,
    /// Wakes the code generation worker (after a promote queued jobs).
    pub(crate) codegen_wake: Arc<tokio::sync::Notify>,
    /// Set once the worker runs (a second `restore` starts no second one).
    pub(crate) codegen_started: AtomicBool,
    /// Set once the checkpoint writer runs.
    pub(crate) checkpoints_started: AtomicBool,
    /// Set once the replica listener and the lease renewal run.
    pub(crate) replicas_started: AtomicBool,
    /// See [`RegistryConfig::replica_sync`].
    pub(crate) replica_sync: Duration,
    /// Which restore checkpoints are stored, and their background writer.
    pub(crate) checkpoints: Checkpoints,
    limits: ArcSwap<Limits>,
    namespaces: ArcSwap<HashMap<NamespaceId, Arc<NamespaceEntry>>>,
    arbiter: ArbiterHandle,
    this: Weak<Shared>,
}

impl Shared {
    /// The shared state of a registry whose actors run on `arbiter`.
    pub(crate) fn new(config: RegistryConfig, store: Store, arbiter: ArbiterHandle) -> Arc<Self> {
        Arc::new_cyclic(|this| Shared {
            store,
            compat: config.compat,
            plugins: config.plugins,
            git: config.git,
            verify: config.verify,
            codegen_wake: Arc::new(tokio::sync::Notify::new()),
            codegen_started: AtomicBool::new(false),
            checkpoints_started: AtomicBool::new(false),
            replicas_started: AtomicBool::new(false),
            replica_sync: config.replica_sync.max(Duration::from_millis(10)),
            checkpoints: Checkpoints::new(config.checkpoint_interval),
            limits: ArcSwap::from_pointee(config.limits),
            namespaces: ArcSwap::from_pointee(HashMap::new()),
            arbiter,
            this: this.clone(),
        })
    }

    pub fn limits(&self) -> Arc<Limits> {
        self.limits.load_full()
    }

    pub(crate) fn set_limits(&self, limits: Limits) {
        self.limits.store(Arc::new(limits));
    }

    pub fn entry(&self, name: &str) -> Option<Arc<NamespaceEntry>> {
        self.namespaces.load().get(name).cloned()
    }

    pub fn entries(&self) -> Vec<(NamespaceId, Arc<NamespaceEntry>)> {
        self.namespaces
            .load()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Every live namespace's current view, in no particular order.
    pub fn views(&self) -> Vec<Arc<NamespaceView>> {
        self.entries()
            .into_iter()
            .map(|(_, e)| e.view.load_full())
            .collect()
    }

    /// Adds (or replaces) a namespace and starts its actor.
    pub(crate) fn insert_entry(&self, view: NamespaceView) -> Arc<NamespaceEntry> {
        let name = view.info.name.clone();
        let entry = Arc::new(NamespaceEntry {
            view: ArcSwap::from_pointee(view),
            actor: OnceLock::new(),
        });
        let shared = self
            .this
            .upgrade()
            .expect("shared state outlives its actors");
        let weak = Arc::downgrade(&entry);
        let addr = NamespaceActor::start_in_arbiter(&self.arbiter, move |_| NamespaceActor {
            shared,
            entry: weak,
        });
        let _ = entry.actor.set(addr);
        self.namespaces.rcu(|map| {
            let mut map = HashMap::clone(map);
            map.insert(name.clone(), entry.clone());
            map
        });
        entry
    }

    pub(crate) fn remove_entry(&self, name: &NamespaceId) {
        self.namespaces.rcu(|map| {
            let mut map = HashMap::clone(map);
            map.remove(name);
            map
        });
    }

    /// Files of the current `__builtins__` view, importable by every
    /// namespace (none for `__builtins__` itself).
    pub(crate) fn builtin_files(&self, name: &NamespaceId) -> Vec<RawFile> {
        if name.is_builtins() {
            return Vec::new();
        }
        self.entry(ids::BUILTINS)
            .map(|e| e.view.load().current_raw_files())
            .unwrap_or_default()
    }
}

impl CheckpointSource for Shared {
    fn checkpoints(&self) -> &Checkpoints {
        &self.checkpoints
    }

    fn store(&self) -> &Store {
        &self.store
    }

    fn views(&self) -> Vec<Arc<NamespaceView>> {
        Shared::views(self)
    }
}
