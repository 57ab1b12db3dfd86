//! CSV imports of contacts, on SQLite and on PostgreSQL (`on_both_backends`).

mod common;

use common::on_both_backends;
use ramal_store::{
    ColumnTarget, Duplicates, ImportError, ImportMode, ImportOptions, ImportReport, ImportStatus,
    NewContactList, Progress, RejectReason, Store, TextEncoding,
};
use std::io::Cursor;

async fn new_list(store: &Store, duplicates: Duplicates) -> i64 {
    store
        .create_contact_list(
            &NewContactList {
                name: "clientes".into(),
                default_country: "BR".into(),
                duplicates,
                columns: Vec::new(),
            },
            1_000,
        )
        .await
        .expect("the list is created")
        .id
}

async fn import(
    store: &Store,
    list_id: i64,
    file: impl Into<Vec<u8>>,
    options: ImportOptions,
) -> Result<ImportReport, ImportError> {
    store
        .import_contacts(
            list_id,
            Cursor::new(file.into()),
            options,
            10_000,
            &mut |_| {},
        )
        .await
}

/// Rejected rows as (line, kind).
fn rejections(report: &ImportReport) -> Vec<(u64, &'static str)> {
    report
        .rejected
        .iter()
        .map(|row| (row.line, row.reason.kind()))
        .collect()
}

/// A phone number per `i`: valid São Paulo mobiles.
fn mobile(i: u32) -> String {
    format!("(11) 9{:04}-{:04}", 1000 + i / 10_000, i % 10_000)
}

#[tokio::test]
async fn a_good_file_is_imported_with_fields_and_several_phones() {
    on_both_backends(|store| async move {
        let list_id = new_list(&store, Duplicates::Avoid).await;
        let file = "\u{feff}Nome;Telefone;Celular;Cidade\n\
                    Ana;(11) 3333-4444;11 98765-4321;São Paulo\n\
                    \"Silva; Bia\";+1 650 253 0000;;\"Rio\nde\tJaneiro \\ RJ\"\n";
        let report = import(&store, list_id, file, ImportOptions::default())
            .await
            .unwrap();
        assert_eq!(
            (report.rows_read, report.rows_imported, report.rows_rejected),
            (2, 2, 0)
        );
        assert_eq!(
            (report.encoding.as_str(), report.delimiter, report.committed),
            ("UTF-8", ';', true)
        );
        assert_eq!(report.phone_columns, vec!["Telefone", "Celular"]);
        let contacts = store.contacts(list_id, 0, 10).await.unwrap();
        assert_eq!(contacts.len(), 2);
        assert_eq!(contacts[0].fields["Nome"], "Ana");
        assert_eq!(contacts[0].fields["Cidade"], "São Paulo");
        let e164: Vec<&str> = contacts[0].phones.iter().map(|p| p.e164.as_str()).collect();
        assert_eq!(e164, vec!["+551133334444", "+5511987654321"]);
        assert_eq!(contacts[0].phones[1].raw, "11 98765-4321");
        assert_eq!(contacts[1].fields["Nome"], "Silva; Bia");
        assert_eq!(contacts[1].fields["Cidade"], "Rio\nde\tJaneiro \\ RJ");
        assert_eq!(contacts[1].phones[0].e164, "+16502530000");
        assert_eq!(
            (contacts[1].import_id, contacts[1].source_line),
            (Some(report.import_id), Some(3))
        );
        let list = store.contact_list(list_id).await.unwrap();
        assert_eq!(list.columns, vec!["Nome", "Cidade"]);
        let recorded = store.contact_import(report.import_id).await.unwrap();
        assert_eq!(
            (
                recorded.status,
                recorded.rows_imported,
                recorded.mode.as_str()
            ),
            (ImportStatus::Finished, 2, "commit_good")
        );
    })
    .await;
}

