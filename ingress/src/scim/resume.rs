//! Where a sequential walk through a directory's list resumes. Okta imports a directory
//! page by page (`startIndex` 1, 101, 201, …), and skipping `startIndex - 1` rows costs
//! as much as the directory is large. When a page of the default order (by id, no
//! filter) is served, the id of its last row is kept for the `startIndex` that follows
//! it; the next page resumes after that id, at the cost of one page. A mark is taken
//! when used, lives a few minutes, and a directory keeps a few; without one (another
//! replica served the previous page, or the walk jumped) the page skips rows as before.
//!
//! Across changes, a resumed walk neither repeats nor skips a resource that existed
//! throughout, where skipping rows could do either (RFC 7644 §3.4.2.4 leaves
//! consistency between pages to the service provider).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long a mark waits for the page after it.
const MARK_TTL: Duration = Duration::from_secs(600);
/// Marks kept per directory and resource type: a walk needs one at a time, so this is
/// how many concurrent walks of one directory resume.
const MARKS_PER_LIST: usize = 4;
/// Lists with marks kept at most; past it, expired marks are dropped, and if that is
/// not enough, all of them (a walk then skips rows for one page).
const MAX_LISTS: usize = 20_000;

/// Which list of a directory a walk goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Walked {
    Users,
    Groups,
}

#[derive(Debug)]
struct Mark {
    /// The zero-based offset of the page this mark starts.
    offset: i64,
    after: Uuid,
    at: Instant,
}

#[derive(Debug, Default)]
pub(crate) struct Walks {
    marks: Mutex<HashMap<(Uuid, Walked), VecDeque<Mark>>>,
}

impl Walks {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Uuid, Walked), VecDeque<Mark>>> {
        self.marks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The id after which the page at `offset` starts, if the page before it was
    /// served here lately. The mark is used up.
    pub(crate) fn resume(&self, directory: Uuid, list: Walked, offset: i64) -> Option<Uuid> {
        if offset == 0 {
            return None;
        }
        let mut marks = self.lock();
        let queue = marks.get_mut(&(directory, list))?;
        let found = queue.iter().position(|m| m.offset == offset)?;
        let mark = queue.remove(found)?;
        if queue.is_empty() {
            marks.remove(&(directory, list));
        }
        (mark.at.elapsed() < MARK_TTL).then_some(mark.after)
    }

    /// Keeps `last`, the id of the last row of a page served, for the page at `next`.
    pub(crate) fn mark(&self, directory: Uuid, list: Walked, next: i64, last: Uuid) {
        let now = Instant::now();
        let mut marks = self.lock();
        if marks.len() >= MAX_LISTS && !marks.contains_key(&(directory, list)) {
            marks.retain(|_, q| q.back().is_some_and(|m| m.at.elapsed() < MARK_TTL));
            if marks.len() >= MAX_LISTS {
                marks.clear();
            }
        }
        let queue = marks.entry((directory, list)).or_default();
        queue.retain(|m| m.offset != next);
        if queue.len() >= MARKS_PER_LIST {
            queue.pop_front();
        }
        queue.push_back(Mark {
            offset: next,
            after: last,
            at: now,
        });
    }
}

/// One page of a walk: resumes it where it can, and marks where the next page starts.
pub(crate) struct Walk<'a> {
    walks: &'a Walks,
    directory: Uuid,
    list: Walked,
    offset: i64,
    /// Only the default order without a filter resumes.
    resumable: bool,
}

impl<'a> Walk<'a> {
    pub(crate) fn new(
        walks: &'a Walks,
        directory: Uuid,
        list: Walked,
        offset: i64,
        resumable: bool,
    ) -> Walk<'a> {
        Walk {
            walks,
            directory,
            list,
            offset,
            resumable,
        }
    }

    /// `bounds`, resuming after the previous page where it was served here.
    pub(crate) fn bounds(&self, mut bounds: scim_store::PageBounds) -> scim_store::PageBounds {
        if self.resumable {
            bounds.after = self.walks.resume(self.directory, self.list, self.offset);
        }
        bounds
    }

    /// Records a page served: `rows` rows, the last with id `last`.
    pub(crate) fn served(&self, rows: usize, last: Option<Uuid>) {
        if let (true, Some(last)) = (self.resumable, last) {
            let next = self.offset + rows as i64;
            self.walks.mark(self.directory, self.list, next, last);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_walk_resumes_where_its_previous_page_ended_once() {
        let walks = Walks::default();
        let (dir, other) = (Uuid::now_v7(), Uuid::now_v7());
        let last = Uuid::now_v7();
        assert_eq!(walks.resume(dir, Walked::Users, 100), None);
        walks.mark(dir, Walked::Users, 100, last);
        // Not for another directory, list or offset.
        assert_eq!(walks.resume(other, Walked::Users, 100), None);
        assert_eq!(walks.resume(dir, Walked::Groups, 100), None);
        assert_eq!(walks.resume(dir, Walked::Users, 101), None);
        assert_eq!(walks.resume(dir, Walked::Users, 100), Some(last));
        assert_eq!(walks.resume(dir, Walked::Users, 100), None, "used up");
        // The first page never resumes.
        walks.mark(dir, Walked::Users, 0, last);
        assert_eq!(walks.resume(dir, Walked::Users, 0), None);
    }

    #[test]
    fn a_directory_keeps_a_few_marks_the_newest() {
        let walks = Walks::default();
        let dir = Uuid::now_v7();
        let ids: Vec<Uuid> = (0..=MARKS_PER_LIST).map(|_| Uuid::now_v7()).collect();
        for (i, id) in ids.iter().enumerate() {
            walks.mark(dir, Walked::Users, (i as i64 + 1) * 100, *id);
        }
        assert_eq!(
            walks.resume(dir, Walked::Users, 100),
            None,
            "the oldest went"
        );
        let newest = MARKS_PER_LIST as i64 + 1;
        assert_eq!(
            walks.resume(dir, Walked::Users, newest * 100),
            ids.last().copied()
        );
    }
}
