//! Shell scripts under the default policy: pipelines, redirections (`>`,
//! `>>`, `2>`, `<`, `<>`), here-documents (which bash keeps in $TMPDIR),
//! command substitution, subshells and `set -C` give the same stdout, exit
//! code and files as natively.

mod functional_common;

use functional_common::*;

fn populate(t: &TempDir) {
    t.write(
        "f",
        "pear\napple\npear\nfig\napple\npear\nkiwi\n\nfig\nAPPLE\n",
    );
    t.write("g", "one\ntwo\nthree\n");
    t.write("dir/x", "x\n");
}

/// Runs `SHELL -c SCRIPT` natively and under the default policy in twin
/// directories; compares stdout, exit code and the files left behind.
fn compare(shell: &str, script: &str) {
    let nat_dir = TempDir::new("fn-shell-native");
    let sbx_dir = TempDir::new("fn-shell-sandbox");
    populate(&nat_dir);
    populate(&sbx_dir);
    let argv = [shell, "-c", script];
    let nat = native(nat_dir.path(), &argv);
    let sbx = run_with(None, sbx_dir.path(), &argv);
    let what = format!("{shell} -c {script:?}");
    assert_same_output(&what, &nat, &sbx);
    assert_same_tree(&what, nat_dir.path(), sbx_dir.path());
}

const SHELLS: &[&str] = &["/bin/sh", "/bin/bash"];

#[test]
fn pipelines() {
    for sh in SHELLS {
        compare(sh, "cat f | sort | uniq -c | wc -l");
        compare(sh, "cat f | sort | uniq -c | sort -rn | head -3");
        compare(sh, "sort f | uniq | tr a-z A-Z | grep -c P");
        compare(sh, "cat f g | sort -u | paste -sd, -");
        compare(sh, "grep -n apple f | cut -d: -f1 | xargs echo lines");
        compare(sh, "false | true; echo $?; true | false; echo $?");
    }
}

#[test]
fn redirections() {
    for sh in SHELLS {
        compare(sh, "sort f > sorted; cat sorted; wc -l < sorted");
        compare(sh, "echo a > out; echo b >> out; echo c >> out; cat out");
        compare(sh, "echo first > out; echo second > out; cat out");
        compare(sh, "ls no-such 2> err; echo rc=$?; wc -l < err");
        compare(
            sh,
            "{ echo to-out; echo to-err >&2; } > both 2>&1; sort both",
        );
        compare(sh, "exec 3> fd3; echo via3 >&3; exec 3>&-; cat fd3");
        compare(
            sh,
            "exec 4< g; read l <&4; read m <&4; echo $l $m; exec 4<&-",
        );
        compare(
            sh,
            "echo 12345 > rw; exec 5<> rw; echo ab >&5; exec 5>&-; cat rw",
        );
        compare(
            sh,
            "echo x > dir/new; cat dir/new dir/x > dir/cat; cat dir/cat",
        );
        compare(sh, "echo x > no-such-dir/y; echo rc=$?");
        compare(
            sh,
            "set -C; echo a > noclobber; echo b > noclobber; echo rc=$?; cat noclobber",
        );
        compare(
            sh,
            ": > empty; wc -c < empty; test -s empty || echo is-empty",
        );
        compare(
            sh,
            "cat < /dev/null > devnull-out; echo hi > /dev/null; cat devnull-out",
        );
    }
}

#[test]
fn here_documents() {
    for sh in SHELLS {
        compare(sh, "cat <<EOF\nline one\nline two with $((6*7))\nEOF\n");
        compare(sh, "sort <<'EOF' | uniq -c\nb\na\nb\n$NOT_EXPANDED\nEOF\n");
        compare(
            sh,
            "while read a b; do echo \"$b $a\"; done <<EOF > swapped\n1 one\n2 two\nEOF\ncat swapped",
        );
        // A large here-document (bash and dash may spill it to a file).
        let big: String = (0..5000).map(|i| format!("row {i}\n")).collect();
        compare(sh, &format!("wc -l <<EOF\n{big}EOF\n"));
    }
    compare(
        "/bin/bash",
        "cat <<< 'here string'; tr a-z A-Z <<< \"$(cat g)\"",
    );
}

#[test]
fn substitutions_subshells_and_loops() {
    for sh in SHELLS {
        compare(sh, "n=$(wc -l < f); echo $((n * 2))");
        compare(
            sh,
            "(cd dir && echo in-$(basename $(pwd)) > ../from-sub); cat from-sub",
        );
        compare(sh, "for i in 1 2 3; do echo $i > n$i; done; cat n*");
        compare(
            sh,
            "i=0; while [ $i -lt 20 ]; do echo $i >> count; i=$((i+1)); done; tail -1 count",
        );
        compare(
            sh,
            "mkdir -p a/b && echo deep > a/b/c && find a -type f | sort && rm -r a",
        );
        compare(sh, "tee t1 t2 < g > /dev/null; cat t1 t2 | wc -l");
        compare(sh, "exit 3");
        compare(sh, "cat missing-file; echo rc=$?");
    }
    compare(
        "/bin/bash",
        "diff <(sort f) <(sort -r f | sort) && echo same",
    );
    compare("/bin/bash", "mapfile -t arr < g; echo ${#arr[@]} ${arr[1]}");
}

/// A script file in the project, run by path and through `sh script`.
#[test]
fn script_files() {
    for t in ["./script.sh", "sh script.sh"] {
        let nat_dir = TempDir::new("fn-shell-script-native");
        let sbx_dir = TempDir::new("fn-shell-script-sandbox");
        for d in [&nat_dir, &sbx_dir] {
            populate(d);
            let p = d.write(
                "script.sh",
                "#!/bin/sh\nset -e\nsort f | uniq > uniq.txt\necho \"$(wc -l < uniq.txt) unique\"\n. ./lib.sh\nhelper\n",
            );
            d.write("lib.sh", "helper() { echo from lib; }\n");
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let argv = ["/bin/sh", "-c", t];
        let nat = native(nat_dir.path(), &argv);
        let sbx = run_with(None, sbx_dir.path(), &argv);
        assert_same_output(t, &nat, &sbx);
        assert_same_tree(t, nat_dir.path(), sbx_dir.path());
    }
}
