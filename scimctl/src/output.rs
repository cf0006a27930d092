//! How a command's result is printed: the API's answer as JSON (`--json`), or lines for
//! a person.

use serde::Serialize;
use std::fmt::Display;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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

    pub(crate) fn print(&self, as_json: bool) {
        match self {
            Output::Answer { json, .. } if as_json => println!("{json}"),
            Output::Answer { text, .. } => println!("{text}"),
            Output::Written => {}
        }
    }
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
