//! The feed on real databases: reads through the buffer and the store, a
//! long poll woken by a commit, retention's `truncated`, the held cap.

use std::time::{Duration, Instant};

use super::*;
use crate::auth::{Grant, Role};
use crate::store::NamespaceAt;
use crate::test_support::{TestDb, on_each_backend};

fn config() -> FeedConfig {
    FeedConfig {
        retention: Duration::from_secs(86_400),
        prune_interval: Duration::from_secs(3600),
        poll_interval: Duration::from_millis(50),
        max_held: 2,
    }
}

fn everything() -> EventFilter {
    EventFilter {
        scope: Scope::Everything,
        namespace: None,
        kinds: None,
    }
}

fn token(grants: &[(&str, Role)]) -> Principal {
    Principal {
        name: "t".into(),
        token_id: Some(1),
        grants: grants
            .iter()
            .map(|(namespace, role)| Grant {
                namespace: (*namespace).into(),
                role: *role,
            })
            .collect(),
        anonymous: false,
    }
}

#[test]
fn scopes_follow_the_grants() {
    assert_eq!(
        Scope::of(&Principal::global_admin("admin")),
        Scope::Everything
    );
    assert_eq!(
        Scope::of(&token(&[("*", Role::Write)])),
        Scope::AllNamespaces
    );
    let shop = Scope::of(&token(&[("shop", Role::Read)]));
    assert_eq!(
        shop,
        Scope::Namespaces(vec!["__builtins__".into(), "shop".into()])
    );
    assert!(shop.admits("shop") && !shop.admits("billing") && !shop.admits(""));
    assert!(!Scope::AllNamespaces.admits("") && Scope::AllNamespaces.admits("billing"));
    assert_eq!(
        Scope::of(&Principal::anonymous(None)),
        Scope::Namespaces(Vec::new())
    );
}

#[tokio::test]
async fn reads_from_the_buffer_and_the_store_agree() {
    on_each_backend(async |db: &TestDb| {
        let store = db.store().await;
        let kind = db.kind;
        // Events from before the feed started are read from the store.
        let shop = store.create_namespace("shop", "{}", "{}").await.unwrap();
        store.create_namespace("billing", "{}", "{}").await.unwrap();
        let feed = EventFeed::start(store.clone(), config()).await.unwrap();
        store
            .update_namespace(NamespaceAt::new(shop.id, "shop", 1), Some("{}"), None)
            .await
            .unwrap();
        // Polled, not slept: the follower reads the new event.
        let page = feed
            .poll(2, &everything(), 10, Duration::from_secs(20))
            .await
            .unwrap();
        assert_eq!(page.events.len(), 1, "{kind}");
        assert_eq!(page.events[0].kind, "namespace.updated");
        let shop_only = EventFilter {
            scope: Scope::of(&token(&[("shop", Role::Read)])),
            namespace: None,
            kinds: None,
        };
        let from_store = feed.read(0, &shop_only, 10).await.unwrap();
        let kinds: Vec<&str> = from_store.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["namespace.created", "namespace.updated"], "{kind}");
        assert!(
            from_store
                .events
                .iter()
                .all(|e| e.namespace.as_deref() == Some("shop"))
        );
        assert_eq!(from_store.last_id, 3, "{kind}: the newest id looked at");
        assert!(!from_store.truncated);
        let full = feed.read(0, &everything(), 2).await.unwrap();
        assert_eq!(
            full.last_id, 2,
            "{kind}: a full page ends at its last event"
        );
        let from_buffer = feed.read(2, &shop_only, 10).await.unwrap();
        assert_eq!(from_buffer.events, from_store.events[1..], "{kind}");
        let ahead = feed.read(99, &everything(), 10).await.unwrap();
        assert_eq!((ahead.events.len(), ahead.last_id), (0, 99), "{kind}");
        feed.close();
    })
    .await;
}

#[tokio::test]
async fn a_long_poll_wakes_on_a_commit_and_times_out_with_none() {
    on_each_backend(async |db: &TestDb| {
        let store = db.store().await;
        let kind = db.kind;
        let feed = EventFeed::start(
            store.clone(),
            FeedConfig {
                // Only the commit notification can wake it in time.
                poll_interval: Duration::from_secs(3600),
                ..config()
            },
        )
        .await
        .unwrap();
        let started = Instant::now();
        let timed_out = feed
            .poll(0, &everything(), 10, Duration::from_millis(200))
            .await
            .unwrap();
        assert!(timed_out.events.is_empty(), "{kind}");
        assert_eq!(timed_out.last_id, 0);
        assert!(started.elapsed() >= Duration::from_millis(200), "{kind}");
        assert_eq!(feed.held(), 0, "{kind}: the slot is given back");

        let waiting = {
            let feed = feed.clone();
            tokio::spawn(async move {
                feed.poll(0, &everything(), 10, Duration::from_secs(60))
                    .await
                    .unwrap()
            })
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while feed.held() == 0 {
            assert!(Instant::now() < deadline, "{kind}: the poll is never held");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        store.create_namespace("woken", "{}", "{}").await.unwrap();
        let page = tokio::time::timeout(Duration::from_secs(30), waiting)
            .await
            .expect("the commit wakes the poll, long before its 60 s")
            .unwrap();
        assert_eq!(page.events.len(), 1, "{kind}");
        assert_eq!(page.events[0].namespace.as_deref(), Some("woken"));

        // At the cap, one more held request is refused; closing releases
        // the held ones at once.
        let _a = feed.hold().unwrap();
        let _b = feed.hold().unwrap();
        assert!(matches!(
            feed.poll(page.last_id, &everything(), 10, Duration::from_secs(60))
                .await,
            Err(RegistryError::Unavailable(_))
        ));
        drop(_b);
        let held = {
            let feed = feed.clone();
            let after = page.last_id;
            tokio::spawn(async move {
                feed.poll(after, &everything(), 10, Duration::from_secs(60))
                    .await
            })
        };
        while feed.held() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        feed.close();
        let released = tokio::time::timeout(Duration::from_secs(30), held)
            .await
            .expect("closing releases a held poll")
            .unwrap()
            .unwrap();
        assert!(released.events.is_empty(), "{kind}");
    })
    .await;
}

#[tokio::test]
async fn pruned_events_make_older_cursors_truncated() {
    on_each_backend(async |db: &TestDb| {
        let store = db.store().await;
        let kind = db.kind;
        for name in ["a", "b", "c"] {
            store.create_namespace(name, "{}", "{}").await.unwrap();
        }
        let feed = EventFeed::start(
            store.clone(),
            FeedConfig {
                retention: Duration::from_millis(1),
                prune_interval: Duration::from_millis(20),
                ..config()
            },
        )
        .await
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while store.events_watermark().await.unwrap() < 3 {
            assert!(Instant::now() < deadline, "{kind}: never pruned");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let page = feed.read(1, &everything(), 10).await.unwrap();
        assert!(page.truncated, "{kind}");
        assert!(page.events.is_empty(), "{kind}");
        let current = feed.read(3, &everything(), 10).await.unwrap();
        assert!(!current.truncated, "{kind}: nothing after 3 was pruned");
        feed.close();
    })
    .await;
}
