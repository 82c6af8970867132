//! The guard that makes every listing end, whatever the `Link` headers say. GitHub's delivery
//! list pages by an opaque cursor and ends with a page that has no `rel="next"`; a proxy or a
//! broken server can instead send a `next` back to a page already read (a loop), or new cursors
//! for ever. One listing (from its first page to its last) is therefore bounded three ways:
//!
//! - **no page twice**: a `next` to a page already read in this listing is a loop (a page that
//!   failed, say on an expired token, may be asked again);
//! - **at most [`PageLimits::max_pages`] pages** (default [`MAX_PAGES`]: 2,000,000 deliveries,
//!   twice the largest history the benchmarks list in one pass);
//! - **a deadline, [`PageLimits::deadline`] after the first page** (default [`LIST_DEADLINE`]:
//!   twice the longest default rate-limit wait, so that a wait GitHub asks for is never cut short).
//!
//! Each ends the listing with [`ApiError::Paging`] before the offending request is sent. The
//! guard is pure: it takes `now` and says whether the next page may be fetched.

use super::error::ApiError;
use std::collections::HashSet;
use std::time::Duration;
use tokio::time::Instant;
use url::Url;

/// The most pages one listing reads by default.
pub const MAX_PAGES: u32 = 20_000;
/// How long one listing may take by default, from its first request.
pub const LIST_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// How far one listing may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimits {
    /// Pages read before the listing is given up (at least 1).
    pub max_pages: u32,
    /// Time from the first request of a listing to the last.
    pub deadline: Duration,
}

impl Default for PageLimits {
    fn default() -> Self {
        PageLimits { max_pages: MAX_PAGES, deadline: LIST_DEADLINE }
    }
}

/// One listing in progress: the pages read so far, and when it must end.
#[derive(Debug, Clone)]
pub struct PageGuard {
    limits: PageLimits,
    read: HashSet<String>,
    ends_at: Instant,
}

impl PageGuard {
    /// A listing whose first page is requested at `now`.
    pub fn start(limits: PageLimits, now: Instant) -> Self {
        // A deadline past what an `Instant` can hold is a year: longer than any pass.
        let ends_at = now
            .checked_add(limits.deadline)
            .or_else(|| now.checked_add(Duration::from_secs(86_400 * 365)))
            .unwrap_or(now);
        PageGuard { limits, read: HashSet::new(), ends_at }
    }

    /// When the listing must have ended; a request in flight is cut off then.
    pub fn ends_at(&self) -> Instant {
        self.ends_at
    }

    /// Whether `next` may be requested at `now`.
    pub fn follow(&self, next: &Url, now: Instant) -> Result<(), ApiError> {
        if self.read.contains(&key(next)) {
            return Err(ApiError::Paging {
                detail: format!(
                    "the `next` link of page {} points back to a page already read ({}); \
                     a proxy or server is sending a `Link` header that loops",
                    self.read.len(),
                    describe(next)
                ),
            });
        }
        if self.read.len() >= self.limits.max_pages.max(1) as usize {
            return Err(ApiError::Paging {
                detail: format!(
                    "{} pages were read and the list still had a `next` page; one pass reads at \
                     most {} (a server sending new cursors for ever?)",
                    self.read.len(),
                    self.limits.max_pages.max(1)
                ),
            });
        }
        if now >= self.ends_at {
            return Err(self.deadline_passed());
        }
        Ok(())
    }

    /// Records that `page` was read (answered and parsed).
    pub fn read(&mut self, page: &Url) {
        self.read.insert(key(page));
    }

    /// The error for a listing that ran past its deadline.
    pub fn deadline_passed(&self) -> ApiError {
        ApiError::Paging {
            detail: format!(
                "the listing took longer than its deadline of {} s after {} pages",
                self.limits.deadline.as_secs(),
                self.read.len()
            ),
        }
    }
}

