//! Trunks, queues, campaigns, dispositions and disposition results, on SQLite and on
//! PostgreSQL (`on_both_backends`).

mod common;

use common::on_both_backends;
use ramal_store::{
    CampaignSpec, CampaignStatus, Duplicates, NewContact, NewContactList, NewDispositionResult,
    NewUser, QueueSpec, Role, Store, StoreError, TrunkSpec,
};
use serde_json::{Value, json};

const NOW: i64 = 1_700_000_000_000;

async fn user(store: &Store, username: &str, role: Role) -> i64 {
    store
        .create_user(
            &NewUser {
                username: username.into(),
                display_name: username.into(),
                password: "a long enough password".into(),
                role,
            },
            NOW,
        )
        .await
        .expect("the user is created")
        .id
}

fn from_json<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("the test input parses")
}

/// The (path, code) pairs of a validation error.
fn field_errors<T: std::fmt::Debug>(result: Result<T, StoreError>) -> Vec<(String, String)> {
    match result {
        Err(StoreError::Validation(errors)) => errors
            .0
            .into_iter()
            .map(|error| (error.path, error.code))
            .collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(path, code)| ((*path).to_owned(), (*code).to_owned()))
        .collect()
}

fn trunk_spec(name: &str) -> TrunkSpec {
    from_json(json!({
        "name": name,
        "host": "sip.provider.example",
        "transport": "udp",
        "username": "ramal",
        "password": "s3cret",
        "caller_id": "+551130000000",
        "rewrite_rules": [
            {"kind": "strip-prefix", "prefix": "+55"},
            {"kind": "add-prefix", "prefix": "0"}
        ]
    }))
}

#[tokio::test]
async fn trunks_keep_their_password_for_the_sip_client_but_never_show_it() {
    on_both_backends(|store| async move {
        let admin = user(&store, "admin", Role::Admin).await;
        let trunk = store.create_trunk(&trunk_spec("Provider"), Some(admin), NOW).await.unwrap();
        assert_eq!((trunk.port, trunk.has_password), (5060, true));
        let shown = serde_json::to_string(&trunk).unwrap();
        assert!(!shown.contains("s3cret"), "{shown}");
        let credentials = store.trunk_credentials(trunk.id).await.unwrap().unwrap();
        assert_eq!((credentials.username.as_str(), credentials.password.as_str()), ("ramal", "s3cret"));
        assert!(!format!("{credentials:?}").contains("s3cret"));

        // An update without a password keeps it; "" removes it.
        let mut spec = trunk_spec("Provider");
        spec.password = None;
        spec.port = 5080;
        let updated = store.update_trunk(trunk.id, &spec, Some(admin), NOW + 1).await.unwrap();
        assert_eq!((updated.port, updated.has_password), (5080, true));
        assert_eq!(store.trunk_credentials(trunk.id).await.unwrap().unwrap().password, "s3cret");
        spec.password = Some(String::new());
        let cleared = store.update_trunk(trunk.id, &spec, Some(admin), NOW + 2).await.unwrap();
        assert!(!cleared.has_password);
        assert_eq!(store.trunk_credentials(trunk.id).await.unwrap(), None);

        assert_eq!(store.trunks().await.unwrap(), vec![cleared]);
        let again = store.create_trunk(&trunk_spec("Provider"), None, NOW).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");

        let bad: TrunkSpec = from_json(json!({
            "name": "", "host": "bad host!", "port": 70000, "password": "x",
            "caller_id": "call me", "rewrite_rules": [{"kind": "regex", "pattern": "(", "replacement": ""}]
        }));
        assert_eq!(
            field_errors(store.create_trunk(&bad, None, NOW).await),
            pairs(&[
                ("name", "required"),
                ("host", "format"),
                ("port", "out_of_range"),
                ("username", "required"),
                ("caller_id", "format"),
                ("rewrite_rules[0].pattern", "format"),
            ])
        );
        store.delete_trunk(trunk.id, Some(admin), NOW).await.unwrap();
        assert!(matches!(store.trunk(trunk.id).await, Err(StoreError::NotFound { .. })));
    })
    .await;
}

