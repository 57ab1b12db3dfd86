//! API tokens, on SQLite and PostgreSQL: created with a hash only, found by hash, capped
//! at their user's role, use recorded, revocation final, every change audited.

mod common;

use common::on_both_backends;
use ramal_store::{LAST_USED_RESOLUTION_MS, NewApiToken, NewUser, Role, Store, StoreError};

const HASH_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const HASH_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

async fn user(store: &Store, username: &str, role: Role) -> i64 {
    let user = NewUser {
        username: username.into(),
        display_name: username.into(),
        password: "correct horse battery".into(),
        role,
    };
    store
        .create_user(&user, 1_000)
        .await
        .expect("the user is created")
        .id
}

fn token(name: &str, user_id: i64, role: Role, hash: &str) -> NewApiToken {
    NewApiToken {
        name: name.into(),
        user_id,
        role,
        token_hash: hash.into(),
    }
}

#[tokio::test]
async fn a_token_is_found_by_its_hash_until_revoked() {
    on_both_backends(|store| async move {
        let admin = user(&store, "admin", Role::Admin).await;
        let created = store
            .create_token(
                &token(" crm ", admin, Role::Supervisor, HASH_A),
                Some(admin),
                2_000,
            )
            .await
            .unwrap();
        assert_eq!(
            (
                created.name.as_str(),
                created.username.as_str(),
                created.role
            ),
            ("crm", "admin", Role::Supervisor)
        );
        assert_eq!((created.last_used_at, created.revoked_at), (None, None));

        let identity = store.token_identity(HASH_A, 3_000).await.unwrap().unwrap();
        assert_eq!((identity.token_id, identity.user.id), (created.id, admin));
        assert_eq!(
            identity.role,
            Role::Supervisor,
            "the token's role, not the user's"
        );
        assert_eq!(store.token_identity(HASH_B, 3_000).await.unwrap(), None);

        // Use is recorded, but at most once per resolution period.
        store.token_identity(HASH_A, 3_500).await.unwrap();
        assert_eq!(
            store.token(created.id).await.unwrap().last_used_at,
            Some(3_000)
        );
        let later = 3_000 + LAST_USED_RESOLUTION_MS;
        store.token_identity(HASH_A, later).await.unwrap();
        assert_eq!(
            store.token(created.id).await.unwrap().last_used_at,
            Some(later)
        );

        store
            .revoke_token(created.id, Some(admin), 9_000)
            .await
            .unwrap();
        assert_eq!(store.token_identity(HASH_A, 9_001).await.unwrap(), None);
        store
            .revoke_token(created.id, Some(admin), 9_500)
            .await
            .unwrap();
        let listed = store.tokens().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            listed[0].revoked_at,
            Some(9_000),
            "the first revocation stands"
        );
        assert!(matches!(
            store
                .revoke_token(created.id + 100, Some(admin), 9_600)
                .await,
            Err(StoreError::NotFound { .. })
        ));

        let log = store.audit_log(10).await.unwrap();
        let actions: Vec<(&str, &str, Option<i64>)> = log
            .iter()
            .map(|entry| (entry.action.as_str(), entry.entity.as_str(), entry.user_id))
            .collect();
        assert_eq!(
            &actions[..2],
            [
                ("revoke", "api-token", Some(admin)),
                ("create", "api-token", Some(admin))
            ],
            "{log:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_token_never_acts_above_its_user() {
    on_both_backends(|store| async move {
        let agent = user(&store, "ana", Role::Agent).await;
        let refused = store
            .create_token(&token("x", agent, Role::Admin, HASH_A), None, 2_000)
            .await;
        assert!(
            matches!(&refused, Err(StoreError::Invalid { field: "role", .. })),
            "{refused:?}"
        );
        let unknown = store
            .create_token(&token("x", agent + 100, Role::Agent, HASH_A), None, 2_000)
            .await;
        assert!(
            matches!(unknown, Err(StoreError::NotFound { .. })),
            "{unknown:?}"
        );
        let plain = store
            .create_token(&token("x", agent, Role::Agent, "not-a-hash"), None, 2_000)
            .await;
        assert!(
            matches!(
                plain,
                Err(StoreError::Invalid {
                    field: "token_hash",
                    ..
                })
            ),
            "a plaintext token is refused: {plain:?}"
        );
        let blank = store
            .create_token(&token("  ", agent, Role::Agent, HASH_A), None, 2_000)
            .await;
        assert!(matches!(
            blank,
            Err(StoreError::Invalid { field: "name", .. })
        ));

        store
            .create_token(&token("a", agent, Role::Agent, HASH_A), None, 2_000)
            .await
            .unwrap();
        let twice = store
            .create_token(&token("b", agent, Role::Agent, HASH_A), None, 2_000)
            .await;
        assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
        let identity = store.token_identity(HASH_A, 3_000).await.unwrap().unwrap();
        assert_eq!(
            (identity.user.username.as_str(), identity.role),
            ("ana", Role::Agent)
        );
    })
    .await;
}
