//! Call records and inbound routes, on SQLite and PostgreSQL.

mod common;

use common::on_both_backends;
use ramal_store::{CallRecord, StoreError};
use serde_json::json;

fn record(id: &str, started_at: i64) -> CallRecord {
    CallRecord {
        id: id.into(),
        direction: "inbound".into(),
        caller: "sip:5511999990000@198.51.100.7".into(),
        callee: "4000".into(),
        flow_id: Some("reception".into()),
        flow_version: Some(3),
        started_at,
        answered_at: Some(started_at + 40),
        ended_at: started_at + 9_000,
        end_reason: "normal".into(),
        disposition: Some("sale".into()),
        trace: json!([{"node": "start"}, {"node": "menu", "digits": "1"}]),
        variables: json!({"rating": 5, "name": "Ana'; DROP TABLE calls; --"}),
        surveys: json!([{"survey": "nps", "value": 5}]),
        recording: Some(format!("{id}.wav")),
    }
}

#[tokio::test]
async fn a_call_record_round_trips_with_its_trace() {
    on_both_backends(|store| async move {
        store.record_call(&record("c1", 1_000)).await.unwrap();
        store.record_call(&record("c2", 2_000)).await.unwrap();
        assert_eq!(store.call_record("c1").await.unwrap(), record("c1", 1_000));
        let recent = store.recent_calls(10).await.unwrap();
        let ids: Vec<&str> = recent.iter().map(|call| call.id.as_str()).collect();
        assert_eq!(ids, ["c2", "c1"], "newest first");
        assert_eq!(store.recent_calls(1).await.unwrap().len(), 1);
        assert!(matches!(
            store.record_call(&record("c1", 5)).await,
            Err(StoreError::Conflict(_))
        ));
        let batch = [record("c3", 3_000), record("c1", 4_000)];
        assert!(
            matches!(
                store.record_calls(&batch).await,
                Err(StoreError::Conflict(_))
            ),
            "a batch with a duplicate fails"
        );
        assert!(
            store.call_record("c3").await.is_err(),
            "and stores nothing of the batch"
        );
        store
            .record_calls(&[record("c3", 3_000), record("c4", 4_000)])
            .await
            .unwrap();
        assert_eq!(store.recent_calls(10).await.unwrap().len(), 4);

        // More records than one statement takes: several statements, still all or none.
        let many: Vec<CallRecord> = (0..2_100)
            .map(|n| record(&format!("m{n}"), 10_000 + n))
            .collect();
        let mut spoiled = many.clone();
        spoiled[2_050] = record("c1", 9);
        assert!(matches!(
            store.record_calls(&spoiled).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(
            store.call_record("m0").await.is_err(),
            "nothing of it stored"
        );
        store.record_calls(&many).await.unwrap();
        assert_eq!(
            store.call_record("m2099").await.unwrap(),
            record("m2099", 12_099)
        );
        assert_eq!(store.recent_calls(10_000).await.unwrap().len(), 2_104);
        assert!(matches!(
            store.call_record("nope").await,
            Err(StoreError::NotFound { .. })
        ));
    })
    .await;
}

#[tokio::test]
async fn inbound_routes_point_numbers_at_existing_flows() {
    on_both_backends(|store| async move {
        assert_eq!(store.inbound_route("4000").await.unwrap(), None);
        assert!(
            matches!(
                store.set_inbound_route("4000", "missing", None, 1).await,
                Err(StoreError::Invalid { .. })
            ),
            "a route to a flow that does not exist is refused"
        );
        store
            .save_draft("reception", "Reception", "{}", None, 1)
            .await
            .unwrap();
        store
            .save_draft("sales", "Sales", "{}", None, 1)
            .await
            .unwrap();
        store
            .set_inbound_route("4000", "reception", None, 2)
            .await
            .unwrap();
        assert_eq!(
            store.inbound_route("4000").await.unwrap().as_deref(),
            Some("reception")
        );
        store
            .set_inbound_route("4000", "sales", None, 3)
            .await
            .unwrap();
        assert_eq!(
            store.inbound_route("4000").await.unwrap().as_deref(),
            Some("sales")
        );
        assert!(store.set_inbound_route("", "sales", None, 3).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn calls_are_paged_newest_first_by_a_cursor_and_filtered_by_flow() {
    on_both_backends(|store| async move {
        let mut calls = Vec::new();
        for (id, started_at, flow) in [
            ("a", 1_000, "reception"),
            ("b", 2_000, "sales"),
            ("c", 2_000, "reception"),
            ("d", 2_000, "reception"),
            ("e", 3_000, "reception"),
        ] {
            let mut call = record(id, started_at);
            call.flow_id = Some(flow.into());
            calls.push(call);
        }
        store.record_calls(&calls).await.unwrap();
        let mut seen = Vec::new();
        let mut after: Option<(i64, String)> = None;
        loop {
            let cursor = after.as_ref().map(|(at, id)| (*at, id.as_str()));
            let page = store.calls_page(cursor, None, 2).await.unwrap();
            let Some(last) = page.last() else { break };
            after = Some((last.started_at, last.id.clone()));
            seen.extend(page.iter().map(|call| call.id.clone()));
        }
        assert_eq!(
            seen,
            ["e", "b", "c", "d", "a"],
            "the order of recent_calls, no gaps or repeats"
        );
        let reception: Vec<String> = store
            .calls_page(Some((3_000, "e")), Some("reception"), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|call| call.id)
            .collect();
        assert_eq!(reception, ["c", "d", "a"]);
    })
    .await;
}
