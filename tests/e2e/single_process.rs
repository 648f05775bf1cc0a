//! SQLite serves one process: a second `protoreg serve` on the same file
//! refuses to start, and the lock goes with the first one's exit.

use std::process::Command;

use crate::support::{BIN, Db, Server};

fn second_server(db: &Db, workdir: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            db.url(),
        ])
        .current_dir(workdir)
        .env_remove("PROTOREG_DATABASE__URL")
        .env("PROTOREG_LOG__LEVEL", "warn")
        .env("PROTOREG_GRPC__LISTEN", "127.0.0.1:0")
        .output()
        .expect("run protoreg serve")
}

#[test]
fn a_second_server_on_one_sqlite_file_refuses_to_start() {
    let db = Db::sqlite();
    let mut first = Server::start(&db);
    first.money_current("shop");
    let workdir = tempfile::tempdir().unwrap();

    let out = second_server(&db, workdir.path());
    assert!(!out.status.success(), "a second server started");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is in use by another protoreg server") && stderr.contains(".lock"),
        "{stderr}"
    );
    // The first one is untouched.
    let (status, body) = first.get("/v1/namespaces/shop/schemas/common");
    assert_eq!(status, 200, "{body}");

    // Killed without a chance to clean up: the lock goes with the process.
    first.kill9();
    let second = Server::start(&db);
    let (status, body) = second.get("/v1/namespaces/shop/schemas/common");
    assert_eq!(status, 200, "{body}");
}
