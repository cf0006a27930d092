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
