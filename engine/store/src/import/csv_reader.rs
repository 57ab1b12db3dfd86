//! A streaming CSV reader for files of any size: it holds one read buffer and one row, so
//! memory does not grow with the file. It also works out the text encoding (UTF-8 with or
//! without a BOM, UTF-16 with a BOM, else Latin-1) and the delimiter, refuses files that
//! are not text, and caps the length of a row so that one endless line (or a quote that
//! never closes) is a clear row error rather than an allocation the size of the file.
//!
//! Quoting follows RFC 4180 (`"a ""b"""`, fields spanning lines) and is lenient where
//! spreadsheets are: a quote inside an unquoted field, or text after a closing quote, is
//! kept as it is. Lines end in `\n`, `\r\n` or `\r`; blank lines are skipped.

use std::io::{self, Read};

/// How much of the start of a file is looked at to choose the encoding and delimiter.
const SNIFF_BYTES: usize = 64 * 1024;
/// How much is read at a time afterwards.
const READ_BYTES: usize = 64 * 1024;
/// The delimiters recognised, in order of preference on a tie.
pub(crate) const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// The text encoding of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextEncoding {
    /// A BOM decides (UTF-8, UTF-16LE/BE); without one, UTF-8 if the first 64 KiB are
    /// valid UTF-8, else Latin-1.
    #[default]
    Auto,
    /// UTF-8, with or without a BOM. A row with bytes that are not UTF-8 is rejected.
    Utf8,
    /// Latin-1 as spreadsheets write it (Windows-1252, a superset of ISO 8859-1).
    Latin1,
}

/// Limits on one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes a row's fields may hold together (default 1 MiB).
    pub max_row_bytes: usize,
    /// The most columns a row may have (default 1,000).
    pub max_columns: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_row_bytes: 1024 * 1024,
            max_columns: 1000,
        }
    }
}

/// A problem with the whole file: nothing in it can be imported.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Reading failed.
    #[error("reading the file failed: {0}")]
    Io(#[from] io::Error),
    /// The file is not text.
    #[error("this is not a text (CSV) file: {0}")]
    NotText(&'static str),
}

/// Why one row cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowProblem {
    /// Longer than `Limits::max_row_bytes`.
    TooLong(usize),
    /// More than `Limits::max_columns` columns.
    TooManyColumns(usize),
    /// A quoted field runs to the end of the file.
    UnclosedQuote,
}

/// One row: its fields' bytes end to end, and where each field ends.
#[derive(Debug, Default)]
pub(crate) struct Record {
    data: Vec<u8>,
    ends: Vec<usize>,
    /// The line of the file (1-based) on which the row starts.
    pub(crate) line: u64,
}

impl Record {
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Field `index`, as bytes (empty past the end).
    pub(crate) fn field(&self, index: usize) -> &[u8] {
        let Some(&end) = self.ends.get(index) else {
            return &[];
        };
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.data[start..end]
    }

    /// Every field as bytes.
    pub(crate) fn fields(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).map(|index| self.field(index))
    }

    /// All the row's bytes (to look for a NUL at once).
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.data
    }
}

/// Where the text comes from: the file, decoded to UTF-8 when it is not UTF-8 already.
struct Source<R> {
    reader: R,
    /// `None`: the bytes are UTF-8 and pass through (rows are validated later).
    decoder: Option<encoding_rs::Decoder>,
    raw: Vec<u8>,
    bytes_read: u64,
    eof: bool,
}

impl<R: Read> Source<R> {
    /// Reads up to `limit` bytes into `into` (appending); 0 at the end of the file.
    fn read_raw(&mut self, into: &mut Vec<u8>, limit: usize) -> io::Result<usize> {
        let start = into.len();
        into.resize(start + limit, 0);
        let mut filled = start;
        while filled < start + limit {
            match self.reader.read(&mut into[filled..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    into.truncate(filled);
                    return Err(error);
                }
            }
        }
        into.truncate(filled);
        self.bytes_read += (filled - start) as u64;
        Ok(filled - start)
    }

