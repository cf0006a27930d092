//! Responses that show groups' members. A group can have 100,000 of them, so they are
//! never one JSON value: the response is rendered with a hole where each group's
//! members go, and its body writes them in. A read takes them from the database as the
//! body is written, a batch at a time (each a short statement: a client reading slowly
//! holds no statement open and no connection between batches), in the directory's list
//! turn, which it holds until the last one is written: a directory reading its big
//! groups slowly delays only its own lists.

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::Response;
use scim_core::group::{MemberShape, Reference};
use scim_store::memberships;
use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::extract::{scim, scim_bytes};
use crate::quota::ListTurn;

/// What a hole holds until the body fills it. Every string with a NUL is refused before
/// it is stored, so no stored value serializes like it.
const HOLE: &str = "\u{0}members";
/// The hole as the serialized response spells it.
const HOLE_JSON: &[u8] = b"\"\\u0000members\"";

/// Members read in one statement.
const BATCH: i64 = 1000;
/// Chunks of the body written ahead of the client at most (a chunk is a batch).
const AHEAD: usize = 2;

/// Where the members come from.
enum Source {
    /// Read as the body is written, on the lists' connections, in the directory's turn.
    Read {
        lists: PgPool,
        directory: Uuid,
        _turn: ListTurn,
    },
    /// Already read: one group's, by a write in its transaction (a write's members are
    /// those its request named, or what the group had).
    Given(Vec<Reference>),
}

/// The members a response writes in after it is rendered: which fields of each, for
/// which groups (in the order the response shows them), and where they come from.
pub(crate) struct Members {
    shape: MemberShape,
    groups: Vec<Uuid>,
    source: Source,
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
            source: Source::Read {
                lists: lists.clone(),
                directory,
                _turn: turn,
            },
        }
    }

    /// One group's members, already read.
    pub(crate) fn given(shape: MemberShape, list: Vec<Reference>) -> Self {
        Members {
            shape,
            groups: Vec::new(),
            source: Source::Given(list),
        }
    }

    /// Marks where `group`'s members go in its rendered (and projected) resource.
    pub(crate) fn punch(&mut self, resource: &mut Value, group: Uuid) {
        if let Value::Object(fields) = resource {
            fields.insert("members".into(), HOLE.into());
            self.groups.push(group);
        }
    }

    /// A SCIM response: `body` with every hole filled.
    fn respond(self, status: StatusCode, body: &Value, etag: Option<String>) -> Response {
        // A `Value` always serializes.
        let text = serde_json::to_vec(body).unwrap_or_default();
        let segments = split(&text);
        let body = match self.source {
            Source::Given(list) => {
                let mut out = Out::new(&self.shape);
                let mut segments = segments.into_iter();
                for _ in &self.groups {
                    out.raw(segments.next().unwrap_or_default());
                    out.open();
                    list.iter().for_each(|m| out.member(m));
                    out.close();
                }
                segments.for_each(|s| out.raw(s));
                Body::from(out.buf)
            }
            Source::Read {
                lists,
                directory,
                _turn,
            } => {
                let segments: Vec<Bytes> =
                    segments.into_iter().map(Bytes::copy_from_slice).collect();
                let (tx, rx) = mpsc::channel(AHEAD);
                tokio::spawn(async move {
                    let read = Read {
                        lists: &lists,
                        directory,
                        shape: &self.shape,
                        out: &tx,
                    };
                    if let Err(ReadError::Database(e)) = read.write(segments, &self.groups).await {
                        tracing::warn!(error = %e, %directory, "group members cut short");
                        // An error item makes the server abort the response: the client
                        // sees it cut, not a complete-looking body.
                        let _ = tx.send(Err(std::io::Error::other(e))).await;
                    }
                    drop(_turn);
                });
                Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
                    rx.recv().await.map(|chunk| (chunk, rx))
                }))
            }
        };
        scim_bytes(status, body, etag)
    }
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
            buf: Vec::new(),
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

    fn take(&mut self) -> Bytes {
        std::mem::take(&mut self.buf).into()
    }
}

#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the client went away")]
    Gone,
}

/// The body of a response whose members are read as it is written.
struct Read<'a> {
    lists: &'a PgPool,
    directory: Uuid,
    shape: &'a MemberShape,
    out: &'a mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl Read<'_> {
    async fn write(&self, segments: Vec<Bytes>, groups: &[Uuid]) -> Result<(), ReadError> {
        let mut segments = segments.into_iter();
        let mut out = Out::new(self.shape);
        for &group in groups {
            out.raw(&segments.next().unwrap_or_default());
            out.open();
            let mut after = Uuid::nil();
            loop {
                let batch =
                    memberships::of_group(self.lists, self.directory, group, after, BATCH).await?;
                batch.iter().for_each(|m| out.member(m));
                match batch.last() {
                    Some(last) if batch.len() as i64 == BATCH => after = last.id,
                    _ => break,
                }
                self.send(out.take()).await?;
            }
            out.close();
        }
        segments.for_each(|s| out.raw(&s));
        self.send(out.take()).await
    }

    async fn send(&self, chunk: Bytes) -> Result<(), ReadError> {
        self.out.send(Ok(chunk)).await.map_err(|_| ReadError::Gone)
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

    async fn written(body: &Value, members: Members) -> Value {
        let res = respond(StatusCode::OK, body, None, Some(members));
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn holes_are_filled_with_the_members_in_their_shape() {
        let ann = Reference {
            id: Uuid::now_v7(),
            display: "Ann \u{1} \"A\"".into(),
        };
        let mut members = Members::given(shape(), vec![ann.clone()]);
        let group = Uuid::now_v7();
        let mut resource = json!({"id": group, "displayName": "Eng \\u0000members"});
        members.punch(&mut resource, group);
        let body = json!({"Resources": [resource], "totalResults": 1});
        let out = written(&body, members).await;
        assert_eq!(
            out,
            json!({"Resources": [{"id": group, "displayName": "Eng \\u0000members",
                    "members": [{"value": ann.id, "display": ann.display}]}],
                   "totalResults": 1})
        );
    }

    #[tokio::test]
    async fn an_empty_group_shows_an_empty_list() {
        let mut members = Members::given(shape(), Vec::new());
        let mut resource = json!({"id": "g"});
        members.punch(&mut resource, Uuid::nil());
        assert_eq!(
            written(&resource, members).await,
            json!({"id": "g", "members": []})
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
}
