//! The wake: announce when events are due and nobody is claiming them, because the consumer
//! may be asleep, and an announcement is the inbound request that wakes it.
//!
//! [`WakeRule`] decides from what it is shown (is anything due now, or when will it be; is a
//! claim parked; when did the last one arrive), at the times it is given, so it is tested
//! without threads or clocks. [`watch`] runs it: it reads the queue when the database may have
//! changed (the server's watch), when a lease or a backoff ends, and once a second while events
//! are due; with nothing due and nothing pending it sleeps until the next write (or ten
//! minutes).

use std::thread;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::Log;
use crate::server::Activity;
use crate::store::{Claim, Store};
use crate::watch::Interest;

/// How long events must stay due, unclaimed, before the first ring: a consumer that is awake
/// but between two claims (sending a message to Discord) usually takes them within this.
/// The wake's latency is about this much beyond the consumer's own start.
pub const GRACE: Duration = Duration::from_millis(500);
/// A claim that arrived (or was seen parked) this recently means a consumer is at work.
pub const CLAIM_QUIET: Duration = Duration::from_secs(5);
/// While events are due, the rule looks again this often.
const LOOK_WHILE_DUE: Duration = Duration::from_secs(1);
/// While events stay due and unclaimed, rings come at gaps doubling from the first to the last.
const FIRST_GAP: Duration = Duration::from_secs(5);
const LAST_GAP: Duration = Duration::from_secs(60);
/// With nothing pending, a look this often all the same, in case a change went unnoticed (one
/// query every ten minutes; between them the thread sleeps).
const IDLE_LOOK: Duration = Duration::from_secs(600);
/// A write is followed by a burst of notifications while its commit settles; one look after
/// this pause serves them all.
const COALESCE: Duration = Duration::from_millis(50);
/// A lease or backoff ending at millisecond `t` is looked at a little after `t`.
const LATE: Duration = Duration::from_millis(5);
/// After a failed read of the queue, the next try.
const RETRY_READ: Duration = Duration::from_secs(5);

/// When the next pending event is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// One is due now (not leased, not waiting a backoff).
    Now,
    /// None is due now; one will be at this time (a lease or a backoff ends).
    At(Instant),
    /// Nothing is pending.
    Never,
}

/// What the rule is shown each time it looks.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    pub due: Due,
    /// Claims parked in the lobby now.
    pub claims_waiting: u64,
    /// When the last claim arrived.
    pub last_claim: Option<Instant>,
}

/// What to do after a look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Announce to every consumer now.
    pub ring: bool,
    /// Look again after this long, or (`None`) only when the database changes.
    pub look_again: Option<Duration>,
}

#[derive(Debug, Default)]
pub struct WakeRule {
    /// Since when events have been due without a pause.
    due_since: Option<Instant>,
    /// When a claim was last seen parked.
    seen_waiting: Option<Instant>,
    /// Rings since a consumer last claimed.
    rings: u32,
    /// No ring before this.
    next_ring: Option<Instant>,
}

impl WakeRule {
    /// Notes that a claim is parked now. Looked at the moment the database changes, before the
    /// lobby can answer the claim: a consumer long-polling when an event comes is one between
    /// two claims for a moment after, not one that is gone, however long ago its claim arrived.
    pub fn saw_claims(&mut self, claims_waiting: u64, now: Instant) {
        if claims_waiting > 0 {
            self.seen_waiting = Some(now);
        }
    }

    pub fn step(&mut self, seen: Seen, now: Instant) -> Step {
        self.saw_claims(seen.claims_waiting, now);
        match seen.due {
            Due::Now => {}
            Due::At(at) => {
                self.quiet();
                return Step {
                    ring: false,
                    look_again: Some(at.saturating_duration_since(now) + LATE),
                };
            }
            Due::Never => {
                self.quiet();
                return Step {
                    ring: false,
                    look_again: None,
                };
            }
        }
        let since = *self.due_since.get_or_insert(now);
        if let Some(look) = self.at_work(seen.claims_waiting, seen.last_claim, now) {
            return Step {
                ring: false,
                look_again: Some(look),
            };
        }
        let ring_at = (since + GRACE).max(self.next_ring.unwrap_or(now));
        if now < ring_at {
            return Step {
                ring: false,
                look_again: Some((ring_at - now).min(LOOK_WHILE_DUE)),
            };
        }
        self.rings = self.rings.saturating_add(1);
        self.next_ring = Some(now + gap(self.rings));
        Step {
            ring: true,
            look_again: Some(LOOK_WHILE_DUE),
        }
    }

