//! Every size limit on what a directory's identity provider (or anyone holding its token)
//! can make this service store or compute, in one place. Each is enforced where the value enters
//! (the ingress's request handling, the admin API), so nothing one directory sends can
//! fail in Postgres or NATS and take other directories' work down with it.
//! `docs/limits.md` lists them with their reasons.

use crate::error::ScimError;
use serde_json::{Map, Value};

/// Longest `userName`, in bytes (Okta's own limit is 100 characters).
pub const USER_NAME_BYTES: usize = 256;

/// Longest value of an attribute that is a database key: `externalId` (users and
/// groups), `emails.value`, a group's `displayName`, and the group names mapped to
/// teams. Postgres refuses an index entry over about 2,700 bytes (B-tree and GIN), and
/// lower-casing can lengthen a string, so keys stay well below that.
pub const KEY_BYTES: usize = 1024;

/// Longest team name, in bytes (from the admin API, or an attribute value that names a
/// team; longer values name no team).
pub const TEAM_NAME_BYTES: usize = 200;

/// Longest request inspector window, in minutes: while it is open the request log keeps
/// what every request of the directory sends (redacted, 4 KiB each), so it stays short.
pub const INSPECTION_MINUTES: u32 = 60;

/// Longest directory name, in bytes (admin API): a name an operator reads in lists.
pub const DIRECTORY_NAME_BYTES: usize = 200;

/// Longest mirrored mode's group name pattern, in bytes.
pub const MIRROR_PATTERN_BYTES: usize = 200;

/// Most rows of one team mapping: group names mapped to one team, or attribute
/// values in a directory's value table. The mapping travels whole, with its previous
/// version, in one event (`team.mapping_changed`, `directory.mapping_changed`), which must
/// fit NATS's `max_payload`; values are at most [`TEAM_NAME_BYTES`] (a longer value names
/// no team), group names at most [`KEY_BYTES`].
pub const MAPPING_ROWS: usize = 500;

/// Longest filter accepted, in bytes; the deepest nesting of parentheses, `not` and
/// value paths; and the most attribute tests one filter makes (each one a condition
/// Postgres evaluates per row read, a substring scan for `co`, `sw` and `ew`).
/// Identity providers send one or two; longer filters are `400 invalidFilter`.
pub const FILTER_BYTES: usize = 4096;
pub const FILTER_DEPTH: usize = 32;
pub const FILTER_TERMS: usize = 20;

/// Default of `MAX_RESOURCE_BYTES`: the largest user or group, its attributes written
/// as JSON (members, which live apart, not counted).
pub const DEFAULT_RESOURCE_BYTES: usize = 128 * 1024;

/// What an event adds to the resources it carries, at most: the envelope, `meta`, and
/// a membership event's 1,000 member ids (37 bytes each, written out).
pub const EVENT_OVERHEAD_BYTES: usize = 64 * 1024;

/// What a dead letter adds to the event it carries, as escaped text, at most.
pub const DEAD_LETTER_OVERHEAD_BYTES: usize = 4 * 1024;

/// The largest event a change within `resource_bytes` makes: an update carries the
/// resource and the previous values of what changed (at most the whole resource).
pub fn largest_event(resource_bytes: usize) -> usize {
    2 * resource_bytes + EVENT_OVERHEAD_BYTES
}

/// The largest message published for a change within `resource_bytes`: its event's
/// dead letter, which carries the event as a JSON string (every quote and backslash
/// escaped, so up to twice as long).
pub fn largest_message(resource_bytes: usize) -> usize {
    2 * largest_event(resource_bytes) + DEAD_LETTER_OVERHEAD_BYTES
}

/// Whether the broker's `max_payload` carries every message a change within
/// `resource_bytes` can make; the error says what to change.
pub fn check_broker(resource_bytes: usize, max_payload: usize) -> Result<(), String> {
    let needed = largest_message(resource_bytes);
    if needed <= max_payload {
        return Ok(());
    }
    Err(format!(
        "the NATS server's max_payload ({max_payload} bytes) is smaller than the largest message \
         a change within MAX_RESOURCE_BYTES ({resource_bytes}) can make ({needed} bytes): raise \
         max_payload to at least {needed}, or lower MAX_RESOURCE_BYTES to at most {}",
        largest_resource(max_payload)
    ))
}

