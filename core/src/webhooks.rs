//! Webhook delivery, host side: one cursor per subscription over the
//! events outbox, the delivery log, the retry schedule and the address
//! rules. The HTTP POST and its signature are the destination sink's
//! (`plugins/webhook`, or any sink declaring `destinations`).
//!
//! Each active subscription has one task. It delivers the subscription's
//! oldest open delivery when it is due; when none is open it queues the
//! next events its filters want (moving the cursor in the same
//! transaction). So events reach a subscription in id order, the next one
//! waiting while one is retrying, and a crash mid-delivery leaves the
//! delivery open: it is attempted again (a duplicate), never skipped. Tasks
//! wake on [`Store::committed`] and look anyway every `poll_interval_ms`.
//! With several replicas, every replica runs a task per subscription but
//! only the holder of the subscription's lease (`webhook:<id>`) delivers;
//! when it dies its lease expires and another replica carries on.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use protoreg_plugin_sdk::{DeliveryOutcome, Destination, Event, EventAck};
use serde::{Deserialize, Serialize};

use crate::error::RegistryError;
use crate::plugin::PluginHost;
use crate::store::{
    DELIVERED, DeliveryAttempt, DeliveryRow, EventFilter, EventRow, FAILED, RETRYING, Store,
    StoreError, WebhookRow, now,
};

/// `[webhooks]` of the server configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// A receiver must answer 2xx within this many milliseconds.
    pub timeout_ms: u64,
    /// The first retry waits about this long; each next one twice as long
    /// (with jitter), at most `max_backoff_s`.
    pub initial_backoff_ms: u64,
    pub max_backoff_s: u64,
    /// A delivery still failing this long after it was queued is `failed`.
    pub give_up_after_s: u64,
    /// At most this many attempts per delivery; 0: only `give_up_after_s`.
    pub max_attempts: u32,
    /// Deliver to loopback, private and link-local addresses too.
    pub allow_private: bool,
    /// Hosts (as written in the URL) allowed whatever they resolve to.
    pub allowed_hosts: Vec<String>,
    /// The destination sink that delivers, `plugin/sink`.
    pub sink: String,
    /// How often idle subscriptions look for events other replicas wrote.
    pub poll_interval_ms: u64,
    /// A PEM file of certificate authorities trusted for `https://`
    /// receivers besides the system's roots; empty: the system's only.
    /// Handed to the destination sink's plugin as its `ca_file` setting.
    pub ca_file: String,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            timeout_ms: 10_000,
            initial_backoff_ms: 1_000,
            max_backoff_s: 3_600,
            give_up_after_s: 86_400,
            max_attempts: 0,
            allow_private: false,
            allowed_hosts: Vec::new(),
            sink: "webhook/http".into(),
            poll_interval_ms: 1_000,
            ca_file: String::new(),
        }
    }
}

impl WebhookConfig {
    /// `plugins` with `ca_file` added to the settings of the destination
    /// sink's plugin (the `plugin` of `sink = "plugin/sink"`), when set.
    pub fn with_ca_file(
        &self,
        mut plugins: crate::plugin::PluginConfig,
    ) -> crate::plugin::PluginConfig {
        if self.ca_file.is_empty() {
            return plugins;
        }
        let plugin = self.sink.split('/').next().unwrap_or_default().to_owned();
        let settings = plugins
            .settings
            .entry(plugin)
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
        if !settings.is_object() {
            *settings = serde_json::Value::Object(Default::default());
        }
        if let Some(map) = settings.as_object_mut() {
            map.insert(
                "ca_file".into(),
                serde_json::Value::String(self.ca_file.clone()),
            );
        }
        plugins
    }
}

/// Told about every delivery attempt (the server keeps metrics).
pub trait WebhookObserver: Send + Sync {
    /// `result`: `delivered`, `retrying` or `failed`; `since_event`: from the
    /// event's commit to the receiver's 2xx, for delivered events.
    fn delivery(&self, result: &str, since_event: Option<Duration>);
    /// How many subscriptions' last attempt did not deliver.
    fn failing(&self, subscriptions: usize);
}

#[derive(Debug)]
pub struct NoWebhookObserver;

