//! Links libgcc's unwinder (`libgcc_eh.a`) into the binaries whole, so that
//! they do not load `libgcc_s.so.1` at start-up.
//!
//! Why: Rust's standard library takes its unwinder (`_Unwind_*`) from
//! `libgcc_s.so.1` on linux-gnu, and that library's constructor
//! (`__cpu_indicator_init`) runs a series of `CPUID` instructions at every
//! start, before `main`. In a virtual machine each one traps to the
//! hypervisor: measured on the project's VMs, loading it cost `fdsup` about
//! 0.13 ms of its start-up (issue 11), for code fdsup never calls. With the
//! unwinder in the binary (the same code the `crt-static` build links), no
//! `_Unwind_*` symbol is left for `libgcc_s`, which the linker, told
//! `--as-needed` by rustc, then leaves out.
//!
//! `-bundle`: the archive is not copied into the `fdsup` rlib but named to
//! the final link of each binary that uses it, before the standard
//! library's `-lgcc_s`. Only for linux-gnu targets; `libgcc_eh.a` comes with
//! GCC (the C toolchain the Rust toolchain links with).
//!
//! The `fdsup` binary itself is linked statically by `scripts/rustc-wrapper`
//! (which says why that is not a rustflag), libgcc_eh included; this still
//! keeps libgcc_s out of the other binaries (tests, bench), and out of
//! `fdsup` where a `RUSTC_WRAPPER` of the environment replaces that script.
//! The two together link fine: the archive's members are in once.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let feats = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    // A crt-static build links libgcc_eh by itself.
    if os == "linux" && env == "gnu" && !feats.split(',').any(|f| f == "crt-static") {
        println!("cargo:rustc-link-lib=static:+whole-archive,-bundle=gcc_eh");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