/// The URL as the server can tell it apart: without a fragment, which is never sent.
fn key(url: &Url) -> String {
    let mut url = url.clone();
    url.set_fragment(None);
    url.into()
}

/// Host and path of a page, without its query (a cursor is long and tells the user nothing).
fn describe(url: &Url) -> String {
    format!("{}{}", url.host_str().unwrap_or(""), url.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(cursor: &str) -> Url {
        Url::parse(&format!("https://api.github.com/app/hook/deliveries?per_page=100&cursor={cursor}")).unwrap()
    }

    /// Follows `url` and, when allowed, reads it.
    fn step(guard: &mut PageGuard, url: &Url, now: Instant) -> Result<(), ApiError> {
        guard.follow(url, now).map(|()| guard.read(url))
    }

    #[test]
    fn a_next_back_to_any_page_already_read_is_a_loop() {
        let now = Instant::now();
        let mut guard = PageGuard::start(PageLimits::default(), now);
        for cursor in ["a", "b", "c"] {
            assert!(step(&mut guard, &page(cursor), now).is_ok());
        }
        for back in ["a", "b", "c"] {
            let err = guard.follow(&page(back), now).unwrap_err();
            assert!(matches!(&err, ApiError::Paging { detail } if detail.contains("loops")), "{err}");
        }
        // The same page with a fragment is the same request.
        assert!(guard.follow(&Url::parse(&format!("{}#x", page("a"))).unwrap(), now).is_err());
        assert!(step(&mut guard, &page("d"), now).is_ok());
    }

    #[test]
    fn a_page_that_failed_may_be_asked_again() {
        let now = Instant::now();
        let mut guard = PageGuard::start(PageLimits::default(), now);
        assert!(step(&mut guard, &page("a"), now).is_ok());
        // `b` is asked, fails (an expired token), and is asked again once renewed.
        assert!(guard.follow(&page("b"), now).is_ok());
        assert!(step(&mut guard, &page("b"), now).is_ok());
        assert!(guard.follow(&page("b"), now).is_err());
    }

    #[test]
    fn the_page_cap_counts_the_first_page() {
        let now = Instant::now();
        let limits = PageLimits { max_pages: 3, ..PageLimits::default() };
        let mut guard = PageGuard::start(limits, now);
        for cursor in ["0", "1", "2"] {
            assert!(step(&mut guard, &page(cursor), now).is_ok());
        }
        let err = guard.follow(&page("3"), now).unwrap_err();
        assert!(err.to_string().contains("3 pages were read"), "{err}");
    }

    #[test]
    fn a_cap_of_zero_still_reads_the_first_page() {
        let now = Instant::now();
        let mut guard = PageGuard::start(PageLimits { max_pages: 0, ..PageLimits::default() }, now);
        assert!(step(&mut guard, &page("0"), now).is_ok());
        assert!(guard.follow(&page("1"), now).is_err());
    }

    #[test]
    fn the_deadline_counts_from_the_first_page() {
        let start = Instant::now();
        let limits = PageLimits { deadline: Duration::from_secs(60), ..PageLimits::default() };
        let mut guard = PageGuard::start(limits, start);
        assert!(step(&mut guard, &page("0"), start).is_ok());
        assert!(step(&mut guard, &page("1"), start + Duration::from_secs(59)).is_ok());
        let err = guard.follow(&page("2"), start + Duration::from_secs(60)).unwrap_err();
        assert!(err.to_string().contains("deadline of 60 s"), "{err}");
        assert_eq!(guard.ends_at(), start + Duration::from_secs(60));
    }

    #[test]
    fn a_deadline_past_the_end_of_time_is_no_overflow() {
        let now = Instant::now();
        let limits = PageLimits { deadline: Duration::MAX, ..PageLimits::default() };
        let mut guard = PageGuard::start(limits, now);
        assert!(step(&mut guard, &page("0"), now).is_ok());
        assert!(step(&mut guard, &page("1"), now).is_ok());
    }
}