    /// Whether a consumer is at work (a claim parked, or one arrived or seen parked within
    /// `CLAIM_QUIET`), and if so when to look again. Should it stop, the rings start over from
    /// the first gap.
    pub fn at_work(
        &mut self,
        claims_waiting: u64,
        last_claim: Option<Instant>,
        now: Instant,
    ) -> Option<Duration> {
        self.saw_claims(claims_waiting, now);
        let quiet_from = last_claim
            .max(self.seen_waiting)?
            .checked_add(CLAIM_QUIET)?;
        if quiet_from <= now {
            return None;
        }
        self.rings = 0;
        self.next_ring = None;
        Some(
            quiet_from
                .saturating_duration_since(now)
                .clamp(LATE, LOOK_WHILE_DUE),
        )
    }

    /// Nothing is due: the next due event starts a new grace.
    fn quiet(&mut self) {
        self.due_since = None;
        self.rings = 0;
        self.next_ring = None;
    }
}

/// The gap after the `rings`th ring: 5, 10, 20, 40, then 60 s.
fn gap(rings: u32) -> Duration {
    super::doubling(FIRST_GAP, rings, LAST_GAP)
}

/// Runs the rule until the process exits, calling `ring` when it says so.
pub fn watch(store: &mut Store, activity: &Activity, log: &Log, ring: impl Fn()) {
    let watch = activity.watch().clone();
    // Held from before each look until its wait ends (a commit after the look ends the
    // wait), and not while sleeping through a drain, when nobody needs the notifications.
    let mut interest: Option<Interest> = None;
    let mut changes = 0;
    let mut rule = WakeRule::default();
    let mut failing = false;
    let mut last_due = Due::Never;
    loop {
        let now = Instant::now();
        if last_due == Due::Now {
            // Events were due at the last look: while a consumer is at work (a drain of a
            // backlog), there is nothing to decide, and the queue is not read.
            if let Some(look) = rule.at_work(activity.claims_waiting(), activity.last_claim(), now)
            {
                interest = None;
                thread::sleep(look);
                continue;
            }
        }
        let held = match interest.take() {
            Some(held) => held,
            None => {
                let held = watch.interest();
                changes = held.changes();
                held
            }
        };
        let due = match due(store, now) {
            Ok(due) => {
                if failing {
                    failing = false;
                    log("dq serve: announcing: reading the queue works again");
                }
                due
            }
            Err(error) => {
                if !failing {
                    failing = true;
                    log(&format!(
                        "dq serve: announcing: cannot read the queue ({error:#}); trying again \
                         every {} s",
                        RETRY_READ.as_secs()
                    ));
                }
                Due::At(now + RETRY_READ)
            }
        };
        let step = rule.step(
            Seen {
                due,
                claims_waiting: activity.claims_waiting(),
                last_claim: activity.last_claim(),
            },
            now,
        );
        if step.ring {
            ring();
        }
        last_due = due;
        if due == Due::Now {
            // Writes do not matter while events are due: the next look sees what they did.
            drop(held);
            thread::sleep(step.look_again.unwrap_or(LOOK_WHILE_DUE));
            continue;
        }
        let seen = changes;
        changes = held.wait(seen, step.look_again.unwrap_or(IDLE_LOOK));
        if changes != seen {
            rule.saw_claims(activity.claims_waiting(), Instant::now());
            thread::sleep(COALESCE);
            changes = held.changes();
        }
        interest = Some(held);
    }
}

