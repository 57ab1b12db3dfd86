//! Contact lists and contacts, on SQLite and on PostgreSQL (`on_both_backends`).

mod common;

use common::{on_both_backends, on_both_backends_with_url, raw_scalar};
use ramal_store::{Duplicates, NewContact, NewContactList, Store, StoreError};

fn list(name: &str, duplicates: Duplicates) -> NewContactList {
    NewContactList {
        name: name.into(),
        default_country: "br".into(),
        duplicates,
        columns: vec!["nome".into()],
    }
}

fn contact(name: &str, phones: &[&str]) -> NewContact {
    NewContact {
        fields: [("nome".to_owned(), name.to_owned())].into(),
        phones: phones.iter().map(|phone| (*phone).to_owned()).collect(),
    }
}

async fn new_list(store: &Store, name: &str, duplicates: Duplicates) -> i64 {
    store
        .create_contact_list(&list(name, duplicates), 1_000)
        .await
        .expect("the list is created")
        .id
}

#[tokio::test]
async fn lists_are_created_found_and_unique() {
    on_both_backends(|store| async move {
        let created = store
            .create_contact_list(&list("  Clientes SP ", Duplicates::Avoid), 1_000)
            .await
            .unwrap();
        assert_eq!(
            (created.name.as_str(), created.default_country.as_str()),
            ("Clientes SP", "BR")
        );
        assert_eq!(store.contact_list(created.id).await.unwrap(), created);
        assert_eq!(
            store.contact_list_named("Clientes SP").await.unwrap(),
            created
        );
        assert_eq!(store.contact_lists().await.unwrap(), vec![created.clone()]);
        let again = store
            .create_contact_list(&list("Clientes SP", Duplicates::Allow), 2_000)
            .await;
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        let mut bad = list("other", Duplicates::Allow);
        bad.default_country = "XX".into();
        let refused = store.create_contact_list(&bad, 2_000).await;
        assert!(
            matches!(
                &refused,
                Err(StoreError::Invalid {
                    field: "default_country",
                    ..
                })
            ),
            "{refused:?}"
        );
        assert!(matches!(
            store.contact_list(999).await,
            Err(StoreError::NotFound { .. })
        ));
    })
    .await;
}

#[tokio::test]
async fn contacts_keep_several_phones_as_typed_and_in_e164() {
    on_both_backends(|store| async move {
        let list_id = new_list(&store, "vendas", Duplicates::Allow).await;
        let ana = store
            .add_contact(
                list_id,
                &contact(
                    "Ana",
                    &["(11) 98765-4321", "", "+1 650 253 0000", "11987654321"],
                ),
                5_000,
            )
            .await
            .unwrap();
        let phones: Vec<(&str, &str)> = ana
            .phones
            .iter()
            .map(|phone| (phone.raw.as_str(), phone.e164.as_str()))
            .collect();
        // Empty numbers are skipped; the same number twice is kept once.
        assert_eq!(
            phones,
            vec![
                ("(11) 98765-4321", "+5511987654321"),
                ("+1 650 253 0000", "+16502530000")
            ]
        );
        // Duplicates allowed: a second contact may share the number.
        let bia = store
            .add_contact(list_id, &contact("Bia", &["11 98765 4321"]), 6_000)
            .await
            .unwrap();
        let listed = store.contacts(list_id, 0, 10).await.unwrap();
        assert_eq!(listed, vec![ana.clone(), bia.clone()]);
        assert_eq!(
            store.contacts(list_id, ana.id, 10).await.unwrap(),
            vec![bia.clone()]
        );
        assert_eq!(store.contact_count(list_id).await.unwrap(), 2);
        assert_eq!(
            store
                .contacts_with_phone(list_id, "+5511987654321")
                .await
                .unwrap(),
            vec![ana, bia]
        );
        // Bad numbers, or none at all, are refused.
        for phones in [&["123"][..], &["not a phone"], &[], &[" "]] {
            let refused = store
                .add_contact(list_id, &contact("X", phones), 7_000)
                .await;
            assert!(
                matches!(
                    &refused,
                    Err(StoreError::Invalid {
                        field: "phones",
                        ..
                    })
                ),
                "{phones:?}: {refused:?}"
            );
        }
        assert_eq!(store.contact_count(list_id).await.unwrap(), 2);
    })
    .await;
}

#[tokio::test]
async fn lists_that_avoid_duplicates_refuse_a_known_number() {
    on_both_backends(|store| async move {
        let list_id = new_list(&store, "cobranca", Duplicates::Avoid).await;
        let other = new_list(&store, "outra", Duplicates::Avoid).await;
        store
            .add_contact(list_id, &contact("Ana", &["11 98765-4321"]), 1)
            .await
            .unwrap();
        let again = store
            .add_contact(list_id, &contact("Bia", &["+55 (11) 98765-4321"]), 2)
            .await;
        assert!(
            matches!(&again, Err(StoreError::Conflict(m)) if m.contains("+5511987654321")),
            "{again:?}"
        );
        // Another list is another matter; new columns are added to the list.
        let mut with_city = contact("Bia", &["11 98765-4321"]);
        with_city.fields.insert("cidade".into(), "Santos".into());
        store.add_contact(other, &with_city, 3).await.unwrap();
        assert_eq!(store.contact_count(list_id).await.unwrap(), 1);
        assert_eq!(
            store.contact_list(other).await.unwrap().columns,
            vec!["nome".to_owned(), "cidade".to_owned()]
        );
    })
    .await;
}

/// Phones go with their contact, however the contact goes: by itself or with its list.
/// (On PostgreSQL a statement trigger does this since migration 0009 dropped the per-row
/// foreign key; on SQLite the foreign key's ON DELETE CASCADE does.)
#[tokio::test]
async fn removed_contacts_take_their_phones() {
    on_both_backends_with_url(|store, url| async move {
        let kept = new_list(&store, "kept", Duplicates::Allow).await;
        let gone = new_list(&store, "gone", Duplicates::Allow).await;
        let ana = store
            .add_contact(
                gone,
                &contact("Ana", &["11 98765-4321", "(11) 3333-4444"]),
                2_000,
            )
            .await
            .expect("added");
        store
            .add_contact(gone, &contact("Bia", &["11 91234-5678"]), 2_000)
            .await
            .expect("added");
        store
            .add_contact(kept, &contact("Caio", &["11 98765-4321"]), 2_000)
            .await
            .expect("added");
        let phones_of = |list: i64| {
            let url = url.clone();
            async move {
                raw_scalar(
                    &url,
                    "SELECT COUNT(*) FROM contact_phones WHERE list_id = $1",
                    list,
                )
                .await
                .unwrap_or_default()
            }
        };
        let delete = |statement: &'static str, id: i64| {
            let url = url.clone();
            async move { raw_scalar(&url, statement, id).await }
        };
        assert_eq!((phones_of(gone).await, phones_of(kept).await), (3, 1));
        delete("DELETE FROM contacts WHERE id = $1", ana.id).await;
        assert_eq!((phones_of(gone).await, phones_of(kept).await), (1, 1));
        delete("DELETE FROM contact_lists WHERE id = $1", gone).await;
        assert_eq!((phones_of(gone).await, phones_of(kept).await), (0, 1));
    })
    .await;
}
