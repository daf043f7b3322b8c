//! fdsup: run an untrusted program under a seccomp user-notification
//! supervisor that decides every mediated request by a JSON policy and serves
//! what it allows itself, injecting descriptors with `SECCOMP_IOCTL_NOTIF_ADDFD`.
#![deny(unsafe_code)]

pub mod syscalls;