/// Reads when the next pending event is due, as an `Instant` on this process's clock. "Is one
/// due now" is a read-only claim of one, which stops at the first due event (with 100,000
/// due, the earliest due time over all of them took 15 ms each second; this, microseconds).
fn due(store: &mut Store, now: Instant) -> anyhow::Result<Due> {
    let wall = Utc::now();
    let one = Claim {
        limit: 1,
        lease: Duration::ZERO,
    };
    if !store.claim(one, wall)?.is_empty() {
        return Ok(Due::Now);
    }
    Ok(match store.next_due_after(wall)? {
        None => Due::Never,
        Some(at) => Due::At(now + (at - wall).to_std().unwrap_or(Duration::ZERO)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(due: Due, claims_waiting: u64, last_claim: Option<Instant>) -> Seen {
        Seen {
            due,
            claims_waiting,
            last_claim,
        }
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn events_due_with_nobody_claiming_ring_after_the_grace_and_again_at_growing_gaps() {
        let start = Instant::now();
        let mut rule = WakeRule::default();
        let first = rule.step(seen(Due::Now, 0, None), start);
        assert_eq!(
            first,
            Step {
                ring: false,
                look_again: Some(GRACE)
            }
        );
        assert!(rule.step(seen(Due::Now, 0, None), start + GRACE).ring);
        let mut rings = vec![GRACE];
        let mut now = start + GRACE;
        while now < start + Duration::from_secs(300) {
            now += SECOND;
            if rule.step(seen(Due::Now, 0, None), now).ring {
                rings.push(now - start);
            }
        }
        let gaps: Vec<u64> = rings.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
        assert_eq!(&gaps[..5], &[5, 10, 20, 40, 60], "{gaps:?}");
        assert!(gaps[5..].iter().all(|gap| *gap == 60), "{gaps:?}");
    }

    #[test]
    fn nothing_due_never_rings_and_sleeps_until_a_change_or_the_next_due_time() {
        let start = Instant::now();
        let mut rule = WakeRule::default();
        assert_eq!(
            rule.step(seen(Due::Never, 0, None), start),
            Step {
                ring: false,
                look_again: None
            }
        );
        let lease_ends = start + Duration::from_secs(42);
        let step = rule.step(seen(Due::At(lease_ends), 0, None), start);
        assert!(!step.ring);
        assert_eq!(step.look_again, Some(Duration::from_secs(42) + LATE));
    }

    #[test]
    fn a_parked_claim_or_a_recent_one_means_a_consumer_is_at_work() {
        let start = Instant::now();
        let mut rule = WakeRule::default();
        // A claim parked now, then none: still at work for CLAIM_QUIET after it was seen.
        assert!(!rule.step(seen(Due::Now, 1, None), start).ring);
        for offset in 1..5 {
            let now = start + SECOND * offset;
            assert!(!rule.step(seen(Due::Now, 0, None), now).ring, "{offset}");
        }
        // Events have been due long enough: the ring comes as soon as the claims are quiet.
        assert!(rule.step(seen(Due::Now, 0, None), start + CLAIM_QUIET).ring);

        let mut rule = WakeRule::default();
        let claimed = start;
        let step = rule.step(seen(Due::Now, 0, Some(claimed)), start + SECOND * 2);
        assert_eq!(
            step,
            Step {
                ring: false,
                look_again: Some(SECOND)
            }
        );
        assert!(
            !rule
                .step(seen(Due::Now, 0, Some(claimed)), start + SECOND * 4)
                .ring
        );
        assert!(
            rule.step(seen(Due::Now, 0, Some(claimed)), start + CLAIM_QUIET)
                .ring
        );
    }

    #[test]
    fn a_claim_seen_parked_when_the_database_changed_counts_as_a_consumer_at_work() {
        let long_ago = Instant::now();
        let start = long_ago + Duration::from_secs(60);
        let mut rule = WakeRule::default();
        // Its claim arrived long ago and was parked until this change answered it; the next
        // event finds it between two claims, not gone.
        rule.saw_claims(1, start);
        for offset in [0, 1, 2, 4] {
            let now = start + SECOND * offset;
            assert!(
                !rule.step(seen(Due::Now, 0, Some(long_ago)), now).ring,
                "{offset}"
            );
        }
        assert!(
            rule.step(seen(Due::Now, 0, Some(long_ago)), start + CLAIM_QUIET)
                .ring
        );
        // Nothing parked when it changed: nothing noted.
        let mut rule = WakeRule::default();
        rule.saw_claims(0, start);
        rule.step(seen(Due::Now, 0, Some(long_ago)), start);
        assert!(
            rule.step(seen(Due::Now, 0, Some(long_ago)), start + GRACE)
                .ring
        );
    }

    #[test]
    fn a_claim_starts_the_gaps_over_and_a_pause_in_due_events_starts_the_grace_over() {
        let start = Instant::now();
        let mut rule = WakeRule::default();
        rule.step(seen(Due::Now, 0, None), start);
        assert!(rule.step(seen(Due::Now, 0, None), start + GRACE).ring);
        // A consumer claims, then stops: the next ring comes CLAIM_QUIET later, not a gap.
        let claimed = start + SECOND * 2;
        assert!(!rule.step(seen(Due::Now, 0, Some(claimed)), claimed).ring);
        let quiet = claimed + CLAIM_QUIET;
        assert!(rule.step(seen(Due::Now, 0, Some(claimed)), quiet).ring);
        // Nothing due for a moment: the next due event waits a new grace.
        let later = quiet + SECOND * 100;
        rule.step(seen(Due::Never, 0, Some(claimed)), later);
        assert!(!rule.step(seen(Due::Now, 0, Some(claimed)), later).ring);
        assert!(
            !rule
                .step(seen(Due::Now, 0, Some(claimed)), later + GRACE / 2)
                .ring
        );
        assert!(
            rule.step(seen(Due::Now, 0, Some(claimed)), later + GRACE)
                .ring
        );
    }

    #[test]
    fn the_gaps_end_at_a_minute() {
        assert_eq!(gap(1), FIRST_GAP);
        assert_eq!(gap(2), FIRST_GAP * 2);
        assert_eq!(gap(5), LAST_GAP);
        assert_eq!(gap(u32::MAX), LAST_GAP);
    }
}
