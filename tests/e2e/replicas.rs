//! Three replicas (three `protoreg serve` processes) on one fresh
//! PostgreSQL database: they serve each other's changes within a bound,
//! concurrent publishes through all of them give dense versions, a webhook
//! receiver gets each event from one replica, and kill -9 of the replica
//! holding the webhook's lease loses nothing: the lease passes on.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;
use crate::webhooks::Receiver;

/// Short leases, so that a killed replica's work passes on within seconds.
const REPLICA_ENV: &[(&str, &str)] = &[
    ("PROTOREG_DATABASE__LEASE_TTL_MS", "2000"),
    ("PROTOREG_DATABASE__REPLICA_SYNC_MS", "60000"),
    ("PROTOREG_WEBHOOKS__ALLOW_PRIVATE", "true"),
    ("PROTOREG_WEBHOOKS__INITIAL_BACKOFF_MS", "100"),
    ("PROTOREG_WEBHOOKS__MAX_BACKOFF_S", "1"),
];

/// The bound the test asserts (generous for CI); the real figures are
/// printed and measured by `benches/replicas/run`.
const BOUND: Duration = Duration::from_secs(5);

fn three(db: &Db) -> Vec<Server> {
    (0..3)
        .map(|_| Server::start_with_env(db, REPLICA_ENV))
        .collect()
}

fn proto(package: &str, fields: usize) -> String {
    let mut text = format!("syntax = \"proto3\";\npackage {package};\nmessage M {{\n");
    for i in 0..fields {
        text.push_str(&format!("  string f{i} = {};\n", i + 1));
    }
    text.push_str("}\n");
    text
}

fn current_version(server: &Server, ns: &str, schema: &str) -> Option<i64> {
    let (status, body) = server.get(&format!(
        "/v1/namespaces/{ns}/schemas/{schema}/versions/current"
    ));
    (status == 200).then(|| body["version"].as_i64()).flatten()
}

