//! Agents' SIP accounts, on SQLite and PostgreSQL.

mod common;

use common::on_both_backends;
use ramal_store::{NewUser, Role, Store, StoreError};

async fn user(store: &Store, username: &str) -> i64 {
    let user = NewUser {
        username: username.into(),
        display_name: username.into(),
        password: "correct horse battery".into(),
        role: Role::Agent,
    };
    store
        .create_user(&user, 1_000)
        .await
        .expect("user created")
        .id
}

const MD5: &str = "0123456789abcdef0123456789abcdef";
const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn accounts_are_listed_per_realm_replaced_and_removed() {
    on_both_backends(|store| async move {
        let ana = user(&store, "ana").await;
        let bia = user(&store, "bia").await;
        store
            .set_sip_account(ana, "ramal", MD5, SHA, None, 2)
            .await
            .unwrap();
        store
            .set_sip_account(bia, "other", MD5, SHA, None, 2)
            .await
            .unwrap();
        let accounts = store.sip_accounts("ramal").await.unwrap();
        assert_eq!(accounts.len(), 1);
        assert_eq!(accounts[0].username, "ana");
        assert_eq!(accounts[0].ha1_md5, MD5);
        // Replaced, not duplicated.
        let md5 = "ffffffffffffffffffffffffffffffff";
        store
            .set_sip_account(ana, "ramal", md5, SHA, None, 3)
            .await
            .unwrap();
        let accounts = store.sip_accounts("ramal").await.unwrap();
        assert_eq!(accounts.len(), 1);
        assert_eq!(accounts[0].ha1_md5, md5);
        assert!(
            !format!("{accounts:?}").contains(md5),
            "secrets stay out of logs"
        );
        store.remove_sip_account(ana, None, 4).await.unwrap();
        assert!(store.sip_accounts("ramal").await.unwrap().is_empty());
        assert!(matches!(
            store.remove_sip_account(ana, None, 5).await,
            Err(StoreError::NotFound { .. })
        ));
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    on_both_backends(|store| async move {
        let ana = user(&store, "ana").await;
        for (realm, md5, sha) in [
            ("", MD5, SHA),
            ("ramal", "not hex", SHA),
            ("ramal", MD5, "0123"),
            ("ramal", &MD5.to_uppercase(), SHA),
        ] {
            assert!(matches!(
                store.set_sip_account(ana, realm, md5, sha, None, 2).await,
                Err(StoreError::Invalid { .. })
            ));
        }
        assert!(matches!(
            store
                .set_sip_account(9_999, "ramal", MD5, SHA, None, 2)
                .await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(store.sip_accounts("ramal").await.unwrap().is_empty());
    })
    .await;
}
