//! Whether this thread is running the job's own code: an operator's hooks,
//! a chained function, an operator's constructor, the watermark function.
//!
//! The panic hook of the harness reads it to tell whose bug a panic is. A
//! panic normally names the line that caused it, the job's or the
//! engine's; but a few panics of the standard library name a line of the
//! standard library itself (`capacity overflow`, `step_by`'s `step != 0`),
//! and those were blamed on the engine alone. With this mark, such a panic
//! while the job's code runs is the job's.
//!
//! The mark is one thread-local flag, set for the length of each call into
//! the job's code and put back when the call returns or unwinds: a few
//! instructions per record. An operator's step is marked as a whole
//! (decoding its key and value, its state's `Default`, its hook, encoding
//! what it emitted: the job's types run their own code there), and so are
//! a snapshot and a restore (each key's state encoded or decoded); the
//! adapter's own bookkeeping inside them (key groups, maps, buffers)
//! reports its rare panics at the engine's lines, which stay the engine's.
//! Not marked: a job's `Drop` code, which runs wherever its values go.

use std::cell::Cell;

thread_local! {
    static RUNNING: Cell<bool> = const { Cell::new(false) };
}

/// Run `f`, the job's own code, marked as such ([`running`] is true while
/// it runs, and what it was before once it returns or unwinds).
#[inline]
pub fn run<R>(f: impl FnOnce() -> R) -> R {
    /// Puts the flag back, also when `f` unwinds.
    struct Restore(bool);
    impl Drop for Restore {
        #[inline]
        fn drop(&mut self) {
            RUNNING.set(self.0);
        }
    }
    let _restore = Restore(RUNNING.replace(true));
    f()
}

/// Whether the job's own code is running on this thread (inside [`run`]).
/// Never panics: a thread being torn down reads false.
pub fn running() -> bool {
    RUNNING.try_with(Cell::get).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_is_set_inside_and_put_back_after_a_return_or_an_unwind() {
        assert!(!running());
        assert!(run(running));
        assert!(run(|| run(running)), "nested");
        assert!(!running());
        let unwound = std::panic::catch_unwind(|| run(|| panic!("the job's own")));
        assert!(unwound.is_err());
        assert!(!running(), "put back after an unwind");
    }
}
