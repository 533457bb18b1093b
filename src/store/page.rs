//! The one pagination algorithm, for every list on both backends: resolve the cursor to its
//! `(created, seq)`, select `limit + 1` documents beyond it in the list's order, and turn
//! them into a page with an exact `has_more`. The SQL is shared too: its placeholders are
//! `$1, $2, …` in order of appearance, which PostgreSQL numbers and SQLite binds by position.
//! A backend only runs the two statements (`PageRows`).

use std::fmt::Write as _;

use async_trait::async_trait;

use super::{ListError, ListQuery, Page, StoreError, Tenant};

/// A value bound to a placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bind<'a> {
    Text(&'a str),
    Int(i64),
    Bool(bool),
}

/// Which list: a table, scoped by tenant and optionally by a parent column.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListOf<'a> {
    /// A fixed table name, never client input.
    pub table: &'static str,
    pub tenant: &'a Tenant,
    /// `(column, id)`: only rows of this parent (the attempts of one record).
    pub parent: Option<(&'static str, &'a str)>,
    /// The SQL of each row's document (a column, or an expression over the row).
    pub doc: &'static str,
    /// Further conditions every row of the list meets.
    pub filters: &'a [Filter<'a>],
}

impl<'a> ListOf<'a> {
    /// A table whose rows keep their document in `doc`.
    pub fn table(table: &'static str, tenant: &'a Tenant) -> Self {
        ListOf {
            table,
            tenant,
            parent: None,
            doc: "doc",
            filters: &[],
        }
    }
}