#[tokio::test]
async fn bad_rows_are_reported_with_their_line_and_reason() {
    on_both_backends(|store| async move {
        let list_id = new_list(&store, Duplicates::Allow).await;
        let mut file = b"name,phone,note\n\
                         ok,11 98765-4321,\"'); DROP TABLE contacts; --\"\n\
                         short,11 98765-4322\n\
                         bad,123,x\n\
                         none,,x\n"
            .to_vec();
        file.extend_from_slice(b"latin,11 98765-4323,S\xE3o\n");
        file.extend_from_slice(b"nul,11 98765-4324,a\0b\n");
        file.extend_from_slice(b"last,+55 11 98765-4325,\"fim\"\n");
        // Said to be UTF-8 (by default, a Latin-1 byte this early would make it Latin-1).
        let utf8 = ImportOptions {
            encoding: TextEncoding::Utf8,
            ..ImportOptions::default()
        };
        let report = import(&store, list_id, file, utf8).await.unwrap();
        assert_eq!(
            rejections(&report),
            vec![
                (3, "column_count"),
                (4, "bad_phone"),
                (5, "no_phone"),
                (6, "not_utf8"),
                (7, "nul_character")
            ]
        );
        assert_eq!(
            report.rejected[0].reason,
            RejectReason::ColumnCount {
                found: 2,
                expected: 3
            }
        );
        assert!(
            report.rejected[1].reason.to_string().contains("`123`"),
            "{}",
            report.rejected[1].reason
        );
        assert_eq!((report.rows_read, report.rows_imported), (7, 2));
        assert_eq!(report.rejected_by_kind["bad_phone"], 1);
        // The SQL-looking text is data, stored as it was.
        let contacts = store.contacts(list_id, 0, 10).await.unwrap();
        assert_eq!(contacts[0].fields["note"], "'); DROP TABLE contacts; --");
        assert_eq!(contacts[1].fields["name"], "last");
        let recorded = store.contact_import(report.import_id).await.unwrap();
        assert_eq!(
            (recorded.rows_rejected, recorded.status),
            (5, ImportStatus::Finished)
        );
    })
    .await;
}

#[tokio::test]
async fn duplicates_are_avoided_across_the_list_the_file_and_chunks() {
    on_both_backends(|store| async move {
        let list_id = new_list(&store, Duplicates::Avoid).await;
        import(
            &store,
            list_id,
            "phone\n11 98765-4321\n",
            ImportOptions::default(),
        )
        .await
        .unwrap();
        // Batches of 2 rows: line 6 repeats line 2 from an earlier (committed) chunk, line 3
        // one in its own chunk, line 4 a number already in the list.
        let file = "fone,fone 2\n\
                    11 90000-0001,\n\
                    11 90000-0002,11 90000-0003\n\
                    11 90000-0003,\n\
                    +5511987654321,\n\
                    11 90000-0004,(11) 90000-0001\n\
                    11 90000-0005,\n";
        let options = ImportOptions {
            batch_rows: 2,
            ..ImportOptions::default()
        };
        let report = import(&store, list_id, file, options).await.unwrap();
        assert_eq!(
            report
                .rejected
                .iter()
                .map(|r| (r.line, r.reason.clone()))
                .collect::<Vec<_>>(),
            vec![
                (
                    4,
                    RejectReason::DuplicatePhone {
                        e164: "+5511900000003".into(),
                        first_line: Some(3)
                    }
                ),
                (
                    5,
                    RejectReason::DuplicatePhone {
                        e164: "+5511987654321".into(),
                        first_line: None
                    }
                ),
                (
                    6,
                    RejectReason::DuplicatePhone {
                        e164: "+5511900000001".into(),
                        first_line: Some(2)
                    }
                ),
            ]
        );
        assert_eq!(report.rows_imported, 3);
        assert_eq!(store.contact_count(list_id).await.unwrap(), 4);
        // The same file again: everything is a duplicate now.
        let again = import(&store, list_id, file, ImportOptions::default())
            .await
            .unwrap();
        assert_eq!((again.rows_imported, again.rows_rejected), (0, 6));
    })
    .await;
}

