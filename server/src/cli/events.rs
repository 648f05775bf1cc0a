//! `protoreg events`: the events of `GET /v1/events`, and with `--follow`
//! the live stream of `GET /v1/events/stream`, resumed with `Last-Event-ID`
//! after a dropped connection.

use std::time::Duration;

use clap::Args;
use protoreg_client::{EventQuery, StreamItem};
use serde_json::Value;

use super::{CliError, CliResult, Context, Outcome, short_time};

/// How long to wait before reconnecting a dropped stream.
const RECONNECT: Duration = Duration::from_secs(1);

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Keep printing new events as they happen (server-sent events).
    #[arg(long, short = 'f')]
    follow: bool,
    /// Only this namespace's events.
    #[arg(long, value_name = "NS")]
    namespace: Option<String>,
    /// Only events of these kinds (comma-separated), e.g. namespace.promoted.
    #[arg(long, value_name = "KIND")]
    kind: Option<String>,
    /// Only events after this id.
    #[arg(long, value_name = "ID", default_value_t = 0)]
    after: i64,
}

impl EventsArgs {
    fn query(&self, after: i64) -> Vec<(&'static str, String)> {
        let mut query = vec![("after", after.to_string())];
        if let Some(namespace) = &self.namespace {
            query.push(("namespace", namespace.clone()));
        }
        if let Some(kind) = &self.kind {
            query.push(("kind", kind.clone()));
        }
        query
    }
}

pub fn run(cx: &Context, args: EventsArgs) -> CliResult {
    if args.follow {
        follow(cx, &args)
    } else {
        list(cx, &args)
    }
}

/// Every event after `--after`, page by page.
fn list(cx: &Context, args: &EventsArgs) -> CliResult {
    let mut after = args.after;
    loop {
        let mut query = args.query(after);
        query.push(("limit", "1000".into()));
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = cx.client.get::<Value>(&["v1", "events"], &query)?;
        if reply.raw["truncated"] == true && after == args.after {
            eprintln!("protoreg: events after {after} were pruned (retention); some are missing");
        }
        let events = reply.raw["events"].as_array().cloned().unwrap_or_default();
        for event in &events {
            print_event(cx, event);
        }
        let next = reply.raw["last_id"].as_i64().unwrap_or(after);
        if events.len() < 1000 || next <= after {
            return Ok(Outcome::Success);
        }
        after = next;
    }
}

/// The stream, for ever: a dropped connection is resumed after the last
/// event printed.
fn follow(cx: &Context, args: &EventsArgs) -> CliResult {
    let query = EventQuery {
        after: Some(args.after),
        namespace: args.namespace.clone(),
        kinds: args
            .kind
            .iter()
            .flat_map(|kinds| kinds.split(','))
            .map(str::to_owned)
            .collect(),
    };
    let mut last: Option<i64> = None;
    loop {
        match cx.client.event_stream(&query, last) {
            Ok(mut stream) => {
                while let Some(item) = stream.next() {
                    match item {
                        StreamItem::Truncated => eprintln!(
                            "protoreg: some events were pruned (retention) before they could be read"
                        ),
                        StreamItem::Event(event) => match serde_json::to_value(&event) {
                            Ok(event) => print_event(cx, &event),
                            Err(err) => eprintln!("protoreg: event {}: {err}", event.id),
                        },
                    }
                }
                last = stream.last_event_id().or(last);
            }
            // The server's refusal (a bad filter, no permission) is final.
            Err(err @ CliError::Problem(_)) => return Err(err),
            Err(CliError::Message(message)) => eprintln!("protoreg: {message}; retrying"),
        }
        std::thread::sleep(RECONNECT);
    }
}

/// One line: the event's JSON (`--output json`), or
/// `ID  TIME  KIND  NAMESPACE  PAYLOAD`.
fn print_event(cx: &Context, event: &Value) {
    if cx.json() {
        println!("{event}");
        return;
    }
    println!(
        "{}  {}  {}  {}  {}",
        event["id"],
        short_time(event["created_at"].as_str()),
        event["kind"].as_str().unwrap_or("-"),
        event["namespace"].as_str().unwrap_or("-"),
        event["payload"]
    );
    let _ = std::io::Write::flush(&mut std::io::stdout());
}