#[tokio::test]
async fn queues_hold_agents_with_skills_and_overflow_to_an_existing_target() {
    on_both_backends(|store| async move {
        let ana = user(&store, "ana", Role::Agent).await;
        let bia = user(&store, "bia", Role::Agent).await;
        let sara = user(&store, "sara", Role::Supervisor).await;
        let backup = store
            .create_queue(
                &from_json(json!({"name": "Backup", "strategy": "ring-all"})),
                None,
                NOW,
            )
            .await
            .unwrap();
        let spec: QueueSpec = from_json(json!({
            "name": "Sales",
            "strategy": "skill-based",
            "ring_timeout_secs": 15,
            "max_wait_secs": 300,
            "max_length": 50,
            "wrap_up_secs": 10,
            "auto_pause_after_misses": 3,
            "overflow": {"kind": "queue", "queue_id": backup.id},
            "members": [
                {"user_id": bia, "skill_level": 9, "penalty": 0},
                {"user_id": ana, "skill_level": 3, "penalty": 2}
            ]
        }));
        let sales = store.create_queue(&spec, Some(sara), NOW).await.unwrap();
        assert_eq!(sales.members.len(), 2);
        assert_eq!(sales.members[0].user_id, ana.min(bia));
        assert_eq!(store.queue(sales.id).await.unwrap(), sales);
        let names: Vec<String> = store
            .queues()
            .await
            .unwrap()
            .into_iter()
            .map(|q| q.name)
            .collect();
        assert_eq!(names, ["Backup", "Sales"]);

        let mut fewer = spec.clone();
        fewer.members.truncate(1);
        let updated = store
            .update_queue(sales.id, &fewer, Some(sara), NOW + 1)
            .await
            .unwrap();
        assert_eq!(updated.members.len(), 1);

        let bad: QueueSpec = from_json(json!({
            "name": "Bad",
            "strategy": "round-robin",
            "ring_timeout_secs": 1,
            "overflow": {"kind": "flow", "flow_id": "nope"},
            "members": [
                {"user_id": ana, "skill_level": 11},
                {"user_id": ana},
                {"user_id": sara},
                {"user_id": 999999}
            ]
        }));
        assert_eq!(
            field_errors(store.create_queue(&bad, None, NOW).await),
            pairs(&[
                ("ring_timeout_secs", "out_of_range"),
                ("overflow.flow_id", "unknown"),
                ("members[0].skill_level", "out_of_range"),
                ("members[1].user_id", "duplicate"),
                ("members[2].user_id", "wrong_role"),
                ("members[3].user_id", "unknown"),
            ])
        );
        let mut itself = spec.clone();
        itself.overflow = Some(ramal_store::Overflow::Queue { queue_id: sales.id });
        assert_eq!(
            field_errors(store.update_queue(sales.id, &itself, None, NOW).await),
            pairs(&[("overflow.queue_id", "not_allowed")])
        );
        let refused = store.delete_queue(backup.id, None, NOW).await;
        assert!(
            matches!(refused, Err(StoreError::Conflict(_))),
            "used as overflow: {refused:?}"
        );
    })
    .await;
}

