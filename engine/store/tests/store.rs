//! Every store test runs on SQLite and on PostgreSQL, through `on_both_backends`.
//!
//! PostgreSQL: `RAMAL_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! is the server; each test gets a fresh database, dropped afterwards. If it cannot be
//! reached the test says so loudly and runs on SQLite only — except under `CI=true`, where
//! that is a failure.

mod common;

use common::on_both_backends;
use ramal_store::{NewUser, Role, Store, StoreError};

fn ana(role: Role) -> NewUser {
    NewUser {
        username: "ana".into(),
        display_name: "Ana Souza".into(),
        password: "correct horse battery".into(),
        role,
    }
}

#[tokio::test]
async fn users_are_created_authenticated_and_unique() {
    on_both_backends(|store| async move {
        let user = store
            .create_user(&ana(Role::Supervisor), 1_000)
            .await
            .unwrap();
        assert_eq!(
            (user.username.as_str(), user.role),
            ("ana", Role::Supervisor)
        );
        assert_eq!(
            store
                .authenticate("ana", "correct horse battery")
                .await
                .unwrap(),
            Some(user.clone())
        );
        assert_eq!(
            store.authenticate("ana", "wrong password!!").await.unwrap(),
            None
        );
        assert_eq!(
            store
                .authenticate("nobody", "correct horse battery")
                .await
                .unwrap(),
            None
        );
        let again = store.create_user(&ana(Role::Agent), 2_000).await;
        assert!(
            matches!(&again, Err(StoreError::Conflict(m)) if m.contains("`ana` is taken")),
            "{again:?}"
        );
        assert_eq!(store.users().await.unwrap(), vec![user]);
        let log = store.audit_log(10).await.unwrap();
        assert_eq!(
            (log.len(), log[0].action.as_str(), log[0].entity.as_str()),
            (1, "create", "user")
        );
    })
    .await;
}

#[tokio::test]
async fn bad_users_are_refused_and_change_nothing() {
    on_both_backends(|store| async move {
        for (user, field) in [
            (
                NewUser {
                    username: "Ana Maria".into(),
                    ..ana(Role::Agent)
                },
                "username",
            ),
            (
                NewUser {
                    username: "x".into(),
                    ..ana(Role::Agent)
                },
                "username",
            ),
            (
                NewUser {
                    username: "'; DROP TABLE users; --".into(),
                    ..ana(Role::Agent)
                },
                "username",
            ),
            (
                NewUser {
                    password: "short".into(),
                    ..ana(Role::Agent)
                },
                "password",
            ),
        ] {
            let refused = store.create_user(&user, 1).await;
            assert!(
                matches!(&refused, Err(StoreError::Invalid { field: f, .. }) if *f == field),
                "{refused:?}"
            );
        }
        assert!(store.users().await.unwrap().is_empty());
        assert!(store.audit_log(10).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn drafts_publish_as_numbered_versions_that_never_change() {
    on_both_backends(|store| async move {
        let author = store.create_user(&ana(Role::Supervisor), 1).await.unwrap();
        let v1 = r#"{"schema":"ramal.flow/v1","id":"ivr","name":"IVR","nodes":[]}"#;
        let v2 = r#"{"schema":"ramal.flow/v1","id":"ivr","name":"IVR 2","nodes":[]}"#;
        assert!(matches!(
            store.publish("ivr", None, 5).await,
            Err(StoreError::NotFound { .. })
        ));
        store
            .save_draft("ivr", "IVR", v1, Some(author.id), 10)
            .await
            .unwrap();
        assert_eq!(store.publish("ivr", Some(author.id), 20).await.unwrap(), 1);
        store
            .save_draft("ivr", "IVR 2", v2, Some(author.id), 30)
            .await
            .unwrap();
        assert_eq!(store.draft("ivr").await.unwrap(), v2);
        assert_eq!(
            store.published("ivr").await.unwrap().document,
            v1,
            "the draft is not live until published"
        );
        assert_eq!(store.publish("ivr", Some(author.id), 40).await.unwrap(), 2);
        let live = store.published("ivr").await.unwrap();
        assert_eq!(
            (live.version, live.document.as_str(), live.published_by),
            (2, v2, Some(author.id))
        );
        assert_eq!(
            store.flow_version("ivr", 1).await.unwrap().document,
            v1,
            "a call pinned to v1 still gets v1"
        );
        assert!(matches!(
            store.flow_version("ivr", 9).await,
            Err(StoreError::NotFound { .. })
        ));
        let flows = store.flows().await.unwrap();
        assert_eq!(
            (flows.len(), flows[0].published_version, flows[0].has_draft),
            (1, Some(2), true)
        );
        assert_eq!(
            store.flows_with_documents().await.unwrap(),
            [(flows[0].clone(), Some(v2.to_owned()))],
            "the summary with the draft, in one query"
        );
        let actions: Vec<String> = store
            .audit_log(10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(
            actions,
            ["publish", "save-draft", "publish", "save-draft", "create"]
        );
    })
    .await;
}

#[tokio::test]
async fn sql_looking_input_is_just_data() {
    on_both_backends(|store| async move {
        let name = "x'); DELETE FROM flows; --";
        store.save_draft("evil", name, "{}", None, 1).await.unwrap();
        store
            .save_draft("other", "Other", "{}", None, 2)
            .await
            .unwrap();
        let flows = store.flows().await.unwrap();
        assert_eq!(flows.len(), 2);
        assert_eq!(flows[0].name, name);
    })
    .await;
}

#[tokio::test]
async fn a_bad_url_is_a_clear_error() {
    let error = Store::open("mysql://nope").await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("use sqlite://PATH or postgres://"),
        "{error}"
    );
}
