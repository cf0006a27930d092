//! Responses that show groups' members. A group can have 100,000 of them, so they are
//! never one JSON value: the response is rendered with a hole where each group's
//! members go, and its body writes them in, a chunk at a time, as they are read from
//! the database, a batch at a time (each a short statement: a client reading slowly
//! holds no statement open and no connection between batches), in the directory's list
//! turn, which it holds until the last one is written: a directory reading its big
//! groups slowly delays only its own lists. What a response holds in memory is a batch
//! and a few chunks, whatever its groups hold.
//!
//! Each group's members are those of the version the response shows: every batch is
//! read only while the group is still at it. A group changed while its members are
//! being written, or a database failing meanwhile, aborts the response: the client sees
//! the connection cut before the body's end (an HTTP/1.1 chunked body without its last
//! chunk; an HTTP/2 stream reset), never a complete-looking body that mixes versions.

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::Response;
use scim_core::group::MemberShape;
use scim_core::resource::Reference;
use scim_store::groups::StoredGroup;
use scim_store::memberships;
use serde_json::Value;
use sqlx::PgPool;
use std::collections::HashMap;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::extract::{scim, scim_bytes};
use crate::quota::ListTurn;

/// What a hole holds until the body fills it. Every string with a NUL is refused before
/// it is stored, so no stored value serializes like it.
const HOLE: &str = "\u{0}members";
/// The hole as the serialized response spells it.
const HOLE_JSON: &[u8] = b"\"\\u0000members\"";

/// Members read in one statement, at most.
const BATCH: i64 = 1000;
/// Bytes of display names read in one statement, at most (and one member more).
const BATCH_BYTES: i64 = 256 * 1024;
/// The body goes to the client in chunks of about this size.
const CHUNK: usize = 64 * 1024;
/// Chunks of the body written ahead of the client at most.
const AHEAD: usize = 2;

/// The members a response writes in after it is rendered: which fields of each, for
/// which groups at which versions (in the order the response shows them), read on the
/// lists' connections in the directory's turn.
pub(crate) struct Members {
    shape: MemberShape,
    groups: Vec<(Uuid, i64)>,
    lists: PgPool,
    directory: Uuid,
    turn: ListTurn,
}

impl Members {
    /// Members read from the database while the response is written, in `turn`.
    pub(crate) fn read(
        shape: MemberShape,
        lists: &PgPool,
        directory: Uuid,
        turn: ListTurn,
    ) -> Self {
        Members {
            shape,
            groups: Vec::new(),
            lists: lists.clone(),
            directory,
            turn,
        }
    }

    /// Marks where `group`'s members go in its rendered (and projected) resource.
    pub(crate) fn punch(&mut self, resource: &mut Value, group: &StoredGroup) {
        if let Value::Object(fields) = resource {
            fields.insert("members".into(), HOLE.into());
            self.groups.push((group.id, group.version));
        }
    }

    /// The first of `page`'s groups whose members, written in this shape, add up to at
    /// most `max_bytes`, and always the first: a page of groups holds fewer groups than
    /// asked for (RFC 7644 allows it) rather than a larger body.
    pub(crate) async fn within(
        &self,
        mut page: Vec<StoredGroup>,
        max_bytes: usize,
    ) -> Result<Vec<StoredGroup>, sqlx::Error> {
        if page.len() < 2 {
            return Ok(page);
        }
        let ids: Vec<Uuid> = page.iter().map(|g| g.id).collect();
        let sizes: HashMap<Uuid, (i64, i64)> =
            memberships::sizes(&self.lists, self.directory, &ids)
                .await?
                .into_iter()
                .map(|(group, members, bytes)| (group, (members, bytes)))
                .collect();
        let weights = page.iter().map(|g| {
            let (members, bytes) = sizes.get(&g.id).copied().unwrap_or_default();
            self.shape.weight(members as u64, bytes as u64)
        });
        page.truncate(fitting(weights, max_bytes as u64));
        Ok(page)
    }

    /// A SCIM response: `body` with every hole filled as it is sent.
    fn respond(self, status: StatusCode, body: &Value, etag: Option<String>) -> Response {
        // A `Value` always serializes.
        let text = serde_json::to_vec(body).unwrap_or_default();
        let segments: Vec<Bytes> = split(&text)
            .into_iter()
            .map(Bytes::copy_from_slice)
            .collect();
        let (tx, rx) = mpsc::channel(AHEAD);
        tokio::spawn(async move {
            let Members {
                shape,
                groups,
                lists,
                directory,
                turn,
            } = self;
            let read = Read {
                lists: &lists,
                directory,
                out: Out::new(&shape),
                to: &tx,
            };
            match read.write(segments, &groups).await {
                Ok(()) | Err(ReadError::Gone) => {}
                Err(e) => {
                    tracing::warn!(error = %e, %directory, "group members cut short");
                    // An error item makes the server abort the response: the client
                    // sees it cut, not a complete-looking body.
                    let _ = tx.send(Err(std::io::Error::other(e))).await;
                }
            }
            drop(turn);
        });
        let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        }));
        scim_bytes(status, body, etag)
    }
}

/// How many of the leading weights fit in `max` together, the first always.
fn fitting(weights: impl Iterator<Item = u64>, max: u64) -> usize {
    let mut total = 0u64;
    let mut n = 0;
    for w in weights {
        total = total.saturating_add(w);
        if n > 0 && total > max {
            break;
        }
        n += 1;
    }
    n
}

