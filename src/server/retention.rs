//! Retention: a housekeeping thread deletes processed events older than `--retention`.

use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::Utc;

use super::{lock, open_store, Shared};
use crate::store::Store;

pub(super) fn keep_house(shared: &Shared) {
    let config = &shared.config;
    // Often enough that a short retention (tests) is honoured, at most hourly.
    let interval = (config.retention / 2).clamp(Duration::from_secs(1), Duration::from_secs(3600));
    let mut store: Option<Store> = None;
    loop {
        if store.is_none() {
            store = open_store(config).ok();
        }
        let before = chrono::Duration::from_std(config.retention)
            .ok()
            .and_then(|retention| Utc::now().checked_sub_signed(retention));
        if let (Some(open), Some(before)) = (store.as_mut(), before) {
            match open.cleanup(before, false) {
                Ok(deleted) => {
                    shared
                        .metrics
                        .retention_deleted
                        .fetch_add(deleted as u64, Ordering::Relaxed);
                }
                // A locked or read-only database: try again next time with a fresh connection.
                Err(_) => store = None,
            }
        }
        let guard = lock(&shared.housekeeping);
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let _ = shared.housekeeping_bell.wait_timeout(guard, interval);
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
    }
}
