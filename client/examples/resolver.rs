//! Follows a namespace and prints each state the registry pushes.
//!
//! ```text
//! protoreg serve &                      # a registry on 127.0.0.1:8080
//! cargo run -p protoreg-client --example resolver -- http://127.0.0.1:8080 shop [cache-dir]
//! ```
//!
//! Then publish and promote something in `shop`: the example prints the new
//! message types within milliseconds, without polling. Stop the registry and
//! the last state is still served; with a cache dir it even starts while
//! the registry is down. `PROTOREG_TOKEN` is sent as the bearer token.

use std::time::Duration;

use protoreg_client::{Client, Resolver, Snapshot};

fn describe(snapshot: &Snapshot) -> String {
    let mut names: Vec<String> = snapshot
        .pool()
        .all_messages()
        .map(|m| m.full_name().to_owned())
        .filter(|n| !n.starts_with("google.protobuf."))
        .collect();
    names.sort();
    format!(
        "generation {} ({:?}): {} message types {:?}",
        snapshot.generation(),
        snapshot.origin(),
        names.len(),
        names
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(server), Some(namespace)) = (args.next(), args.next()) else {
        eprintln!("usage: resolver SERVER_URL NAMESPACE [CACHE_DIR]");
        std::process::exit(2);
    };
    let cache_dir = args.next();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(follow(server, namespace, cache_dir))
}

async fn follow(
    server: String,
    namespace: String,
    cache_dir: Option<String>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut client = Client::builder(server);
    if let Ok(token) = std::env::var("PROTOREG_TOKEN") {
        client = client.token(token);
    }
    let mut builder = Resolver::builder(client.build()?, namespace);
    if let Some(dir) = cache_dir {
        builder = builder.cache_dir(dir);
    }
    let resolver = builder.start().await?;
    println!("{}", describe(&resolver.pin()));
    resolver.on_change(|snapshot| println!("{}", describe(snapshot)));
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        if !resolver.is_connected() {
            println!("registry unreachable; serving the last good snapshot");
        }
    }
}