#[tokio::test]
async fn all_or_nothing_writes_nothing_when_a_row_is_bad() {
    on_both_backends(|store| async move {
        let list_id = new_list(&store, Duplicates::Avoid).await;
        let mut file = String::from("nome,celular\n");
        for i in 0..250 {
            file.push_str(&format!("c{i},{}\n", mobile(i)));
        }
        file.push_str("bad,999\n");
        let options = ImportOptions {
            mode: ImportMode::AllOrNothing,
            batch_rows: 100,
            ..ImportOptions::default()
        };
        let report = import(&store, list_id, file.clone(), options.clone())
            .await
            .unwrap();
        assert!(!report.committed);
        assert_eq!((report.rows_read, report.rows_imported), (251, 0));
        assert_eq!(rejections(&report), vec![(252, "bad_phone")]);
        assert_eq!(store.contact_count(list_id).await.unwrap(), 0);
        assert!(
            store
                .contact_list(list_id)
                .await
                .unwrap()
                .columns
                .is_empty()
        );
        let recorded = store.contact_import(report.import_id).await.unwrap();
        assert_eq!(recorded.status, ImportStatus::Failed);
        assert!(
            recorded
                .error
                .unwrap_or_default()
                .contains("nothing written")
        );
        // Without the bad row, everything is written at once.
        let good = file.replace("bad,999\n", "");
        let report = import(&store, list_id, good, options).await.unwrap();
        assert!(report.committed);
        assert_eq!(store.contact_count(list_id).await.unwrap(), 250);
        assert_eq!(
            store.contact_import(report.import_id).await.unwrap().status,
            ImportStatus::Finished
        );
    })
    .await;
}

#[tokio::test]
async fn progress_is_reported_after_every_chunk() {
    on_both_backends(|store| async move {
        let list_id = new_list(&store, Duplicates::Allow).await;
        let mut file = String::from("phone\n");
        for i in 0..95 {
            file.push_str(&format!("{}\n", mobile(i)));
        }
        let options = ImportOptions {
            batch_rows: 10,
            total_bytes: Some(file.len() as u64),
            ..ImportOptions::default()
        };
        let mut seen: Vec<Progress> = Vec::new();
        let report = store
            .import_contacts(
                list_id,
                Cursor::new(file.into_bytes()),
                options,
                0,
                &mut |progress| seen.push(progress.clone()),
            )
            .await
            .unwrap();
        assert_eq!(report.rows_imported, 95);
        let rows: Vec<u64> = seen.iter().map(|p| p.rows_read).collect();
        assert_eq!(rows, vec![10, 20, 30, 40, 50, 60, 70, 80, 90, 95]);
        let last = seen.last().unwrap();
        assert_eq!((last.rows_imported, last.percent()), (95, Some(100.0)));
        assert!(last.rows_per_second() > 0.0);
    })
    .await;
}

#[tokio::test]
async fn a_10_mb_line_is_rejected_cleanly_and_the_rest_imported() {
    on_both_backends(|store| async move {
        let list_id = new_list(&store, Duplicates::Allow).await;
        let mut file = b"name,phone\nana,11 98765-4321\n".to_vec();
        file.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
        file.extend_from_slice(b",11 98765-4322\nbia,11 98765-4323\n");
        let report = import(&store, list_id, file, ImportOptions::default())
            .await
            .unwrap();
        assert_eq!(rejections(&report), vec![(3, "too_long")]);
        assert_eq!(report.rows_imported, 2);
        assert_eq!(store.contact_count(list_id).await.unwrap(), 2);
    })
    .await;
}