impl WebhookObserver for NoWebhookObserver {
    fn delivery(&self, _: &str, _: Option<Duration>) {}
    fn failing(&self, _: usize) {}
}

/// The delivery supervisor's handle: cheap to clone.
#[derive(Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    plugins: Arc<PluginHost>,
    config: WebhookConfig,
    observer: Arc<dyn WebhookObserver>,
    failing: Mutex<HashSet<i64>>,
    running: Mutex<HashMap<i64, tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Events per cursor step.
const BATCH: i64 = 200;

/// A subscription's filters, parsed from its row.
struct Filter {
    kinds: Vec<String>,
    namespaces: Vec<String>,
}

impl Filter {
    fn of(row: &WebhookRow) -> Self {
        Filter {
            kinds: serde_json::from_str(&row.events).unwrap_or_default(),
            namespaces: serde_json::from_str(&row.namespaces).unwrap_or_default(),
        }
    }
}

impl EventFilter for Filter {
    fn wants(&self, event: &EventRow) -> bool {
        (self.kinds.iter().any(|k| k == "*" || *k == event.kind))
            && (self.namespaces.is_empty() || self.namespaces.contains(&event.namespace))
    }
}

enum Step {
    Again,
    Wait(Duration),
    Idle,
    Gone,
}

impl Webhooks {
    pub fn new(
        store: Store,
        plugins: Arc<PluginHost>,
        config: WebhookConfig,
        observer: Arc<dyn WebhookObserver>,
    ) -> Self {
        Webhooks {
            inner: Arc::new(Inner {
                store,
                plugins,
                config,
                observer,
                failing: Mutex::new(HashSet::new()),
                running: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn config(&self) -> &WebhookConfig {
        &self.inner.config
    }

    /// Starts the supervisor on the current runtime: one task per active
    /// subscription, started and reaped as subscriptions come and go.
    pub fn start(&self) {
        if self
            .inner
            .plugins
            .destination_sink(&self.inner.config.sink)
            .is_none()
        {
            tracing::warn!(sink = %self.inner.config.sink,
                "the webhook destination sink is not loaded: webhook deliveries wait until it is");
        }
        let this = self.clone();
        actix::spawn(async move { this.supervise().await });
    }

    fn poll(&self) -> Duration {
        Duration::from_millis(self.inner.config.poll_interval_ms.max(10))
    }

    async fn supervise(self) {
        loop {
            let committed = self.inner.store.committed().notified();
            tokio::pin!(committed);
            committed.as_mut().enable();
            match self.inner.store.active_webhook_ids().await {
                Ok(ids) => {
                    let mut running = self.inner.running.lock().unwrap_or_else(|p| p.into_inner());
                    running.retain(|_, task| !task.is_finished());
                    for id in ids {
                        running.entry(id).or_insert_with(|| {
                            let this = self.clone();
                            actix::spawn(async move { this.run(id).await })
                        });
                    }
                }
                Err(err) => tracing::warn!(%err, "listing webhook subscriptions failed"),
            }
            let _ = tokio::time::timeout(self.poll(), committed).await;
        }
    }

    async fn run(self, id: i64) {
        let mut backoff = Duration::from_millis(200);
        loop {
            let committed = self.inner.store.committed().notified();
            tokio::pin!(committed);
            committed.as_mut().enable();
            match self.step(id).await {
                Ok(Step::Again) => backoff = Duration::from_millis(200),
                Ok(Step::Wait(wait)) => {
                    tokio::time::sleep(wait.min(self.poll())).await;
                }
                Ok(Step::Idle) => {
                    let _ = tokio::time::timeout(self.poll(), committed).await;
                }
                Ok(Step::Gone) => {
                    self.set_failing(id, false);
                    return;
                }
                Err(err) => {
                    tracing::warn!(webhook = id, %err, "webhook delivery step failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    async fn step(&self, id: i64) -> Result<Step, StoreError> {
        let store = &self.inner.store;
        // One replica delivers a subscription's events at a time.
        if !store.hold_lease(&format!("webhook:{id}")).await? {
            return Ok(Step::Wait(store.lease_ttl() / 4));
        }
        let Some(hook) = store.webhook(id).await? else {
            return Ok(Step::Gone);
        };
        if !hook.active {
            return Ok(Step::Gone);
        }
        if let Some(delivery) = store.open_delivery(id).await? {
            let now = now();
            if let Some(at) = delivery.next_attempt_at
                && at > now
            {
                return Ok(Step::Wait((at - now).to_std().unwrap_or_default()));
            }
            let Some(sink) = self.inner.plugins.destination_sink(&self.inner.config.sink) else {
                return Ok(Step::Wait(self.poll()));
            };
            self.attempt(&hook, &delivery, &sink, false).await?;
            return Ok(Step::Again);
        }
        if store
            .queue_next_events(id, &Filter::of(&hook), BATCH)
            .await?
        {
            Ok(Step::Again)
        } else {
            Ok(Step::Idle)
        }
    }

    fn set_failing(&self, id: i64, failing: bool) {
        let mut set = self.inner.failing.lock().unwrap_or_else(|p| p.into_inner());
        let changed = if failing {
            set.insert(id)
        } else {
            set.remove(&id)
        };
        if changed {
            self.inner.observer.failing(set.len());
        }
    }

    /// One attempt of `delivery`, its outcome written to the log. `once`:
    /// a ping, never retried.
    async fn attempt(
        &self,
        hook: &WebhookRow,
        delivery: &DeliveryRow,
        sink: &crate::plugin::Sink,
        once: bool,
    ) -> Result<DeliveryRow, StoreError> {
        let config = &self.inner.config;
        let started = std::time::Instant::now();
        let ack = match check_destination(&hook.url, config).await {
            Err(reason) => EventAck::retry(0, reason, 0),
            Ok(address) => {
                let event = Event {
                    id: delivery.event_id,
                    kind: delivery.kind.clone(),
                    namespace: delivery.namespace.clone(),
                    payload_json: delivery.payload.clone(),
                    created_at: delivery
                        .event_created_at
                        .and_utc()
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    sink: String::new(),
                    destination: Some(Destination {
                        url: hook.url.clone(),
                        address: address.to_string(),
                        secret: hook.secret.clone(),
                        delivery_id: delivery.id,
                        timeout_ms: u32::try_from(config.timeout_ms).unwrap_or(u32::MAX),
                        subscription_id: hook.id,
                    }),
                };
                let sink = sink.clone();
                match tokio::task::spawn_blocking(move || sink.deliver_with_ack(&event)).await {
                    Ok(Ok(ack)) => ack,
                    Ok(Err(e)) => EventAck::retry(0, e.to_string(), 0),
                    Err(e) => EventAck::retry(0, format!("delivery task: {e}"), 0),
                }
            }
        };
        let elapsed = started.elapsed();
        let at = now();
        let attempts = delivery.attempts + 1;
        let outcome =
            DeliveryOutcome::try_from(ack.outcome).unwrap_or(DeliveryOutcome::Unspecified);
        let code = (ack.status_code != 0).then_some(ack.status_code);
        let error = (!ack.error.is_empty()).then(|| ack.error.clone());
        let mut attempt = DeliveryAttempt {
            status: String::new(),
            attempts,
            response_code: code,
            error,
            duration_ms: Some(i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)),
            next_attempt_at: None,
            delivered_at: None,
        };
        let store = &self.inner.store;
        match outcome {
            DeliveryOutcome::Delivered | DeliveryOutcome::Unspecified => {
                attempt.status = DELIVERED.into();
                attempt.delivered_at = Some(at);
                attempt.error = None;
                store.record_attempt(delivery.id, &attempt).await?;
                let since = (delivery.event_id != 0)
                    .then(|| (at - delivery.event_created_at).to_std().ok())
                    .flatten();
                self.inner.observer.delivery("delivered", since);
                self.set_failing(hook.id, false);
            }
            DeliveryOutcome::Failed if ack.status_code == 410 => {
                attempt.status = FAILED.into();
                let reason = "the receiver answered 410 Gone";
                if store
                    .disable_webhook_gone(hook.id, delivery.id, &attempt, reason)
                    .await?
                {
                    tracing::warn!(
                        webhook = hook.id,
                        "webhook disabled: the receiver answered 410"
                    );
                }
                self.inner.observer.delivery("failed", None);
                self.set_failing(hook.id, false);
            }
            DeliveryOutcome::Failed => {
                attempt.status = FAILED.into();
                store.record_attempt(delivery.id, &attempt).await?;
                self.inner.observer.delivery("failed", None);
                self.set_failing(hook.id, true);
            }
            DeliveryOutcome::Retry => {
                let age = (at - delivery.created_at).to_std().unwrap_or_default();
                let out_of_attempts = config.max_attempts > 0
                    && u32::try_from(attempts).unwrap_or(u32::MAX) >= config.max_attempts;
                if once || out_of_attempts || age >= Duration::from_secs(config.give_up_after_s) {
                    attempt.status = FAILED.into();
                    self.inner.observer.delivery("failed", None);
                } else {
                    attempt.status = RETRYING.into();
                    let wait = backoff(config, attempts, ack.retry_after_ms);
                    attempt.next_attempt_at =
                        Some(at + chrono::Duration::from_std(wait).unwrap_or_default());
                    self.inner.observer.delivery("retrying", None);
                }
                store.record_attempt(delivery.id, &attempt).await?;
                self.set_failing(hook.id, true);
            }
        }
        Ok(DeliveryRow {
            status: attempt.status,
            attempts,
            response_code: attempt.response_code,
            error: attempt.error,
            duration_ms: attempt.duration_ms,
            next_attempt_at: attempt.next_attempt_at,
            delivered_at: attempt.delivered_at,
            ..delivery.clone()
        })
    }

    /// Delivers a `ping` event to the subscription now, once; the delivery
    /// as logged.
    pub async fn ping(&self, hook: &WebhookRow) -> Result<DeliveryRow, RegistryError> {
        let sink = self
            .inner
            .plugins
            .destination_sink(&self.inner.config.sink)
            .ok_or_else(|| {
                RegistryError::Unavailable(format!(
                    "the webhook sink {} is not loaded",
                    self.inner.config.sink
                ))
            })?;
        let at = now();
        let payload = serde_json::json!({"webhook": hook.id}).to_string();
        let row = self.inner.store.insert_ping(hook.id, &payload, at).await?;
        Ok(self.attempt(hook, &row, &sink, true).await?)
    }
}

/// The wait before attempt `attempts + 1`: the initial backoff doubled per
/// attempt, at most the cap, scaled by a random 50–100 % (jitter); a
/// receiver's Retry-After, when longer, up to the cap.
pub fn backoff(config: &WebhookConfig, attempts: i32, retry_after_ms: u64) -> Duration {
    let cap = Duration::from_secs(config.max_backoff_s.max(1));
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 40)).unwrap_or(40);
    let base = Duration::from_millis(config.initial_backoff_ms.max(1))
        .saturating_mul(2u32.saturating_pow(exponent))
        .min(cap);
    let jittered = base.mul_f64(0.5 + rand::random::<f64>() * 0.5);
    jittered.max(Duration::from_millis(retry_after_ms).min(cap))
}

/// The host and port of an `http://` or `https://` URL.
pub fn url_host_port(url: &str) -> Result<(String, u16), String> {
    let (rest, default_port) = if let Some(rest) = url.strip_prefix("https://") {
        (rest, 443)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (rest, 80)
    } else {
        return Err("the url must start with http:// or https://".into());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("the url must not carry credentials".into());
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or("unterminated IPv6 address")?;
        (host.to_string(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host.to_string(), Some(port)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:_".contains(&b))
    {
        return Err(format!("invalid host {host:?}"));
    }
    let port = match port {
        None => default_port,
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| format!("invalid port {p:?}"))?,
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// Whether deliveries may go to `ip` without `allow_private`.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xc0) == 64))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// Resolves the URL's host and checks every address against the rules;
/// the address to connect to (pinned for the request).
pub async fn check_destination(url: &str, config: &WebhookConfig) -> Result<SocketAddr, String> {
    let (host, port) = url_host_port(url)?;
    let allowed_host = config
        .allowed_hosts
        .iter()
        .any(|h| h.eq_ignore_ascii_case(&host));
    let lookup = host.clone();
    let addresses: Vec<SocketAddr> =
        tokio::task::spawn_blocking(move || (lookup.as_str(), port).to_socket_addrs())
            .await
            .map_err(|e| format!("resolving {host}: {e}"))?
            .map_err(|e| format!("resolving {host}: {e}"))?
            .collect();
    let first = *addresses
        .first()
        .ok_or_else(|| format!("{host} resolves to no address"))?;
    if !(config.allow_private || allowed_host)
        && let Some(private) = addresses.iter().find(|a| !is_public(a.ip()))
    {
        return Err(format!(
            "{host} resolves to {}, a loopback, private or link-local address \
             (allowed only with webhooks.allow_private or webhooks.allowed_hosts)",
            private.ip()
        ));
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_file_goes_to_the_destination_sinks_plugin() {
        let plugins = crate::plugin::PluginConfig::default();
        let none = WebhookConfig::default().with_ca_file(plugins.clone());
        assert!(none.settings.is_empty(), "unset: nothing added");

        let mut with_other = plugins;
        with_other
            .settings
            .insert("webhook".into(), serde_json::json!({"other": 1}));
        let config = WebhookConfig {
            ca_file: "/etc/ca.pem".into(),
            sink: "webhook/http".into(),
            ..WebhookConfig::default()
        };
        let merged = config.with_ca_file(with_other);
        assert_eq!(
            merged.settings["webhook"],
            serde_json::json!({"other": 1, "ca_file": "/etc/ca.pem"}),
            "added beside the plugin's other settings"
        );
        let custom = WebhookConfig {
            sink: "mine/post".into(),
            ..config
        }
        .with_ca_file(crate::plugin::PluginConfig::default());
        assert_eq!(
            custom.settings["mine"],
            serde_json::json!({"ca_file": "/etc/ca.pem"})
        );
    }

    #[test]
    fn urls_give_host_and_port() {
        assert_eq!(
            url_host_port("https://Example.com/x").unwrap(),
            ("example.com".into(), 443)
        );
        assert_eq!(
            url_host_port("http://10.0.0.1:8080?q").unwrap(),
            ("10.0.0.1".into(), 8080)
        );
        assert_eq!(url_host_port("http://[::1]:9/").unwrap(), ("::1".into(), 9));
        assert!(url_host_port("ftp://x").is_err());
        assert!(url_host_port("http://user:pw@x/").is_err());
        assert!(url_host_port("http://x:99999/").is_err());
        assert!(url_host_port("http:///").is_err());
    }

    #[test]
    fn private_addresses_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[actix_rt::test]
    async fn loopback_destinations_are_refused_unless_allowed() {
        let config = WebhookConfig::default();
        let err = check_destination("http://127.0.0.1:9/hook", &config)
            .await
            .unwrap_err();
        assert!(err.contains("private"), "{err}");
        let err = check_destination("http://localhost:9/hook", &config)
            .await
            .unwrap_err();
        assert!(err.contains("private"), "{err}");
        let allowed = WebhookConfig {
            allow_private: true,
            ..WebhookConfig::default()
        };
        assert_eq!(
            check_destination("http://127.0.0.1:9/hook", &allowed)
                .await
                .unwrap(),
            "127.0.0.1:9".parse::<SocketAddr>().unwrap()
        );
        let by_host = WebhookConfig {
            allowed_hosts: vec!["localhost".into()],
            ..WebhookConfig::default()
        };
        assert!(
            check_destination("http://localhost:9/", &by_host)
                .await
                .is_ok()
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let config = WebhookConfig {
            initial_backoff_ms: 1000,
            max_backoff_s: 10,
            ..WebhookConfig::default()
        };
        for _ in 0..50 {
            let first = backoff(&config, 1, 0);
            assert!(first >= Duration::from_millis(500) && first <= Duration::from_millis(1000));
            let third = backoff(&config, 3, 0);
            assert!(third >= Duration::from_millis(2000) && third <= Duration::from_millis(4000));
            assert!(backoff(&config, 30, 0) <= Duration::from_secs(10));
        }
        assert_eq!(backoff(&config, 1, 7000), Duration::from_secs(7));
        assert_eq!(backoff(&config, 1, 60_000), Duration::from_secs(10));
    }
}
