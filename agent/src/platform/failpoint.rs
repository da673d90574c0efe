//! Crash points for kill -9 tests. With the `failpoints` feature, reaching
//! the point named in `RAMPART_FAILPOINT` kills the process with SIGKILL, as
//! a power cut or the OOM killer would. Without the feature, calls compile to
//! nothing.

#[cfg(feature = "failpoints")]
pub fn hit(name: &str) {
    if std::env::var("RAMPART_FAILPOINT").is_ok_and(|v| v == name) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}

#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) {}
