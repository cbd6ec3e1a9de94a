//! Locks and condition variables that shrug off poisoning: a poisoned lock only means another
//! thread panicked holding it, and the data behind it (counters, queues of waiting requests)
//! is still usable. Shared by the server and the change watcher.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits on `bell` until notified, or until `timeout` passes if there is one.
pub fn wait<'a, T>(
    bell: &Condvar,
    guard: MutexGuard<'a, T>,
    timeout: Option<Duration>,
) -> MutexGuard<'a, T> {
    match timeout {
        None => bell.wait(guard).unwrap_or_else(PoisonError::into_inner),
        Some(timeout) => match bell.wait_timeout(guard, timeout) {
            Ok((guard, _)) => guard,
            Err(poisoned) => poisoned.into_inner().0,
        },
    }
}
