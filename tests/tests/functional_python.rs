//! Debian's /usr/bin/python3 under the default policy: scripts that read and
//! write files in the current directory, list it, use json, sqlite3,
//! tempfile.TemporaryDirectory() ($TMPDIR is writable under @default),
//! zipfile, shutil, pathlib and a local module (whose bytecode cache is
//! written to __pycache__) print the same as natively and leave the same
//! files.

mod functional_common;

use functional_common::*;

fn populate(t: &TempDir) {
    t.write(
        "data.json",
        r#"{"name": "fdsup", "n": [3, 1, 2], "nested": {"ok": true}}"#,
    );
    t.write("words.txt", "delta\nalpha\ncharlie\nbravo\n");
    t.write("pkg/__init__.py", "");
    t.write("pkg/helper.py", "def double(x):\n    return 2 * x\n");
    t.write("localmod.py", "GREETING = 'hello from localmod'\n");
}

/// Runs the script natively and sandboxed, in twin directories.
fn compare(script: &str) {
    let nat_dir = TempDir::new("fn-python-native");
    let sbx_dir = TempDir::new("fn-python-sandbox");
    populate(&nat_dir);
    populate(&sbx_dir);
    nat_dir.write("script.py", script);
    sbx_dir.write("script.py", script);
    // Bytecode is written (as for a user without PYTHONDONTWRITEBYTECODE).
    let mut nat_cmd = std::process::Command::new(PY);
    nat_cmd
        .arg("script.py")
        .current_dir(nat_dir.path())
        .env_remove("PYTHONDONTWRITEBYTECODE");
    let nat = run_cmd(&mut nat_cmd, TIMEOUT);
    assert_eq!(nat.code, 0, "the script fails natively:\n{}", show(&nat));
    let mut sbx_cmd = fdsup_cmd(["run", "--", PY, "script.py"], sbx_dir.path());
    sbx_cmd.env_remove("PYTHONDONTWRITEBYTECODE");
    let sbx = run_cmd(&mut sbx_cmd, TIMEOUT);
    assert_same_output("python3 script.py", &nat, &sbx);
    // __pycache__ holds the interpreter's timestamps of the sources, which
    // differ between the twins; compare names only there.
    let strip = |m: std::collections::BTreeMap<String, String>| {
        m.into_iter()
            .map(|(k, v)| {
                if k.contains("__pycache__/") {
                    (k, "pyc".to_string())
                } else {
                    (k, v)
                }
            })
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    assert_eq!(
        strip(snapshot(nat_dir.path())),
        strip(snapshot(sbx_dir.path())),
        "python3 left different files than natively\nsandboxed run:\n{}",
        show(&sbx)
    );
}

#[test]
fn files_in_cwd() {
    compare(
        r#"
import os
with open("out.txt", "w") as f:
    f.write("written by python\n")
with open("out.txt", "a") as f:
    f.write("appended\n")
print(open("out.txt").read(), end="")
with open("words.txt") as f:
    print(sorted(f.read().split()))
with open("bin.dat", "wb") as f:
    f.write(bytes(range(256)))
print(len(open("bin.dat", "rb").read()))
try:
    open("out.txt", "x")
except FileExistsError:
    print("x mode: exists")
try:
    open("missing.txt")
except FileNotFoundError:
    print("missing: not found")
try:
    open("pkg", "w")
except IsADirectoryError:
    print("dir: is a directory")
os.makedirs("a/b/c", exist_ok=True)
with open("a/b/c/deep.txt", "w") as f:
    f.write("deep")
os.rename("a/b/c/deep.txt", "a/moved.txt")
print(sorted(os.listdir(".")))
print(sorted(os.listdir("a")))
print([(d, sorted(fs)) for d, _, fs in sorted(os.walk("a"))])
fd = os.open("raw.txt", os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o640)
os.write(fd, b"raw")
os.close(fd)
print(oct(os.stat("raw.txt").st_mode & 0o777))
os.remove("raw.txt")
print(os.path.exists("raw.txt"))
"#,
    );
}

#[test]
fn json_and_stdlib_imports() {
    compare(
        r#"
import json, hashlib, collections, itertools, functools, re, datetime, decimal
import fractions, statistics, textwrap, csv, io, base64, struct, heapq, bisect
import random, string, math, pathlib, shutil, zipfile, tarfile, gzip, bz2, lzma
import sqlite3, subprocess, argparse, logging, unittest, email, html, xml.dom.minidom
import urllib.parse, uuid, enum, dataclasses, typing, contextlib, copy, pprint, os
d = json.load(open("data.json"))
d["n"].sort()
json.dump(d, open("out.json", "w"), sort_keys=True, indent=1)
print(json.dumps(json.load(open("out.json")), sort_keys=True))
print(hashlib.sha256(open("words.txt", "rb").read()).hexdigest())
print(collections.Counter("mississippi").most_common(2))
print(statistics.mean([1, 2, 3, 4]), fractions.Fraction(3, 6), decimal.Decimal("1.10") * 3)
with open("t.csv", "w", newline="") as f:
    csv.writer(f).writerows([["a", 1], ["b", 2]])
print(list(csv.reader(open("t.csv"))))
# Archives with fixed timestamps, so that the twins' files are identical.
when = (2020, 1, 1, 0, 0, 0)
with zipfile.ZipFile("z.zip", "w") as z:
    z.writestr(zipfile.ZipInfo("words.txt", when), open("words.txt", "rb").read())
    z.writestr(zipfile.ZipInfo("inner.txt", when), "zipped")
with zipfile.ZipFile("z.zip") as z:
    print(sorted(z.namelist()), z.read("inner.txt"))
with gzip.GzipFile("g.gz", "wb", mtime=0) as f:
    f.write(b"gz text")
print(gzip.open("g.gz", "rt").read())
with tarfile.open("t.tar", "w") as t:
    def fixed(ti):
        ti.mtime = 0
        return ti
    t.add("pkg", filter=fixed)
print(sorted(tarfile.open("t.tar").getnames()))
db = sqlite3.connect("test.db")
db.execute("create table t (k text, v int)")
db.executemany("insert into t values (?, ?)", [("a", 1), ("b", 2)])
db.commit()
print(db.execute("select sum(v) from t").fetchone())
db.close()
print(sorted(p.name for p in pathlib.Path(".").glob("*.txt")))
shutil.copytree("pkg", "pkg2")
shutil.copy("words.txt", "pkg2/")
print(sorted(os.listdir("pkg2")))
shutil.rmtree("pkg2")
print(subprocess.run(["sort", "words.txt"], capture_output=True, text=True).stdout.split())
"#,
    );
}

#[test]
fn local_modules_and_bytecode_cache() {
    compare(
        r#"
import localmod
from pkg.helper import double
print(localmod.GREETING, double(21))
import os
print(sorted(os.listdir("__pycache__")) != [], sorted(os.listdir("pkg/__pycache__")) != [])
"#,
    );
}

#[test]
fn temporary_directory_in_tmpdir() {
    compare(
        r#"
import os, tempfile
with tempfile.TemporaryDirectory() as d:
    for i in range(5):
        with open(os.path.join(d, "f%d" % i), "w") as f:
            f.write(str(i))
    os.mkdir(os.path.join(d, "sub"))
    with open(os.path.join(d, "sub", "x"), "w") as f:
        f.write("x")
    print(sorted(os.listdir(d)))
    print(sum(int(open(os.path.join(d, "f%d" % i)).read()) for i in range(5)))
    kept = d
print(os.path.exists(kept))
with tempfile.NamedTemporaryFile("w+") as f:
    f.write("named")
    f.flush()
    print(open(f.name).read())
with tempfile.TemporaryFile() as f:
    f.write(b"anonymous")
    f.seek(0)
    print(f.read())
fd, p = tempfile.mkstemp(dir=".")
os.write(fd, b"in cwd")
os.close(fd)
print(open(p).read())
os.remove(p)
print(tempfile.gettempdir() == (os.environ.get("TMPDIR") or "/tmp"))
"#,
    );
}

/// Python refuses politely where the default policy refuses: writing
/// outside the project, reading a hidden file.
#[test]
fn refusals_surface_as_python_exceptions() {
    let cwd = TempDir::new("fn-python-refusals");
    let script = r#"
import errno
for path, mode in [("/etc/passwd", "a"), ("/etc/shadow", "r"), ("/usr/fdsup-test-new", "w"),
                   ("/etc/hostname-fdsup-new", "w"), ("here.txt", "w")]:
    try:
        open(path, mode).close()
        print(path, "ok")
    except OSError as e:
        print(path, errno.errorcode[e.errno])
"#;
    let out = run_with(None, cwd.path(), &[PY, "-c", script]);
    assert_eq!(
        out.stdout,
        "/etc/passwd EACCES\n/etc/shadow ENOENT\n/usr/fdsup-test-new EACCES\n\
         /etc/hostname-fdsup-new EACCES\nhere.txt ok\n",
        "{}",
        show(&out)
    );
    assert!(!std::path::Path::new("/usr/fdsup-test-new").exists());
    assert!(!std::path::Path::new("/etc/hostname-fdsup-new").exists());
}