/// A condition on a list's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Filter<'a> {
    /// `column` is one of these values.
    In(&'static str, &'a [String]),
    /// `column` is this value.
    Equals(&'static str, &'a str),
    /// `column` starts with this text.
    Prefix(&'static str, &'a str),
    /// `column` is at least this number.
    AtLeast(&'static str, i64),
    /// `column` is at most this number.
    AtMost(&'static str, i64),
    /// A fixed condition, never client input.
    Sql(&'static str),
}

/// Runs a page's statements on one backend.
#[async_trait]
pub(crate) trait PageRows: Send {
    /// The `(created, seq)` of the row the statement selects, if any.
    async fn cursor(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<Option<(i64, i64)>, StoreError>;
    /// The `doc` column of every row the statement selects, in order.
    async fn docs(&mut self, sql: &str, binds: &[Bind<'_>]) -> Result<Vec<String>, StoreError>;
}

/// SQL text with its binds, numbering placeholders as they are added.
#[derive(Debug, Default)]
struct Sql<'a> {
    text: String,
    binds: Vec<Bind<'a>>,
}

impl<'a> Sql<'a> {
    fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// `other`'s text and binds after this one's, its placeholders renumbered.
    fn append(&mut self, other: Sql<'a>) -> &mut Self {
        let mut rest = other.text.as_str();
        while let Some(at) = rest.find('$') {
            self.text.push_str(&rest[..at]);
            let digits = rest[at + 1..].bytes().take_while(u8::is_ascii_digit).count();
            let n: usize = rest[at + 1..at + 1 + digits].parse().expect("a numbered placeholder");
            self.bind(other.binds[n - 1]);
            rest = &rest[at + 1 + digits..];
        }
        self.text.push_str(rest);
        self
    }

    fn bind(&mut self, value: Bind<'a>) -> &mut Self {
        self.binds.push(value);
        write!(self.text, "${}", self.binds.len()).expect("writing to a String");
        self
    }

    /// `SELECT <columns> FROM <table> WHERE <tenant and parent>`.
    fn scoped(columns: &str, list: &ListOf<'a>) -> Self {
        let mut sql = Sql::default();
        sql.push("SELECT ")
            .push(columns)
            .push(" FROM ")
            .push(list.table)
            .push(" WHERE account_id = ")
            .bind(Bind::Text(&list.tenant.account_id))
            .push(" AND livemode = ")
            .bind(Bind::Bool(list.tenant.livemode));
        if let Some((column, id)) = list.parent {
            sql.push(" AND ").push(column).push(" = ").bind(Bind::Text(id));
        }
        for filter in list.filters {
            sql.push(" AND ");
            match filter {
                Filter::In(column, values) => {
                    sql.push(column).push(" IN (");
                    for (i, value) in values.iter().enumerate() {
                        if i > 0 {
                            sql.push(", ");
                        }
                        sql.bind(Bind::Text(value));
                    }
                    sql.push(")");
                }
                Filter::Equals(column, value) => {
                    sql.push(column).push(" = ").bind(Bind::Text(value));
                }
                Filter::Prefix(column, prefix) => {
                    // CAST: PostgreSQL's substr takes an integer, not the bigint a bind is.
                    sql.push("substr(")
                        .push(column)
                        .push(", 1, CAST(")
                        .bind(Bind::Int(prefix.chars().count() as i64))
                        .push(" AS INTEGER)) = ")
                        .bind(Bind::Text(prefix));
                }
                Filter::AtLeast(column, n) => {
                    sql.push(column).push(" >= ").bind(Bind::Int(*n));
                }
                Filter::AtMost(column, n) => {
                    sql.push(column).push(" <= ").bind(Bind::Int(*n));
                }
                Filter::Sql(condition) => {
                    sql.push(condition);
                }
            }
        }
        sql
    }
}

/// An id holding NUL names nothing (PostgreSQL text cannot even hold it, so it is never sent).
pub(crate) fn can_exist(id: &str) -> bool {
    !id.contains('\0')
}

/// The page of `list` that `query` asks for, newest first.
pub(crate) async fn read_page(
    rows: &mut impl PageRows,
    list: &ListOf<'_>,
    query: &ListQuery,
) -> Result<Page<String>, ListError> {
    let cursor_id = query.starting_after.as_deref().or(query.ending_before.as_deref());
    if !cursor_id.is_none_or(can_exist) || !list.parent.is_none_or(|(_, id)| can_exist(id)) {
        return Err(ListError::UnknownCursor);
    }
    let cursor = match cursor_id {
        Some(id) => {
            let sql = cursor_sql(list, id);
            Some(
                rows.cursor(&sql.text, &sql.binds)
                    .await?
                    .ok_or(ListError::UnknownCursor)?,
            )
        }
        None => None,
    };
    let sql = page_sql(list, query, cursor);
    let docs = rows.docs(&sql.text, &sql.binds).await?;
    Ok(into_page(docs, query))
}

/// Where the cursor object sits in the list's order.
fn cursor_sql<'a>(list: &ListOf<'a>, id: &'a str) -> Sql<'a> {
    let mut sql = Sql::scoped("created, seq", list);
    sql.push(" AND id = ").bind(Bind::Text(id));
    sql
}

/// `limit + 1` documents beyond the cursor, in the direction the query pages. Beyond a cursor
/// the page is two index seeks: the rest of the cursor's second, then the seconds after it.
/// (`(created, seq) < (c, s)` seeks on `created` alone in SQLite, and so walked every row of
/// the cursor's second: a page cost as much as the rows made in that second.)
fn page_sql<'a>(list: &ListOf<'a>, query: &ListQuery, cursor: Option<(i64, i64)>) -> Sql<'a> {
    let backwards = query.ending_before.is_some();
    let order = if backwards { "ASC" } else { "DESC" };
    let beyond = if backwards { " > " } else { " < " };
    let limit = Bind::Int(query.limit as i64 + 1);
    let bounded = |sql: &mut Sql<'a>| {
        if let Some(after) = query.created_after {
            sql.push(" AND created > ").bind(Bind::Int(after));
        }
        if let Some(before) = query.created_before {
            sql.push(" AND created < ").bind(Bind::Int(before));
        }
    };
    let Some((created, seq)) = cursor else {
        let mut sql = Sql::scoped(list.doc, list);
        bounded(&mut sql);
        sql.push(&format!(" ORDER BY created {order}, seq {order} LIMIT "))
            .bind(limit);
        return sql;
    };
    let columns = format!("{} AS d, created, seq", list.doc);
    let mut sql = Sql::default();
    sql.push("SELECT d FROM (SELECT * FROM (");
    sql.append(Sql::scoped(&columns, list));
    // The created bounds would tempt SQLite into a range over them instead of the equality:
    // they hold for the cursor's second, or nothing of it is on the page.
    let outside = query.created_after.is_some_and(|after| created <= after)
        || query.created_before.is_some_and(|before| created >= before);
    if outside {
        sql.push(" AND 1 = 0");
    }
    sql.push(" AND created = ")
        .bind(Bind::Int(created))
        .push(" AND seq")
        .push(beyond)
        .bind(Bind::Int(seq))
        .push(&format!(" ORDER BY seq {order} LIMIT "))
        .bind(limit)
        .push(") AS same_second UNION ALL SELECT * FROM (");
    sql.append(Sql::scoped(&columns, list));
    // One bound per side (the tighter of the cursor and the filter), or SQLite may pick the
    // filter's range and walk the cursor's second again.
    let (mut after, mut before) = (query.created_after, query.created_before);
    if backwards {
        after = Some(after.map_or(created, |a| a.max(created)));
    } else {
        before = Some(before.map_or(created, |b| b.min(created)));
    }
    if let Some(after) = after {
        sql.push(" AND created > ").bind(Bind::Int(after));
    }
    if let Some(before) = before {
        sql.push(" AND created < ").bind(Bind::Int(before));
    }
    sql.push(&format!(" ORDER BY created {order}, seq {order} LIMIT "))
        .bind(limit)
        .push(&format!(
            ") AS later_seconds) AS page ORDER BY created {order}, seq {order} LIMIT "
        ))
        .bind(limit);
    sql
}

/// The fetched documents as a page: one more than `limit` means another page; a backwards page
/// was read oldest first and is returned newest first.
fn into_page(mut docs: Vec<String>, query: &ListQuery) -> Page<String> {
    let has_more = docs.len() > query.limit;
    docs.truncate(query.limit);
    if query.ending_before.is_some() {
        docs.reverse();
    }
    Page { data: docs, has_more }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> Tenant {
        Tenant {
            account_id: "acct_1".into(),
            livemode: false,
        }
    }

    #[test]
    fn placeholders_are_numbered_in_order_of_appearance() {
        let tenant = tenant();
        let list = ListOf {
            parent: Some(("payment_record", "pr_1")),
            ..ListOf::table("payment_attempt_records", &tenant)
        };
        let cursor = cursor_sql(&list, "par_1");
        assert_eq!(
            cursor.text,
            "SELECT created, seq FROM payment_attempt_records WHERE account_id = $1 AND livemode = $2 \
             AND payment_record = $3 AND id = $4"
        );
        assert_eq!(cursor.binds.len(), 4);
        let query = ListQuery {
            limit: 2,
            ending_before: Some("par_1".into()),
            created_after: Some(5),
            ..ListQuery::default()
        };
        let sql = page_sql(&list, &query, Some((10, 3)));
        assert_eq!(
            sql.text,
            "SELECT d FROM (SELECT * FROM (SELECT doc AS d, created, seq FROM payment_attempt_records \
             WHERE account_id = $1 AND livemode = $2 AND payment_record = $3 \
             AND created = $4 AND seq > $5 ORDER BY seq ASC LIMIT $6) AS same_second \
             UNION ALL SELECT * FROM (SELECT doc AS d, created, seq FROM payment_attempt_records \
             WHERE account_id = $7 AND livemode = $8 AND payment_record = $9 \
             AND created > $10 ORDER BY created ASC, seq ASC LIMIT $11) AS later_seconds) AS page \
             ORDER BY created ASC, seq ASC LIMIT $12"
        );
        assert_eq!(sql.binds[3..6], [Bind::Int(10), Bind::Int(3), Bind::Int(3)]);
        assert_eq!(sql.binds[9..], [Bind::Int(10), Bind::Int(3), Bind::Int(3)]);
        // A cursor outside the created bounds has nothing of its second on the page.
        let outside = page_sql(&list, &query, Some((5, 3)));
        assert!(outside.text.contains("AND 1 = 0 AND created = $4"), "{}", outside.text);
    }

    #[test]
    fn forward_pages_read_newest_first_below_the_cursor() {
        let tenant = tenant();
        let list = ListOf::table("payment_records", &tenant);
        let query = ListQuery {
            limit: 10,
            starting_after: Some("pr_1".into()),
            created_before: Some(17),
            ..ListQuery::default()
        };
        let sql = page_sql(&list, &query, Some((10, 3)));
        assert!(
            sql.text
                .contains("livemode = $2 AND created = $3 AND seq < $4 ORDER BY seq DESC LIMIT $5)")
                && sql
                    .text
                    .contains("livemode = $7 AND created < $8 ORDER BY created DESC, seq DESC LIMIT $9)")
                && sql.text.ends_with("ORDER BY created DESC, seq DESC LIMIT $10"),
            "{}",
            sql.text
        );
        assert_eq!((sql.binds[7], sql.binds[9]), (Bind::Int(10), Bind::Int(11)));
    }

    #[test]
    fn filters_bind_their_values_in_order() {
        let tenant = tenant();
        let types = vec!["a.created".to_owned(), "a.updated".to_owned()];
        let filters = [
            Filter::In("type", &types),
            Filter::Prefix("type", "a."),
            Filter::Sql("1 = 1"),
        ];
        let list = ListOf {
            doc: "head || tail",
            filters: &filters,
            ..ListOf::table("events", &tenant)
        };
        let sql = page_sql(
            &list,
            &ListQuery {
                limit: 1,
                ..ListQuery::default()
            },
            None,
        );
        assert_eq!(
            sql.text,
            "SELECT head || tail FROM events WHERE account_id = $1 AND livemode = $2 AND type IN ($3, $4) \
             AND substr(type, 1, CAST($5 AS INTEGER)) = $6 AND 1 = 1 ORDER BY created DESC, seq DESC LIMIT $7"
        );
        assert_eq!(sql.binds[4], Bind::Int(2));
    }

    #[test]
    fn one_row_beyond_the_limit_means_more_and_backwards_pages_come_out_newest_first() {
        let docs = |n: usize| (0..n).map(|i| i.to_string()).collect::<Vec<_>>();
        let forward = ListQuery {
            limit: 2,
            ..ListQuery::default()
        };
        assert_eq!(
            into_page(docs(3), &forward),
            Page {
                data: docs(2),
                has_more: true
            }
        );
        assert_eq!(
            into_page(docs(2), &forward),
            Page {
                data: docs(2),
                has_more: false
            }
        );
        let backwards = ListQuery {
            limit: 2,
            ending_before: Some("x".into()),
            ..ListQuery::default()
        };
        let page = into_page(docs(3), &backwards);
        assert_eq!((page.data, page.has_more), (vec!["1".to_owned(), "0".to_owned()], true));
    }

    #[test]
    fn an_id_holding_nul_can_exist_nowhere() {
        assert!(!can_exist("pr_\0"));
        assert!(can_exist("pr_x"));
    }
}