/// A SCIM response of `body`, with the members of the groups it shows written in.
pub(crate) fn respond(
    status: StatusCode,
    body: &Value,
    etag: Option<String>,
    members: Option<Members>,
) -> Response {
    match members {
        Some(members) if !members.groups.is_empty() => members.respond(status, body, etag),
        _ => scim(status, body, etag),
    }
}

/// The text around the holes, in order: one more piece than there are holes.
fn split(text: &[u8]) -> Vec<&[u8]> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.windows(HOLE_JSON.len()).position(|w| w == HOLE_JSON) {
        pieces.push(&rest[..at]);
        rest = &rest[at + HOLE_JSON.len()..];
    }
    pieces.push(rest);
    pieces
}

/// Members written as JSON array text.
struct Out<'a> {
    shape: &'a MemberShape,
    buf: Vec<u8>,
    first: bool,
}

impl<'a> Out<'a> {
    fn new(shape: &'a MemberShape) -> Self {
        Out {
            shape,
            buf: Vec::with_capacity(CHUNK + CHUNK / 4),
            first: true,
        }
    }

    fn raw(&mut self, text: &[u8]) {
        self.buf.extend_from_slice(text);
    }

    fn open(&mut self) {
        self.buf.push(b'[');
        self.first = true;
    }

    fn member(&mut self, member: &Reference) {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
        // Into memory, a derived `Serialize` of strings and a uuid cannot fail.
        let _ = self.shape.write(member, &mut self.buf);
    }

    fn close(&mut self) {
        self.buf.push(b']');
    }

    fn full(&self) -> bool {
        self.buf.len() >= CHUNK
    }

    fn take(&mut self) -> Bytes {
        Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(CHUNK + CHUNK / 4),
        ))
    }
}

#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("group {0} changed while its members were written")]
    Changed(Uuid),
    #[error("the client went away")]
    Gone,
}

/// The body of a response whose members are read as it is written.
struct Read<'a> {
    lists: &'a PgPool,
    directory: Uuid,
    out: Out<'a>,
    to: &'a mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl Read<'_> {
    async fn write(
        mut self,
        segments: Vec<Bytes>,
        groups: &[(Uuid, i64)],
    ) -> Result<(), ReadError> {
        let mut segments = segments.into_iter();
        for &(group, version) in groups {
            self.out.raw(&segments.next().unwrap_or_default());
            self.out.open();
            let mut after = Uuid::nil();
            loop {
                let batch = memberships::of_group(
                    self.lists,
                    self.directory,
                    group,
                    version,
                    after,
                    BATCH,
                    BATCH_BYTES,
                )
                .await?
                .ok_or(ReadError::Changed(group))?;
                let mut bytes = 0;
                for member in &batch {
                    bytes += member.display.len() as i64;
                    self.out.member(member);
                    if self.out.full() {
                        self.send().await?;
                    }
                }
                match batch.last() {
                    Some(last) if batch.len() as i64 == BATCH || bytes >= BATCH_BYTES => {
                        after = last.id
                    }
                    _ => break,
                }
            }
            self.out.close();
        }
        segments.for_each(|s| self.out.raw(&s));
        self.send().await
    }

    async fn send(&mut self) -> Result<(), ReadError> {
        let chunk = self.out.take();
        self.to.send(Ok(chunk)).await.map_err(|_| ReadError::Gone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shape() -> MemberShape {
        MemberShape {
            users_url: "https://h/Users".into(),
            value: true,
            kind: false,
            reference: false,
            display: true,
        }
    }

    #[test]
    fn holes_are_filled_with_the_members_in_their_shape() {
        let ann = Reference {
            id: Uuid::now_v7(),
            display: "Ann \u{1} \"A\"".into(),
        };
        let group = Uuid::now_v7();
        let body = json!({"Resources": [{"id": group, "displayName": "Eng \\u0000members", "members": HOLE},
                                        {"id": "empty", "members": HOLE}],
                          "totalResults": 2});
        let text = serde_json::to_vec(&body).unwrap();
        let shape = shape();
        let mut out = Out::new(&shape);
        let pieces = split(&text);
        assert_eq!(pieces.len(), 3);
        out.raw(pieces[0]);
        out.open();
        out.member(&ann);
        out.close();
        out.raw(pieces[1]);
        out.open();
        out.close();
        out.raw(pieces[2]);
        let written: Value = serde_json::from_slice(&out.take()).unwrap();
        assert_eq!(
            written,
            json!({"Resources": [{"id": group, "displayName": "Eng \\u0000members",
                    "members": [{"value": ann.id, "display": ann.display}]},
                                 {"id": "empty", "members": []}],
                   "totalResults": 2})
        );
    }

    #[test]
    fn text_is_split_at_every_hole_and_nowhere_else() {
        let text = serde_json::to_vec(&json!([HOLE, "x\\u0000members", HOLE])).unwrap();
        let pieces = split(&text);
        assert_eq!(pieces.len(), 3);
        assert_eq!(pieces[0], b"[");
        assert_eq!(pieces[1], br#","x\\u0000members","#);
        assert_eq!(pieces[2], b"]");
    }

    #[test]
    fn a_page_keeps_the_groups_whose_members_fit_and_always_one() {
        assert_eq!(fitting([10, 20, 30].into_iter(), 30), 2);
        assert_eq!(fitting([10, 20, 30].into_iter(), 60), 3);
        assert_eq!(fitting([100, 1].into_iter(), 30), 1);
        assert_eq!(fitting(std::iter::empty(), 30), 0);
    }
}