#[tokio::test]
async fn hostile_files_fail_clearly_and_write_nothing() {
    on_both_backends(|store| async move {
        let list_id = new_list(&store, Duplicates::Allow).await;
        let garbage: Vec<u8> = (0..100_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let error = import(&store, list_id, garbage, ImportOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(error, ImportError::File(_)), "{error}");
        for (file, says) in [
            ("", "empty"),
            ("name,city\nana,rio\n", "no phone column"),
            ("phone,Phone\n1,2\n", "twice"),
        ] {
            let error = import(&store, list_id, file, ImportOptions::default())
                .await
                .unwrap_err();
            assert!(error.to_string().contains(says), "{file:?}: {error}");
        }
        let named = ImportOptions {
            columns: vec![("tel2".into(), ColumnTarget::Phone)],
            ..ImportOptions::default()
        };
        let error = import(&store, list_id, "phone\n1\n", named)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("no column `tel2`"), "{error}");
        // A quote that never closes swallows the rest of the file: one row error.
        let report = import(
            &store,
            list_id,
            "phone,note\n11 98765-4321,ok\n11 98765-4322,\"open\n11 98765-4323,x\n",
            ImportOptions::default(),
        )
        .await
        .unwrap();
        assert_eq!(rejections(&report), vec![(3, "unclosed_quote")]);
        assert_eq!(store.contact_count(list_id).await.unwrap(), 1);
        let imports = store.contact_imports(list_id).await.unwrap();
        assert_eq!(imports.len(), 6);
        assert!(
            imports[1..]
                .iter()
                .all(|i| i.status == ImportStatus::Failed)
        );
        assert!(imports[1..].iter().all(|i| i.error.is_some()));
    })
    .await;
}

#[tokio::test]
async fn latin1_files_with_mapped_columns() {
    on_both_backends(|store| async move {
        let list_id = new_list(&store, Duplicates::Allow).await;
        let file = b"Nome\tN\xFAmero\tObs\nJo\xE3o\t21 3333-4444\tA\xE7\xE3o\n".to_vec();
        let options = ImportOptions {
            columns: vec![
                ("número".into(), ColumnTarget::Phone),
                ("NOME".into(), ColumnTarget::Field("name".into())),
                ("obs".into(), ColumnTarget::Ignore),
            ],
            ..ImportOptions::default()
        };
        let report = import(&store, list_id, file, options).await.unwrap();
        assert_eq!(
            (report.encoding.as_str(), report.delimiter),
            ("windows-1252", '\t')
        );
        let contacts = store.contacts(list_id, 0, 10).await.unwrap();
        assert_eq!(contacts[0].fields.len(), 1);
        assert_eq!(contacts[0].fields["name"], "João");
        assert_eq!(contacts[0].phones[0].e164, "+552133334444");
    })
    .await;
}

/// Gives `good` bytes, then fails: a disk or network error in the middle of a file.
struct FailingReader {
    data: Cursor<Vec<u8>>,
}

impl std::io::Read for FailingReader {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        match self.data.read(buffer)? {
            0 => Err(std::io::Error::other("the disk went away")),
            read => Ok(read),
        }
    }
}

#[tokio::test]
async fn an_import_that_dies_midway_leaves_only_whole_chunks() {
    on_both_backends(|store| async move {
        let list_id = new_list(&store, Duplicates::Avoid).await;
        let mut file = String::from("phone,name\n");
        for i in 0..5000 {
            file.push_str(&format!("{},c{i}\n", mobile(i)));
        }
        // ~100 KiB: the first 64 KiB read whole (about 3,000 rows), then an I/O error.
        file.push_str("11 9");
        for (mode, expected) in [
            (ImportMode::CommitGood, 3000),
            (ImportMode::AllOrNothing, 0),
        ] {
            let before = store.contact_count(list_id).await.unwrap();
            let options = ImportOptions {
                batch_rows: 1000,
                mode,
                ..ImportOptions::default()
            };
            let reader = FailingReader {
                data: Cursor::new(file.clone().into_bytes()),
            };
            let error = store
                .import_contacts(list_id, reader, options, 0, &mut |_| {})
                .await
                .unwrap_err();
            assert!(error.to_string().contains("disk went away"), "{error}");
            // Commit-good: the three whole chunks read before the error, not the chunk in
            // progress. All or nothing: nothing.
            let count = store.contact_count(list_id).await.unwrap();
            assert_eq!(count - before, expected, "{mode:?}");
            let imports = store.contact_imports(list_id).await.unwrap();
            assert_eq!(imports[0].status, ImportStatus::Failed);
            assert_eq!(
                imports[0].rows_imported,
                count - imports[1..].iter().map(|i| i.rows_imported).sum::<i64>()
            );
        }
    })
    .await;
}
