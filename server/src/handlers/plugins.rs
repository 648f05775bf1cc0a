use actix_web::HttpResponse;
use serde::Serialize;

use super::Reg;

/// One loaded plugin (or configured `protoc-gen-*` executable).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    /// Any of `compat_rule`, `codegen`, `event_sink`.
    pub kinds: Vec<String>,
    /// The library (or executable) it was loaded from.
    pub path: String,
    pub description: String,
    /// `false` while a call that overran its time limit has not returned.
    pub healthy: bool,
    /// Rule IDs it adds to the compatibility engine.
    pub rules: Vec<String>,
    /// Generator names usable in namespace `codegen[].plugin`.
    pub generators: Vec<String>,
    pub sinks: Vec<String>,
    /// Sinks the plugin's configuration leaves with nothing to do: not
    /// started.
    pub disabled_sinks: Vec<DisabledSinkInfo>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DisabledSinkInfo {
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PluginList {
    pub plugins: Vec<PluginInfo>,
}

/// The loaded plugins and `protoc-gen-*` generators.
#[utoipa::path(
    get,
    path = "/v1/plugins",
    tag = "plugins",
    responses((status = 200, description = "Loaded plugins", body = PluginList))
)]
pub async fn list(registry: Reg) -> HttpResponse {
    let host = registry.plugins();
    let mut plugins: Vec<PluginInfo> = host
        .plugins()
        .iter()
        .map(|p| PluginInfo {
            name: p.name().to_string(),
            version: p.manifest.version.clone(),
            kinds: p.kinds().into_iter().map(str::to_owned).collect(),
            path: p.path.display().to_string(),
            description: p.manifest.description.clone(),
            healthy: p.healthy(),
            rules: p.manifest.rules.iter().map(|r| r.id.clone()).collect(),
            generators: p
                .manifest
                .generators
                .iter()
                .map(|g| g.name.clone())
                .collect(),
            sinks: p.manifest.sinks.iter().map(|s| s.name.clone()).collect(),
            disabled_sinks: p
                .disabled_sinks
                .iter()
                .map(|(name, reason)| DisabledSinkInfo {
                    name: name.clone(),
                    reason: reason.clone(),
                })
                .collect(),
        })
        .collect();
    plugins.extend(host.protoc_generators().iter().map(|g| PluginInfo {
        name: g.name.clone(),
        version: String::new(),
        kinds: vec!["codegen".into()],
        path: g.path.display().to_string(),
        description: "protoc plugin executable".into(),
        healthy: true,
        rules: Vec::new(),
        generators: vec![g.name.clone()],
        sinks: Vec::new(),
        disabled_sinks: Vec::new(),
    }));
    HttpResponse::Ok().json(PluginList { plugins })
}
