//! Cancellation of a run in progress, requested by a stop signal.
//!
//! A signal is process-wide, so the request is too: once made, no further
//! step starts (each is recorded as `Cancelled`), and the step that was
//! running when its processes were ended counts as cancelled rather than
//! failed, as SSM reports a command cancelled mid-step.

use std::sync::atomic::{AtomicI32, Ordering};

/// The signal that asked for the stop; 0 while none has.
static REQUESTED_BY: AtomicI32 = AtomicI32::new(0);

/// Records that `signal` asked the run to stop.
pub fn request(signal: i32) {
    REQUESTED_BY.store(signal, Ordering::SeqCst);
}

/// The signal that asked the run to stop, if one has.
pub fn requested() -> Option<i32> {
    match REQUESTED_BY.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}
