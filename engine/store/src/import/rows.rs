//! The reading side of an import, run on its own thread: CSV rows → checked contacts
//! (custom columns as JSON, phones normalised), handed on in chunks through a bounded
//! channel so that reading, parsing and writing overlap while memory stays flat.

use super::csv_reader::{CsvReader, FileError, Limits, Record, RowProblem, TextEncoding};
use super::phone::PhoneNormaliser;
use super::report::{RejectReason, RejectedRow};
use super::{ColumnTarget, ImportError};
use crate::contacts::Phone;
use std::collections::HashSet;
use std::io::Read;
use tokio::sync::mpsc::Sender;

/// Header names that mark a phone column when none is named.
const PHONE_WORDS: [&str; 8] = [
    "phone", "fone", "telefon", "celular", "mobile", "whatsapp", "cell", "tel",
];

/// What the reading thread needs.
pub(crate) struct ReadSettings {
    pub(crate) encoding: TextEncoding,
    pub(crate) delimiter: Option<u8>,
    pub(crate) limits: Limits,
    pub(crate) columns: Vec<(String, ColumnTarget)>,
    pub(crate) normaliser: PhoneNormaliser,
    pub(crate) batch_rows: usize,
}

/// A contact ready to write.
#[derive(Debug)]
pub(crate) struct GoodRow {
    pub(crate) line: u64,
    pub(crate) fields: String,
    pub(crate) phones: Vec<Phone>,
}

/// Rows read together.
#[derive(Debug, Default)]
pub(crate) struct Chunk {
    pub(crate) rows: Vec<GoodRow>,
    pub(crate) rejected: Vec<RejectedRow>,
    pub(crate) rows_read: u64,
    /// Bytes of the file read up to the end of this chunk.
    pub(crate) bytes_read: u64,
}

/// What the reading thread sends.
#[derive(Debug)]
pub(crate) enum Message {
    /// The header was read and mapped.
    Started {
        encoding: &'static str,
        delimiter: u8,
        header: Vec<String>,
        phone_columns: Vec<String>,
        field_names: Vec<String>,
    },
    Chunk(Chunk),
    Done,
    Failed(ImportError),
}

/// Where each column goes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) header: Vec<String>,
    /// Per column: `Some(i)` → custom field `i`, `None` → a phone or ignored.
    fields: Vec<Option<usize>>,
    /// JSON of each field's name followed by `:`, ready to write.
    field_keys: Vec<String>,
    pub(crate) field_names: Vec<String>,
    pub(crate) phones: Vec<usize>,
}

fn looks_like_phone(name: &str) -> bool {
    let name = name.to_lowercase();
    name.split(|c: char| !c.is_alphanumeric())
        .any(|word| PHONE_WORDS.iter().any(|phone| word.starts_with(phone)))
}

/// Maps the header: explicit targets first (by name, ignoring case and surrounding space),
/// then every other column is a custom field; when no column is a phone, those whose
/// name says phone (`telefone`, `celular`, `mobile phone`, …) are.
pub(crate) fn plan(
    header: Vec<String>,
    targets: &[(String, ColumnTarget)],
) -> Result<Plan, String> {
    let key = |name: &str| name.trim().to_lowercase();
    let mut seen = HashSet::new();
    for name in &header {
        if !seen.insert(key(name)) {
            return Err(format!("the header has column `{name}` twice"));
        }
    }
    let mut chosen: Vec<Option<&ColumnTarget>> = vec![None; header.len()];
    for (name, target) in targets {
        match header.iter().position(|column| key(column) == key(name)) {
            Some(index) => chosen[index] = Some(target),
            None => {
                return Err(format!(
                    "no column `{name}` in the header ({})",
                    header.join(", ")
                ));
            }
        }
    }
    let mut phones: Vec<usize> = (0..header.len())
        .filter(|&index| matches!(chosen[index], Some(ColumnTarget::Phone)))
        .collect();
    if phones.is_empty() {
        phones = (0..header.len())
            .filter(|&index| chosen[index].is_none() && looks_like_phone(&header[index]))
            .collect();
    }
    if phones.is_empty() {
        return Err(format!(
            "no phone column: none of ({}) is named like one; say which they are",
            header.join(", ")
        ));
    }
    let mut fields = vec![None; header.len()];
    let mut field_names: Vec<String> = Vec::new();
    for (index, name) in header.iter().enumerate() {
        let target = match chosen[index] {
            _ if phones.contains(&index) => continue,
            Some(ColumnTarget::Ignore | ColumnTarget::Phone) => continue,
            Some(ColumnTarget::Field(target)) => target.trim().to_owned(),
            None if name.trim().is_empty() => format!("column_{}", index + 1),
            None => name.trim().to_owned(),
        };
        if field_names.contains(&target) {
            return Err(format!("two columns map to field `{target}`"));
        }
        fields[index] = Some(field_names.len());
        field_names.push(target);
    }
    let field_keys = field_names
        .iter()
        .map(|name| {
            serde_json::to_string(name)
                .map(|json| json + ":")
                .map_err(|error| error.to_string())
        })
        .collect::<Result<_, _>>()?;
    Ok(Plan {
        header,
        fields,
        field_keys,
        field_names,
        phones,
    })
}

