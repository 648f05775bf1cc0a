//! PostgreSQL stopped under load and started again: requests that need it
//! answer 503 `unavailable`, reads served from memory keep working,
//! `/readyz` is 503; once it is back the server recovers without a restart
//! and nothing acknowledged is lost. On a private cluster made by the test
//! (never the shared server).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{Db, Server, skip_unless_ci};

const BIN_DIR: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL cluster of its own: a temporary directory owned by user
/// postgres, a free port, stopped (immediately) on drop.
struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
}

fn as_postgres(program: &str, args: &[&str]) -> std::process::Output {
    Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(Path::new(BIN_DIR).join(program))
        .args(args)
        .output()
        .expect("runuser")
}

impl Cluster {
    fn new() -> Option<Self> {
        if !Path::new(BIN_DIR).join("initdb").exists() {
            skip_unless_ci("PostgreSQL 15 binaries are not installed");
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("protoreg-pg-")
            .tempdir_in("/tmp")
            .unwrap();
        let status = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "chown the cluster directory to postgres");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Cluster { dir, port };
        let data = cluster.data();
        let out = as_postgres(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        cluster.start();
        Some(cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("log")
    }

    fn start(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let out = as_postgres(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &self.log().display().to_string(),
                "-w",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.log()).unwrap_or_default()
        );
    }

    fn stop(&self, mode: &str) {
        as_postgres("pg_ctl", &["-D", &self.data(), "-m", mode, "-w", "stop"]);
    }

    fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop("immediate");
    }
}

fn proto(i: usize) -> String {
    format!("syntax = \"proto3\";\npackage load;\n// revision {i}\nmessage M {{ string a = 1; }}\n")
}

#[test]
fn postgres_stopped_under_load_gives_503_and_recovers_without_a_restart() {
    let Some(cluster) = Cluster::new() else {
        return;
    };
    // The database on the private cluster (`Db::postgres` uses the shared
    // server); `Db`'s drop removes it.
    let mut admin = postgres::Client::connect(&cluster.admin_url(), postgres::NoTls).unwrap();
    admin.batch_execute("CREATE DATABASE protoreg").unwrap();
    drop(admin);
    let url = format!("postgres://postgres@127.0.0.1:{}/protoreg", cluster.port);
    let db = Db::Postgres {
        url,
        admin_url: cluster.admin_url(),
        name: "protoreg".into(),
    };
    let server = Arc::new(Server::start_with_env(
        &db,
        &[("PROTOREG_DATABASE__CONNECT_TIMEOUT_SECS", "2")],
    ));
    let (status, body) = server.publish("load", "m", &[("m.proto", &proto(0))]);
    assert_eq!(status, 201, "{body}");
    let (status, body) = server.promote("load");
    assert_eq!(status, 200, "{body}");
    // A second replica on the same database. Its revision check runs every
    // 60 s only, so within the bounds below it learns of the first one's
    // changes from PostgreSQL's notifications alone: its listener must
    // reconnect after the restart.
    let replica = Server::start_with_env(
        &db,
        &[
            ("PROTOREG_DATABASE__CONNECT_TIMEOUT_SECS", "2"),
            ("PROTOREG_DATABASE__REPLICA_SYNC_MS", "60000"),
        ],
    );

    // A client publishing new versions and reading the current one.
    let acknowledged = Arc::new(Mutex::new(Vec::<(i64, String)>::new()));
    let unavailable = Arc::new(Mutex::new(0usize));
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (server, acknowledged, unavailable, stop) = (
            server.clone(),
            acknowledged.clone(),
            unavailable.clone(),
            stop.clone(),
        );
        std::thread::spawn(move || {
            let mut i = 1;
            while !stop.load(Ordering::SeqCst) {
                let (status, body) = server.publish("load", "m", &[("m.proto", &proto(i))]);
                match status {
                    201 => acknowledged.lock().unwrap().push((
                        body["version"].as_i64().unwrap(),
                        body["fingerprint"].as_str().unwrap().to_owned(),
                    )),
                    503 => {
                        assert_eq!(body["code"], "unavailable", "{body}");
                        *unavailable.lock().unwrap() += 1;
                    }
                    _ => panic!("publish answered {status}: {body}"),
                }
                // The current descriptor and types are served from memory.
                for path in [
                    "/v1/namespaces/load/descriptor",
                    "/v1/namespaces/load/types/load.M",
                ] {
                    let (status, _) = server.get_bytes(path);
                    assert_eq!(status, 200, "a read served from memory failed: {path}");
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    cluster.stop("fast");

    // While it is down: writes 503 `unavailable`, reads from memory 200,
    // /readyz 503.
    let deadline = Instant::now() + Duration::from_secs(60);
    while *unavailable.lock().unwrap() < 3 {
        assert!(
            Instant::now() < deadline,
            "no 503 while the database was down"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, body) = server.get("/readyz");
    assert_eq!(status, 503, "{body}");
    let (status, body) = server.publish("load", "m", &[("m.proto", &proto(100_000))]);
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "unavailable", "{body}");
    let (status, body) = server.get("/v1/namespaces/load/types/load.M");
    assert_eq!(status, 200, "{body}");

    // Back: ready again, writes work again, without a restart.
    cluster.start();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if server.get("/readyz").0 == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz did not come back after the database did"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let before = acknowledged.lock().unwrap().len();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().unwrap().len() < before + 3 {
        assert!(Instant::now() < deadline, "publishes did not succeed again");
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::SeqCst);
    load.join().expect("the load thread");

    // The replica's listener is back: a promote on the first server is
    // served by the replica (the first within its reconnection backoff, the
    // next within the bound of a connected listener).
    let current = |server: &Server| {
        server
            .get("/v1/namespaces/load/schemas/m/versions/current")
            .1["version"]
            .as_i64()
    };
    for (round, bound) in [(1, Duration::from_secs(20)), (2, Duration::from_secs(5))] {
        let published =
            server.publish_created("load", "m", &[("m.proto", &proto(200_000 + round))]);
        server.promote_ok("load");
        let want = published["version"].as_i64();
        assert_eq!(current(&server), want);
        let deadline = Instant::now() + bound;
        while current(&replica) != want {
            assert!(
                Instant::now() < deadline,
                "round {round}: the replica did not serve version {want:?} within {bound:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    drop(replica);

    // Every acknowledged publish is there, with its fingerprint, also after
    // a restart of the server (read back from the database).
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 3);
    let server = Arc::try_unwrap(server).ok().expect("one owner");
    drop(server);
    let server = Server::start(&db);
    let (status, body) = server.get("/v1/namespaces/load/schemas/m/versions?page_size=1000");
    assert_eq!(status, 200, "{body}");
    let stored: Vec<(i64, String)> = body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["fingerprint"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for version in &acknowledged {
        assert!(
            stored.contains(version),
            "acknowledged {version:?} is missing"
        );
    }
    drop(server);
    drop(db);
}
