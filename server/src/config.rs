//! Configuration: built-in defaults, then `config/protoreg.toml` (or
//! `--config FILE`), then `PROTOREG_*` environment variables (nested keys
//! joined with `__`, e.g. `PROTOREG_DATABASE__URL`), then command-line flags.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use protoreg_core::Limits;
use protoreg_core::auth::Role;
use serde::{Deserialize, Serialize};

/// The file read when no `--config` is given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "config/protoreg.toml";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address the HTTP API listens on.
    pub listen: String,
    pub database: DatabaseConfig,
    pub limits: Limits,
    pub log: LogConfig,
    pub http: HttpConfig,
    pub auth: AuthConfig,
    pub metrics: MetricsConfig,
    pub plugins: protoreg_core::plugin::PluginConfig,
    pub events: EventsConfig,
    pub webhooks: protoreg_core::webhooks::WebhookConfig,
    pub tls: TlsConfig,
    /// `[git]`: repository sync (mirrors, the git command, credentials).
    pub git: protoreg_core::git::GitConfig,
    pub grpc: GrpcConfig,
    /// `[memory]`: giving freed heap back to the operating system.
    pub memory: crate::memory::MemoryConfig,
    /// `[codegen]`: code generation (`[codegen.verify]`: the toolchains
    /// that check generated code).
    pub codegen: CodegenConfig,
}

/// `[codegen]` of the configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CodegenConfig {
    /// The programs and limits of `settings.codegen[].verify`.
    pub verify: protoreg_core::verify::VerifyConfig,
}

/// `[grpc]` of the configuration: the gRPC API (docs/API.md, gRPC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GrpcConfig {
    /// Address the gRPC API listens on; empty turns it off. Over TLS when
    /// `[tls]` is set, as HTTP is.
    pub listen: String,
}

impl Default for GrpcConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:9090".into(),
        }
    }
}

/// `[tls]` of the configuration: HTTPS on `listen` when `cert_file` and
/// `key_file` are set (PEM; both re-read on SIGHUP).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsConfig {
    /// The server's certificate chain, leaf first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<PathBuf>,
    /// The private key of the leaf certificate (PKCS#8, PKCS#1 or SEC1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// CA certificates that sign client certificates; when set, a client
    /// without a valid certificate is refused (mutual TLS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ca_file: Option<PathBuf>,
}

impl TlsConfig {
    /// The certificate and key files when TLS is on; an error when only
    /// part of the section is set.
    pub fn files(&self) -> anyhow::Result<Option<(&Path, &Path)>> {
        match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => Ok(Some((cert, key))),
            (None, None) => {
                anyhow::ensure!(
                    self.client_ca_file.is_none(),
                    "tls.client_ca_file needs tls.cert_file and tls.key_file"
                );
                Ok(None)
            }
            _ => anyhow::bail!("tls.cert_file and tls.key_file go together: set both or neither"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` (created on first start) or `postgres://…`.
    pub url: String,
    pub max_connections: usize,
    pub connect_timeout_secs: u64,
    pub run_migrations: bool,
    /// Milliseconds between rewrites of the restore checkpoints of
    /// namespaces that changed; 0: only at shutdown.
    pub checkpoint_interval_ms: u64,
    /// SQLite: milliseconds a statement waits for another connection's (or
    /// process's) lock before the request answers 503 `unavailable`.
    pub busy_timeout_ms: u64,
    /// PostgreSQL, several replicas: a change another replica committed is
    /// served here within this many milliseconds (pushed by LISTEN/NOTIFY;
    /// every namespace's revision is also compared this often, as the
    /// fallback).
    pub replica_sync_ms: u64,
    /// Milliseconds a replica's lease on background work (an event sink, a
    /// webhook subscription, a running job, checkpoints, event retention)
    /// lasts unless renewed; a dead replica's work passes to another after
    /// at most this long.
    pub lease_ttl_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    /// A tracing filter: `info`, `debug`, `protoreg_core=debug,info`, …
    pub level: String,
    /// `text` or `json`.
    pub format: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Worker threads; 0 means one per CPU.
    pub workers: usize,
    /// Seconds in-flight requests get to finish after SIGINT/SIGTERM.
    pub shutdown_timeout_secs: u64,
    /// Origins (`scheme://host[:port]`) other than the server's own whose
    /// browsers may change state and read answers (CORS).
    pub allowed_origins: Vec<String>,
    /// `Host` values served, besides loopback addresses and `localhost`,
    /// while anonymous access is in force.
    pub allowed_hosts: Vec<String>,
    /// Milliseconds a request body may take to arrive; then 408 and the
    /// connection is closed.
    pub body_timeout_ms: u64,
    /// Open connections one client address may hold; more are answered
    /// 503 `unavailable` and closed.
    pub max_connections_per_client: usize,
    /// Largest request head (request line and headers), in bytes; larger
    /// is answered 431. actix refuses heads over 128 KiB by itself.
    pub max_header_bytes: usize,
}

/// `[metrics]` of the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetricsConfig {
    /// Whether `/metrics` and `/openapi.json` answer without a token.
    pub public: Public,
}

/// `true`, `false`, or `"auto"`: public when listening on a loopback
/// address, else not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Public {
    Set(bool),
    Auto(Auto),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Auto {
    Auto,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            public: Public::Auto(Auto::Auto),
        }
    }
}

