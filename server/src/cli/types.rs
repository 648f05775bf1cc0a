//! `protoreg validate` and `protoreg transcode`: messages of a namespace's
//! types, in JSON, text format or binary.

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde::Deserialize;

use super::client::FieldError;
use super::schema::write_stdout;
use super::{CliError, CliResult, Context, Outcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MessageFormat {
    /// The proto3 JSON mapping.
    Json,
    /// The protobuf text format.
    Text,
    /// The binary wire format.
    Binary,
}

impl MessageFormat {
    fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Text => "text/plain; charset=utf-8",
            Self::Binary => "application/x-protobuf",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Text => "text",
            Self::Binary => "binary",
        }
    }

    /// The format a file's extension names; JSON for stdin and the rest.
    fn of_input(input: Option<&Path>) -> Self {
        let extension = input
            .and_then(Path::extension)
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        match extension {
            "txtpb" | "textproto" | "txt" | "pbtxt" => Self::Text,
            "binpb" | "pb" | "bin" => Self::Binary,
            _ => Self::Json,
        }
    }
}

/// Where a type is looked up.
#[derive(Debug, Args)]
pub struct TypeScopeArgs {
    /// Read the type from this version (a number, `current` or `staged`)
    /// of --schema instead of the namespace's current files.
    #[arg(long, value_name = "V")]
    version: Option<String>,
    /// Look the type up in this schema only.
    #[arg(long, value_name = "SCHEMA")]
    schema: Option<String>,
}

impl TypeScopeArgs {
    fn query(&self) -> Vec<(&str, &str)> {
        let mut query = Vec::new();
        if let Some(version) = &self.version {
            query.push(("version", version.as_str()));
        }
        if let Some(schema) = &self.schema {
            query.push(("schema", schema.as_str()));
        }
        query
    }
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    namespace: String,
    /// Full name of the message type, e.g. billing.v1.Invoice.
    #[arg(value_name = "TYPE")]
    type_name: String,
    /// The message; `-` or nothing reads stdin.
    file: Option<PathBuf>,
    /// Format of the message (default: from the file's extension — .txtpb,
    /// .textproto: text; .binpb, .pb: binary — else json).
    #[arg(long, value_enum)]
    format: Option<MessageFormat>,
    #[command(flatten)]
    scope: TypeScopeArgs,
}

#[derive(Debug, Args)]
pub struct TranscodeArgs {
    namespace: String,
    /// Full name of the message type, e.g. billing.v1.Invoice.
    #[arg(value_name = "TYPE")]
    type_name: String,
    /// The message; `-` or nothing reads stdin.
    file: Option<PathBuf>,
    /// Format to convert to; the result goes to stdout as is (--output does
    /// not change it).
    #[arg(long, value_enum)]
    to: MessageFormat,
    /// Format of the message (default: from the file's extension, else json).
    #[arg(long, value_enum)]
    from: Option<MessageFormat>,
    #[command(flatten)]
    scope: TypeScopeArgs,
}

/// The file, or stdin for `-` and no file.
fn read_input(file: Option<&Path>) -> Result<Vec<u8>, CliError> {
    match file {
        Some(path) if path != Path::new("-") => std::fs::read(path)
            .map_err(|e| CliError::Message(format!("cannot read {}: {e}", path.display()))),
        _ => {
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .map_err(|e| CliError::Message(format!("cannot read stdin: {e}")))?;
            Ok(body)
        }
    }
}

/// A named file, not `-`.
fn named_file(file: Option<&PathBuf>) -> Option<&Path> {
    file.map(PathBuf::as_path).filter(|p| *p != Path::new("-"))
}

#[derive(Debug, Deserialize)]
struct Validated {
    valid: bool,
    #[serde(default)]
    errors: Vec<FieldError>,
}

pub fn validate(cx: &Context, args: ValidateArgs) -> CliResult {
    let input = named_file(args.file.as_ref());
    let format = args
        .format
        .unwrap_or_else(|| MessageFormat::of_input(input));
    let body = read_input(input)?;
    let reply = cx.client.post_bytes_json::<Validated>(
        &[
            "v1",
            "namespaces",
            &args.namespace,
            "types",
            &args.type_name,
            "validate",
        ],
        &args.scope.query(),
        format.content_type(),
        body,
    )?;
    if cx.json() {
        cx.print_json(&reply.raw);
    }
    let validated = reply.body;
    if validated.valid {
        if !cx.json() {
            println!("valid {}", args.type_name);
        }
        return Ok(Outcome::Success);
    }
    for error in &validated.errors {
        eprintln!("{error}");
    }
    eprintln!(
        "protoreg: not a valid {} ({} message)",
        args.type_name,
        format.name()
    );
    Ok(Outcome::Failure)
}

pub fn transcode(cx: &Context, args: TranscodeArgs) -> CliResult {
    let input = named_file(args.file.as_ref());
    let from = args.from.unwrap_or_else(|| MessageFormat::of_input(input));
    let body = read_input(input)?;
    let mut query = args.scope.query();
    query.push(("to", args.to.name()));
    let reply = cx.client.post_bytes(
        &[
            "v1",
            "namespaces",
            &args.namespace,
            "types",
            &args.type_name,
            "transcode",
        ],
        &query,
        from.content_type(),
        body,
    )?;
    let mut bytes = reply.bytes;
    if args.to != MessageFormat::Binary && !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    write_stdout(&bytes)?;
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_input_format_follows_the_extension() {
        let of = |name: &str| MessageFormat::of_input(Some(Path::new(name)));
        assert_eq!(of("m.txtpb"), MessageFormat::Text);
        assert_eq!(of("m.binpb"), MessageFormat::Binary);
        assert_eq!(of("m.json"), MessageFormat::Json);
        assert_eq!(of("m"), MessageFormat::Json);
        assert_eq!(MessageFormat::of_input(None), MessageFormat::Json);
    }
}
