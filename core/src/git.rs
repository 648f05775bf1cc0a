//! The `git` command, run safely: a time limit, no terminal prompt, no
//! hooks, no system or global configuration, no credential helpers, and
//! only the `https`, `ssh` and `file` transports. Credentials for a host
//! (`git.credentials`) reach git through `GIT_ASKPASS` and the child's
//! environment, never a command line or a log line.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

/// Environment variables the askpass helper reads (the `protoreg` binary
/// answers git's prompt with them when `PROTOREG_GIT_ASKPASS` is set).
pub const ASKPASS_FLAG: &str = "PROTOREG_GIT_ASKPASS";
pub const ASKPASS_USERNAME: &str = "PROTOREG_GIT_USERNAME";
pub const ASKPASS_PASSWORD: &str = "PROTOREG_GIT_PASSWORD";

/// `[git]` of the server configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GitConfig {
    /// Where repository mirrors are kept (one bare repository per source).
    pub cache_dir: PathBuf,
    /// The git executable.
    pub program: PathBuf,
    /// Every git command is killed after this many milliseconds.
    pub timeout_ms: u64,
    /// The largest tree (`git archive` output, bytes) a sync reads.
    pub max_tree_bytes: u64,
    /// Push webhooks accepted per source and minute; more get 429.
    pub hook_rate_per_minute: u32,
    /// How often the sync worker looks for jobs another replica queued.
    pub poll_interval_ms: u64,
    /// Credentials per host, handed to git through `GIT_ASKPASS`.
    pub credentials: Vec<GitCredential>,
    /// The program git runs as `GIT_ASKPASS` (set by the server to its own
    /// executable; not a configuration key).
    #[serde(skip)]
    pub askpass: Option<PathBuf>,
}

impl Default for GitConfig {
    fn default() -> Self {
        GitConfig {
            cache_dir: PathBuf::from("data/git"),
            program: PathBuf::from("git"),
            timeout_ms: 120_000,
            max_tree_bytes: 256 * 1024 * 1024,
            hook_rate_per_minute: 60,
            poll_interval_ms: 5_000,
            credentials: Vec::new(),
            askpass: None,
        }
    }
}

/// A username and token for one host (`https://HOST/...`).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GitCredential {
    pub host: String,
    #[serde(default = "default_username")]
    pub username: String,
    pub token: String,
}

fn default_username() -> String {
    "x-access-token".into()
}

impl std::fmt::Debug for GitCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitCredential")
            .field("host", &self.host)
            .field("username", &self.username)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Checks a repository URL: `https://`, `ssh://`, `file://` or scp-like
/// `user@host:path`; no password in the URL (credentials belong in
/// `git.credentials`), no option-like or control characters.
pub fn validate_url(url: &str) -> Result<(), String> {
    if url.is_empty() || url.len() > 2048 {
        return Err("url must be 1 to 2048 bytes".into());
    }
    if url.starts_with('-') || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("url may not start with '-' or hold spaces or control characters".into());
    }
    let lower = url.to_ascii_lowercase();
    let rest = ["https://", "ssh://", "file://"]
        .iter()
        .find_map(|scheme| lower.strip_prefix(scheme).map(|_| &url[scheme.len()..]));
    match rest {
        Some(rest) => {
            let authority = rest.split('/').next().unwrap_or_default();
            if let Some((userinfo, _)) = authority.rsplit_once('@')
                && userinfo.contains(':')
            {
                return Err(
                    "url may not carry a password; configure git.credentials for its host".into(),
                );
            }
            Ok(())
        }
        None if !lower.contains("://") && scp_like(url) => Ok(()),
        None => Err("url must use https://, ssh://, file:// or user@host:path".into()),
    }
}

fn scp_like(url: &str) -> bool {
    match url.split_once(':') {
        Some((head, path)) => {
            head.contains('@') && !head.contains('/') && !path.is_empty() && !head.starts_with('@')
        }
        None => false,
    }
}

/// The host of a URL, for `git.credentials` (lower case, without a port or
/// user).
pub fn host_of(url: &str) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    let rest = ["https://", "ssh://"]
        .iter()
        .find_map(|scheme| lower.strip_prefix(scheme))?;
    let authority = rest.split('/').next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split(':').next()?;
    (!host.is_empty()).then(|| host.to_owned())
}

/// The key the push webhook compares repository URLs by: lower case,
/// without a trailing `/` or `.git`.
pub fn url_key(url: &str) -> String {
    let mut key = url.trim().to_ascii_lowercase();
    while key.ends_with('/') {
        key.pop();
    }
    if let Some(stripped) = key.strip_suffix(".git") {
        key = stripped.to_owned();
    }
    key
}

