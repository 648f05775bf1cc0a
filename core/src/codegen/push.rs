//! Generated code pushed to git (`settings.codegen[].push`): a job's files
//! committed under `path` on `branch` and pushed, with the `git` command
//! run as repository sync runs it (`crate::git`).
//!
//! Each push target has a bare mirror under `git.cache_dir/push/`. The
//! commit is built without a shared work tree: a scratch directory holds
//! the generated files and a scratch index (`GIT_INDEX_FILE`) starts from
//! the branch's tree, so that files outside `path` stay as they are (and,
//! unless the folder is the schema's own, those in it that the job did not
//! write). A tree equal to the branch's makes no commit. A push that is rejected
//! because the branch moved (another writer) is built again on the new tip
//! (the one generated commit rebased) and retried, at most
//! [`PUSH_ATTEMPTS`] times.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use crate::fingerprint::sha256_hex;
use crate::git::{self, Git, GitConfig, GitError, RunOptions};
use crate::settings::PushTarget;

/// Attempts at a push the remote rejects because its branch moved.
pub const PUSH_ATTEMPTS: usize = 3;

const AUTHOR_NAME: &str = "protoreg";
const AUTHOR_EMAIL: &str = "protoreg@localhost";

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// A new commit is on the branch.
    Pushed { commit: String },
    /// The branch already holds exactly these files under `path`.
    Unchanged { head: String },
}

/// One push at a time per mirror in this process (the mirror's refs and
/// objects are shared).
static MIRROR_LOCKS: LazyLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> =
    LazyLock::new(Default::default);

fn mirror_lock(mirror: &Path) -> Arc<tokio::sync::Mutex<()>> {
    MIRROR_LOCKS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(mirror.to_owned())
        .or_default()
        .clone()
}

/// The bare mirror of a push target's repository.
pub fn mirror_dir(config: &GitConfig, url: &str) -> PathBuf {
    let key = sha256_hex(git::url_key(url).as_bytes());
    config.cache_dir.join("push").join(&key[..24])
}

/// Commits `files` of a job of `schema` in `namespace` under the target's
/// path on `target.branch` with `message` and pushes; `log` gets a line
/// per step.
pub async fn push(
    config: &GitConfig,
    target: &PushTarget,
    (namespace, schema): (&str, &str),
    files: &BTreeMap<String, Vec<u8>>,
    message: &str,
    log: &mut Vec<String>,
) -> Result<PushOutcome, String> {
    let path = git::normalize_root(&target.resolved_path(namespace, schema))?;
    let replace = target.owns_folder();
    let git = Git {
        config,
        url: &target.url,
    };
    let mirror = mirror_dir(config, &target.url);
    let lock = mirror_lock(&mirror);
    let _guard = lock.lock().await;
    if !mirror.join("HEAD").is_file() {
        std::fs::create_dir_all(&mirror)
            .map_err(|e| format!("creating the mirror {}: {e}", mirror.display()))?;
        let dir = mirror.to_string_lossy().into_owned();
        git.run(None, &["init", "--bare", "--quiet", &dir], 1 << 20)
            .await
            .map_err(|e| e.to_string())?;
    }
    let branch_ref = format!("refs/heads/{}", target.branch);
    for attempt in 1..=PUSH_ATTEMPTS {
        let parent = fetch_branch(&git, &mirror, &target.url, &branch_ref).await?;
        let tree = Tree {
            path: &path,
            replace,
            files,
        };
        let Some(commit) =
            commit_files(&git, &mirror, parent.as_deref(), &tree, target, message).await?
        else {
            let head = parent.unwrap_or_default();
            log.push(format!(
                "push: {} {} already holds these files (at {head}); no commit",
                target.url, target.branch
            ));
            return Ok(PushOutcome::Unchanged { head });
        };
        let refspec = format!("{commit}:{branch_ref}");
        match git
            .run(
                Some(&mirror),
                &["push", "--quiet", "--", &target.url, &refspec],
                1 << 20,
            )
            .await
        {
            Ok(_) => {
                log.push(format!(
                    "push: committed {commit} to {} {} under {:?}",
                    target.url,
                    target.branch,
                    if path.is_empty() { "." } else { path.as_str() }
                ));
                return Ok(PushOutcome::Pushed { commit });
            }
            Err(GitError::Failed { stderr, .. })
                if attempt < PUSH_ATTEMPTS && branch_moved(&stderr) =>
            {
                log.push(format!(
                    "push: {} {} moved meanwhile (attempt {attempt}); rebuilding on its new tip",
                    target.url, target.branch
                ));
            }
            Err(err) => return Err(format!("push to {} {}: {err}", target.url, target.branch)),
        }
    }
    Err(format!(
        "push to {} {}: the branch kept moving ({PUSH_ATTEMPTS} attempts)",
        target.url, target.branch
    ))
}

