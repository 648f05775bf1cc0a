//! Test fixture for the plugin host's failure isolation: generators that
//! misbehave in the ways a real plugin can, built with the SDK. Not loaded
//! unless configured (its file name is not `libprotoreg_plugin_*`).

use protoreg_plugin_sdk::prost_types::compiler::code_generator_response::File;
use protoreg_plugin_sdk::{CodeGenerator, CodeGeneratorResponse, Plugin, PluginError};

/// One generator per way of failing; the name says which.
struct Misbehave(&'static str);

impl CodeGenerator for Misbehave {
    fn name(&self) -> &str {
        self.0
    }

    fn generate(&self, request: &[u8]) -> Result<CodeGeneratorResponse, PluginError> {
        match self.0 {
            "misbehave-panic" => panic!("misbehave: deliberate panic"),
            "misbehave-error" => Err("misbehave: deliberate error".into()),
            "misbehave-hang" => {
                // Long enough to overrun any test's limit, short enough not to
                // outlive the test process by much.
                std::thread::sleep(std::time::Duration::from_secs(5));
                Ok(CodeGeneratorResponse::default())
            }
            "misbehave-oversize" => Ok(CodeGeneratorResponse {
                file: vec![File {
                    name: Some("big.txt".into()),
                    content: Some("x".repeat(4 * 1024 * 1024)),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            _ => Ok(CodeGeneratorResponse {
                file: vec![File {
                    name: Some("ok.txt".into()),
                    content: Some(format!("{} request bytes", request.len())),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        }
    }
}

fn plugin() -> Plugin {
    let mut plugin = Plugin::new("misbehave", "0.0.0");
    for name in [
        "misbehave-ok",
        "misbehave-panic",
        "misbehave-error",
        "misbehave-hang",
        "misbehave-oversize",
    ] {
        plugin = plugin.generator(Misbehave(name));
    }
    plugin
}

protoreg_plugin_sdk::export_plugin!(plugin);
