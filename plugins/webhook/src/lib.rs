#![doc = include_str!("../README.md")]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use hmac::{Hmac, Mac};
use protoreg_plugin_sdk::prost_types::value::Kind;
use protoreg_plugin_sdk::{Destination, Event, EventAck, EventSink, Plugin, PluginError, Struct};
use sha2::Sha256;

/// The header carrying the signature: `sha256=<hex>`.
pub const SIGNATURE_HEADER: &str = "X-Protoreg-Signature-256";

/// The body of a delivery: the Event JSON of the HTTP API
/// (`{id, kind, namespace, created_at, payload}`).
pub fn body(event: &Event) -> Result<Vec<u8>, PluginError> {
    let payload: serde_json::Value = if event.payload_json.is_empty() {
        serde_json::Value::Object(Default::default())
    } else {
        serde_json::from_str(&event.payload_json)
            .map_err(|e| PluginError(format!("event {}: payload is not JSON: {e}", event.id)))?
    };
    let json = serde_json::json!({
        "id": event.id,
        "kind": event.kind,
        "namespace": event.namespace,
        "created_at": event.created_at,
        "payload": payload,
    });
    serde_json::to_vec(&json).map_err(|e| PluginError(e.to_string()))
}

/// `sha256=<hex HMAC-SHA256 of body keyed by secret>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// What an answer of the receiver means.
pub fn classify(status: u16, retry_after: Option<&str>) -> EventAck {
    let code = i32::from(status);
    match status {
        200..=299 => EventAck::delivered(code),
        408 | 425 | 429 | 500..=599 => {
            let wait = retry_after
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or(0, |s| s.saturating_mul(1000));
            EventAck::retry(code, format!("the receiver answered {status}"), wait)
        }
        // 3xx are not followed (a redirect could lead anywhere) and 4xx will
        // not change by themselves: failed for good. 410 makes the host
        // deactivate the subscription.
        _ => EventAck::failed(code, format!("the receiver answered {status}")),
    }
}

/// Delivers to webhook subscriptions' destinations.
#[derive(Debug, Default)]
pub struct Webhook {
    /// One client per (host, pinned address, timeout): connections are
    /// reused between deliveries to the same receiver.
    clients: Mutex<HashMap<(String, SocketAddr, u32), reqwest::blocking::Client>>,
    /// Certificate authorities trusted for `https://` receivers besides the
    /// system's (the `ca_file` setting: PEM, one or more certificates).
    roots: Mutex<Vec<reqwest::Certificate>>,
}