    /// Decodes `raw` (the last piece if `last`) onto the end of `out`.
    fn decode(decoder: &mut encoding_rs::Decoder, raw: &[u8], out: &mut Vec<u8>, last: bool) {
        let mut input = raw;
        loop {
            let room = decoder
                .max_utf8_buffer_length(input.len())
                .unwrap_or(input.len() * 3 + 16);
            let start = out.len();
            out.resize(start + room, 0);
            let (result, read, written, _) = decoder.decode_to_utf8(input, &mut out[start..], last);
            out.truncate(start + written);
            input = &input[read..];
            if result == encoding_rs::CoderResult::InputEmpty {
                break;
            }
        }
    }

    /// Replaces `buf` with the next decoded text; false at the end of the file.
    fn fill(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        buf.clear();
        while buf.is_empty() {
            if self.eof {
                if let Some(decoder) = self.decoder.as_mut() {
                    // Flush whatever a multi-byte sequence left pending.
                    Self::decode(decoder, &[], buf, true);
                    self.decoder = None;
                    continue;
                }
                return Ok(false);
            }
            match self.decoder.as_mut() {
                None => {
                    self.read_raw(buf, READ_BYTES)?;
                }
                Some(_) => {
                    let mut raw = std::mem::take(&mut self.raw);
                    raw.clear();
                    let result = self.read_raw(&mut raw, READ_BYTES);
                    if let Some(decoder) = self.decoder.as_mut() {
                        Self::decode(decoder, &raw, buf, self.eof);
                        if self.eof {
                            self.decoder = None;
                        }
                    }
                    self.raw = raw;
                    result?;
                }
            }
        }
        Ok(true)
    }
}

/// The streaming reader.
pub(crate) struct CsvReader<R> {
    source: Source<R>,
    buf: Vec<u8>,
    pos: usize,
    delimiter: u8,
    limits: Limits,
    /// The line of the next byte, 1-based.
    line: u64,
    /// The previous byte ended a line with `\r`: a `\n` right after it belongs to it.
    after_cr: bool,
    encoding_name: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

impl<R: Read> CsvReader<R> {
    /// Opens `reader`: reads the first 64 KiB to choose the encoding and (unless given) the
    /// delimiter.
    pub(crate) fn open(
        reader: R,
        encoding: TextEncoding,
        delimiter: Option<u8>,
        limits: Limits,
    ) -> Result<Self, FileError> {
        let mut source = Source {
            reader,
            decoder: None,
            raw: Vec::new(),
            bytes_read: 0,
            eof: false,
        };
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        source.read_raw(&mut head, SNIFF_BYTES)?;
        let (chosen, bom) = choose_encoding(&head, encoding);
        let mut buf = Vec::with_capacity(READ_BYTES * 3);
        let encoding_name = match chosen {
            None => {
                buf.extend_from_slice(&head[bom..]);
                "UTF-8"
            }
            Some(chosen) => {
                let mut decoder = chosen.new_decoder_with_bom_removal();
                Source::<R>::decode(&mut decoder, &head, &mut buf, source.eof);
                if !source.eof {
                    source.decoder = Some(decoder);
                }
                chosen.name()
            }
        };
        if head.starts_with(b"PK\x03\x04") {
            return Err(FileError::NotText(
                "it is a ZIP archive (an .xlsx workbook?); save it as CSV",
            ));
        }
        if looks_binary(&buf) {
            return Err(FileError::NotText("it is mostly control characters"));
        }
        let delimiter = delimiter.unwrap_or_else(|| detect_delimiter(&buf));
        Ok(CsvReader {
            source,
            buf,
            pos: 0,
            delimiter,
            limits,
            line: 1,
            after_cr: false,
            encoding_name,
        })
    }

    /// The delimiter in use.
    pub(crate) fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// The encoding in use (`UTF-8`, `windows-1252`, `UTF-16LE`, …).
    pub(crate) fn encoding(&self) -> &'static str {
        self.encoding_name
    }

