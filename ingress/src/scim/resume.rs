//! Where a sequential walk through a directory's list resumes. Okta imports a directory
//! page by page (`startIndex` 1, 101, 201, …), and skipping `startIndex - 1` rows costs
//! as much as the directory is large. When a page in the default order (by id) is
//! served, the id of its last row is kept for the `startIndex` that follows it, in the
//! same list with the same filter; the next page resumes after that id, at the cost of
//! one page. A filtered walk keeps the total its first page counted too, and reports it
//! on every page after (counting a large filter's matches again costs as much as the
//! matches are many). A mark is taken when used, lives a few minutes, and a directory
//! keeps a few; without one (another replica served the previous page, or the walk
//! jumped) the page skips rows, and counts, as before.
//!
//! Across changes, a resumed walk neither repeats nor skips a resource that existed
//! throughout, where skipping rows could do either (RFC 7644 §3.4.2.4 leaves
//! consistency between pages to the service provider); a filtered walk's total is the
//! one it started with.

use scim_core::filter::sql::{Condition, Order};
use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
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
    /// The walk's filter, hashed (0: none).
    filter: u64,
    resume: Resume,
    at: Instant,
}

/// Where a page resumes: after `after`, with a filtered walk's total.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Resume {
    pub after: Uuid,
    pub total: Option<i64>,
}

/// A filter's key among a list's marks.
fn filter_key(condition: Option<&Condition>) -> u64 {
    condition.map_or(0, |c| {
        let mut hasher = DefaultHasher::new();
        c.hash(&mut hasher);
        hasher.finish().max(1)
    })
}

#[derive(Debug, Default)]
pub(crate) struct Walks {
    marks: Mutex<HashMap<(Uuid, Walked), VecDeque<Mark>>>,
}

impl Walks {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Uuid, Walked), VecDeque<Mark>>> {
        self.marks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where the page at `offset` of the list with this filter starts, if the page
    /// before it was served here lately. The mark is used up.
    fn resume(&self, directory: Uuid, list: Walked, filter: u64, offset: i64) -> Option<Resume> {
        if offset == 0 {
            return None;
        }
        let mut marks = self.lock();
        let queue = marks.get_mut(&(directory, list))?;
        let found = queue
            .iter()
            .position(|m| m.offset == offset && m.filter == filter)?;
        let mark = queue.remove(found)?;
        if queue.is_empty() {
            marks.remove(&(directory, list));
        }
        (mark.at.elapsed() < MARK_TTL).then_some(mark.resume)
    }

    /// Keeps where the page at `next` of the list with this filter starts.
    fn mark(&self, directory: Uuid, list: Walked, filter: u64, next: i64, resume: Resume) {
        let now = Instant::now();
        let mut marks = self.lock();
        if marks.len() >= MAX_LISTS && !marks.contains_key(&(directory, list)) {
            marks.retain(|_, q| q.back().is_some_and(|m| m.at.elapsed() < MARK_TTL));
            if marks.len() >= MAX_LISTS {
                marks.clear();
            }
        }
        let queue = marks.entry((directory, list)).or_default();
        queue.retain(|m| m.offset != next || m.filter != filter);
        if queue.len() >= MARKS_PER_LIST {
            queue.pop_front();
        }
        queue.push_back(Mark {
            offset: next,
            filter,
            resume,
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
    /// The filter's key ([`filter_key`]; 0: none).
    filter: u64,
    /// Only the default order (by id) resumes.
    resumable: bool,
}

impl<'a> Walk<'a> {
    pub(crate) fn new(
        walks: &'a Walks,
        directory: Uuid,
        list: Walked,
        offset: i64,
        condition: Option<&Condition>,
        order: &Order,
    ) -> Walk<'a> {
        Walk {
            walks,
            directory,
            list,
            offset,
            filter: filter_key(condition),
            resumable: order.is_by_id(),
        }
    }

    /// `bounds`, resuming after the previous page where it was served here.
    pub(crate) fn bounds(&self, mut bounds: scim_store::PageBounds) -> scim_store::PageBounds {
        let resume = self
            .resumable
            .then(|| {
                self.walks
                    .resume(self.directory, self.list, self.filter, self.offset)
            })
            .flatten();
        if let Some(resume) = resume {
            bounds.after = Some(resume.after);
            bounds.walk_total = resume.total;
        }
        bounds
    }

    /// Records a page served: `rows` rows, the last with id `last`, of `total`.
    pub(crate) fn served(&self, rows: usize, last: Option<Uuid>, total: i64) {
        if let (true, Some(last)) = (self.resumable, last) {
            let next = self.offset + rows as i64;
            let resume = Resume {
                after: last,
                total: (self.filter != 0).then_some(total),
            };
            self.walks
                .mark(self.directory, self.list, self.filter, next, resume);
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
        let last = Resume {
            after: Uuid::now_v7(),
            total: None,
        };
        assert_eq!(walks.resume(dir, Walked::Users, 0, 100), None);
        walks.mark(dir, Walked::Users, 0, 100, last);
        // Not for another directory, list, filter or offset.
        assert_eq!(walks.resume(other, Walked::Users, 0, 100), None);
        assert_eq!(walks.resume(dir, Walked::Groups, 0, 100), None);
        assert_eq!(walks.resume(dir, Walked::Users, 7, 100), None);
        assert_eq!(walks.resume(dir, Walked::Users, 0, 101), None);
        assert_eq!(walks.resume(dir, Walked::Users, 0, 100), Some(last));
        assert_eq!(walks.resume(dir, Walked::Users, 0, 100), None, "used up");
        // The first page never resumes.
        walks.mark(dir, Walked::Users, 0, 0, last);
        assert_eq!(walks.resume(dir, Walked::Users, 0, 0), None);
    }

    #[test]
    fn a_directory_keeps_a_few_marks_the_newest() {
        let walks = Walks::default();
        let dir = Uuid::now_v7();
        let marks: Vec<Resume> = (0..=MARKS_PER_LIST)
            .map(|i| Resume {
                after: Uuid::now_v7(),
                total: Some(i as i64),
            })
            .collect();
        for (i, mark) in marks.iter().enumerate() {
            walks.mark(dir, Walked::Users, 3, (i as i64 + 1) * 100, *mark);
        }
        assert_eq!(
            walks.resume(dir, Walked::Users, 3, 100),
            None,
            "the oldest went"
        );
        let newest = MARKS_PER_LIST as i64 + 1;
        assert_eq!(
            walks.resume(dir, Walked::Users, 3, newest * 100),
            marks.last().copied()
        );
    }

    #[test]
    fn each_filter_walks_apart() {
        let parse = |f: &str| {
            let filter = scim_core::filter::parse(f).unwrap();
            scim_core::filter::sql::compile_filter(&scim_core::filter::sql::USERS, &filter, 2)
                .unwrap()
        };
        let (active, named) = (parse("active eq true"), parse("userName sw \"a\""));
        assert_eq!(filter_key(None), 0);
        assert_eq!(
            filter_key(Some(&active)),
            filter_key(Some(&parse("active eq true")))
        );
        assert_ne!(filter_key(Some(&active)), filter_key(Some(&named)));
        assert_ne!(filter_key(Some(&active)), 0);
    }
}
