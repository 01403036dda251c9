//! One worker pool: runs jobs on a few threads at once, in the order given, and stops handing
//! out jobs after the first error or an interruption.

use crate::core::cancel::interrupted;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Runs `job(k)` for each `k` in `0..count` on `threads` threads, taking them in order. Returns
/// each finished job's result by its index; after an error (or Ctrl-C) no further job starts.
pub fn run<T: Send, E: Send>(count: usize, threads: usize, job: impl Fn(usize) -> Result<T, E> + Sync) -> Vec<(usize, Result<T, E>)> {
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1).min(count) {
            scope.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                if k >= count || interrupted() {
                    break;
                }
                let r = job(k);
                let failed = r.is_err();
                done.lock().unwrap().push((k, r));
                if failed {
                    next.store(count, Ordering::SeqCst);
                }
            });
        }
    });
    let mut done = done.into_inner().unwrap();
    done.sort_by_key(|(k, _)| *k);
    done
}