impl Webhook {
    fn client(
        &self,
        host: &str,
        address: SocketAddr,
        timeout_ms: u32,
    ) -> Result<reqwest::blocking::Client, PluginError> {
        let key = (host.to_string(), address, timeout_ms);
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        if clients.len() >= 256 {
            clients.clear();
        }
        let mut builder = reqwest::blocking::Client::builder();
        for root in self.roots.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            builder = builder.add_root_certificate(root.clone());
        }
        let client = builder
            // Pinned: the name resolves to the address the host checked.
            .resolve(host, address)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_millis(u64::from(timeout_ms.max(1))))
            .user_agent(concat!("protoreg/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PluginError(format!("building the HTTP client: {e}")))?;
        clients.insert(key, client.clone());
        Ok(client)
    }

    fn post(&self, event: &Event, destination: &Destination) -> Result<EventAck, PluginError> {
        let url = reqwest::Url::parse(&destination.url)
            .map_err(|e| PluginError(format!("invalid url: {e}")))?;
        let host = url
            .host_str()
            .ok_or_else(|| PluginError("the url has no host".into()))?
            .to_string();
        let address: SocketAddr = destination.address.parse().map_err(|e| {
            PluginError(format!(
                "invalid resolved address {:?}: {e}",
                destination.address
            ))
        })?;
        let body = body(event)?;
        let signature = signature(&destination.secret, &body);
        let client = self.client(&host, address, destination.timeout_ms)?;
        let sent = client
            .post(url)
            .header("Content-Type", "application/json")
            .header("X-Protoreg-Event", &event.kind)
            .header("X-Protoreg-Event-Id", event.id.to_string())
            .header("X-Protoreg-Delivery", destination.delivery_id.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send();
        match sent {
            Ok(response) => {
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                Ok(classify(response.status().as_u16(), retry_after.as_deref()))
            }
            Err(e) if e.is_timeout() => Ok(EventAck::retry(
                0,
                format!("no answer within {} ms", destination.timeout_ms),
                0,
            )),
            Err(e) => Ok(EventAck::retry(0, error_chain(&e), 0)),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

impl EventSink for Webhook {
    fn name(&self) -> &str {
        "http"
    }

    fn description(&self) -> &str {
        "POSTs each event, signed with HMAC-SHA256, to webhook subscriptions."
    }

    fn destinations(&self) -> bool {
        true
    }

    /// `ca_file`: a PEM file of certificate authorities to trust for
    /// `https://` receivers, besides the system's roots.
    fn configure(&self, settings: &Struct) -> Result<(), PluginError> {
        let roots = match settings.fields.get("ca_file").and_then(|v| v.kind.as_ref()) {
            None => Vec::new(),
            Some(Kind::StringValue(path)) if path.is_empty() => Vec::new(),
            Some(Kind::StringValue(path)) => {
                let pem = std::fs::read(path)
                    .map_err(|e| PluginError(format!("reading ca_file {path}: {e}")))?;
                let roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                    PluginError(format!("ca_file {path}: not PEM certificates: {e}"))
                })?;
                if roots.is_empty() {
                    return Err(PluginError(format!(
                        "ca_file {path}: no certificate in the file"
                    )));
                }
                roots
            }
            Some(_) => return Err(PluginError("ca_file must be a string (a path)".into())),
        };
        *self.roots.lock().unwrap_or_else(|p| p.into_inner()) = roots;
        self.clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        Ok(())
    }

    fn handle(&self, event: &Event) -> Result<(), PluginError> {
        let ack = self.deliver(event)?;
        match ack.outcome {
            1 => Ok(()),
            _ => Err(PluginError(ack.error)),
        }
    }

    fn deliver(&self, event: &Event) -> Result<EventAck, PluginError> {
        let destination = event.destination.as_ref().ok_or_else(|| {
            PluginError("an event without a destination (webhook subscriptions only)".into())
        })?;
        self.post(event, destination)
    }
}

pub fn plugin() -> Plugin {
    Plugin::new("webhook", env!("CARGO_PKG_VERSION"))
        .description("Delivers events to webhook subscriptions as signed HTTP POSTs.")
        .sink(Webhook::default())
}

protoreg_plugin_sdk::export_plugin!(plugin);

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    use protoreg_plugin_sdk::DeliveryOutcome;

    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(
            classify(204, None).outcome,
            DeliveryOutcome::Delivered as i32
        );
        let retry = classify(503, Some("7"));
        assert_eq!(retry.outcome, DeliveryOutcome::Retry as i32);
        assert_eq!(retry.retry_after_ms, 7000);
        assert_eq!(retry.status_code, 503);
        assert_eq!(classify(429, None).outcome, DeliveryOutcome::Retry as i32);
        assert_eq!(classify(410, None).outcome, DeliveryOutcome::Failed as i32);
        assert_eq!(classify(302, None).outcome, DeliveryOutcome::Failed as i32);
    }

    #[test]
    fn an_event_without_a_destination_is_an_error() {
        assert!(Webhook::default().deliver(&Event::default()).is_err());
    }

    /// The request goes to the pinned address even though the URL names a
    /// host that does not resolve.
    #[test]
    fn posts_the_signed_body_to_the_pinned_address() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut head = Vec::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                head.push(line);
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            reader
                .get_mut()
                .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
                .unwrap();
            (head, body)
        });
        let event = Event {
            id: 42,
            kind: "namespace.promoted".into(),
            namespace: "shop".into(),
            payload_json: r#"{"revision":3}"#.into(),
            created_at: "2026-12-01T00:00:00Z".into(),
            sink: "http".into(),
            destination: Some(Destination {
                url: format!("http://receiver.invalid:{}/hook", address.port()),
                address: address.to_string(),
                secret: "s3cret".into(),
                delivery_id: 9,
                timeout_ms: 5000,
                subscription_id: 1,
            }),
        };
        let ack = Webhook::default().deliver(&event).unwrap();
        assert_eq!(ack.outcome, DeliveryOutcome::Delivered as i32, "{ack:?}");
        assert_eq!(ack.status_code, 202);
        let (head, body) = server.join().unwrap();
        let head = head.join("").to_ascii_lowercase();
        assert!(head.starts_with("post /hook http/1.1"), "{head}");
        assert!(
            head.contains("x-protoreg-event: namespace.promoted"),
            "{head}"
        );
        assert!(head.contains("x-protoreg-event-id: 42"), "{head}");
        assert!(head.contains("x-protoreg-delivery: 9"), "{head}");
        let expected = signature("s3cret", &body);
        assert!(
            head.contains(&format!("x-protoreg-signature-256: {expected}")),
            "{head}"
        );
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["id"], 42);
        assert_eq!(json["payload"]["revision"], 3);
    }

    #[test]
    fn a_refused_connection_is_retried() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        let event = Event {
            destination: Some(Destination {
                url: format!("http://127.0.0.1:{}/", address.port()),
                address: address.to_string(),
                secret: "s".into(),
                timeout_ms: 2000,
                ..Default::default()
            }),
            ..Default::default()
        };
        let ack = Webhook::default().deliver(&event).unwrap();
        assert_eq!(ack.outcome, DeliveryOutcome::Retry as i32);
        assert_eq!(ack.status_code, 0);
        assert!(!ack.error.is_empty());
    }

    /// An https:// receiver whose certificate a test CA issued: refused
    /// (retried, with the reason) until `ca_file` names that CA, delivered
    /// after. A `ca_file` that is not PEM is a configure error.
    #[test]
    #[allow(deprecated)] // ring: deprecated only for lacking post-quantum key exchange
    fn https_receivers_are_trusted_through_ca_file() {
        use std::sync::Arc;

        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["receiver.test".to_owned()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(
                    vec![leaf.der().clone()],
                    rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
                )
                .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let conn = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, stream);
                let mut reader = BufReader::new(&mut tls);
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    if line == "\r\n" {
                        let mut body = vec![0; length];
                        if reader.read_exact(&mut body).is_err() {
                            break;
                        }
                        let _ = reader
                            .get_mut()
                            .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n");
                        let _ = reader.get_mut().flush();
                        length = 0;
                        continue;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                }
            }
        });
        let event = Event {
            id: 1,
            kind: "namespace.promoted".into(),
            payload_json: "{}".into(),
            destination: Some(Destination {
                url: format!("https://receiver.test:{}/hook", address.port()),
                address: address.to_string(),
                secret: "s".into(),
                delivery_id: 1,
                timeout_ms: 5000,
                subscription_id: 1,
            }),
            ..Event::default()
        };
        let settings = |value: &str| Struct {
            fields: [(
                "ca_file".to_owned(),
                protoreg_plugin_sdk::prost_types::Value {
                    kind: Some(Kind::StringValue(value.to_owned())),
                },
            )]
            .into(),
        };

        let webhook = Webhook::default();
        let refused = webhook.deliver(&event).unwrap();
        assert_eq!(
            refused.outcome,
            DeliveryOutcome::Retry as i32,
            "{refused:?}"
        );
        assert!(
            refused.error.contains("certificate") || refused.error.contains("UnknownIssuer"),
            "{}",
            refused.error
        );

        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("not.pem");
        std::fs::write(&not_pem, "no certificate here").unwrap();
        assert!(
            webhook
                .configure(&settings(not_pem.to_str().unwrap()))
                .is_err()
        );
        let missing = dir.path().join("missing.pem");
        let err = webhook
            .configure(&settings(missing.to_str().unwrap()))
            .unwrap_err();
        assert!(err.0.contains("missing.pem"), "{}", err.0);

        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        webhook
            .configure(&settings(ca_file.to_str().unwrap()))
            .unwrap();
        let ack = webhook.deliver(&event).unwrap();
        assert_eq!(ack.outcome, DeliveryOutcome::Delivered as i32, "{ack:?}");
        assert_eq!(ack.status_code, 204);
    }
}