/// Checks a branch name (a subset of `git check-ref-format --branch`).
pub fn validate_branch(branch: &str) -> Result<(), String> {
    let ok = !branch.is_empty()
        && branch.len() <= 255
        && !branch.starts_with(['-', '/', '.'])
        && !branch.ends_with(['/', '.'])
        && !branch.ends_with(".lock")
        && !branch.contains("..")
        && !branch.contains("//")
        && !branch.contains("@{")
        && branch
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'));
    if ok {
        Ok(())
    } else {
        Err(format!("invalid branch {branch:?}"))
    }
}

/// Checks a commit id (4 to 64 hex digits).
pub fn validate_commit(commit: &str) -> Result<(), String> {
    if (4..=64).contains(&commit.len()) && commit.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(format!("invalid commit {commit:?}: 4 to 64 hex digits"))
    }
}

/// Normalises a folder inside the repository: `.` or a relative path
/// without `..` or empty segments; returned without `./` or trailing `/`
/// (`""` for the top).
pub fn normalize_root(root: &str) -> Result<String, String> {
    let trimmed = root.trim_matches('/');
    let mut parts = Vec::new();
    for part in trimmed.split('/') {
        match part {
            "" | "." => continue,
            ".." => return Err(format!("invalid root {root:?}: no '..'")),
            p if p.contains('\\') || p.chars().any(char::is_control) => {
                return Err(format!("invalid root {root:?}"));
            }
            p => parts.push(p),
        }
    }
    if root.starts_with('/') {
        return Err(format!("invalid root {root:?}: must be relative"));
    }
    Ok(parts.join("/"))
}

/// Why a git command failed.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git {command} failed: {stderr}")]
    Failed { command: String, stderr: String },
    #[error("git {command} ran over {timeout_ms} ms and was stopped")]
    Timeout { command: String, timeout_ms: u64 },
    #[error("git {command}: output over {limit} bytes")]
    TooLarge { command: String, limit: u64 },
    #[error("git could not be started: {0}")]
    CannotStart(String),
}

/// What [`Git::run_with`] adds to a command.
#[derive(Debug, Default, Clone, Copy)]
pub struct RunOptions<'a> {
    /// `--work-tree`.
    pub work_tree: Option<&'a Path>,
    /// Extra environment variables (`GIT_INDEX_FILE`, `GIT_AUTHOR_NAME`, …).
    pub env: &'a [(&'a str, &'a std::ffi::OsStr)],
}

/// Runs git for one source.
#[derive(Debug, Clone)]
pub struct Git<'a> {
    pub config: &'a GitConfig,
    /// The repository URL (for credentials).
    pub url: &'a str,
}

impl Git<'_> {
    /// Runs `git <args>` (after the safety options) with `git_dir` as
    /// `--git-dir`; stdout up to `limit` bytes.
    pub async fn run(
        &self,
        git_dir: Option<&Path>,
        args: &[&str],
        limit: u64,
    ) -> Result<Vec<u8>, GitError> {
        self.run_with(git_dir, &RunOptions::default(), args, limit)
            .await
    }

    /// [`Git::run`] with a work tree and extra environment (an index file,
    /// author and committer).
    pub async fn run_with(
        &self,
        git_dir: Option<&Path>,
        options: &RunOptions<'_>,
        args: &[&str],
        limit: u64,
    ) -> Result<Vec<u8>, GitError> {
        let command = args.first().copied().unwrap_or_default().to_owned();
        let mut cmd = tokio::process::Command::new(&self.config.program);
        cmd.args([
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "protocol.allow=never",
            "-c",
            "protocol.https.allow=always",
            "-c",
            "protocol.ssh.allow=always",
            "-c",
            "protocol.file.allow=always",
            "-c",
            "credential.helper=",
            "-c",
            "core.askPass=",
        ]);
        if let Some(dir) = git_dir {
            cmd.arg("--git-dir").arg(dir);
        }
        if let Some(tree) = options.work_tree {
            cmd.arg("--work-tree").arg(tree);
        }
        cmd.arg("--literal-pathspecs");
        cmd.args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_ASKPASS")
            .env_remove("SSH_ASKPASS")
            .env_remove(ASKPASS_FLAG)
            .env_remove(ASKPASS_USERNAME)
            .env_remove(ASKPASS_PASSWORD)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (key, value) in options.env {
            cmd.env(key, value);
        }
        if let (Some(askpass), Some(host)) = (&self.config.askpass, host_of(self.url))
            && let Some(credential) = self
                .config
                .credentials
                .iter()
                .find(|c| c.host.eq_ignore_ascii_case(&host))
        {
            cmd.env("GIT_ASKPASS", askpass)
                .env(ASKPASS_FLAG, "1")
                .env(ASKPASS_USERNAME, &credential.username)
                .env(ASKPASS_PASSWORD, &credential.token);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| GitError::CannotStart(e.to_string()))?;
        let mut stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let timeout_ms = self.config.timeout_ms;
        let work = async {
            let mut out = Vec::new();
            let mut err = Vec::new();
            let mut limited_out = (&mut stdout).take(limit + 1);
            let mut limited_err = (&mut stderr).take(64 * 1024);
            let (read_out, read_err) = tokio::join!(
                limited_out.read_to_end(&mut out),
                limited_err.read_to_end(&mut err),
            );
            read_out.map_err(|e| GitError::CannotStart(e.to_string()))?;
            read_err.map_err(|e| GitError::CannotStart(e.to_string()))?;
            if out.len() as u64 > limit {
                return Err(GitError::TooLarge {
                    command: command.clone(),
                    limit,
                });
            }
            let status = child
                .wait()
                .await
                .map_err(|e| GitError::CannotStart(e.to_string()))?;
            if !status.success() {
                return Err(GitError::Failed {
                    command: command.clone(),
                    stderr: String::from_utf8_lossy(&err).trim().to_owned(),
                });
            }
            Ok(out)
        };
        match tokio::time::timeout(Duration::from_millis(timeout_ms), work).await {
            Ok(result) => result,
            Err(_) => Err(GitError::Timeout {
                command,
                timeout_ms,
            }),
        }
    }
}

