//! State that belongs to one process. After `fork()` the child has only the forking thread: a
//! lock that another parent thread held stays held forever, and the parent's connections are
//! driven by threads the child does not have. So such state is reached through [`PerProcess`],
//! which gives the child a value of its own on first use, without touching the parent's locks.

use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};

struct Slot<T> {
    pid: u32,
    value: T,
}

/// A value per process: [`PerProcess::get`] returns this process's, made by `make` on first use
/// (in a fork child, `make` is given the parent's value to copy from, if it wants: it must not
/// wait on anything in it).
pub(crate) struct PerProcess<T> {
    slot: AtomicPtr<Slot<T>>,
    make: Option<fn(Option<&T>) -> T>,
}

impl<T> PerProcess<T> {
    pub const fn new(make: fn(Option<&T>) -> T) -> Self {
        PerProcess {
            slot: AtomicPtr::new(ptr::null_mut()),
            make: Some(make),
        }
    }

    /// One whose value is made by [`PerProcess::get_with`]'s caller (it needs context).
    pub const fn empty() -> Self {
        PerProcess {
            slot: AtomicPtr::new(ptr::null_mut()),
            make: None,
        }
    }

    /// This process's value.
    pub fn get(&self) -> &T {
        let make = self
            .make
            .expect("PerProcess::new for get(); get_with otherwise");
        self.get_with(make)
    }

    /// This process's value, made by `make` if this process has none yet.
    pub fn get_with(&self, make: impl FnOnce(Option<&T>) -> T) -> &T {
        let mut make = Some(make);
        let pid = std::process::id();
        loop {
            let current = self.slot.load(Ordering::Acquire);
            // SAFETY: a slot, once published, is freed only by `drop` (never while `&self`
            // lives); slots replaced after a fork are leaked, never freed.
            let inherited = unsafe { current.as_ref() };
            if let Some(slot) = inherited {
                if slot.pid == pid {
                    return &slot.value;
                }
            }
            let make = make
                .take()
                .expect("made once: a lost race keeps the winner's");
            let fresh = Box::into_raw(Box::new(Slot {
                pid,
                value: make(inherited.map(|slot| &slot.value)),
            }));
            match self
                .slot
                .compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire)
            {
                // The parent's slot (if any) is left as it is: its locks may be held.
                // SAFETY: just published; see above.
                Ok(_) => return unsafe { &(*fresh).value },
                // Another thread of this process made one first: use that one (the loop finds
                // it, and `make` is not needed again).
                // SAFETY: never published.
                Err(_) => drop(unsafe { Box::from_raw(fresh) }),
            }
        }
    }
}

impl<T> Drop for PerProcess<T> {
    fn drop(&mut self) {
        let current = *self.slot.get_mut();
        if !current.is_null() {
            // SAFETY: published by `get` and no longer shared (`&mut self`).
            let slot = unsafe { Box::from_raw(current) };
            if slot.pid != std::process::id() {
                // The parent's, inherited: its destructors could wait on the parent's threads.
                std::mem::forget(slot);
            }
        }
    }
}

// SAFETY: the slot is a shared `T` reached from any thread, as an `Arc<T>` would be.
unsafe impl<T: Send + Sync> Send for PerProcess<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for PerProcess<T> {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn one_value_per_process() {
        let cell: PerProcess<Mutex<u32>> = PerProcess::new(|_| Mutex::new(7));
        *cell.get().lock().unwrap() += 1;
        assert_eq!(*cell.get().lock().unwrap(), 8);
        assert!(std::ptr::eq(cell.get(), cell.get()));
    }
}
