#![doc = include_str!("../README.md")]

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use protoreg_plugin_sdk::{Event, EventSink, Plugin, PluginError, Struct};

/// Appends events to the configured file.
#[derive(Debug, Default)]
pub struct JsonLines {
    path: Mutex<Option<PathBuf>>,
}

impl EventSink for JsonLines {
    fn name(&self) -> &str {
        "jsonl"
    }

    fn description(&self) -> &str {
        "Appends every event as a JSON line to plugins.settings.jsonl-events.path."
    }

    fn configure(&self, settings: &Struct) -> Result<(), PluginError> {
        use prost_types::value::Kind;
        let path = match settings.fields.get("path").and_then(|v| v.kind.as_ref()) {
            Some(Kind::StringValue(path)) if !path.is_empty() => Some(PathBuf::from(path)),
            None => None,
            Some(_) => return Err("path must be a non-empty string".into()),
        };
        *self.path.lock().unwrap_or_else(|p| p.into_inner()) = path;
        Ok(())
    }

    fn disabled(&self) -> Option<String> {
        self.path
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
            .then(|| "no path configured (plugins.settings.jsonl-events.path)".to_string())
    }

    fn handle(&self, event: &Event) -> Result<(), PluginError> {
        let path = self
            .path
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or("no path configured (plugins.settings.jsonl-events.path)")?;
        let payload: serde_json::Value = serde_json::from_str(&event.payload_json)
            .map_err(|e| PluginError(format!("event {}: payload is not JSON: {e}", event.id)))?;
        let line = serde_json::json!({
            "id": event.id,
            "kind": event.kind,
            "namespace": event.namespace,
            "created_at": event.created_at,
            "payload": payload,
        });
        let mut text = line.to_string();
        text.push('\n');
        // One write of the whole line in append mode: lines never interleave.
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(text.as_bytes()))
            .map_err(|e| PluginError(format!("appending to {}: {e}", path.display())))
    }
}

pub fn plugin() -> Plugin {
    Plugin::new("jsonl-events", env!("CARGO_PKG_VERSION"))
        .description("Appends every event as a JSON line to a file.")
        .sink(JsonLines::default())
}

protoreg_plugin_sdk::export_plugin!(plugin);

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(path: &str) -> Struct {
        Struct {
            fields: [(
                "path".to_string(),
                prost_types::Value {
                    kind: Some(prost_types::value::Kind::StringValue(path.into())),
                },
            )]
            .into(),
        }
    }

    #[test]
    fn appends_one_json_line_per_event() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let sink = JsonLines::default();
        sink.configure(&settings(path.to_str().unwrap())).unwrap();
        for id in [1, 2] {
            sink.handle(&Event {
                id,
                kind: "promoted".into(),
                namespace: "shop".into(),
                payload_json: format!(r#"{{"revision":{id}}}"#),
                created_at: "2026-12-01T00:00:00Z".into(),
                sink: "jsonl".into(),
                destination: None,
            })
            .unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["id"], 2);
        assert_eq!(lines[1]["payload"]["revision"], 2);
        assert_eq!(lines[0]["kind"], "promoted");
    }

    #[test]
    fn without_a_path_the_sink_says_it_is_disabled() {
        let sink = JsonLines::default();
        sink.configure(&Struct::default()).unwrap();
        assert!(sink.disabled().unwrap().contains("no path configured"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        sink.configure(&settings(path.to_str().unwrap())).unwrap();
        assert_eq!(sink.disabled(), None);
    }

    #[test]
    fn without_a_path_events_are_refused() {
        let sink = JsonLines::default();
        sink.configure(&Struct::default()).unwrap();
        let err = sink.handle(&Event::default()).unwrap_err();
        assert!(err.0.contains("no path configured"));
    }
}