/// The `.proto` files of an uncompressed tar (`git archive`) under `root`
/// (`""`: everywhere), by path relative to `root`. Links and other entry
/// types are skipped; a file that is not UTF-8 is an error.
pub fn protos_of_tar(tar: &[u8], root: &str) -> Result<BTreeMap<String, String>, String> {
    let mut archive = tar::Archive::new(tar);
    let mut out = BTreeMap::new();
    let prefix = if root.is_empty() {
        String::new()
    } else {
        format!("{root}/")
    };
    let entries = archive
        .entries()
        .map_err(|e| format!("reading the tree: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("reading the tree: {e}"))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| format!("reading the tree: {e}"))?
            .to_string_lossy()
            .into_owned();
        let Some(relative) = path.strip_prefix(&prefix) else {
            continue;
        };
        if !relative.ends_with(".proto") {
            continue;
        }
        let mut text = String::new();
        entry
            .read_to_string(&mut text)
            .map_err(|_| format!("{path} is not UTF-8 text"))?;
        out.insert(relative.to_owned(), text);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_of_the_allowed_transports_pass_and_others_do_not() {
        for ok in [
            "https://github.com/acme/protos.git",
            "ssh://git@github.com/acme/protos",
            "file:///tmp/repo.git",
            "git@github.com:acme/protos.git",
            "https://user@host/x",
        ] {
            assert_eq!(validate_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://github.com/acme/protos",
            "git://github.com/acme/protos",
            "ext::sh -c touch% /tmp/pwned",
            "-uhttps://x",
            "https://user:secret@host/x",
            "/tmp/repo",
            "",
            "https://a b",
        ] {
            assert!(validate_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn url_keys_ignore_case_git_suffix_and_slashes() {
        assert_eq!(
            url_key("https://GitHub.com/Acme/Protos.git"),
            url_key("https://github.com/acme/protos/")
        );
        assert_ne!(url_key("https://h/a"), url_key("https://h/b"));
    }

    #[test]
    fn hosts_for_credentials() {
        assert_eq!(
            host_of("https://x@GitHub.com:443/a").as_deref(),
            Some("github.com")
        );
        assert_eq!(host_of("file:///tmp/x"), None);
    }

    #[test]
    fn branches_roots_and_commits() {
        assert!(validate_branch("main").is_ok());
        assert!(validate_branch("release/1.2").is_ok());
        for bad in ["", "-x", "a..b", "a b", "x.lock", "a//b", "/a"] {
            assert!(validate_branch(bad).is_err(), "{bad}");
        }
        assert_eq!(normalize_root(".").unwrap(), "");
        assert_eq!(normalize_root("./protos/").unwrap(), "protos");
        assert!(normalize_root("../x").is_err());
        assert!(normalize_root("/abs").is_err());
        assert!(validate_commit("0123abcd").is_ok());
        assert!(validate_commit("HEAD").is_err());
        assert!(validate_commit("--upload-pack=x").is_err());
    }
}
