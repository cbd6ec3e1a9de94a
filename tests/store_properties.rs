//! Property test of the queue's rules: for any sequence of publish, claim, mark processed,
//! mark failed, release, retry and clock advances, the store agrees with a simple model of
//! what each event's state must be. Counts stay consistent (total = pending + processed +
//! failed; leased and waiting are part of pending), no event is handed to two claimers at
//! once, and no event is lost: once every lease and backoff has run out, every pending event
//! can be claimed again.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use dq::event::NewEvent;
use dq::store::{Claim, Failure, Marked, Policy, Store, StoreError};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Operation {
    Publish(usize),
    Claim {
        limit: i64,
        lease_seconds: u64,
    },
    Processed(usize),
    Failed {
        event: usize,
        retryable: bool,
        retry_after: Option<u64>,
    },
    Release(usize),
    Retry(usize),
    RetryAll,
    Advance(u64),
}

fn operation() -> impl Strategy<Value = Operation> {
    prop_oneof![
        (1usize..4).prop_map(Operation::Publish),
        (1i64..5, 0u64..120).prop_map(|(limit, lease_seconds)| Operation::Claim {
            limit,
            lease_seconds
        }),
        any::<usize>().prop_map(Operation::Processed),
        (any::<usize>(), any::<bool>(), prop::option::of(0u64..300)).prop_map(
            |(event, retryable, retry_after)| Operation::Failed {
                event,
                retryable,
                retry_after
            }
        ),
        any::<usize>().prop_map(Operation::Release),
        any::<usize>().prop_map(Operation::Retry),
        Just(Operation::RetryAll),
        (0u64..900).prop_map(Operation::Advance),
    ]
}

/// What the model knows of one event.
#[derive(Debug, Clone, Default)]
struct Model {
    processed: bool,
    attempts: i64,
    /// Unix milliseconds until which a claimer holds it.
    leased_until: Option<i64>,
    /// Unix milliseconds before which it is not due; `None` with `backoff_unknown` when the
    /// store chose a jittered backoff.
    due_at: Option<i64>,
    backoff_unknown: bool,
}

