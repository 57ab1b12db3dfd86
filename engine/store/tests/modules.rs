//! Custom node modules, on SQLite and PostgreSQL.

mod common;

use common::on_both_backends;
use ramal_store::{NewNodeModule, StoreError};
use serde_json::json;

fn module(name: &str, version: &str, fill: u8) -> NewNodeModule {
    let wasm = vec![fill; 100];
    // Not the real SHA-256 of the bytes: the store checks the shape, the host the value.
    let hash = format!("{fill:02x}").repeat(32);
    NewNodeModule {
        hash,
        name: name.into(),
        version: version.into(),
        description: json!({ "name": name, "version": version, "ports": ["a", "b"] }),
        wasm,
    }
}

#[tokio::test]
async fn a_module_round_trips_and_versions_are_kept() {
    on_both_backends(|store| async move {
        let stored = store
            .add_node_module(&module("cpf-check", "1.0.0", 1), None, 1_000)
            .await
            .unwrap();
        assert_eq!(stored.name, "cpf-check");
        assert_eq!(stored.size, 100);
        assert_eq!(stored.description["ports"], json!(["a", "b"]));
        store
            .add_node_module(&module("cpf-check", "1.1.0", 2), None, 2_000)
            .await
            .unwrap();
        store
            .add_node_module(&module("ab-split", "1.0.0", 3), None, 3_000)
            .await
            .unwrap();
        let listed: Vec<(String, String)> = store
            .node_modules()
            .await
            .unwrap()
            .into_iter()
            .map(|module| (module.name, module.version))
            .collect();
        assert_eq!(
            listed,
            [
                ("ab-split".to_owned(), "1.0.0".to_owned()),
                ("cpf-check".to_owned(), "1.1.0".to_owned()),
                ("cpf-check".to_owned(), "1.0.0".to_owned()),
            ]
        );
        let (found, wasm) = store.node_module_wasm("cpf-check", "1.0.0").await.unwrap();
        assert_eq!(found, stored);
        assert_eq!(wasm, vec![1u8; 100]);
        let audit = store.audit_log(10).await.unwrap();
        assert!(audit.iter().any(|entry| entry.action == "add-node-module"));
    })
    .await;
}

#[tokio::test]
async fn the_same_bytes_again_are_idempotent_and_a_changed_version_is_a_conflict() {
    on_both_backends(|store| async move {
        let first = store
            .add_node_module(&module("crm", "1.0.0", 1), None, 1_000)
            .await
            .unwrap();
        let again = store
            .add_node_module(&module("crm", "1.0.0", 1), None, 9_000)
            .await
            .unwrap();
        assert_eq!(first, again);
        assert!(matches!(
            store
                .add_node_module(&module("crm", "1.0.0", 2), None, 9_000)
                .await,
            Err(StoreError::Conflict(_))
        ));
        assert!(matches!(
            store.node_module_wasm("crm", "2.0.0").await,
            Err(StoreError::NotFound { .. })
        ));
    })
    .await;
}

#[tokio::test]
async fn bad_modules_are_refused() {
    on_both_backends(|store| async move {
        let mut bad_hash = module("x", "1", 1);
        bad_hash.hash = "ABC".into();
        let mut empty = module("x", "1", 1);
        empty.wasm.clear();
        let mut long_name = module("x", "1", 1);
        long_name.name = "n".repeat(65);
        for bad in [bad_hash, empty, long_name] {
            assert!(matches!(
                store.add_node_module(&bad, None, 1).await,
                Err(StoreError::Invalid { .. })
            ));
        }
        assert!(store.node_modules().await.unwrap().is_empty());
    })
    .await;
}
