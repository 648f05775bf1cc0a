//! A publish/promote loop killed with SIGKILL at random moments never loses
//! an acknowledged version and never leaves half a promotion.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rand::Rng;

use crate::support::*;

/// Two schemas whose files carry the same round number; they are always
/// published and promoted together.
fn sources(round: u64) -> [(String, String); 2] {
    [
        (
            "a/a.proto".into(),
            format!("syntax = \"proto3\";\npackage a;\nmessage A {{ int64 round_{round} = 1; }}\n"),
        ),
        (
            "b/b.proto".into(),
            format!(
                "syntax = \"proto3\";\npackage b;\nimport \"a/a.proto\";\nmessage B {{ a.A a = 1; int64 round_{round} = 2; }}\n"
            ),
        ),
    ]
}

#[derive(Debug, Default)]
struct Acknowledged {
    /// (schema, version, fingerprint) of every publish answered 201.
    versions: Vec<(String, i64, String)>,
    /// Rounds whose promote was answered 200.
    promoted_rounds: Vec<u64>,
}

fn round_of(text: &str) -> u64 {
    let start = text.find("round_").expect("round marker") + "round_".len();
    text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

/// Publishes and promotes round after round until `stop` or a failure;
/// returns the last round it started.
fn run_rounds(
    server: &Server,
    first_round: u64,
    stop: &AtomicBool,
    acked: &mut Acknowledged,
) -> u64 {
    let mut round = first_round;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        for (schema, (path, text)) in ["a", "b"].iter().zip(sources(round)) {
            let body = serde_json::json!({ "sources": { path: text } });
            let response = server
                .http
                .post(server.url(&format!("/v1/namespaces/crash/schemas/{schema}/versions")))
                .json(&body)
                .send();
            let Ok(response) = response else { return round };
            if response.status() != 201 {
                return round;
            }
            let Ok(body) = response.json::<serde_json::Value>() else {
                return round;
            };
            acked.versions.push((
                schema.to_string(),
                body["version"].as_i64().unwrap(),
                body["fingerprint"].as_str().unwrap().to_owned(),
            ));
        }
        let response = server
            .http
            .post(server.url("/v1/namespaces/crash/promote"))
            .send();
        match response {
            Ok(r) if r.status() == 200 => acked.promoted_rounds.push(round),
            _ => return round,
        }
    }
    round
}

fn check_after_restart(server: &Server, acked: &Acknowledged) -> u64 {
    for (schema, version, fingerprint) in &acked.versions {
        let (status, info) = server.get(&format!(
            "/v1/namespaces/crash/schemas/{schema}/versions/{version}"
        ));
        assert_eq!(status, 200, "acknowledged {schema} v{version} lost: {info}");
        assert_eq!(
            info["fingerprint"],
            fingerprint.as_str(),
            "{schema} v{version} changed"
        );
    }
    let (status, a) = server.get("/v1/namespaces/crash/schemas/a/versions/current/sources");
    if status == 404 {
        assert!(
            acked.promoted_rounds.is_empty(),
            "an acknowledged promote was lost"
        );
        return 0;
    }
    let (status_b, b) = server.get("/v1/namespaces/crash/schemas/b/versions/current/sources");
    assert_eq!((status, status_b), (200, 200));
    let round_a = round_of(a["sources"]["a/a.proto"].as_str().unwrap());
    let round_b = round_of(b["sources"]["b/b.proto"].as_str().unwrap());
    assert_eq!(round_a, round_b, "half a promotion survived the crash");
    if let Some(last) = acked.promoted_rounds.last() {
        assert!(
            round_a >= *last,
            "acknowledged promote of round {last} lost (current is round {round_a})"
        );
    }
    let (status, bytes) = server.get_bytes("/v1/namespaces/crash/descriptor");
    assert_eq!(status, 200);
    assert_eq!(descriptor_file_names(&bytes), ["a/a.proto", "b/b.proto"]);
    round_a.max(acked.promoted_rounds.last().copied().unwrap_or(0)) + 1_000
}

/// How many versions the last restore took from restore checkpoints.
fn restored_from_checkpoints(server: &Server) -> u64 {
    let text = server
        .http
        .get(server.url("/metrics"))
        .send()
        .and_then(|r| r.text())
        .expect("GET /metrics");
    text.lines()
        .find_map(|l| l.strip_prefix("protoreg_restore_versions{source=\"checkpoint\"} "))
        .map(|v| v.parse::<f64>().expect("a number") as u64)
        .expect("protoreg_restore_versions{source=\"checkpoint\"} in /metrics")
}

fn kill_loop(db: &Db, kills: usize) {
    // Restore checkpoints every 10 ms (written once a namespace has been
    // still for a tick, or after 15 ticks), so that kills also land in the
    // middle of checkpoint writes and restarts read stale checkpoints.
    // Checkpoints are written under a lease: on PostgreSQL a killed
    // server's lease passes to the next one when it expires (short here);
    // on SQLite the lock file proves the holder dead and it passes at once.
    let mut server = Server::start_with_env(
        db,
        &[
            ("PROTOREG_DATABASE__CHECKPOINT_INTERVAL_MS", "10"),
            ("PROTOREG_DATABASE__LEASE_TTL_MS", "400"),
        ],
    );
    let mut from_checkpoints = 0;
    // Every round renames the fields: a breaking change the default policy
    // would refuse at promote, ending each loop at its first promote.
    let (status, body) = server.put("/v1/namespaces/crash", serde_json::json!({}));
    assert!(status == 200 || status == 201, "{status} {body}");
    let (status, body) = server.put(
        "/v1/namespaces/crash/settings",
        serde_json::json!({"compat": {"mode": "NONE"}}),
    );
    assert_eq!(status, 200, "{body}");
    let mut rng = rand::rng();
    let mut acked = Acknowledged::default();
    let mut next_round = 0;
    for _ in 0..kills {
        let stop = Arc::new(AtomicBool::new(false));
        let delay = Duration::from_millis(rng.random_range(20..400));
        let pid = server.pid();
        let killer = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                std::thread::sleep(delay);
                // SIGKILL from outside, at whatever moment the loop is in.
                let _ = std::process::Command::new("kill")
                    .args(["-9", &pid.to_string()])
                    .status();
                stop.store(true, Ordering::Relaxed);
            })
        };
        let last = run_rounds(&server, next_round, &stop, &mut acked);
        killer.join().unwrap();
        server.restart_after_kill9();
        // Past every round already tried: a round whose publish landed but
        // whose promote did not must not be tried again (its sources would
        // be a no-change publish, ending the next loop at once).
        next_round = check_after_restart(&server, &acked).max(last + 1);
        from_checkpoints += restored_from_checkpoints(&server);
    }
    eprintln!(
        "kill loop: {kills} kills, {} acknowledged versions, {} acknowledged promotes, {from_checkpoints} versions restored from checkpoints",
        acked.versions.len(),
        acked.promoted_rounds.len()
    );
    assert!(
        from_checkpoints > 0,
        "no restart read a restore checkpoint: the loop did not test them"
    );
    assert!(
        acked.versions.len() >= kills && acked.promoted_rounds.len() >= kills / 4,
        "the loops acknowledged too little to prove anything"
    );
}

#[test]
fn sigkill_during_publish_promote_loses_nothing_sqlite() {
    kill_loop(&Db::sqlite(), 20);
}

#[test]
fn sigkill_during_publish_promote_loses_nothing_postgres() {
    if let Some(db) = Db::postgres() {
        kill_loop(&db, 20);
    }
}