    /// Bytes of the file read so far.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.source.bytes_read
    }

    /// Reads the next row into `record`: `None` at the end of the file, else the row or why
    /// it cannot be read (the reader has then skipped past it).
    pub(crate) fn read_record(
        &mut self,
        record: &mut Record,
    ) -> io::Result<Option<Result<(), RowProblem>>> {
        record.data.clear();
        record.ends.clear();
        record.line = self.line;
        let mut state = State::FieldStart;
        let mut started = false;
        let mut problem = None;
        let delimiter = self.delimiter;
        loop {
            if self.pos == self.buf.len() {
                self.pos = 0;
                if !self.source.fill(&mut self.buf)? {
                    if !started {
                        return Ok(None);
                    }
                    if state == State::Quoted {
                        problem = Some(RowProblem::UnclosedQuote);
                    }
                    self.end_field(record, &mut problem);
                    return Ok(Some(problem.map_or(Ok(()), Err)));
                }
            }
            let byte = self.buf[self.pos];
            self.pos += 1;
            if self.after_cr {
                self.after_cr = false;
                if byte == b'\n' {
                    continue;
                }
            }
            let newline = byte == b'\n' || byte == b'\r';
            match state {
                State::Quoted => {
                    if byte == b'"' {
                        state = State::QuoteInQuoted;
                    } else {
                        if byte == b'\n' {
                            self.line += 1;
                        }
                        self.push(record, byte, &mut problem);
                    }
                    continue;
                }
                State::QuoteInQuoted if byte == b'"' => {
                    self.push(record, b'"', &mut problem);
                    state = State::Quoted;
                    continue;
                }
                State::FieldStart if byte == b'"' => {
                    started = true;
                    state = State::Quoted;
                    continue;
                }
                _ => {}
            }
            if newline {
                self.line += 1;
                self.after_cr = byte == b'\r';
                if !started {
                    // A blank line.
                    record.line = self.line;
                    continue;
                }
                self.end_field(record, &mut problem);
                return Ok(Some(problem.map_or(Ok(()), Err)));
            }
            started = true;
            if byte == delimiter {
                self.end_field(record, &mut problem);
                state = State::FieldStart;
            } else {
                self.push(record, byte, &mut problem);
                state = State::Unquoted;
            }
        }
    }

    #[inline]
    fn push(&self, record: &mut Record, byte: u8, problem: &mut Option<RowProblem>) {
        if record.data.len() < self.limits.max_row_bytes {
            record.data.push(byte);
        } else if problem.is_none() {
            *problem = Some(RowProblem::TooLong(self.limits.max_row_bytes));
        }
    }

    fn end_field(&self, record: &mut Record, problem: &mut Option<RowProblem>) {
        if record.ends.len() < self.limits.max_columns {
            record.ends.push(record.data.len());
        } else if problem.is_none() {
            *problem = Some(RowProblem::TooManyColumns(self.limits.max_columns));
        }
    }
}

/// The encoding to decode with (`None`: UTF-8, passed through) and the BOM's length.
fn choose_encoding(
    head: &[u8],
    wanted: TextEncoding,
) -> (Option<&'static encoding_rs::Encoding>, usize) {
    let utf8_bom = usize::from(head.starts_with(b"\xEF\xBB\xBF")) * 3;
    match wanted {
        TextEncoding::Utf8 => (None, utf8_bom),
        TextEncoding::Latin1 => (Some(encoding_rs::WINDOWS_1252), 0),
        TextEncoding::Auto => {
            if utf8_bom > 0 {
                (None, utf8_bom)
            } else if head.starts_with(b"\xFF\xFE") {
                (Some(encoding_rs::UTF_16LE), 0)
            } else if head.starts_with(b"\xFE\xFF") {
                (Some(encoding_rs::UTF_16BE), 0)
            } else {
                match std::str::from_utf8(head) {
                    Ok(_) => (None, 0),
                    // Cut in the middle of a character at the end of the sample: still UTF-8.
                    Err(error) if error.error_len().is_none() => (None, 0),
                    Err(_) => (Some(encoding_rs::WINDOWS_1252), 0),
                }
            }
        }
    }
}

/// More than 1 in 20 bytes are control characters other than tab, newlines and form feed
/// (random bytes have 1 in 9; UTF-16 without a BOM 1 in 2). A stray NUL is left to the row
/// it is in.
fn looks_binary(text: &[u8]) -> bool {
    let controls = text
        .iter()
        .filter(|&&byte| byte < 0x20 && !matches!(byte, b'\t' | b'\n' | b'\r' | 0x0C))
        .count();
    controls * 20 > text.len()
}