impl MetricsConfig {
    /// Whether `/metrics` and `/openapi.json` are public on `listen`.
    pub fn is_public(&self, listen: &str) -> bool {
        match self.public {
            Public::Set(public) => public,
            Public::Auto(_) => is_loopback(listen),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            database: DatabaseConfig::default(),
            limits: Limits::default(),
            log: LogConfig::default(),
            http: HttpConfig::default(),
            auth: AuthConfig::default(),
            metrics: MetricsConfig::default(),
            plugins: protoreg_core::plugin::PluginConfig::default(),
            events: EventsConfig::default(),
            webhooks: protoreg_core::webhooks::WebhookConfig::default(),
            tls: TlsConfig::default(),
            git: protoreg_core::git::GitConfig::default(),
            grpc: GrpcConfig::default(),
            memory: crate::memory::MemoryConfig::default(),
            codegen: CodegenConfig::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://data/protoreg.db".into(),
            max_connections: 8,
            connect_timeout_secs: 10,
            run_migrations: true,
            checkpoint_interval_ms: 2000,
            busy_timeout_ms: 5000,
            replica_sync_ms: 100,
            lease_ttl_ms: 10_000,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: "text".into(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            workers: 0,
            shutdown_timeout_secs: 30,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            body_timeout_ms: 30_000,
            max_connections_per_client: 256,
            max_header_bytes: 64 * 1024,
        }
    }
}

/// Command-line values that override every other source.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub listen: Option<String>,
    pub database_url: Option<String>,
}

impl Config {
    pub fn load(overrides: &Overrides) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match &overrides.config_file {
            Some(path) => {
                anyhow::ensure!(path.is_file(), "config file {} not found", path.display());
                figment = figment.merge(Toml::file(path));
            }
            None if Path::new(DEFAULT_CONFIG_FILE).is_file() => {
                figment = figment.merge(Toml::file(DEFAULT_CONFIG_FILE));
            }
            None => {}
        }
        figment = figment.merge(
            Env::prefixed("PROTOREG_")
                .split("__")
                // Variables of the test harness and the CLI, not server settings.
                .ignore(&[
                    "test_database_url",
                    "server",
                    "token",
                    "ca_cert",
                    "client_cert",
                    "client_key",
                ]),
        );
        if let Some(listen) = &overrides.listen {
            figment = figment.merge(("listen", listen));
        }
        if let Some(url) = &overrides.database_url {
            figment = figment.merge(("database.url", url));
        }
        let config: Config = figment.extract()?;
        AuthSettings::from_config(&config.auth, &config.listen)?;
        config.events.validate()?;
        config.tls.files()?;
        anyhow::ensure!(
            matches!(config.log.format.as_str(), "text" | "json"),
            "log.format must be \"text\" or \"json\", not {:?}",
            config.log.format
        );
        Ok(config)
    }
}

