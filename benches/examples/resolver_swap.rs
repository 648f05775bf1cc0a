//! Latency from a promote's HTTP response to the `protoreg_client::Resolver`
//! swap, against a real server:
//!
//! ```text
//! cargo build --release -p protoreg-server --bin protoreg
//! cargo run --release -p protoreg-benches --example resolver_swap -- target/release/protoreg [PROMOTES] [--grpc]
//! ```
//!
//! Starts `protoreg serve` on a fresh SQLite database, publishes one schema,
//! starts a resolver of its namespace, then PROMOTES times (default 300)
//! publishes a changed version and promotes it, measuring from the moment
//! the promote's 200 is read to the moment the resolver's `on_change`
//! callback runs (the new pool is swapped in just before). A swap that
//! lands before the response is read counts as 0. Prints p50, p90, p99 and
//! the maximum in milliseconds.
//!
//! With `--grpc` the resolver's client speaks gRPC alone
//! (`Client::builder_grpc`: `WatchEvents`, `GetNamespaceDescriptor`); the
//! publishes and promotes stay on HTTP, so the interval measured is the
//! same.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use protoreg_client::{Client, Resolver, Sources};

fn source(i: usize) -> Sources {
    let mut text = String::from(
        "syntax = \"proto3\";\npackage bench.v1;\nmessage Order {\n  string id = 1;\n",
    );
    // Each version adds a field (a compatible change).
    for f in 0..i {
        text.push_str(&format!("  int64 f{f} = {};\n", f + 2));
    }
    text.push_str("}\n");
    [("bench/order.proto".to_owned(), text)]
        .into_iter()
        .collect()
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let grpc = args.iter().any(|a| a == "--grpc");
    args.retain(|a| a != "--grpc");
    let mut args = args.into_iter();
    let binary = args
        .next()
        .expect("usage: resolver_swap PATH/protoreg [PROMOTES] [--grpc]");
    // Absolute: the server runs in a temporary directory.
    let binary = std::fs::canonicalize(&binary).expect("the protoreg binary");
    let promotes: usize = args
        .next()
        .map_or(300, |n| n.parse().expect("PROMOTES: a number"));
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(binary)
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url"])
        .arg(format!("sqlite://{}/protoreg.db", dir.path().display()))
        .env("PROTOREG_LOG__LEVEL", "warn")
        .env(
            "PROTOREG_GRPC__LISTEN",
            if grpc { "127.0.0.1:0" } else { "" },
        )
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start protoreg");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    // gRPC's line comes before HTTP's.
    let mut grpc_url = None;
    let base = loop {
        let line = lines
            .next()
            .expect("protoreg exited before listening")
            .expect("read stdout");
        if let Some(url) = line.strip_prefix("protoreg grpc listening on ") {
            grpc_url = Some(url.trim().to_owned());
        }
        if let Some(url) = line.strip_prefix("protoreg listening on ") {
            break url.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let client = Client::new(base).expect("client");
    let mut latencies = runtime.block_on(async {
        // Readiness: the first publish succeeds once the server is up.
        let deadline = Instant::now() + Duration::from_secs(60);
        while client
            .publish("bench", "order", &source(0), false)
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "server never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        client.promote("bench", false).await.expect("first promote");
        let follower = match &grpc_url {
            Some(url) => Client::builder_grpc(url.clone())
                .build()
                .expect("gRPC client"),
            None => client.clone(),
        };
        let resolver = Resolver::builder(follower, "bench")
            .start()
            .await
            .expect("resolver");
        let (tx, rx) = channel::<(u64, Instant)>();
        resolver.on_change(move |snapshot| {
            let _ = tx.send((snapshot.generation(), Instant::now()));
        });
        let mut latencies = Vec::with_capacity(promotes);
        for i in 1..=promotes {
            client
                .publish("bench", "order", &source(i), false)
                .await
                .expect("publish");
            client.promote("bench", false).await.expect("promote");
            let answered = Instant::now();
            let (_, swapped) = tokio::task::block_in_place(|| {
                rx.recv_timeout(Duration::from_secs(30))
                    .expect("a swap within 30 s")
            });
            latencies.push(swapped.saturating_duration_since(answered));
        }
        latencies
    });
    let _ = child.kill();
    let _ = child.wait();
    latencies.sort();
    let at = |q: f64| {
        let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1e3
    };
    println!(
        "{}  promotes {}  p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        if grpc { "grpc" } else { "http" },
        latencies.len(),
        at(0.50),
        at(0.90),
        at(0.99),
        at(1.0)
    );
}
