//! How a command's result is printed: lines for a person, the API's answer as JSON
//! (`--output json`), or that answer as a table (`--output table`).

use serde::Serialize;
use std::fmt::Display;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Lines for a person.
    Text,
    /// The admin API's JSON answer, as it came.
    Json,
    /// The answer as a table: a row per item of a list, or a row per field.
    Table,
}

pub(crate) enum Output {
    /// The answer, and how to show it to a person.
    Answer {
        json: serde_json::Value,
        text: String,
    },
    /// The command wrote its output itself (a snapshot, as it arrives).
    Written,
}

impl Output {
    pub(crate) fn new(answer: &impl Serialize, text: impl Into<String>) -> Output {
        Output::Answer {
            // The API's types always serialize.
            json: serde_json::to_value(answer).unwrap_or_default(),
            text: text.into(),
        }
    }

    pub(crate) fn print(&self, format: Format) {
        match (self, format) {
            (Output::Answer { json, .. }, Format::Json) => println!("{json}"),
            (Output::Answer { json, .. }, Format::Table) => print!("{}", table(json)),
            (Output::Answer { text, .. }, Format::Text) => println!("{text}"),
            (Output::Written, _) => {}
        }
    }
}

/// A JSON answer as a table: a list of objects a row each, under the first's fields
/// (`id` and `name` first); an object a row per field; nested values as their JSON.
fn table(json: &serde_json::Value) -> String {
    use serde_json::Value;
    let cell = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    };
    let rows: Vec<Vec<String>> = match json {
        Value::Array(items) => {
            let Some(Value::Object(first)) = items.first() else {
                return if items.is_empty() {
                    "(none)\n".into()
                } else {
                    items.iter().map(|i| cell(i) + "\n").collect()
                };
            };
            // The fields come sorted; who or what a row is comes first.
            let mut columns: Vec<&String> = first.keys().collect();
            columns.sort_by_key(|c| !matches!(c.as_str(), "id" | "name"));
            let mut rows = vec![columns.iter().map(|c| c.to_uppercase()).collect()];
            rows.extend(items.iter().map(|item| {
                columns
                    .iter()
                    .map(|c| item.get(c.as_str()).map_or_else(String::new, cell))
                    .collect()
            }));
            rows
        }
        Value::Object(fields) => fields
            .iter()
            .map(|(k, v)| vec![k.clone(), cell(v)])
            .collect(),
        other => return cell(other) + "\n",
    };
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// A preview of a team change, for a person: teams made, renamed and deleted, who joins
/// and who leaves, and what is kept.
pub(crate) fn preview(p: &scim_admin_api::Preview) -> Output {
    let mut lines = vec!["dry run: nothing was changed".to_owned()];
    lines.extend(team_lines(p, "would"));
    Output::new(p, lines.join("\n"))
}

/// What a team change does (or `would` do), a line each.
pub(crate) fn team_lines(p: &scim_admin_api::Preview, would: &str) -> Vec<String> {
    let mut lines = Vec::new();
    if p.is_empty() {
        lines.push(format!("no team or membership {would} change"));
    }
    lines.extend(p.created.iter().map(|t| format!("create team {t}")));
    lines.extend(
        p.renamed
            .iter()
            .map(|r| format!("rename team {} to {}", r.from, r.to)),
    );
    lines.extend(p.deleted.iter().map(|t| format!("delete team {t}")));
    let people = |side: &std::collections::BTreeMap<String, Vec<String>>, verb: &str| {
        side.iter()
            .map(|(team, who)| format!("{verb} {team} ({}): {}", who.len(), who.join(", ")))
            .collect::<Vec<_>>()
    };
    lines.extend(people(&p.joined, "join"));
    lines.extend(people(&p.left, "leave"));
    lines.extend(people(&p.manual_kept, "kept, added by hand in"));
    lines
}

/// One line per item, or `(none)`.
pub(crate) fn rows<T>(items: &[T], row: impl Fn(&T) -> String) -> String {
    if items.is_empty() {
        return "(none)".into();
    }
    items.iter().map(row).collect::<Vec<_>>().join("\n")
}

/// The value, or `-` for none.
pub(crate) fn or_dash(value: Option<impl Display>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// A time as the API writes it (RFC 3339).
pub(crate) fn at(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_are_rows_under_their_fields_and_objects_a_row_per_field() {
        let list = json!([{"seat_limit": null, "id": "a", "name": "Acme"}, {"id": "bb", "name": "B", "seat_limit": 5}]);
        assert_eq!(
            table(&list),
            "ID  NAME  SEAT_LIMIT\na   Acme  -\nbb  B     5\n"
        );
        assert_eq!(
            table(&json!({"id": "a", "teams": ["x"]})),
            "id     a\nteams  [\"x\"]\n"
        );
        assert_eq!(table(&json!([])), "(none)\n");
    }
}