/// `[events]` of the configuration: the event API (`GET /v1/events`,
/// `GET /v1/events/stream`) and retention. Read at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventsConfig {
    /// Days events are kept (fractions allowed); older ones are pruned.
    pub retention_days: f64,
    /// Milliseconds between prunes.
    pub prune_interval_ms: u64,
    /// Milliseconds between looks for events other replicas wrote (this
    /// process's own commits wake held requests at once).
    pub poll_interval_ms: u64,
    /// Milliseconds between `: keep-alive` comments on an idle event
    /// stream (at most 15 000).
    pub keep_alive_ms: u64,
    /// Requests held at once (long polls waiting, streams open); more are
    /// answered 503 `unavailable`.
    pub max_held_requests: usize,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            retention_days: 30.0,
            prune_interval_ms: 600_000,
            poll_interval_ms: 1000,
            keep_alive_ms: 15_000,
            max_held_requests: 1024,
        }
    }
}

impl EventsConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.retention_days.is_finite()
                && self.retention_days > 0.0
                && self.retention_days <= 36_500.0,
            "events.retention_days must be above 0 and at most 36500, not {}",
            self.retention_days
        );
        for (name, value) in [
            ("prune_interval_ms", self.prune_interval_ms),
            ("poll_interval_ms", self.poll_interval_ms),
        ] {
            anyhow::ensure!(
                (10..=86_400_000).contains(&value),
                "events.{name} must be from 10 to 86400000, not {value}"
            );
        }
        anyhow::ensure!(
            (10..=15_000).contains(&self.keep_alive_ms),
            "events.keep_alive_ms must be from 10 to 15000, not {}",
            self.keep_alive_ms
        );
        anyhow::ensure!(
            self.max_held_requests >= 1,
            "events.max_held_requests must be at least 1"
        );
        Ok(())
    }

    pub fn feed(&self) -> protoreg_core::feed::FeedConfig {
        protoreg_core::feed::FeedConfig {
            retention: std::time::Duration::from_secs_f64(self.retention_days * 86_400.0),
            prune_interval: std::time::Duration::from_millis(self.prune_interval_ms),
            poll_interval: std::time::Duration::from_millis(self.poll_interval_ms),
            max_held: self.max_held_requests,
        }
    }
}

/// `[auth]` of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// What a request without a token may do: `none`, `read`, `write`,
    /// `admin`, or `auto` (admin when listening on a loopback address with
    /// no admin token configured, none otherwise).
    pub anonymous: String,
    /// A bearer token with admin rights in every namespace; empty for none.
    pub admin_token: String,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            anonymous: "auto".into(),
            admin_token: String::new(),
        }
    }
}

/// The part of the configuration the edge checks, rebuilt from the
/// configuration in force (`RuntimeConfig`) for every request, so a reload
/// applies to the next request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    pub anonymous: Option<Role>,
    /// SHA-256 of the admin token; the token itself is not kept.
    pub admin_token_hash: Option<String>,
    /// `metrics.public` resolved: whether [`Need::PublicBySetting`] routes
    /// answer without a token.
    pub metrics_public: bool,
}

impl AuthSettings {
    pub fn from_config(config: &AuthConfig, listen: &str) -> anyhow::Result<Self> {
        let admin_token_hash = (!config.admin_token.is_empty())
            .then(|| protoreg_core::auth::secret_hash(&config.admin_token));
        let anonymous = match config.anonymous.as_str() {
            "auto" => (is_loopback(listen) && admin_token_hash.is_none()).then_some(Role::Admin),
            "none" => None,
            other => Some(Role::parse(other).ok_or_else(|| {
                anyhow::anyhow!(
                    "auth.anonymous must be auto, none, read, write or admin, not {other:?}"
                )
            })?),
        };
        Ok(Self {
            anonymous,
            admin_token_hash,
            metrics_public: true,
        })
    }
}

