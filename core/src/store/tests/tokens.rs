//! Tokens.

use super::*;

#[tokio::test]
async fn tokens_are_found_by_hash_expire_and_revoke() {
    on_each_backend(async |db: &TestDb| {
        let store = db.store().await;
        let kind = db.kind;
        let grants = [crate::auth::Grant {
            namespace: "team".into(),
            role: crate::auth::Role::Write,
        }];
        let (token, secret) = crate::auth::create_token(&store, "ci", &grants, None)
            .await
            .unwrap();
        let row = store.token(token.id).await.unwrap().unwrap();
        assert_ne!(row.secret_sha256, secret, "{kind}: only the hash is stored");
        assert_eq!(row.secret_sha256, crate::auth::secret_hash(&secret));
        let principal = crate::auth::authenticate(&store, &secret)
            .await
            .unwrap()
            .expect("known token");
        assert!(
            principal.can("team", crate::auth::Role::Write)
                && !principal.can("team", crate::auth::Role::Admin)
        );
        assert!(
            crate::auth::authenticate(&store, "prt_unknown")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            crate::auth::list_tokens(&store).await.unwrap().len(),
            1,
            "{kind}"
        );

        crate::auth::revoke_token(&store, token.id).await.unwrap();
        assert!(
            crate::auth::authenticate(&store, &secret)
                .await
                .unwrap()
                .is_none(),
            "{kind}: revoked"
        );
        assert!(crate::auth::list_tokens(&store).await.unwrap().is_empty());
        assert!(
            crate::auth::revoke_token(&store, token.id).await.is_err(),
            "{kind}: revoked twice"
        );

        let soon = chrono::Utc::now() + chrono::Duration::milliseconds(300);
        let (_, short) = crate::auth::create_token(&store, "short", &grants, Some(soon))
            .await
            .unwrap();
        assert!(
            crate::auth::authenticate(&store, &short)
                .await
                .unwrap()
                .is_some()
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while crate::auth::authenticate(&store, &short)
            .await
            .unwrap()
            .is_some()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "{kind}: the token never expired"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(
            crate::auth::create_token(&store, "past", &grants, Some(chrono::Utc::now()))
                .await
                .is_err()
        );
    })
    .await;
}