/// Waits until `done` holds, at most [`BOUND`]; the time it took.
#[track_caller]
fn within_bound(what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < BOUND, "{what}: not within {BOUND:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
    started.elapsed()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[test]
fn changes_on_one_replica_are_served_by_the_others() {
    let Some(db) = Db::postgres() else {
        return;
    };
    let servers = three(&db);
    let (a, others) = (&servers[0], &servers[1..]);

    // A namespace created on A appears on B and C.
    a.publish_created("shop", "s", &[("s/m.proto", &proto("shop", 1))]);
    for other in others {
        within_bound("a namespace created elsewhere", || {
            other.get("/v1/namespaces/shop").0 == 200
        });
    }

    // Publish + promote on A, served by B and C: measured every round.
    let mut latencies = Vec::new();
    for round in 1..=20 {
        if round > 1 {
            a.publish_created("shop", "s", &[("s/m.proto", &proto("shop", round))]);
        }
        a.promote_ok("shop");
        let want = round as i64;
        for other in others {
            latencies.push(within_bound(
                "a promote on A served by another replica",
                || current_version(other, "shop", "s") == Some(want),
            ));
        }
    }
    latencies.sort_unstable();
    eprintln!(
        "promote-to-visible across replicas over {} reads: p50 {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().unwrap()
    );

    // The other replicas serve the same descriptor set, byte for byte.
    let (status, on_a) = a.get_bytes("/v1/namespaces/shop/descriptor");
    assert_eq!(status, 200);
    for other in others {
        assert_eq!(other.get_bytes("/v1/namespaces/shop/descriptor").1, on_a);
    }

    // Settings changed on B are served by A and C.
    let (status, body) = servers[1].put(
        "/v1/namespaces/shop",
        json!({"metadata": {"owner": "team-b"}}),
    );
    assert_eq!(status, 200, "{body}");
    for server in [&servers[0], &servers[2]] {
        within_bound("metadata changed elsewhere", || {
            server.get("/v1/namespaces/shop").1["metadata"]["owner"] == "team-b"
        });
    }

    // A namespace deleted on C is gone from A and B.
    let (status, body) = servers[2].delete("/v1/namespaces/shop");
    assert!(status == 204 || status == 200, "{status} {body}");
    for server in &servers[..2] {
        within_bound("a namespace deleted elsewhere", || {
            server.get("/v1/namespaces/shop").0 == 404
        });
    }
}

#[test]
fn concurrent_publishes_through_three_replicas_give_dense_versions() {
    let Some(db) = Db::postgres() else {
        return;
    };
    let servers = three(&db);
    servers[0].publish_created("race", "s", &[("s/m.proto", &proto("race", 1))]);
    for server in &servers {
        within_bound("the namespace on every replica", || {
            server.get("/v1/namespaces/race").0 == 200
        });
    }
    const EACH: usize = 8;
    let results: Vec<(usize, i64, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = servers
            .iter()
            .enumerate()
            .map(|(replica, server)| {
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    for n in 0..EACH {
                        // A distinct version per publish: fields count and
                        // a per-replica package comment.
                        let fields = 2 + replica * EACH + n;
                        let text = proto("race", fields);
                        let mut tries = 0;
                        loop {
                            let (status, body) =
                                server.publish("race", "s", &[("s/m.proto", &text)]);
                            if status == 201 {
                                mine.push((
                                    fields,
                                    body["version"].as_i64().unwrap(),
                                    body["fingerprint"].as_str().unwrap().to_owned(),
                                ));
                                break;
                            }
                            // Another replica wrote first: this one reloads;
                            // the client retries.
                            assert_eq!(status, 409, "{body}");
                            tries += 1;
                            assert!(tries < 100, "no progress: {body}");
                            std::thread::sleep(Duration::from_millis(5));
                        }
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let total = 1 + 3 * EACH;
    let versions: BTreeSet<i64> = results.iter().map(|(_, v, _)| *v).collect();
    assert_eq!(results.len(), 3 * EACH);
    assert_eq!(
        versions,
        (2..=total as i64).collect::<BTreeSet<_>>(),
        "dense, without duplicates: {results:?}"
    );
    let fingerprints: BTreeSet<&str> = results.iter().map(|(_, _, f)| f.as_str()).collect();
    assert_eq!(fingerprints.len(), 3 * EACH, "each publish its own version");

    // Every replica lists the same versions, each with its own content.
    let listed = |server: &Server| -> BTreeMap<i64, String> {
        let (status, body) = server.get("/v1/namespaces/race/schemas/s/versions?page_size=1000");
        assert_eq!(status, 200, "{body}");
        body["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["version"].as_i64().unwrap(),
                    v["fingerprint"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let on_first = listed(&servers[0]);
    assert_eq!(on_first.len(), total, "{on_first:?}");
    for (_, version, fingerprint) in &results {
        assert_eq!(on_first.get(version), Some(fingerprint));
    }
    for server in &servers[1..] {
        within_bound("the same versions on every replica", || {
            listed(server) == on_first
        });
    }
}

fn event_ids_after(server: &Server, after: i64) -> Vec<i64> {
    let (status, body) = server.get(&format!("/v1/events?after={after}&limit=1000"));
    assert_eq!(status, 200, "{body}");
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect()
}

fn last_event_id(server: &Server) -> i64 {
    event_ids_after(server, 0).last().copied().unwrap_or(0)
}

/// Received event ids → how many times each arrived.
fn arrivals(receiver: &Receiver) -> BTreeMap<i64, usize> {
    let mut counts = BTreeMap::new();
    for r in receiver.received() {
        *counts.entry(r.json()["id"].as_i64().unwrap()).or_insert(0) += 1;
    }
    counts
}

/// Which replica holds a lease: its holder id starts with the process id.
fn lease_holder_pid(db: &Db, lease: &str) -> Option<u32> {
    let mut client = postgres::Client::connect(db.url(), postgres::NoTls).unwrap();
    let row = client
        .query_opt("SELECT holder FROM leases WHERE name = $1", &[&lease])
        .unwrap()?;
    let holder: String = row.get(0);
    holder.split('-').next()?.parse().ok()
}

#[test]
fn webhook_events_arrive_once_and_a_killed_replicas_lease_passes_on() {
    let Some(db) = Db::postgres() else {
        return;
    };
    let receiver = Receiver::start();
    let mut servers = three(&db);
    let before = last_event_id(&servers[0]);
    let (status, created) = servers[0].post(
        "/v1/webhooks",
        json!({"url": receiver.url, "events": ["*"], "description": "replicas"}),
    );
    assert_eq!(status, 201, "{created}");
    let hook = created["id"].as_i64().unwrap();

    // Events made through every replica.
    for (i, server) in servers.iter().enumerate() {
        let ns = format!("hooks{i}");
        server.publish_created(&ns, "s", &[("s/m.proto", &proto(&ns, 1))]);
        server.promote_ok(&ns);
    }
    let expected = event_ids_after(&servers[0], before);
    assert!(expected.len() >= 6, "{expected:?}");
    let wait = |what: &str, want: &[i64]| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = arrivals(&receiver);
            if want.iter().all(|id| got.contains_key(id)) {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: got {got:?}, want {want:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let got = wait("every event delivered", &expected);
    // Each from exactly one replica: once.
    assert!(
        got.values().all(|&n| n == 1),
        "an event arrived more than once: {got:?}"
    );
    assert_eq!(got.keys().copied().collect::<Vec<_>>(), expected);

    // Kill -9 the replica delivering: its lease passes to another, which
    // delivers what happens next (and anything it left open).
    let lease = format!("webhook:{hook}");
    let holder = lease_holder_pid(&db, &lease).expect("a replica holds the webhook's lease");
    let victim = servers
        .iter()
        .position(|s| s.pid() == holder)
        .expect("the holder is one of the three");
    servers[victim].kill9();
    let survivors: Vec<&Server> = servers
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != victim)
        .map(|(_, s)| s)
        .collect();
    let mark = *expected.last().unwrap();
    for (i, server) in survivors.iter().enumerate() {
        let ns = format!("after{i}");
        server.publish_created(&ns, "s", &[("s/m.proto", &proto(&ns, 1))]);
        server.promote_ok(&ns);
    }
    let later = event_ids_after(survivors[0], mark);
    assert!(later.len() >= 4, "{later:?}");
    let got = wait("events after the kill delivered by a survivor", &later);
    for id in &later {
        assert_eq!(
            got[id], 1,
            "event {id} after the kill arrived more than once: {got:?}"
        );
    }
    let new_holder = lease_holder_pid(&db, &lease).expect("the lease was taken over");
    assert_ne!(new_holder, holder, "a survivor holds the lease now");
    assert!(
        survivors.iter().any(|s| s.pid() == new_holder),
        "the new holder is a survivor"
    );

    // Nothing acknowledged was lost: the survivors serve every namespace.
    for server in &survivors {
        for ns in ["hooks0", "hooks1", "hooks2", "after0", "after1"] {
            within_bound("every namespace on the survivors", || {
                current_version(server, ns, "s") == Some(1)
            });
        }
        let (status, log) = server.get(&format!("/v1/webhooks/{hook}/deliveries"));
        assert_eq!(status, 200, "{log}");
        let delivered: Vec<&Value> = log["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["status"] == "delivered")
            .collect();
        assert!(delivered.len() >= expected.len() + later.len(), "{log}");
    }
}