/// A dialer campaign with every field of the campaign wizard.
fn dialer_spec(list: i64, trunk: i64, queue: i64, supervisor: i64, agent: i64) -> Value {
    json!({
        "name": "Renovação 2026",
        "type": "dialer",
        "contact_list_id": list,
        "duplicates": "avoid",
        "interaction": "both",
        "external_url": "https://crm.example/lead?phone={phone}",
        "address_field": "endereco",
        "record_calls": true,
        "objective": 250,
        "external_system": "SalesForce",
        "external_id": "CMP-42",
        "trunk_id": trunk,
        "caller_id": "+551130000000",
        "speech": "Bom dia, {{nome}}! Falo da Ramal Telecom…",
        "channels": ["voice"],
        "dialer": {
            "primary_action": {"kind": "connect-to-agent", "queue_id": queue},
            "max_simultaneous_calls": 20,
            "max_call_secs": 900,
            "schedule": {
                "time_zone": "America/Sao_Paulo",
                "days": ["2026-12-01", "2026-12-02"],
                "windows": [
                    {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "12:00"},
                    {"weekdays": ["mon", "tue", "wed", "thu", "fri"], "start": "13:00", "end": "18:00"},
                    {"weekdays": ["sat"], "start": "09:00", "end": "13:00"}
                ]
            },
            "dialing_mode": "vertical",
            "retries": {
                "busy": {"max_attempts": 3, "delay_secs": 600},
                "no_answer": {"max_attempts": 2, "delay_secs": 3600},
                "failed": {"max_attempts": 1, "delay_secs": 1800},
                "voicemail": {"max_attempts": 0, "delay_secs": 0}
            },
            "limits": {"max_attempts_per_contact": 6, "ring_timeout_secs": 25}
        },
        "webhook": {"url": "https://hooks.example/ramal", "events": ["call-ended", "dispositioned"]},
        "supervisors": [supervisor],
        "agents": [agent]
    })
}

struct World {
    admin: i64,
    sara: i64,
    ana: i64,
    bia: i64,
    list: i64,
    trunk: i64,
    queue: i64,
}

async fn world(store: &Store) -> World {
    let admin = user(store, "admin", Role::Admin).await;
    let sara = user(store, "sara", Role::Supervisor).await;
    let ana = user(store, "ana", Role::Agent).await;
    let bia = user(store, "bia", Role::Agent).await;
    let list = store
        .create_contact_list(
            &NewContactList {
                name: "Clientes".into(),
                default_country: "BR".into(),
                duplicates: Duplicates::Allow,
                columns: vec!["nome".into()],
            },
            NOW,
        )
        .await
        .expect("the fixture is created")
        .id;
    let trunk = store
        .create_trunk(&trunk_spec("Provider"), None, NOW)
        .await
        .expect("the fixture is created")
        .id;
    let queue = store
        .create_queue(
            &from_json(json!({"name": "Sales", "strategy": "longest-idle"})),
            None,
            NOW,
        )
        .await
        .expect("the fixture is created")
        .id;
    World {
        admin,
        sara,
        ana,
        bia,
        list,
        trunk,
        queue,
    }
}

