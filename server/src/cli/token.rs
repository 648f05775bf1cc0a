//! `protoreg token create|list|revoke` (admin): `POST /v1/tokens`,
//! `GET /v1/tokens`, `DELETE /v1/tokens/{id}`.

use clap::{Args, Subcommand};
use protoreg_client::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{CliError, CliResult, Context, Outcome, print_table, short_time};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; the secret is printed once, on stdout.
    Create(CreateArgs),
    /// Every token (without secrets).
    List,
    /// Revoke a token by id.
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// A name to recognise the token by.
    #[arg(long)]
    name: String,
    /// NAMESPACE=ROLE with ROLE read, write or admin; repeatable.
    #[arg(long = "role", value_name = "NAMESPACE=ROLE", value_parser = parse_role, required = true)]
    roles: Vec<(String, String)>,
    /// When the token stops working (RFC 3339, e.g. 2030-01-01T00:00:00Z).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    expires_at: Option<String>,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    id: String,
}

fn parse_role(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((namespace, role))
            if !namespace.is_empty() && matches!(role, "read" | "write" | "admin") =>
        {
            Ok((namespace.to_owned(), role.to_owned()))
        }
        _ => Err(format!(
            "expected NAMESPACE=ROLE with ROLE read, write or admin, got {value:?}"
        )),
    }
}

fn parse_time(value: &str) -> Result<String, String> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|_| value.to_owned())
        .map_err(|e| format!("not an RFC 3339 time ({e}): {value:?}"))
}

#[derive(Debug, Deserialize)]
struct Created {
    id: Value,
    token: String,
}

#[derive(Debug, Deserialize)]
struct TokenList {
    tokens: Vec<Map<String, Value>>,
}

pub fn run(cx: &Context, command: TokenCommand) -> CliResult {
    match command {
        TokenCommand::Create(args) => create(cx, args),
        TokenCommand::List => list(cx),
        TokenCommand::Revoke(args) => revoke(cx, &args.id),
    }
}

/// A JSON id (string or number) as text.
fn id_text(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn create(cx: &Context, args: CreateArgs) -> CliResult {
    let roles: Vec<Value> = args
        .roles
        .iter()
        .map(|(namespace, role)| json!({ "namespace": namespace, "role": role }))
        .collect();
    let mut body = json!({ "name": args.name, "roles": roles });
    if let Some(expires_at) = &args.expires_at {
        body["expires_at"] = json!(expires_at);
    }
    let reply = cx
        .client
        .send_json::<Created>(Method::POST, &["v1", "tokens"], &body)?;
    if cx.json() {
        cx.print_json(&reply.raw);
    } else {
        // The secret alone on stdout, so `TOKEN=$(protoreg token create ...)`
        // works; the rest is for the person.
        println!("{}", reply.body.token);
        eprintln!(
            "created token {} ({}); the secret above is shown only once",
            id_text(&reply.body.id),
            args.name
        );
    }
    Ok(Outcome::Success)
}

/// `ns=role,ns=role` of a listed token's `roles`.
fn roles_text(roles: Option<&Value>) -> String {
    let Some(Value::Array(roles)) = roles else {
        return "-".to_owned();
    };
    roles
        .iter()
        .map(|r| {
            let field = |name: &str| r.get(name).and_then(Value::as_str).unwrap_or("?");
            format!("{}={}", field("namespace"), field("role"))
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn list(cx: &Context) -> CliResult {
    let reply = cx
        .client
        .get_all::<TokenList>(&["v1", "tokens"], "tokens")?;
    if cx.json() {
        cx.print_json(&reply.raw);
        return Ok(Outcome::Success);
    }
    let text = |token: &Map<String, Value>, name: &str| match token.get(name) {
        None | Some(Value::Null) => "-".to_owned(),
        Some(value) => id_text(value),
    };
    let rows: Vec<Vec<String>> = reply
        .body
        .tokens
        .iter()
        .map(|token| {
            vec![
                text(token, "id"),
                text(token, "name"),
                roles_text(token.get("roles")),
                short_time(token.get("created_at").and_then(Value::as_str)),
                short_time(token.get("expires_at").and_then(Value::as_str)),
            ]
        })
        .collect();
    print_table(&["ID", "NAME", "ROLES", "CREATED", "EXPIRES"], &rows);
    Ok(Outcome::Success)
}

fn revoke(cx: &Context, id: &str) -> CliResult {
    if id.is_empty() {
        return Err(CliError::Message("a token id is required".into()));
    }
    let reply = cx.client.delete::<Value>(&["v1", "tokens", id])?;
    if cx.json() {
        let raw = if reply.raw.is_null() {
            json!({ "revoked": id })
        } else {
            reply.raw
        };
        cx.print_json(&raw);
    } else {
        println!("revoked token {id}");
    }
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_namespace_equals_a_known_role() {
        assert_eq!(
            parse_role("billing=write"),
            Ok(("billing".into(), "write".into()))
        );
        assert!(parse_role("billing=owner").is_err());
        assert!(parse_role("=read").is_err());
        assert!(parse_role("billing").is_err());
    }
}