/// The delimiter of a CSV sample: among `,` `;` tab `|`, the one that splits the first
/// lines (at most 20, quotes respected) into the same number of columns as the header,
/// preferring more columns; `,` when none appears.
pub(crate) fn detect_delimiter(sample: &[u8]) -> u8 {
    // Per line, how often each candidate appears outside quotes; lines without any are
    // left out (blank lines, one-column files).
    let mut counts: Vec<[usize; 4]> = Vec::new();
    let mut current = [0usize; 4];
    let mut quoted = false;
    for &byte in sample {
        if byte == b'"' {
            quoted = !quoted;
        } else if !quoted && (byte == b'\n' || byte == b'\r') {
            if current != [0; 4] {
                counts.push(current);
                if counts.len() == 20 {
                    break;
                }
            }
            current = [0; 4];
        } else if !quoted && let Some(slot) = DELIMITERS.iter().position(|&d| d == byte) {
            current[slot] += 1;
        }
    }
    if current != [0; 4] && counts.len() < 20 {
        counts.push(current);
    }
    let Some(header) = counts.first().copied() else {
        return b',';
    };
    // The most lines agreeing with the header, then the most columns, then the order above.
    let mut best: Option<(usize, usize, usize)> = None;
    for (slot, &columns) in header.iter().enumerate() {
        if columns == 0 {
            continue;
        }
        let agreeing = counts.iter().filter(|line| line[slot] == columns).count();
        if best.is_none_or(|(a, c, _)| (agreeing, columns) > (a, c)) {
            best = Some((agreeing, columns, slot));
        }
    }
    best.map_or(b',', |(_, _, slot)| DELIMITERS[slot])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &[u8], limits: Limits) -> Vec<Result<Vec<String>, RowProblem>> {
        let mut reader = CsvReader::open(text, TextEncoding::Auto, None, limits).expect("opens");
        let mut record = Record::default();
        let mut out = Vec::new();
        while let Some(result) = reader.read_record(&mut record).expect("reads") {
            out.push(result.map(|()| {
                record
                    .fields()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect()
            }));
        }
        out
    }

    fn ok(text: &str) -> Vec<Vec<String>> {
        rows(text.as_bytes(), Limits::default())
            .into_iter()
            .map(|row| row.expect("a good row"))
            .collect()
    }

    #[test]
    fn quoting_newlines_and_blank_lines() {
        assert_eq!(
            ok("a,b,c\r\n1,\"x, \"\"y\"\"\",3\n\n\"multi\nline\",,\rlast,\"\",z"),
            vec![
                vec!["a", "b", "c"],
                vec!["1", "x, \"y\"", "3"],
                vec!["multi\nline", "", ""],
                vec!["last", "", "z"],
            ]
        );
        // Lenient where spreadsheets are.
        assert_eq!(ok("ab\"c,\"d\"e\n"), vec![vec!["ab\"c", "de"]]);
    }

    #[test]
    fn lines_are_counted_across_quoted_newlines_and_blank_lines() {
        let mut reader = CsvReader::open(
            &b"h\n\"a\nb\"\n\nc\r\nd"[..],
            TextEncoding::Auto,
            None,
            Limits::default(),
        )
        .expect("opens");
        let mut record = Record::default();
        let mut lines = Vec::new();
        while let Some(result) = reader.read_record(&mut record).expect("reads") {
            result.expect("good");
            lines.push(record.line);
        }
        assert_eq!(lines, vec![1, 2, 5, 6]);
    }

    #[test]
    fn delimiters_are_detected() {
        assert_eq!(detect_delimiter(b"name,phone\nana,1\n"), b',');
        assert_eq!(
            detect_delimiter(b"name;phone;value\nana;1;2,5\nbia;2;3,25\n"),
            b';'
        );
        assert_eq!(detect_delimiter(b"name\tphone\nana\t1\n"), b'\t');
        assert_eq!(detect_delimiter(b"name|phone\nana|1"), b'|');
        assert_eq!(detect_delimiter(b"\"a;b\",c\n\"x;y\",z\n"), b',');
        assert_eq!(detect_delimiter(b"phone\n1\n2\n"), b',');
        assert_eq!(detect_delimiter(b"name;phone"), b';');
        assert_eq!(detect_delimiter(b""), b',');
    }

    #[test]
    fn encodings() {
        // UTF-8 with a BOM: the BOM is not part of the first header.
        let mut with_bom = b"\xEF\xBB\xBFnome,cidade\nJo\xC3\xA3o,S\xC3\xA3o Paulo\n".to_vec();
        assert_eq!(
            rows(&with_bom, Limits::default())[0].as_ref().expect("ok")[0],
            "nome"
        );
        with_bom.drain(..3);
        assert_eq!(
            rows(&with_bom, Limits::default())[1].as_ref().expect("ok")[1],
            "São Paulo"
        );
        // Latin-1 is recognised by not being UTF-8, and decoded.
        let latin1 = b"nome;cidade\nJo\xE3o;S\xE3o Paulo\n";
        let reader = CsvReader::open(&latin1[..], TextEncoding::Auto, None, Limits::default())
            .expect("opens");
        assert_eq!(
            (reader.encoding(), reader.delimiter()),
            ("windows-1252", b';')
        );
        assert_eq!(
            rows(latin1, Limits::default())[1].as_ref().expect("ok")[0],
            "João"
        );
        // UTF-16 with a BOM.
        let mut utf16 = vec![0xFF, 0xFE];
        for unit in "a,b\nção,2\n".encode_utf16() {
            utf16.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(
            rows(&utf16, Limits::default())[1].as_ref().expect("ok")[0],
            "ção"
        );
    }

    #[test]
    fn a_decoded_file_larger_than_a_buffer_streams_whole() {
        let mut text = b"nome,n\n".to_vec();
        for i in 0..20_000 {
            text.extend_from_slice(format!("Jo\u{e3}o {i},{i}\n").as_bytes());
        }
        let latin1: Vec<u8> = String::from_utf8(text)
            .expect("utf8")
            .chars()
            .map(|c| c as u32 as u8)
            .collect();
        let all = rows(&latin1, Limits::default());
        assert_eq!(all.len(), 20_001);
        assert_eq!(
            all[20_000].as_ref().expect("ok"),
            &vec!["João 19999", "19999"]
        );
    }

    #[test]
    fn binary_files_are_refused() {
        let garbage: Vec<u8> = (0..10_000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let error = CsvReader::open(&garbage[..], TextEncoding::Auto, None, Limits::default())
            .err()
            .expect("refused");
        assert!(error.to_string().contains("not a text"), "{error}");
        let controls = [1u8; 100];
        assert!(
            CsvReader::open(&controls[..], TextEncoding::Auto, None, Limits::default()).is_err()
        );
    }

    #[test]
    fn a_huge_line_is_one_row_error_and_reading_goes_on() {
        let limits = Limits {
            max_row_bytes: 1000,
            max_columns: 10,
        };
        let mut text = b"a,b\n1,2\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
        text.extend_from_slice(b",y\n3,4\n");
        let all = rows(&text, limits);
        assert_eq!(all.len(), 4);
        assert_eq!(all[2], Err(RowProblem::TooLong(1000)));
        assert_eq!(all[3].as_ref().expect("ok"), &vec!["3", "4"]);
    }

    #[test]
    fn too_many_columns_and_unclosed_quotes() {
        let limits = Limits {
            max_row_bytes: 1000,
            max_columns: 3,
        };
        let all = rows(b"a,b\n1,2,3,4,5\n6,\"7\n8,9\n", limits);
        assert_eq!(all[1], Err(RowProblem::TooManyColumns(3)));
        assert_eq!(all[2], Err(RowProblem::UnclosedQuote));
        assert_eq!(all.len(), 3);
        // An unclosed quote longer than the cap is still reported as the quote.
        let mut text = b"a\n\"".to_vec();
        text.extend(std::iter::repeat_n(b'z', 5000));
        assert_eq!(rows(&text, limits)[1], Err(RowProblem::UnclosedQuote));
    }

    #[test]
    fn empty_and_header_only_files() {
        assert!(rows(b"", Limits::default()).is_empty());
        assert_eq!(ok("a,b"), vec![vec!["a", "b"]]);
    }
}