/// Whether git refused a push because the remote branch is not an
/// ancestor of the pushed commit.
fn branch_moved(stderr: &str) -> bool {
    [
        "non-fast-forward",
        "fetch first",
        "stale info",
        "cannot lock ref",
    ]
    .iter()
    .any(|s| stderr.contains(s))
}

/// Fetches the branch into the mirror; its commit, or `None` when the
/// remote has no such branch yet.
async fn fetch_branch(
    git: &Git<'_>,
    mirror: &Path,
    url: &str,
    branch_ref: &str,
) -> Result<Option<String>, String> {
    let listed = git
        .run(
            Some(mirror),
            &["ls-remote", "--heads", "--", url, branch_ref],
            1 << 20,
        )
        .await
        .map_err(|e| e.to_string())?;
    if String::from_utf8_lossy(&listed).trim().is_empty() {
        return Ok(None);
    }
    let refspec = format!("+{branch_ref}:{branch_ref}");
    git.run(
        Some(mirror),
        &[
            "fetch",
            "--quiet",
            "--no-tags",
            "--force",
            "--",
            url,
            &refspec,
        ],
        1 << 20,
    )
    .await
    .map_err(|e| e.to_string())?;
    let head = git
        .run(
            Some(mirror),
            &["rev-parse", "--verify", &format!("{branch_ref}^{{commit}}")],
            1 << 10,
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(Some(String::from_utf8_lossy(&head).trim().to_owned()))
}

/// What a push puts in the branch.
struct Tree<'a> {
    /// Normalised; `""` is the top.
    path: &'a str,
    /// The folder is replaced whole (else files are added or replaced).
    replace: bool,
    files: &'a BTreeMap<String, Vec<u8>>,
}

/// The commit of the tree on top of `parent`, or `None` when `parent`'s
/// tree already is that tree.
async fn commit_files(
    git: &Git<'_>,
    mirror: &Path,
    parent: Option<&str>,
    tree: &Tree<'_>,
    target: &PushTarget,
    message: &str,
) -> Result<Option<String>, String> {
    let Tree {
        path,
        replace,
        files,
    } = *tree;
    let scratch = tempfile::Builder::new()
        .prefix("push-")
        .tempdir_in(mirror)
        .map_err(|e| format!("creating a scratch directory in {}: {e}", mirror.display()))?;
    let tree_dir = scratch.path().join("tree");
    let index = scratch.path().join("index");
    let base = if path.is_empty() {
        tree_dir.clone()
    } else {
        tree_dir.join(path)
    };
    std::fs::create_dir_all(&base).map_err(|e| format!("writing the files: {e}"))?;
    for (name, content) in files {
        let file = base.join(name);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("writing {name}: {e}"))?;
        }
        std::fs::write(&file, content).map_err(|e| format!("writing {name}: {e}"))?;
    }
    let name = target.author_name.as_deref().unwrap_or(AUTHOR_NAME);
    let email = target.author_email.as_deref().unwrap_or(AUTHOR_EMAIL);
    let env: [(&str, &OsStr); 5] = [
        ("GIT_INDEX_FILE", index.as_os_str()),
        ("GIT_AUTHOR_NAME", OsStr::new(name)),
        ("GIT_AUTHOR_EMAIL", OsStr::new(email)),
        ("GIT_COMMITTER_NAME", OsStr::new(name)),
        ("GIT_COMMITTER_EMAIL", OsStr::new(email)),
    ];
    let options = RunOptions {
        work_tree: Some(&tree_dir),
        env: &env,
    };
    let run = |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        git.run_with(Some(mirror), &options, &args, 1 << 20)
            .await
            .map(|out| String::from_utf8_lossy(&out).trim().to_owned())
            .map_err(|e| e.to_string())
    };
    let pathspec = if path.is_empty() { "." } else { path }.to_owned();
    match parent {
        Some(parent) => run(vec!["read-tree".into(), parent.into()]).await?,
        None => run(vec!["read-tree".into(), "--empty".into()]).await?,
    };
    if replace {
        run(vec![
            "rm".into(),
            "--cached".into(),
            "-r".into(),
            "-q".into(),
            "--ignore-unmatch".into(),
            "--".into(),
            pathspec.clone(),
        ])
        .await?;
    }
    if !files.is_empty() {
        // `--ignore-removal`: the work tree holds only this job's files;
        // what is missing from it is not deleted (a folder replaced whole
        // was emptied by the `rm` above).
        run(vec![
            "add".into(),
            "-f".into(),
            "--ignore-removal".into(),
            "--".into(),
            pathspec.clone(),
        ])
        .await?;
    }
    let tree = run(vec!["write-tree".into()]).await?;
    if let Some(parent) = parent {
        let parent_tree = run(vec!["rev-parse".into(), format!("{parent}^{{tree}}")]).await?;
        if parent_tree == tree {
            return Ok(None);
        }
    }
    let mut args = vec!["commit-tree".into(), tree, "-m".into(), message.into()];
    if let Some(parent) = parent {
        args.extend(["-p".into(), parent.into()]);
    }
    Ok(Some(run(args).await?))
}