pub fn is_loopback(listen: &str) -> bool {
    match listen.parse::<std::net::SocketAddr>() {
        Ok(addr) => addr.ip().is_loopback(),
        Err(_) => listen.starts_with("localhost:"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_states_every_default() {
        let shipped: Config = Figment::new()
            .merge(Toml::file(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../config/protoreg.toml"
            )))
            .extract()
            .expect("config/protoreg.toml parses");
        assert_eq!(shipped, Config::default());
        let file = Figment::from(Toml::file(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../config/protoreg.toml"
        )));
        let mut keys = Vec::new();
        leaf_keys(
            "",
            &serde_json::to_value(Config::default()).unwrap(),
            &mut keys,
        );
        for key in keys {
            assert!(
                file.find_value(&key).is_ok(),
                "{key} is missing from config/protoreg.toml"
            );
        }
    }

    fn leaf_keys(prefix: &str, value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    leaf_keys(&key, v, out);
                }
            }
            // An optional setting unset by default (`tls.*`) has no value
            // to state; the file describes it in a comment.
            serde_json::Value::Null => {}
            _ => out.push(prefix.to_owned()),
        }
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure signature
    fn environment_and_flags_override_files() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "custom.toml",
                "listen = \"127.0.0.1:9000\"\n[limits]\nmax_files = 5\n",
            )?;
            jail.set_env("PROTOREG_DATABASE__URL", "postgres://x@127.0.0.1/db");
            jail.set_env("PROTOREG_LIMITS__MAX_FILE_BYTES", "77");
            jail.set_env("PROTOREG_TEST_DATABASE_URL", "ignored");
            let config = Config::load(&Overrides {
                config_file: Some("custom.toml".into()),
                ..Default::default()
            })
            .map_err(|e| e.to_string())?;
            assert_eq!(config.listen, "127.0.0.1:9000");
            assert_eq!(config.limits.max_files, 5);
            assert_eq!(config.limits.max_file_bytes, 77);
            assert_eq!(config.database.url, "postgres://x@127.0.0.1/db");
            let flagged = Config::load(&Overrides {
                config_file: Some("custom.toml".into()),
                listen: Some("127.0.0.1:1".into()),
                database_url: Some("sqlite://x.db".into()),
            })
            .map_err(|e| e.to_string())?;
            assert_eq!(flagged.listen, "127.0.0.1:1");
            assert_eq!(flagged.database.url, "sqlite://x.db");
            Ok(())
        });
    }

    #[test]
    fn metrics_public_is_a_bool_or_auto() {
        let parse =
            |toml: &str| -> MetricsConfig { Figment::from(Toml::string(toml)).extract().unwrap() };
        let auto = parse("public = \"auto\"");
        assert_eq!(auto, MetricsConfig::default());
        assert!(auto.is_public("127.0.0.1:8080") && auto.is_public("[::1]:1"));
        assert!(!auto.is_public("0.0.0.0:8080"));
        assert!(!parse("public = false").is_public("127.0.0.1:8080"));
        assert!(parse("public = true").is_public("0.0.0.0:8080"));
        assert!(
            Figment::from(Toml::string("public = \"sometimes\""))
                .extract::<MetricsConfig>()
                .is_err()
        );
    }

    #[test]
    fn bad_events_settings_are_refused() {
        assert!(EventsConfig::default().validate().is_ok());
        for bad in [
            EventsConfig {
                retention_days: 0.0,
                ..Default::default()
            },
            EventsConfig {
                retention_days: f64::NAN,
                ..Default::default()
            },
            EventsConfig {
                keep_alive_ms: 20_000,
                ..Default::default()
            },
            EventsConfig {
                poll_interval_ms: 0,
                ..Default::default()
            },
            EventsConfig {
                prune_interval_ms: 1,
                ..Default::default()
            },
            EventsConfig {
                max_held_requests: 0,
                ..Default::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_missing_config_file_is_an_error() {
        let err = Config::load(&Overrides {
            config_file: Some("/nonexistent/protoreg.toml".into()),
            ..Default::default()
        });
        assert!(err.is_err());
    }
}
