//! The only layer that touches the operating system.
//!
//! Every host path goes through a [`Root`], so the same code hardens a live host
//! (`/`), a test directory, or a mounted image. Everything that writes a managed
//! file goes through [`atomic::write_file`].

pub mod accounts;
pub mod apt;
pub mod atomic;
pub mod dnf;
pub mod dpkg;
pub mod failpoint;
pub mod identity;
pub mod os_release;
pub mod pkg_lock;
pub mod pkg_tool;
pub mod process;
pub mod root;
pub mod rpm;
pub mod systemd;
pub mod version;

pub use root::Root;
