//! The safe side: traits a plugin author implements and the [`Plugin`]
//! that dispatches ABI calls to them.

use prost::Message;

use crate::abi;
use crate::messages::{
    CodeGeneratorRequest, CodeGeneratorResponse, CompatRequest, CompatResponse, ConfigureRequest,
    ConfigureResponse, DisabledSink, Event, EventAck, FileDescriptorSet, GeneratorInfo, PluginKind,
    PluginManifest, RuleInfo, SinkInfo, Struct, Violation,
};

/// An error a plugin returns from a call. The host reports its message for
/// that call only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError(pub String);

impl PluginError {
    pub fn new(message: impl Into<String>) -> Self {
        PluginError(message.into())
    }
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PluginError {}

impl From<String> for PluginError {
    fn from(message: String) -> Self {
        PluginError(message)
    }
}

impl From<&str> for PluginError {
    fn from(message: &str) -> Self {
        PluginError(message.to_string())
    }
}

/// What a compatibility rule compares.
#[derive(Debug, Clone, Copy)]
pub struct CompatInput<'a> {
    /// The image checked against (before the change).
    pub previous: &'a FileDescriptorSet,
    /// The image being checked (after the change).
    pub current: &'a FileDescriptorSet,
    /// Plugin options from the namespace settings.
    pub options: &'a Struct,
}

impl CompatInput<'_> {
    /// The option `key` as a list of strings: a list of strings, or one
    /// string. Missing → empty.
    pub fn string_list(&self, key: &str) -> Result<Vec<String>, PluginError> {
        use prost_types::value::Kind;
        let Some(value) = self.options.fields.get(key) else {
            return Ok(Vec::new());
        };
        let item = |kind: &Option<Kind>| match kind {
            Some(Kind::StringValue(s)) => Ok(s.clone()),
            _ => Err(PluginError(format!(
                "option {key}: expected a string or a list of strings"
            ))),
        };
        match &value.kind {
            Some(Kind::ListValue(list)) => list.values.iter().map(|v| item(&v.kind)).collect(),
            other => Ok(vec![item(other)?]),
        }
    }
}

/// One compatibility rule. Findings are data: return them in `Ok`.
pub trait CompatRule: Send + Sync + 'static {
    /// `^[A-Z][A-Z0-9_]*$`, unique among all rules of the server.
    fn id(&self) -> &str;
    /// One sentence on what the rule checks.
    fn purpose(&self) -> &str;
    /// Any of `FILE`, `PACKAGE`, `WIRE_JSON`, `WIRE`.
    fn categories(&self) -> &[&str] {
        &[]
    }
    /// Whether the rule runs when a policy names no rule.
    fn default(&self) -> bool {
        false
    }
    fn check(&self, input: &CompatInput<'_>) -> Result<Vec<Violation>, PluginError>;
}

/// A code generator speaking protoc's plugin protocol.
pub trait CodeGenerator: Send + Sync + 'static {
    /// The name namespace settings use in `codegen[].plugin`.
    fn name(&self) -> &str;
    fn description(&self) -> &str {
        ""
    }
    /// `request` is the encoded `CodeGeneratorRequest`, byte for byte as the
    /// host sent it (custom options included, which `prost-types` drops when
    /// decoding; use [`decode_request`] when they don't matter). Problems
    /// with the input belong in `CodeGeneratorResponse.error`, as protoc
    /// plugins do; `Err` is for "could not run".
    fn generate(&self, request: &[u8]) -> Result<CodeGeneratorResponse, PluginError>;
}

/// Decodes a `CodeGeneratorRequest` with `prost-types`.
pub fn decode_request(request: &[u8]) -> Result<CodeGeneratorRequest, PluginError> {
    CodeGeneratorRequest::decode(request)
        .map_err(|e| PluginError(format!("invalid CodeGeneratorRequest: {e}")))
}

/// Receives every event of the registry, in order, at least once.
pub trait EventSink: Send + Sync + 'static {
    fn name(&self) -> &str;
    fn description(&self) -> &str {
        ""
    }
    /// Called once after loading with `plugins.settings.<plugin name>`.
    fn configure(&self, _settings: &Struct) -> Result<(), PluginError> {
        Ok(())
    }
    /// Asked after `configure`: `Some(reason)` when the settings give the
    /// sink nothing to do (e.g. no file configured). The host then does not
    /// start it, says so once in its log, and lists it as disabled in
    /// `GET /v1/plugins`.
    fn disabled(&self) -> Option<String> {
        None
    }
    /// Whether the sink delivers to destinations the host names in each
    /// event (`Event::destination`, webhook subscriptions) rather than
    /// receiving the event stream once.
    fn destinations(&self) -> bool {
        false
    }
    /// `Err` makes the host deliver the event again later.
    fn handle(&self, event: &Event) -> Result<(), PluginError>;
    /// The full answer: delivered, retry (with the status code or error and
    /// an optional retry-after) or failed for good. The default runs
    /// [`EventSink::handle`]: `Ok` is delivered, `Err` is retry.
    fn deliver(&self, event: &Event) -> Result<EventAck, PluginError> {
        self.handle(event).map(|()| EventAck::delivered(0))
    }
}