/// Checks one row and turns it into a contact.
pub(crate) fn convert(
    record: &Record,
    plan: &Plan,
    normaliser: &PhoneNormaliser,
    json: &mut Vec<u8>,
) -> Result<GoodRow, RejectReason> {
    if record.len() != plan.header.len() {
        return Err(RejectReason::ColumnCount {
            found: record.len(),
            expected: plan.header.len(),
        });
    }
    if record.bytes().contains(&0) {
        return Err(RejectReason::NulCharacter);
    }
    let text = |index: usize| std::str::from_utf8(record.field(index));
    let mut phones: Vec<Phone> = Vec::with_capacity(plan.phones.len());
    for &index in &plan.phones {
        let raw = text(index).map_err(|_| RejectReason::NotUtf8)?.trim();
        if raw.is_empty() {
            continue;
        }
        let e164 = normaliser
            .normalise(raw)
            .map_err(|why| RejectReason::BadPhone {
                column: plan.header[index].clone(),
                value: raw.chars().take(64).collect(),
                why: why.to_string(),
            })?;
        if !phones.iter().any(|phone| phone.e164 == e164) {
            phones.push(Phone {
                raw: raw.to_owned(),
                e164,
            });
        }
    }
    if phones.is_empty() {
        return Err(RejectReason::NoPhone);
    }
    json.clear();
    json.push(b'{');
    for (index, field) in plan.fields.iter().enumerate() {
        let Some(field) = *field else { continue };
        let value = text(index).map_err(|_| RejectReason::NotUtf8)?;
        if json.len() > 1 {
            json.push(b',');
        }
        json.extend_from_slice(plan.field_keys[field].as_bytes());
        // Writing a &str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *json, value);
    }
    json.push(b'}');
    let fields = String::from_utf8(json.clone()).map_err(|_| RejectReason::NotUtf8)?;
    Ok(GoodRow {
        line: record.line,
        fields,
        phones,
    })
}

fn problem_reason(problem: RowProblem) -> RejectReason {
    match problem {
        RowProblem::TooLong(limit) => RejectReason::TooLong { limit },
        RowProblem::TooManyColumns(limit) => RejectReason::TooManyColumns { limit },
        RowProblem::UnclosedQuote => RejectReason::UnclosedQuote,
    }
}

