use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

enum Control<T> {
    Elem(T),
    Unblock,
}

/// dq's patch (see DQ-PATCH.md): a push wakes the thread that became idle *last*, not the one
/// idle longest. Upstream's single condvar woke them in turn, so one client's requests went to
/// every thread in rotation: each found its database connection's cache stale and its CPU
/// caches cold. Now, while one thread keeps up, it answers everything; the others sleep.
pub struct MessagesQueue<T>
where
    T: Send,
{
    inner: Mutex<Inner<T>>,
}

struct Inner<T> {
    queue: VecDeque<Control<T>>,
    /// The threads blocked in a pop, each on its own condvar, most recently idle last.
    idle: Vec<Arc<Condvar>>,
}

impl<T> Inner<T> {
    fn wake_one(&mut self) {
        if let Some(waiter) = self.idle.pop() {
            waiter.notify_one();
        }
    }

    /// Lists `waiter` as idle, unless a spurious wake-up left it listed.
    fn idle(&mut self, waiter: &Arc<Condvar>) {
        if !self.idle.iter().any(|idle| Arc::ptr_eq(idle, waiter)) {
            self.idle.push(Arc::clone(waiter));
        }
    }

    fn busy(&mut self, waiter: &Arc<Condvar>) {
        self.idle.retain(|idle| !Arc::ptr_eq(idle, waiter));
    }
}

impl<T> MessagesQueue<T>
where
    T: Send,
{
    pub fn with_capacity(capacity: usize) -> Arc<MessagesQueue<T>> {
        Arc::new(MessagesQueue {
            inner: Mutex::new(Inner {
                queue: VecDeque::with_capacity(capacity),
                idle: Vec::new(),
            }),
        })
    }

    /// Pushes an element to the queue.
    pub fn push(&self, value: T) {
        let mut inner = self.inner.lock().unwrap();
        inner.queue.push_back(Control::Elem(value));
        inner.wake_one();
    }

    /// Unblock one thread stuck in pop loop.
    pub fn unblock(&self) {
        let mut inner = self.inner.lock().unwrap();
        inner.queue.push_back(Control::Unblock);
        inner.wake_one();
    }

    /// Pops an element. Blocks until one is available.
    /// Returns None in case unblock() was issued.
    pub fn pop(&self) -> Option<T> {
        let mut inner = self.inner.lock().unwrap();
        let mut waiter: Option<Arc<Condvar>> = None;
        loop {
            let popped = match inner.queue.pop_front() {
                Some(Control::Elem(value)) => Some(Some(value)),
                Some(Control::Unblock) => Some(None),
                None => None,
            };
            if let Some(popped) = popped {
                if let Some(waiter) = &waiter {
                    inner.busy(waiter);
                }
                return popped;
            }
            let waiter = waiter.get_or_insert_with(|| Arc::new(Condvar::new()));
            inner.idle(waiter);
            inner = waiter.wait(inner).unwrap();
        }
    }

    /// Tries to pop an element without blocking.
    pub fn try_pop(&self) -> Option<T> {
        let mut inner = self.inner.lock().unwrap();
        match inner.queue.pop_front() {
            Some(Control::Elem(value)) => Some(value),
            Some(Control::Unblock) | None => None,
        }
    }

    /// Tries to pop an element without blocking
    /// more than the specified timeout duration
    /// or unblock() was issued
    pub fn pop_timeout(&self, timeout: Duration) -> Option<T> {
        let deadline = Instant::now() + timeout;
        let mut inner = self.inner.lock().unwrap();
        let mut waiter: Option<Arc<Condvar>> = None;
        loop {
            let popped = match inner.queue.pop_front() {
                Some(Control::Elem(value)) => Some(Some(value)),
                Some(Control::Unblock) => Some(None),
                None => None,
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if popped.is_some() || left < Duration::from_millis(1) {
                if let Some(waiter) = &waiter {
                    inner.busy(waiter);
                }
                return popped.flatten();
            }
            let waiter = waiter.get_or_insert_with(|| Arc::new(Condvar::new()));
            inner.idle(waiter);
            inner = waiter.wait_timeout(inner, left).unwrap().0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn the_thread_idle_last_is_woken_first() {
        let queue = MessagesQueue::<u32>::with_capacity(4);
        let (done, answers) = std::sync::mpsc::channel();
        for name in 0..3 {
            let popping = Arc::clone(&queue);
            let done = done.clone();
            thread::spawn(move || {
                while let Some(value) = popping.pop() {
                    done.send((name, value)).unwrap();
                }
            });
            // Each is idle before the next starts: 2 is idle last.
            while queue.inner.lock().unwrap().idle.len() <= name as usize {
                thread::sleep(Duration::from_millis(1));
            }
        }
        for value in 0..5 {
            queue.push(value);
            assert_eq!(answers.recv().unwrap(), (2, value));
            while queue.inner.lock().unwrap().idle.len() < 3 {
                thread::sleep(Duration::from_millis(1));
            }
        }
        for _ in 0..3 {
            queue.unblock();
        }
    }

    #[test]
    fn a_pop_with_a_timeout_gives_up_and_is_no_longer_idle() {
        let queue = MessagesQueue::<u32>::with_capacity(4);
        assert_eq!(queue.pop_timeout(Duration::from_millis(20)), None);
        assert!(queue.inner.lock().unwrap().idle.is_empty());
        queue.push(7);
        assert_eq!(queue.pop_timeout(Duration::from_millis(20)), Some(7));
    }
}