/// A plugin: its name, version and parts. Built once by the function given
/// to [`crate::export_plugin!`].
pub struct Plugin {
    name: String,
    version: String,
    description: String,
    rules: Vec<Box<dyn CompatRule>>,
    generators: Vec<Box<dyn CodeGenerator>>,
    sinks: Vec<Box<dyn EventSink>>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Plugin {
            name: name.into(),
            version: version.into(),
            description: String::new(),
            rules: Vec::new(),
            generators: Vec::new(),
            sinks: Vec::new(),
        }
    }

    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    pub fn rule(mut self, rule: impl CompatRule) -> Self {
        self.rules.push(Box::new(rule));
        self
    }

    pub fn generator(mut self, generator: impl CodeGenerator) -> Self {
        self.generators.push(Box::new(generator));
        self
    }

    pub fn sink(mut self, sink: impl EventSink) -> Self {
        self.sinks.push(Box::new(sink));
        self
    }

    pub fn manifest(&self) -> PluginManifest {
        let mut kinds = Vec::new();
        if !self.rules.is_empty() {
            kinds.push(PluginKind::CompatRule as i32);
        }
        if !self.generators.is_empty() {
            kinds.push(PluginKind::CodeGenerator as i32);
        }
        if !self.sinks.is_empty() {
            kinds.push(PluginKind::EventSink as i32);
        }
        PluginManifest {
            name: self.name.clone(),
            version: self.version.clone(),
            kinds,
            description: self.description.clone(),
            rules: self
                .rules
                .iter()
                .map(|r| RuleInfo {
                    id: r.id().to_string(),
                    purpose: r.purpose().to_string(),
                    categories: r.categories().iter().map(|c| c.to_string()).collect(),
                    default: r.default(),
                })
                .collect(),
            generators: self
                .generators
                .iter()
                .map(|g| GeneratorInfo {
                    name: g.name().to_string(),
                    description: g.description().to_string(),
                })
                .collect(),
            sinks: self
                .sinks
                .iter()
                .map(|s| SinkInfo {
                    name: s.name().to_string(),
                    description: s.description().to_string(),
                    destinations: s.destinations(),
                })
                .collect(),
        }
    }

    pub(crate) fn manifest_bytes(&self) -> Vec<u8> {
        self.manifest().encode_to_vec()
    }

    /// Runs one ABI call: decodes the request, calls the part, encodes the
    /// response. Public so that plugins can be tested without loading them.
    pub fn dispatch(&self, kind: u32, target: &str, request: &[u8]) -> Result<Vec<u8>, String> {
        match kind {
            abi::PROTOREG_CALL_CONFIGURE => self.configure(request),
            abi::PROTOREG_CALL_COMPAT => self.compat(request),
            abi::PROTOREG_CALL_GENERATE => self.generate(target, request),
            abi::PROTOREG_CALL_EVENT => self.event(target, request),
            other => Err(format!("unknown call kind {other}")),
        }
    }

    fn configure(&self, request: &[u8]) -> Result<Vec<u8>, String> {
        let request = ConfigureRequest::decode(request).map_err(|e| e.to_string())?;
        let settings = request.settings.unwrap_or_default();
        let mut disabled_sinks = Vec::new();
        for sink in &self.sinks {
            sink.configure(&settings)
                .map_err(|e| format!("{}: {e}", sink.name()))?;
            if let Some(reason) = sink.disabled() {
                disabled_sinks.push(DisabledSink {
                    name: sink.name().to_string(),
                    reason,
                });
            }
        }
        Ok(ConfigureResponse { disabled_sinks }.encode_to_vec())
    }

    fn compat(&self, request: &[u8]) -> Result<Vec<u8>, String> {
        let request = CompatRequest::decode(request).map_err(|e| e.to_string())?;
        let previous = request.previous.unwrap_or_default();
        let current = request.current.unwrap_or_default();
        let options = request.options.unwrap_or_default();
        let input = CompatInput {
            previous: &previous,
            current: &current,
            options: &options,
        };
        let mut violations = Vec::new();
        for id in &request.rule_ids {
            let rule = self
                .rules
                .iter()
                .find(|r| r.id() == id)
                .ok_or_else(|| format!("unknown rule {id}"))?;
            let found = rule.check(&input).map_err(|e| format!("{id}: {e}"))?;
            violations.extend(found.into_iter().map(|mut v| {
                if v.rule_id.is_empty() {
                    v.rule_id = id.clone();
                }
                v
            }));
        }
        Ok(CompatResponse { violations }.encode_to_vec())
    }

    fn generate(&self, target: &str, request: &[u8]) -> Result<Vec<u8>, String> {
        let generator = self
            .generators
            .iter()
            .find(|g| g.name() == target)
            .ok_or_else(|| format!("unknown generator {target:?}"))?;
        let response = generator.generate(request).map_err(|e| e.0)?;
        Ok(response.encode_to_vec())
    }

    fn event(&self, target: &str, request: &[u8]) -> Result<Vec<u8>, String> {
        let sink = self
            .sinks
            .iter()
            .find(|s| s.name() == target)
            .ok_or_else(|| format!("unknown sink {target:?}"))?;
        let event = Event::decode(request).map_err(|e| e.to_string())?;
        let ack = sink.deliver(&event).map_err(|e| e.0)?;
        Ok(ack.encode_to_vec())
    }
}