#[tokio::test]
async fn a_dialer_campaign_keeps_every_field_of_the_wizard() {
    on_both_backends(|store| async move {
        let w = world(&store).await;
        let input = dialer_spec(w.list, w.trunk, w.queue, w.sara, w.ana);
        let spec: CampaignSpec = from_json(input.clone());
        let created = store
            .create_campaign(&spec, Some(w.sara), NOW)
            .await
            .unwrap();
        assert_eq!(created.status, CampaignStatus::Draft);
        assert_eq!(created.spec, spec, "read back exactly as written");
        let mut shown = serde_json::to_value(&created).unwrap();
        for key in ["id", "status", "created_at", "updated_at"] {
            shown.as_object_mut().unwrap().remove(key);
        }
        assert_eq!(shown, input, "the API shows what was sent");
        assert_eq!(store.campaign(created.id).await.unwrap(), created);

        // Agents see the campaigns they are assigned to.
        let manual: CampaignSpec = from_json(json!({
            "name": "Manual", "type": "manual", "trunk_id": w.trunk, "agents": [w.bia]
        }));
        let manual = store
            .create_campaign(&manual, Some(w.sara), NOW)
            .await
            .unwrap();
        let ids = |campaigns: Vec<ramal_store::Campaign>| {
            campaigns.into_iter().map(|c| c.id).collect::<Vec<_>>()
        };
        assert_eq!(
            ids(store.campaigns(Some(w.ana)).await.unwrap()),
            [created.id]
        );
        assert_eq!(
            ids(store.campaigns(Some(w.bia)).await.unwrap()),
            [manual.id]
        );
        assert_eq!(
            ids(store.campaigns(None).await.unwrap()),
            [manual.id, created.id]
        );
        assert_eq!(
            store.campaign_named("Manual").await.unwrap(),
            Some(manual.clone()),
            "found by its name"
        );
        assert_eq!(store.campaign_named("manual").await.unwrap(), None);
        assert_eq!(store.campaign_named("' OR 1=1 --").await.unwrap(), None);
        assert!(store.is_assigned(created.id, w.ana).await.unwrap());
        assert!(!store.is_assigned(created.id, w.bia).await.unwrap());

        let mut renamed = spec.clone();
        renamed.name = "Manual".into();
        let clash = store.update_campaign(created.id, &renamed, None, NOW).await;
        assert!(matches!(clash, Err(StoreError::Conflict(_))), "{clash:?}");
        let refused = store.delete_trunk(w.trunk, None, NOW).await;
        assert!(
            matches!(refused, Err(StoreError::Conflict(_))),
            "{refused:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_bad_campaign_is_refused_with_every_field_path() {
    on_both_backends(|store| async move {
        let w = world(&store).await;
        let mut input = dialer_spec(w.list, w.trunk, w.queue, w.ana, w.sara);
        input["external_url"] = json!("not a url");
        input["external_system"] = Value::Null;
        input["trunk_id"] = json!(999_999);
        input["channels"] = json!(["voice", "voice"]);
        input["dialer"]["primary_action"] = json!({"kind": "run-flow", "flow_id": "missing"});
        input["dialer"]["max_simultaneous_calls"] = json!(0);
        input["dialer"]["schedule"]["windows"][2]["start"] = json!("25:00");
        input["dialer"]["dialing_mode"] = json!("sequential");
        input["webhook"]["events"] = json!([]);
        let spec: CampaignSpec = from_json(input);
        assert_eq!(
            field_errors(store.create_campaign(&spec, None, NOW).await),
            pairs(&[
                ("external_url", "format"),
                ("external_system", "required"),
                ("channels[1]", "duplicate"),
                ("dialer.max_simultaneous_calls", "out_of_range"),
                ("dialer.schedule.windows[2].start", "format"),
                ("dialer.retries.busy.max_attempts", "not_allowed"),
                ("dialer.retries.no_answer.max_attempts", "not_allowed"),
                ("dialer.retries.failed.max_attempts", "not_allowed"),
                ("webhook.events", "required"),
                ("trunk_id", "unknown"),
                ("dialer.primary_action.flow_id", "unknown"),
                ("supervisors[0]", "wrong_role"),
                ("agents[0]", "wrong_role"),
            ])
        );
        let inbound: CampaignSpec = from_json(json!({
            "name": "Inbound", "type": "inbound", "caller_id": "+5511",
            "dialer": dialer_spec(w.list, w.trunk, w.queue, w.sara, w.ana)["dialer"].clone()
        }));
        assert_eq!(
            field_errors(store.create_campaign(&inbound, None, NOW).await),
            pairs(&[("caller_id", "not_allowed"), ("dialer", "not_allowed")])
        );
        let preview: CampaignSpec =
            from_json(json!({"name": "P", "type": "preview", "interaction": "external-url"}));
        assert_eq!(
            field_errors(store.create_campaign(&preview, None, NOW).await),
            pairs(&[
                ("contact_list_id", "required"),
                ("trunk_id", "required"),
                ("external_url", "required"),
            ])
        );
        assert!(
            store.campaigns(None).await.unwrap().is_empty(),
            "nothing half written"
        );
    })
    .await;
}

#[tokio::test]
async fn campaigns_start_with_a_disposition_pause_resume_and_finish_for_good() {
    on_both_backends(|store| async move {
        let w = world(&store).await;
        let spec: CampaignSpec = from_json(dialer_spec(w.list, w.trunk, w.queue, w.sara, w.ana));
        let id = store.create_campaign(&spec, None, NOW).await.unwrap().id;
        assert_eq!(
            field_errors(
                store
                    .set_campaign_status(id, CampaignStatus::Active, None, NOW)
                    .await
            ),
            pairs(&[("dispositions", "required")])
        );
        store
            .create_disposition(
                id,
                &from_json(json!({"name": "Venda", "positive": true})),
                None,
                NOW,
            )
            .await
            .unwrap();
        for (to, ok) in [
            (CampaignStatus::Paused, false),
            (CampaignStatus::Active, true),
            (CampaignStatus::Draft, false),
            (CampaignStatus::Paused, true),
            (CampaignStatus::Active, true),
            (CampaignStatus::Finished, true),
            (CampaignStatus::Active, false),
        ] {
            let result = store.set_campaign_status(id, to, Some(w.admin), NOW).await;
            match (ok, result) {
                (true, Ok(campaign)) => assert_eq!(campaign.status, to),
                (false, Err(StoreError::Conflict(_))) => {}
                (_, other) => panic!("to {to:?}: {other:?}"),
            }
        }
        let edit = store.update_campaign(id, &spec, None, NOW).await;
        assert!(
            matches!(edit, Err(StoreError::Conflict(_))),
            "finished: {edit:?}"
        );
    })
    .await;
}

fn sale_form() -> Value {
    json!([
        {"name": "plan", "label": "Plano", "type": "choice", "options": ["básico", "ouro"], "required": true},
        {"name": "amount", "label": "Valor", "type": "number", "min": 0},
        {"name": "callback", "label": "Retornar em", "type": "date"}
    ])
}

#[tokio::test]
async fn a_used_form_gets_a_new_version_and_results_keep_theirs() {
    on_both_backends(|store| async move {
        let w = world(&store).await;
        let spec: CampaignSpec = from_json(dialer_spec(w.list, w.trunk, w.queue, w.sara, w.ana));
        let campaign = store.create_campaign(&spec, None, NOW).await.unwrap().id;
        let sale = store
            .create_disposition(
                campaign,
                &from_json(json!({"name": "Venda", "positive": true, "form": sale_form()})),
                Some(w.sara),
                NOW,
            )
            .await
            .unwrap();
        assert_eq!(sale.form.as_ref().map(|form| form.version), Some(1));
        let no = store
            .create_disposition(campaign, &from_json(json!({"name": "Não atende"})), None, NOW)
            .await
            .unwrap();
        let twice = store.create_disposition(campaign, &from_json(json!({"name": "Venda"})), None, NOW).await;
        assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");

        // Edited before any result: in place.
        let mut form = sale_form();
        form[1]["max"] = json!(10_000);
        let edited = store
            .update_disposition(campaign, sale.id, &from_json(json!({"name": "Venda", "positive": true, "form": form})), None, NOW)
            .await
            .unwrap();
        assert_eq!(edited.form.as_ref().map(|form| form.version), Some(1));

        let draft_result: NewDispositionResult = from_json(json!({"call_id": "c0", "disposition_id": no.id}));
        let refused = store.record_disposition_result(campaign, w.ana, &draft_result, NOW).await;
        assert!(matches!(refused, Err(StoreError::Conflict(_))), "a draft takes no results: {refused:?}");
        store.set_campaign_status(campaign, CampaignStatus::Active, None, NOW).await.unwrap();

        let contact = store
            .add_contact(w.list, &NewContact { fields: Default::default(), phones: vec!["11987654321".into()] }, NOW)
            .await
            .unwrap()
            .id;
        let first: NewDispositionResult = from_json(json!({
            "call_id": "call-1", "disposition_id": sale.id, "contact_id": contact,
            "values": {"plan": "ouro", "amount": 99.9, "callback": "2026-12-24"}
        }));
        let recorded = store.record_disposition_result(campaign, w.ana, &first, NOW).await.unwrap();
        assert_eq!((recorded.form_version, recorded.contact_id), (Some(1), Some(contact)));
        let again = store.record_disposition_result(campaign, w.ana, &first, NOW).await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "one result per call: {again:?}");

        let bad: NewDispositionResult = from_json(json!({
            "call_id": "call-2", "disposition_id": sale.id, "contact_id": 999_999,
            "values": {"amount": -1, "callback": "amanhã", "other": "x"}
        }));
        assert_eq!(
            field_errors(store.record_disposition_result(campaign, w.ana, &bad, NOW).await),
            pairs(&[
                ("values.other", "unknown"),
                ("values.plan", "required"),
                ("values.amount", "out_of_range"),
                ("values.callback", "format"),
            ])
        );
        let foreign: NewDispositionResult = from_json(json!({"call_id": "call-2", "disposition_id": 999_999}));
        assert_eq!(
            field_errors(store.record_disposition_result(campaign, w.ana, &foreign, NOW).await),
            pairs(&[("disposition_id", "unknown")])
        );
        let valued: NewDispositionResult = from_json(json!({"call_id": "call-2", "disposition_id": no.id, "values": {"x": 1}}));
        assert_eq!(
            field_errors(store.record_disposition_result(campaign, w.ana, &valued, NOW).await),
            pairs(&[("values", "not_allowed")])
        );

        // Edited after a result: a new version; the result keeps version 1.
        let mut form = sale_form();
        form.as_array_mut().unwrap().push(json!({"name": "note", "label": "Obs", "type": "text"}));
        let edited = store
            .update_disposition(campaign, sale.id, &from_json(json!({"name": "Venda", "positive": true, "form": form})), None, NOW)
            .await
            .unwrap();
        assert_eq!(edited.form.as_ref().map(|form| (form.version, form.fields.len())), Some((2, 4)));
        let second: NewDispositionResult = from_json(json!({
            "call_id": "call-3", "disposition_id": sale.id, "values": {"plan": "básico", "note": "ok"}
        }));
        let recorded_second = store.record_disposition_result(campaign, w.bia, &second, NOW).await.unwrap();
        assert_eq!(recorded_second.form_version, Some(2));

        let all = store.disposition_results(campaign, None, 0, 100).await.unwrap();
        assert_eq!(all.iter().map(|r| r.form_version).collect::<Vec<_>>(), [Some(1), Some(2)]);
        assert_eq!(all[0].values["plan"], "ouro");
        let page = store.disposition_results(campaign, None, all[0].id, 100).await.unwrap();
        assert_eq!(page, all[1..]);
        let anas = store.disposition_results(campaign, Some(w.ana), 0, 100).await.unwrap();
        assert_eq!(anas, all[..1]);
        assert_eq!(store.positive_results(campaign).await.unwrap(), 2);

        let in_use = store.delete_disposition(campaign, sale.id, None, NOW).await;
        assert!(matches!(in_use, Err(StoreError::Conflict(_))), "{in_use:?}");
        store.delete_disposition(campaign, no.id, None, NOW).await.unwrap();
        let with_results = store.delete_campaign(campaign, None, NOW).await;
        assert!(matches!(with_results, Err(StoreError::Conflict(_))), "{with_results:?}");
    })
    .await;
}

#[tokio::test]
async fn a_draft_campaign_is_deleted_with_its_dispositions() {
    on_both_backends(|store| async move {
        let w = world(&store).await;
        let spec: CampaignSpec = from_json(dialer_spec(w.list, w.trunk, w.queue, w.sara, w.ana));
        let campaign = store.create_campaign(&spec, None, NOW).await.unwrap().id;
        store
            .create_disposition(
                campaign,
                &from_json(json!({"name": "Venda", "form": sale_form()})),
                None,
                NOW,
            )
            .await
            .unwrap();
        store
            .delete_campaign(campaign, Some(w.admin), NOW)
            .await
            .unwrap();
        assert!(matches!(
            store.campaign(campaign).await,
            Err(StoreError::NotFound { .. })
        ));
        assert!(store.dispositions(campaign).await.unwrap().is_empty());
        store.delete_queue(w.queue, None, NOW).await.unwrap();
        let audit = store.audit_log(1).await.unwrap();
        assert_eq!(
            (audit[0].action.as_str(), audit[0].entity.as_str()),
            ("delete", "queue")
        );
    })
    .await;
}
