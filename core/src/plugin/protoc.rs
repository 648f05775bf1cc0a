//! `protoc-gen-*` executables as code generators: the standard protoc
//! plugin protocol (a `CodeGeneratorRequest` on stdin, the response on
//! stdout), with the host's time and output limits.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use prost::Message;
use protoreg_plugin_sdk::CodeGeneratorResponse;
use serde::{Deserialize, Serialize};

use super::PluginCallError;

/// `[[plugins.protoc]]`: a generator name and the executable behind it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProtocGenerator {
    pub name: String,
    pub path: PathBuf,
    #[serde(skip, default = "default_timeout")]
    pub(crate) timeout: Duration,
    #[serde(skip, default = "default_max_output")]
    pub(crate) max_output: usize,
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_max_output() -> usize {
    64 * 1024 * 1024
}

impl ProtocGenerator {
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        ProtocGenerator {
            name: name.into(),
            path: path.into(),
            timeout: default_timeout(),
            max_output: default_max_output(),
        }
    }

    /// Runs the executable once. Blocks up to the time limit; a process
    /// that runs over is killed.
    pub fn generate(&self, request: Vec<u8>) -> Result<CodeGeneratorResponse, PluginCallError> {
        let failed = |message: String| PluginCallError::Failed {
            plugin: self.name.clone(),
            message,
        };
        let mut child = Command::new(&self.path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            // The server's problem (a missing or unrunnable executable), not
            // the schema's.
            .map_err(|e| PluginCallError::CannotStart {
                plugin: self.name.clone(),
                message: format!("cannot start {}: {e}", self.path.display()),
            })?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        // Feed and drain on threads so a large request or response cannot
        // deadlock on full pipes.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&request);
        });
        let limit = self.max_output as u64;
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let read = (&mut stdout).take(limit + 1).read_to_end(&mut out);
            let _ = sender.send(read.map(|_| out));
        });
        let err_thread = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = (&mut stderr).take(64 * 1024).read_to_string(&mut text);
            text
        });
        let output = match receiver.recv_timeout(self.timeout) {
            Ok(output) => output,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(PluginCallError::Timeout {
                    plugin: self.name.clone(),
                    timeout_ms: self.timeout.as_millis() as u64,
                });
            }
        };
        let out = output.map_err(|e| failed(format!("reading its output: {e}")))?;
        if out.len() as u64 > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(PluginCallError::Invalid {
                plugin: self.name.clone(),
                message: format!("the response is over the limit of {limit} bytes"),
            });
        }
        let status = child
            .wait()
            .map_err(|e| failed(format!("waiting for it: {e}")))?;
        let stderr = err_thread.join().unwrap_or_default();
        if !status.success() {
            return Err(failed(format!("exited with {status}: {}", stderr.trim())));
        }
        CodeGeneratorResponse::decode(out.as_slice()).map_err(|e| PluginCallError::Invalid {
            plugin: self.name.clone(),
            message: format!("cannot decode the response: {e}"),
        })
    }
}