/// The largest `MAX_RESOURCE_BYTES` whose messages fit in `max_payload`.
pub fn largest_resource(max_payload: usize) -> usize {
    max_payload
        .saturating_sub(DEAD_LETTER_OVERHEAD_BYTES)
        .saturating_div(2)
        .saturating_sub(EVENT_OVERHEAD_BYTES)
        / 2
}

/// Refuses a string attribute longer than `max` bytes, naming it.
pub fn check_length(name: &str, value: &str, max: usize) -> Result<(), ScimError> {
    if value.len() <= max {
        return Ok(());
    }
    Err(ScimError::invalid_value(format!(
        "{name} is {} bytes long; at most {max} are accepted",
        value.len()
    )))
}

/// Refuses a resource of `size` bytes (its attributes written as JSON, or more, as a
/// user counts them: [`crate::user::User::deactivated_len`]) over `max`: `413`, naming
/// its largest attribute so the administrator knows what to trim.
pub fn check_resource(
    resource_type: &str,
    attrs: &Map<String, Value>,
    size: usize,
    max: usize,
) -> Result<(), ScimError> {
    if size <= max {
        return Ok(());
    }
    let largest = attrs
        .iter()
        .map(|(name, value)| (json_len(value), name))
        .max();
    let detail = match largest {
        Some((bytes, name)) => format!(
            "the {resource_type} would be {size} bytes as JSON, over the limit of {max}; its \
             largest attribute is {name} ({bytes} bytes)"
        ),
        None => {
            format!("the {resource_type} would be {size} bytes as JSON, over the limit of {max}")
        }
    };
    Err(ScimError::PayloadTooLarge(detail))
}

/// The length of `value` written as JSON, counted without writing it anywhere.
pub fn json_len(value: &impl serde::Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // JSON values (maps with string keys) written to a writer that cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_default_resource_limit_fits_nats_default_max_payload() {
        assert_eq!(check_broker(DEFAULT_RESOURCE_BYTES, 1024 * 1024), Ok(()));
        let err = check_broker(DEFAULT_RESOURCE_BYTES, 256 * 1024).unwrap_err();
        assert!(err.contains("raise max_payload"), "{err}");
    }

    #[test]
    fn the_largest_resource_for_a_payload_is_the_largest_that_fits() {
        for payload in [512 * 1024, 1024 * 1024, 8 * 1024 * 1024] {
            let r = largest_resource(payload);
            assert!(largest_message(r) <= payload, "{payload}");
            assert!(largest_message(r + 1) > payload, "{payload}");
        }
        assert_eq!(largest_resource(1000), 0);
    }

    #[test]
    fn an_oversized_resource_names_its_largest_attribute() {
        let attrs = json!({"userName": "a", "title": "x".repeat(200)});
        let attrs = attrs.as_object().unwrap();
        assert_eq!(check_resource("user", attrs, json_len(attrs), 1000), Ok(()));
        let err = check_resource("user", attrs, json_len(attrs), 100).unwrap_err();
        assert_eq!(err.status(), 413);
        assert!(err.to_string().contains("title (202 bytes)"), "{err}");
    }

    #[test]
    fn json_len_is_the_written_length() {
        let v = json!({"a": ["é\"\\", 1, null], "b": {"c": true}});
        assert_eq!(json_len(&v), serde_json::to_vec(&v).unwrap().len());
    }

    #[test]
    fn lengths_are_counted_in_bytes() {
        assert!(check_length("externalId", &"é".repeat(512), KEY_BYTES).is_ok());
        let err = check_length("externalId", &"é".repeat(513), KEY_BYTES).unwrap_err();
        assert_eq!(
            err.to_string(),
            "externalId is 1026 bytes long; at most 1024 are accepted"
        );
    }
}
