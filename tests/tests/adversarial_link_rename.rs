//! Adversarial: giving the hidden secret a second name inside the allowed
//! directory with `link(2)`/`linkat(2)` or `rename(2)`, then opening that
//! name (`tests/c/adv_paths.c`, mode `link_rename`). SPEC.md: a hard link
//! needs `rw` on its source and a rename `rw` on both ends, and a hidden
//! entry is refused with ENOENT for every request. The positive control links
//! and renames an allowed file the same way.

#[path = "adversarial_support.rs"]
mod support;

use std::time::Duration;

use support::{assert_no_secret, prog, s, sandboxed_env, Checks, Layout, SecretRule, ALLOWED_READ};

#[test]
fn linking_or_renaming_the_secret_into_the_allowed_dir_is_refused() {
    let layout = Layout::new("adv-link", SecretRule::Hide);
    let program = prog("adv_paths");
    let out = sandboxed_env(
        layout.policy.as_os_str(),
        layout.dir.path(),
        &[],
        &[s(&program), "link_rename", s(layout.dir.path())],
        Duration::from_secs(60),
    );
    let mut c = Checks::new(&out);
    c.eq("link_ok", "OK");
    c.eq("open_ok_hardlink", ALLOWED_READ);
    c.eq("rename_ok", "OK");
    c.eq("open_ok_moved", ALLOWED_READ);
    for k in ["link_secret", "linkat_secret", "rename_secret"] {
        c.eq(k, "ENOENT");
    }
    for k in ["open_hardlink", "open_hardlink2", "open_moved"] {
        c.not_read(k);
    }
    if !out.stdout.lines().any(|l| l == "link_rename_done") {
        c.fail("the program did not finish (no \"link_rename_done\")".to_owned());
    }
    let secret = std::fs::read_to_string(layout.dir.join("secret")).unwrap_or_default();
    if secret.trim() != layout.token {
        c.fail(format!("the secret was moved or changed: now {secret:?}"));
    }
    for name in ["hardlink", "moved"] {
        if layout.dir.join("allowed").join(name).exists() {
            c.fail(format!(
                "allowed/{name} exists: the secret got a name in the allowed dir"
            ));
        }
    }
    // The mismatches first (they show the output), then the leak itself.
    c.finish();
    assert_no_secret(&out, &layout.token);
}
