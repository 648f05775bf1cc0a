//! `protoreg webhook create|list|rm|deliveries|redeliver|ping` (admin): the
//! `/v1/webhooks` routes.

use clap::{Args, Subcommand};
use protoreg_client::Method;
use serde_json::{Map, Value, json};

use super::{CliError, CliResult, Context, Outcome, print_table, short_time};

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Subscribe a URL to events; the secret is printed once, on stdout.
    Create(CreateArgs),
    /// Every subscription you may manage (without secrets).
    List,
    /// Remove a subscription and its delivery log.
    Rm(IdArgs),
    /// A subscription's delivery log, newest first.
    Deliveries(IdArgs),
    /// Queue a delivery's event again.
    Redeliver(RedeliverArgs),
    /// Deliver a `ping` event now.
    Ping(IdArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The destination (`https://...`).
    url: String,
    /// An event kind, or `*` for every kind; repeatable.
    #[arg(long = "event", value_name = "KIND", default_value = "*")]
    events: Vec<String>,
    /// Only events of this namespace; repeatable (none: every namespace).
    #[arg(long = "namespace", value_name = "NS")]
    namespaces: Vec<String>,
    /// The signing secret (generated when absent).
    #[arg(long, env = "PROTOREG_WEBHOOK_SECRET", hide_env_values = true)]
    secret: Option<String>,
    #[arg(long)]
    description: Option<String>,
}

#[derive(Debug, Args)]
pub struct IdArgs {
    id: String,
}

#[derive(Debug, Args)]
pub struct RedeliverArgs {
    id: String,
    delivery: String,
}

pub fn run(cx: &Context, command: WebhookCommand) -> CliResult {
    match command {
        WebhookCommand::Create(args) => create(cx, args),
        WebhookCommand::List => list(cx),
        WebhookCommand::Rm(args) => rm(cx, &args.id),
        WebhookCommand::Deliveries(args) => deliveries(cx, &args.id),
        WebhookCommand::Redeliver(args) => redeliver(cx, &args.id, &args.delivery),
        WebhookCommand::Ping(args) => ping(cx, &args.id),
    }
}

fn text(item: &Map<String, Value>, name: &str) -> String {
    match item.get(name) {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(list)) if list.is_empty() => "*".to_owned(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    }
}

fn checked_id<'a>(id: &'a str, what: &str) -> Result<&'a str, CliError> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CliError::Message(format!("invalid {what} id {id:?}")));
    }
    Ok(id)
}

fn create(cx: &Context, args: CreateArgs) -> CliResult {
    let mut body = json!({"url": args.url, "events": args.events, "namespaces": args.namespaces});
    if let Some(secret) = args.secret {
        body["secret"] = json!(secret);
    }
    if let Some(description) = args.description {
        body["description"] = json!(description);
    }
    let reply =
        cx.client
            .send_json::<Map<String, Value>>(Method::POST, &["v1", "webhooks"], &body)?;
    if cx.json() {
        cx.print_json(&reply.raw);
    } else {
        println!("{}", text(&reply.body, "secret"));
        eprintln!(
            "created webhook {} for {}; the secret above is shown only once",
            text(&reply.body, "id"),
            text(&reply.body, "url")
        );
    }
    Ok(Outcome::Success)
}

fn list(cx: &Context) -> CliResult {
    let reply = cx.client.get::<Value>(&["v1", "webhooks"], &[])?;
    if cx.json() {
        cx.print_json(&reply.raw);
        return Ok(Outcome::Success);
    }
    let empty = Vec::new();
    let rows: Vec<Vec<String>> = reply.raw["webhooks"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .filter_map(Value::as_object)
        .map(|w| {
            vec![
                text(w, "id"),
                text(w, "url"),
                text(w, "events"),
                text(w, "namespaces"),
                text(w, "active"),
                short_time(w.get("created_at").and_then(Value::as_str)),
            ]
        })
        .collect();
    print_table(
        &["ID", "URL", "EVENTS", "NAMESPACES", "ACTIVE", "CREATED"],
        &rows,
    );
    Ok(Outcome::Success)
}

fn rm(cx: &Context, id: &str) -> CliResult {
    let id = checked_id(id, "webhook")?;
    let reply = cx.client.delete::<Value>(&["v1", "webhooks", id])?;
    if cx.json() {
        let raw = if reply.raw.is_null() {
            json!({"removed": id})
        } else {
            reply.raw
        };
        cx.print_json(&raw);
    } else {
        println!("removed webhook {id}");
    }
    Ok(Outcome::Success)
}

fn delivery_row(d: &Map<String, Value>) -> Vec<String> {
    vec![
        text(d, "id"),
        text(d, "event_id"),
        text(d, "kind"),
        text(d, "status"),
        text(d, "attempts"),
        text(d, "response_code"),
        text(d, "error"),
        short_time(d.get("created_at").and_then(Value::as_str)),
    ]
}

const DELIVERY_HEADERS: &[&str] = &[
    "ID", "EVENT", "KIND", "STATUS", "ATTEMPTS", "CODE", "ERROR", "CREATED",
];

fn deliveries(cx: &Context, id: &str) -> CliResult {
    let id = checked_id(id, "webhook")?;
    let reply = cx
        .client
        .get::<Value>(&["v1", "webhooks", id, "deliveries"], &[])?;
    if cx.json() {
        cx.print_json(&reply.raw);
        return Ok(Outcome::Success);
    }
    let empty = Vec::new();
    let rows: Vec<Vec<String>> = reply.raw["deliveries"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .filter_map(Value::as_object)
        .map(delivery_row)
        .collect();
    print_table(DELIVERY_HEADERS, &rows);
    Ok(Outcome::Success)
}

fn redeliver(cx: &Context, id: &str, delivery: &str) -> CliResult {
    let id = checked_id(id, "webhook")?;
    let delivery = checked_id(delivery, "delivery")?;
    let reply = cx.client.send_json::<Map<String, Value>>(
        Method::POST,
        &["v1", "webhooks", id, "deliveries", delivery, "redeliver"],
        &json!({}),
    )?;
    if cx.json() {
        cx.print_json(&reply.raw);
    } else {
        println!("queued again as delivery {}", text(&reply.body, "id"));
    }
    Ok(Outcome::Success)
}

fn ping(cx: &Context, id: &str) -> CliResult {
    let id = checked_id(id, "webhook")?;
    let reply = cx.client.send_json::<Map<String, Value>>(
        Method::POST,
        &["v1", "webhooks", id, "ping"],
        &json!({}),
    )?;
    if cx.json() {
        cx.print_json(&reply.raw);
    } else {
        print_table(DELIVERY_HEADERS, &[delivery_row(&reply.body)]);
    }
    Ok(if text(&reply.body, "status") == "delivered" {
        Outcome::Success
    } else {
        Outcome::Failure
    })
}