/// Reads the file and sends `Started`, the chunks, then `Done` (or `Failed`). Stops quietly
/// when the receiver is gone.
pub(crate) fn read_all<R: Read>(input: R, settings: ReadSettings, sender: Sender<Message>) {
    let failed = |error: ImportError| {
        let _ = sender.blocking_send(Message::Failed(error));
    };
    let mut reader = match CsvReader::open(
        input,
        settings.encoding,
        settings.delimiter,
        settings.limits,
    ) {
        Ok(reader) => reader,
        Err(error) => return failed(ImportError::File(error)),
    };
    let mut record = Record::default();
    let header = match reader.read_record(&mut record) {
        Err(error) => return failed(ImportError::File(FileError::Io(error))),
        Ok(None) => return failed(ImportError::Header("the file is empty".into())),
        Ok(Some(Err(problem))) => {
            return failed(ImportError::Header(format!(
                "the header {}",
                problem_reason(problem)
            )));
        }
        Ok(Some(Ok(()))) => {
            let names: Result<Vec<String>, _> = record
                .fields()
                .map(|name| std::str::from_utf8(name).map(|name| name.trim().to_owned()))
                .collect();
            match names {
                Ok(names) => names,
                Err(_) => return failed(ImportError::Header(RejectReason::NotUtf8.to_string())),
            }
        }
    };
    let plan = match plan(header, &settings.columns) {
        Ok(plan) => plan,
        Err(message) => return failed(ImportError::Header(message)),
    };
    let started = Message::Started {
        encoding: reader.encoding(),
        delimiter: reader.delimiter(),
        header: plan.header.clone(),
        phone_columns: plan
            .phones
            .iter()
            .map(|&i| plan.header[i].clone())
            .collect(),
        field_names: plan.field_names.clone(),
    };
    if sender.blocking_send(started).is_err() {
        return;
    }
    let batch = settings.batch_rows.max(1);
    let mut json = Vec::new();
    let mut chunk = Chunk::default();
    loop {
        let next = match reader.read_record(&mut record) {
            Ok(next) => next,
            Err(error) => return failed(ImportError::File(FileError::Io(error))),
        };
        let Some(result) = next else { break };
        chunk.rows_read += 1;
        let row = match result {
            Ok(()) => convert(&record, &plan, &settings.normaliser, &mut json),
            Err(problem) => Err(problem_reason(problem)),
        };
        match row {
            Ok(row) => chunk.rows.push(row),
            Err(reason) => chunk.rejected.push(RejectedRow {
                line: record.line,
                reason,
            }),
        }
        if chunk.rows_read as usize >= batch {
            chunk.bytes_read = reader.bytes_read();
            if sender
                .blocking_send(Message::Chunk(std::mem::take(&mut chunk)))
                .is_err()
            {
                return;
            }
        }
    }
    chunk.bytes_read = reader.bytes_read();
    if chunk.rows_read > 0 && sender.blocking_send(Message::Chunk(chunk)).is_err() {
        return;
    }
    let _ = sender.blocking_send(Message::Done);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::phone::parse_country;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn phone_columns_are_found_by_name_or_given() {
        let found = plan(names(&["Nome", "Telefone", "Celular 2", "Cidade"]), &[]).expect("plan");
        assert_eq!(found.phones, vec![1, 2]);
        assert_eq!(found.field_names, names(&["Nome", "Cidade"]));
        let given = plan(
            names(&["name", "a", "b", "hotel"]),
            &[
                ("B".into(), ColumnTarget::Phone),
                ("name".into(), ColumnTarget::Field("full_name".into())),
                ("hotel".into(), ColumnTarget::Ignore),
            ],
        )
        .expect("plan");
        assert_eq!(
            (given.phones, given.field_names),
            (vec![2], names(&["full_name", "a"]))
        );
    }

    #[test]
    fn bad_headers_are_whole_file_errors() {
        assert!(
            plan(names(&["name", "city"]), &[])
                .unwrap_err()
                .contains("no phone column")
        );
        assert!(
            plan(names(&["phone", "Phone"]), &[])
                .unwrap_err()
                .contains("twice")
        );
        let missing = plan(names(&["phone"]), &[("tel2".into(), ColumnTarget::Phone)]);
        assert!(missing.unwrap_err().contains("no column `tel2`"));
    }

    #[test]
    fn rows_become_json_and_e164() {
        let plan = plan(names(&["name", "phone", "mobile", "note"]), &[]).expect("plan");
        let normaliser = PhoneNormaliser::new(parse_country("BR").expect("BR"));
        let mut reader = CsvReader::open(
            &b"name,phone,mobile,note\n\"Ana \"\"A\"\"\",11 98765-4321,,'; DROP TABLE x; --\n"[..],
            TextEncoding::Auto,
            None,
            Limits::default(),
        )
        .expect("open");
        let mut record = Record::default();
        let mut json = Vec::new();
        reader
            .read_record(&mut record)
            .expect("io")
            .expect("some")
            .expect("ok");
        reader
            .read_record(&mut record)
            .expect("io")
            .expect("some")
            .expect("ok");
        let row = convert(&record, &plan, &normaliser, &mut json).expect("good");
        assert_eq!(
            row.fields,
            r#"{"name":"Ana \"A\"","note":"'; DROP TABLE x; --"}"#
        );
        assert_eq!(row.phones[0].e164, "+5511987654321");
        assert_eq!(row.phones[0].raw, "11 98765-4321");
        assert_eq!(row.line, 2);
    }
}