impl Model {
    fn dead(&self, max_attempts: i64) -> bool {
        !self.processed && self.attempts >= max_attempts
    }
    fn pending(&self, max_attempts: i64) -> bool {
        !self.processed && self.attempts < max_attempts
    }
    fn leased(&self, now: i64) -> bool {
        self.leased_until.is_some_and(|until| until > now)
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

fn new_event() -> NewEvent {
    NewEvent {
        event_type: "custom".into(),
        payload: serde_json::Map::new(),
        user_id: String::new(),
        dedup_key: None,
        presentation: Default::default(),
    }
}

fn check(operations: &[Operation]) -> Result<(), TestCaseError> {
    let policy = Policy::default();
    let max = policy.max_attempts;
    let mut store = Store::open_in_memory(policy).unwrap();
    let mut models: BTreeMap<i64, Model> = BTreeMap::new();
    let mut now = start();
    let pick = |models: &BTreeMap<i64, Model>, index: usize| -> Option<i64> {
        (!models.is_empty()).then(|| *models.keys().nth(index % models.len()).unwrap())
    };
    for operation in operations {
        let now_ms = now.timestamp_millis();
        match *operation {
            Operation::Publish(count) => {
                let published = store
                    .publish(&vec![new_event(); count], Duration::ZERO, now)
                    .unwrap();
                for item in published {
                    prop_assert!(models.insert(item.id, Model::default()).is_none());
                }
            }
            Operation::Claim {
                limit,
                lease_seconds,
            } => {
                let lease = Duration::from_secs(lease_seconds);
                let events = store.claim(Claim { limit, lease }, now).unwrap();
                prop_assert!(events.len() as i64 <= limit);
                for event in &events {
                    let model = models.get_mut(&event.id).unwrap();
                    prop_assert!(model.pending(max), "claimed a settled event {}", event.id);
                    prop_assert!(
                        !model.leased(now_ms),
                        "event {} handed out while another claimer holds it",
                        event.id
                    );
                    if let Some(due) = model.due_at {
                        prop_assert!(
                            due <= now_ms,
                            "event {} handed out during its backoff",
                            event.id
                        );
                    }
                    model.due_at = None;
                    model.backoff_unknown = false;
                    if lease_seconds > 0 {
                        model.leased_until = Some(now_ms + 1000 * lease_seconds as i64);
                    }
                }
            }
            Operation::Processed(index) => {
                let Some(id) = pick(&models, index) else {
                    continue;
                };
                let marked = store.mark_processed(id, now).unwrap();
                let model = models.get_mut(&id).unwrap();
                prop_assert_eq!(
                    marked,
                    if model.processed {
                        Marked::AlreadyProcessed
                    } else {
                        Marked::Processed
                    }
                );
                model.processed = true;
                model.leased_until = None;
                model.due_at = None;
            }
            Operation::Failed {
                event,
                retryable,
                retry_after,
            } => {
                let Some(id) = pick(&models, event) else {
                    continue;
                };
                let failure = Failure {
                    message: "boom".into(),
                    retryable,
                    retry_after: retry_after.map(Duration::from_secs),
                };
                let marked = store.mark_failed(id, &failure, now).unwrap();
                let model = models.get_mut(&id).unwrap();
                if model.processed {
                    prop_assert_eq!(marked, Marked::AlreadyProcessed);
                    continue;
                }
                model.attempts = if retryable {
                    model.attempts + 1
                } else {
                    (model.attempts + 1).max(max)
                };
                model.leased_until = None;
                let dead = model.attempts >= max;
                prop_assert_eq!(
                    marked,
                    if dead {
                        Marked::DeadLettered
                    } else {
                        Marked::WillRetry
                    }
                );
                model.due_at = None;
                model.backoff_unknown = false;
                if !dead {
                    match retry_after {
                        Some(seconds) => model.due_at = Some(now_ms + 1000 * seconds as i64),
                        None => model.backoff_unknown = true,
                    }
                }
            }
            Operation::Release(index) => {
                let Some(id) = pick(&models, index) else {
                    continue;
                };
                store.release(&[id]).unwrap();
                let model = models.get_mut(&id).unwrap();
                if !model.processed {
                    model.leased_until = None;
                }
            }
            Operation::Retry(index) => {
                let Some(id) = pick(&models, index) else {
                    continue;
                };
                let model = models.get_mut(&id).unwrap();
                match store.retry(&[id]) {
                    Ok(count) => {
                        prop_assert!(model.dead(max), "retried event {id} was not failed");
                        prop_assert_eq!(count, 1);
                        *model = Model::default();
                    }
                    Err(error) => {
                        prop_assert!(!model.dead(max), "a failed event {id} was not retried");
                        prop_assert_eq!(
                            error.downcast_ref::<StoreError>(),
                            Some(&StoreError::NotFailed(id))
                        );
                    }
                }
            }
            Operation::RetryAll => {
                let dead = models.values().filter(|model| model.dead(max)).count();
                prop_assert_eq!(store.retry_all().unwrap(), dead);
                for model in models.values_mut().filter(|model| model.dead(max)) {
                    *model = Model::default();
                }
            }
            Operation::Advance(seconds) => now += chrono::Duration::seconds(seconds as i64),
        }

        let now_ms = now.timestamp_millis();
        let stats = store.stats(now).unwrap();
        prop_assert_eq!(stats.total, models.len() as i64, "an event was lost");
        prop_assert_eq!(stats.total, stats.pending + stats.processed + stats.failed);
        prop_assert!(stats.leased + stats.waiting <= stats.pending);
        let count =
            |test: &dyn Fn(&Model) -> bool| models.values().filter(|m| test(m)).count() as i64;
        prop_assert_eq!(stats.processed, count(&|m| m.processed));
        prop_assert_eq!(stats.failed, count(&|m| m.dead(max)));
        prop_assert_eq!(stats.pending, count(&|m| m.pending(max)));
        prop_assert_eq!(stats.leased, count(&|m| m.pending(max) && m.leased(now_ms)));
        let surely_waiting = count(&|m| {
            m.pending(max) && !m.leased(now_ms) && m.due_at.is_some_and(|due| due > now_ms)
        });
        let maybe_waiting = count(&|m| m.pending(max) && !m.leased(now_ms) && m.backoff_unknown);
        prop_assert!(
            (surely_waiting..=surely_waiting + maybe_waiting).contains(&stats.waiting),
            "waiting {} not in {}..={}",
            stats.waiting,
            surely_waiting,
            surely_waiting + maybe_waiting
        );
    }

    // Nothing is stuck: once every lease and the longest backoff have run out, every pending
    // event is handed out again, and only those.
    let later = now + chrono::Duration::days(2);
    let mut claimed: Vec<i64> = store
        .claim(
            Claim {
                limit: 100_000,
                lease: Duration::from_secs(60),
            },
            later,
        )
        .unwrap()
        .into_iter()
        .map(|event| event.id)
        .collect();
    claimed.sort_unstable();
    let pending: Vec<i64> = models
        .iter()
        .filter(|(_, model)| model.pending(max))
        .map(|(id, _)| *id)
        .collect();
    prop_assert_eq!(claimed, pending);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn store_counts_stay_consistent_and_no_event_is_lost_or_double_claimed(
        operations in prop::collection::vec(operation(), 1..60)
    ) {
        check(&operations)?;
    }
}
