//! Placeholders for multi-row `VALUES` lists, shared by the statements that write many rows
//! at once (contact imports, call records).

/// Appends `(…),(…)`: `rows` tuples of `columns` placeholders. `numbered` gives PostgreSQL's
/// `$1, $2, …`; otherwise SQLite's anonymous `?` (sqlx looks numbered names up one by one on
/// SQLite, which makes binding thousands of values quadratic).
pub(crate) fn push_value_rows(sql: &mut String, rows: usize, columns: usize, numbered: bool) {
    sql.reserve(rows * columns * if numbered { 7 } else { 2 });
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ",(" });
        for column in 0..columns {
            if column > 0 {
                sql.push(',');
            }
            if numbered {
                sql.push('$');
                sql.push_str(&(row * columns + column + 1).to_string());
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
}

#[cfg(test)]
mod tests {
    use super::push_value_rows;

    #[test]
    fn rows_of_placeholders_anonymous_or_numbered() {
        let mut sql = String::from("VALUES ");
        push_value_rows(&mut sql, 2, 3, false);
        assert_eq!(sql, "VALUES (?,?,?),(?,?,?)");
        let mut sql = String::new();
        push_value_rows(&mut sql, 2, 2, true);
        assert_eq!(sql, "($1,$2),($3,$4)");
    }
}
