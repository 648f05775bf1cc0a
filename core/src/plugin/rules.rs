//! Compatibility rules from plugins, registered in the engine beside the
//! built-in ones.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use protoreg_compat::{CheckContext, CompatError, Finding, Location, Rule, RuleRegistry, Span};
use protoreg_plugin_sdk::abi::PROTOREG_CALL_COMPAT;
use protoreg_plugin_sdk::{CompatResponse, Struct};

use super::{LoadedPlugin, PluginHost};

/// A rule that runs in a plugin.
struct PluginRule {
    plugin: Arc<LoadedPlugin>,
    id: String,
    purpose: String,
}

impl Rule for PluginRule {
    fn id(&self) -> &str {
        &self.id
    }

    fn purpose(&self) -> &str {
        &self.purpose
    }

    fn check(
        &self,
        ctx: &CheckContext<'_>,
        findings: &mut Vec<Finding>,
    ) -> Result<(), CompatError> {
        let failed = |message: String| CompatError::Rule {
            rule: self.id.clone(),
            message,
        };
        let request = compat_request(ctx, &self.id).map_err(failed)?;
        let response: CompatResponse = self
            .plugin
            .call_decoded(PROTOREG_CALL_COMPAT, "", request)
            .map_err(|e| failed(e.to_string()))?;
        for violation in response.violations {
            if violation.rule_id != self.id {
                return Err(failed(format!(
                    "the plugin reported rule {:?} when asked for {}",
                    violation.rule_id, self.id
                )));
            }
            findings.push(finding_of(violation));
        }
        Ok(())
    }
}

/// The encoded `CompatRequest` for one rule. The images are written as
/// embedded messages directly, without decoding them again.
fn compat_request(ctx: &CheckContext<'_>, rule: &str) -> Result<Vec<u8>, String> {
    let options = json_to_struct(&serde_json::Value::Object(
        ctx.options
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    ))?;
    let mut request = Vec::new();
    for (tag, image) in [(1, ctx.previous_image), (2, ctx.current_image)] {
        let bytes = image.encode_file_descriptor_set();
        prost::encoding::encode_key(
            tag,
            prost::encoding::WireType::LengthDelimited,
            &mut request,
        );
        prost::encoding::encode_varint(bytes.len() as u64, &mut request);
        request.extend_from_slice(bytes);
    }
    prost::encoding::string::encode(3, &rule.to_string(), &mut request);
    prost::encoding::message::encode(4, &options, &mut request);
    Ok(request)
}

fn finding_of(v: protoreg_plugin_sdk::Violation) -> Finding {
    let line = |n: i32| u32::try_from(n).unwrap_or(0);
    let span = (v.start_line > 0).then(|| Span {
        start_line: line(v.start_line),
        start_column: line(v.start_column),
        end_line: line(v.end_line),
        end_column: line(v.end_column),
    });
    Finding {
        message: v.message,
        location: (!v.file.is_empty()).then_some(Location { file: v.file, span }),
        against_file: (!v.against_file.is_empty()).then_some(v.against_file),
    }
}

/// Registers every plugin rule in `registry`, and returns which plugin each
/// rule ID came from. A plugin whose rule clashes with a registered one
/// has that rule refused (logged); its other rules still register.
pub fn register_plugin_rules(
    host: &PluginHost,
    registry: &mut RuleRegistry,
) -> HashMap<String, String> {
    let mut origins = HashMap::new();
    for plugin in host.plugins() {
        for info in &plugin.manifest.rules {
            let categories: Vec<&str> = info.categories.iter().map(String::as_str).collect();
            let rule = PluginRule {
                plugin: plugin.clone(),
                id: info.id.clone(),
                purpose: info.purpose.clone(),
            };
            match registry.register(Box::new(rule), &categories, info.default) {
                Ok(()) => {
                    origins.insert(info.id.clone(), plugin.name().to_string());
                }
                Err(e) => tracing::error!(plugin = %plugin.name(), rule = %info.id,
                    reason = %e, "plugin rule refused"),
            }
        }
    }
    origins
}

/// A JSON object as a `google.protobuf.Struct`.
pub fn json_to_struct(value: &serde_json::Value) -> Result<Struct, String> {
    use prost_types::value::Kind;
    fn convert(value: &serde_json::Value) -> prost_types::Value {
        let kind = match value {
            serde_json::Value::Null => Kind::NullValue(0),
            serde_json::Value::Bool(b) => Kind::BoolValue(*b),
            serde_json::Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Kind::StringValue(s.clone()),
            serde_json::Value::Array(items) => Kind::ListValue(prost_types::ListValue {
                values: items.iter().map(convert).collect(),
            }),
            serde_json::Value::Object(map) => Kind::StructValue(Struct {
                fields: map.iter().map(|(k, v)| (k.clone(), convert(v))).collect(),
            }),
        };
        prost_types::Value { kind: Some(kind) }
    }
    match value {
        serde_json::Value::Object(map) => Ok(Struct {
            fields: map
                .iter()
                .map(|(k, v)| (k.clone(), convert(v)))
                .collect::<BTreeMap<_, _>>(),
        }),
        _ => Err("plugin settings and options must be a JSON object".into()),
    }
}
