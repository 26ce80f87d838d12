//! Bundles with the CLI and real proofs: `export-web` writes a chain or an
//! audit bundle of a proven folder, `verify-bundle` checks it (and rejects
//! a tampered copy, a wrong pin, a non-bundle or a cut file with one
//! `error:` line), and `serve-web` serves the page and the bundle on
//! 127.0.0.1 (checked with plain HTTP/1.1 requests), refusing to start
//! without a bundle or a built page.

mod common;

use common::{fails_with, ok, root, s, zkinf};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const MODEL: &str = "mlp_int8_qdq";

fn model_input() -> PathBuf {
    root().join(format!("models/digits/{MODEL}.input.json"))
}

/// A proven two-shard folder of [`MODEL`] and its chain bundle.
struct Proven {
    _tmp: tempfile::TempDir,
    tmp: PathBuf,
    cache: PathBuf,
    dir: PathBuf,
    bundle: PathBuf,
    /// stdout of `setup` and of `export-web`
    setup_out: String,
    export_out: String,
}

impl Proven {
    fn new() -> Proven {
        let tmp = tempfile::tempdir().unwrap();
        let root_dir = tmp.path().to_path_buf();
        let cache = root_dir.join("cache");
        let dir = root_dir.join("mlp");
        let onnx = root().join(format!("models/digits/{MODEL}.onnx"));
        ok(&zkinf(
            &cache,
            &[
                "compile",
                &s(&onnx),
                "--out",
                &s(&dir),
                "--shards",
                "2",
                "--quiet",
            ],
        ));
        let setup_out = ok(&zkinf(&cache, &["setup", &s(&dir), "--dev-srs"]));
        let proved = ok(&zkinf(
            &cache,
            &["prove", &s(&dir), "--input", &s(&model_input())],
        ));
        assert_eq!(proved.matches("self-verified").count(), 2, "{proved}");
        let bundle = root_dir.join("out").join("mlp.zkinf");
        std::fs::create_dir_all(bundle.parent().unwrap()).unwrap();
        let export_out = ok(&zkinf(
            &cache,
            &["export-web", &s(&dir), "--out", &s(&bundle)],
        ));
        Proven {
            _tmp: tmp,
            tmp: root_dir,
            cache,
            dir,
            bundle,
            setup_out,
            export_out,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        zkinf(&self.cache, args)
    }

    /// `model_hash` of the compiled folder's report.json.
    fn model_hash(&self) -> String {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(self.dir.join("report.json")).unwrap())
                .unwrap();
        v["model_hash"].as_str().unwrap().to_string()
    }

    /// The keys digest `setup` printed.
    fn keys_digest(&self) -> String {
        let line = self
            .setup_out
            .lines()
            .find(|l| l.starts_with("keys digest:"))
            .unwrap_or_else(|| panic!("no keys digest in: {}", self.setup_out));
        line.split_whitespace().nth(2).unwrap().to_string()
    }

    /// A copy of the proven folder, without the files `drop` names.
    fn copy_without(&self, name: &str, drop: &[&str]) -> PathBuf {
        let to = self.tmp.join(name);
        copy_dir(&self.dir, &to);
        for d in drop {
            let p = to.join(d);
            if p.is_dir() {
                std::fs::remove_dir_all(&p).unwrap();
            } else {
                std::fs::remove_file(&p).unwrap();
            }
        }
        to
    }

    /// A file next to the bundle.
    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.tmp.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

fn u32_at(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

/// Where shard `shard`'s proof file is in a bundle, and its length (the
/// layout as scripts/tamper-bundle.py reads it).
fn proof_at(b: &[u8], shard: usize) -> (usize, usize) {
    assert_eq!(&b[..8], b"ZKINFBND");
    let mut at = 13; // magic, version, kind
    at += 4 + u32_at(b, at); // plan
    at += 160; // SRS verifier part
    for _ in 0..2 {
        at += 4 + 8 * u32_at(b, at); // claimed input, output
    }
    let shards = u32_at(b, at);
    at += 4;
    assert!(shard < shards, "the bundle has {shards} shards");
    for i in 0..shards {
        at += 4 + u32_at(b, at); // verifying key
        let n = u32_at(b, at);
        at += 4;
        if i == shard {
            return (at, n);
        }
        at += n;
    }
    unreachable!()
}

/// A copy of a bundle with one byte of shard `shard`'s halo2 proof flipped
/// (as scripts/tamper-bundle.py writes it).
fn tampered(b: &[u8], shard: usize) -> Vec<u8> {
    let (at, n) = proof_at(b, shard);
    let header = 8 + 4 + 1 + 4 + 4 * 32 + 4;
    assert!(n > 400, "shard {shard} has no proof");
    let mut t = b.to_vec();
    t[at + header + (n - header) / 2] ^= 0x01;
    t
}

/// Exactly one `error:` line (the last), naming `fragment`; no panic.
fn fails_once_with(o: &Output, fragment: &str) {
    fails_with(o, fragment);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{err}"
    );
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn argmax(v: &[f64]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &x)| {
            if x > bv {
                (i, x)
            } else {
                (bi, bv)
            }
        })
        .0
}

fn flat(v: &serde_json::Value) -> Vec<f64> {
    match v {
        serde_json::Value::Array(a) => a.iter().flat_map(flat).collect(),
        n => vec![n.as_f64().unwrap()],
    }
}

#[test]
fn export_web_writes_a_chain_bundle_that_verify_bundle_checks() {
    let p = Proven::new();
    let model = p.model_hash();
    let keys = p.keys_digest();
    let e = &p.export_out;
    assert!(e.contains("chain bundle of 2 shard(s)"), "{e}");
    assert!(e.contains(&format!("model hash:  {model}")), "{e}");
    assert!(e.contains(&format!("keys digest: {keys}")), "{e}");
    assert_eq!(keys.len(), 64);
    let bytes = std::fs::read(&p.bundle).unwrap();
    assert!(e.contains(&format!("({} bytes)", bytes.len())), "{e}");
    assert_eq!(&bytes[..8], b"ZKINFBND");
    assert_eq!(bytes[12], 1, "a chain bundle");
    assert_eq!(files_in(p.bundle.parent().unwrap()), vec!["mlp.zkinf"]);

    // what the executor predicts
    let pred = p.tmp.join("pred.json");
    ok(&p.run(&[
        "infer",
        &s(&p.dir),
        "--input",
        &s(&model_input()),
        "--output",
        &s(&pred),
    ]));
    let y: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&pred).unwrap()).unwrap();
    let class = argmax(&flat(&y["y"]));

    // the bundle verifies
    let b = s(&p.bundle);
    let v = ok(&p.run(&["verify-bundle", &b]));
    for i in 0..2 {
        assert!(v.contains(&format!("shard {i}: verified (k = ")), "{v}");
    }
    assert!(v.contains(&format!("model hash:  {model}")), "{v}");
    assert!(v.contains(&format!("keys digest: {keys}")), "{v}");
    assert!(v.contains(&format!("(argmax {class})")), "{v}");
    assert!(
        v.contains("verified: the linked chain of 2 shard(s)"),
        "{v}"
    );
    assert!(
        !v.contains("REJECTED") && !v.contains("NOT verified"),
        "{v}"
    );

    // as JSON
    let r = json(&p.run(&["verify-bundle", &b, "--json"]));
    assert_eq!(r["verified"], true, "{r}");
    assert_eq!(r["kind"], "chain");
    assert_eq!(r["error"], serde_json::Value::Null);
    assert_eq!(r["model_hash"], model.as_str());
    assert_eq!(r["keys_digest"], keys.as_str());
    let shards = r["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 2);
    for (i, sh) in shards.iter().enumerate() {
        assert_eq!(sh["index"], i);
        assert_eq!(sh["status"], "verified");
        assert!(sh["proof_bytes"].as_u64().unwrap() > 400);
    }
    assert_eq!(r["output"]["argmax"], class);
    assert_eq!(r["output"]["name"], "y");
    assert_eq!(r["audit"], serde_json::Value::Null);

    // pins: the right ones (any case) verify, wrong ones name the expected value
    ok(&p.run(&["verify-bundle", &b, "--model", &model, "--keys", &keys]));
    ok(&p.run(&["verify-bundle", &b, "--model", &model.to_uppercase()]));
    let wrong = "0123456789abcdef".repeat(4);
    let o = p.run(&["verify-bundle", &b, "--model", &wrong]);
    fails_once_with(&o, &format!("not of the expected model {wrong}"));
    fails_once_with(&o, &format!("the bundle is of model {model}"));
    assert!(stdout(&o).contains("NOT verified"), "{}", stdout(&o));
    fails_once_with(
        &p.run(&["verify-bundle", &b, "--keys", &wrong]),
        &format!("keys digest is {keys}, not the expected {wrong}"),
    );
    fails_once_with(
        &p.run(&["verify-bundle", &b, "--model", &model[..16]]),
        "not of the expected model",
    );
    let r = json(&p.run(&["verify-bundle", &b, "--model", &wrong, "--json"]));
    assert_eq!(r["verified"], false);
    assert!(r["error"].as_str().unwrap().contains(&wrong));

    // a flipped byte in shard 1's proof, then in shard 0's
    for shard in [1usize, 0] {
        let t = p.write(&format!("tampered-{shard}.zkinf"), &tampered(&bytes, shard));
        let o = p.run(&["verify-bundle", &s(&t)]);
        fails_once_with(
            &o,
            &format!(
                "shard {shard}: the proof does not verify against its verifying key and public values"
            ),
        );
        let out = stdout(&o);
        let other = 1 - shard;
        assert!(
            out.contains(&format!("shard {shard}: REJECTED"))
                && out.contains(&format!("shard {other}: verified")),
            "{out}"
        );
        let r = json(&p.run(&["verify-bundle", &s(&t), "--json"]));
        assert_eq!(r["verified"], false);
        assert_eq!(r["shards"][shard]["status"], "rejected");
        assert_eq!(r["shards"][other]["status"], "verified");
    }

    // not a bundle, a missing file
    fails_once_with(
        &p.run(&["verify-bundle", &s(&p.dir.join("plan.bin"))]),
        "not a zkinf bundle (bad magic bytes)",
    );
    let missing = p.tmp.join("missing.zkinf");
    fails_once_with(&p.run(&["verify-bundle", &s(&missing)]), &s(&missing));
    fails_once_with(&p.run(&["verify-bundle", &s(&p.dir)]), &s(&p.dir));

    // cut short anywhere: an error naming the file, never a panic
    let (proof1, _) = proof_at(&bytes, 1);
    for len in [
        0usize,
        5,
        12,
        13,
        100,
        400,
        proof1,
        bytes.len() / 2,
        bytes.len() - 1,
    ] {
        let t = p.write(&format!("cut-{len}.zkinf"), &bytes[..len]);
        let why = if len < 8 {
            "not a zkinf bundle"
        } else {
            "the bundle is truncated"
        };
        let o = p.run(&["verify-bundle", &s(&t)]);
        fails_once_with(&o, why);
        fails_once_with(&o, &s(&t));
    }
    // a trailing byte, another format version
    let t = p.write("long.zkinf", &[bytes.as_slice(), &[0]].concat());
    fails_once_with(
        &p.run(&["verify-bundle", &s(&t)]),
        "1 trailing bytes after the bundle",
    );
    let mut v7 = bytes.clone();
    v7[8..12].copy_from_slice(&7u32.to_le_bytes());
    let t = p.write("v7.zkinf", &v7);
    fails_once_with(
        &p.run(&["verify-bundle", &s(&t)]),
        "bundle format version 7 is not supported",
    );

    // export-web with the input given again writes the same bundle
    let again = p.tmp.join("again.zkinf");
    ok(&p.run(&[
        "export-web",
        &s(&p.dir),
        "--out",
        &s(&again),
        "--input",
        &s(&model_input()),
    ]));
    assert_eq!(std::fs::read(&again).unwrap(), bytes);
}

#[test]
fn audit_bundles_and_export_errors() {
    let p = Proven::new();
    let out = p.tmp.join("audit");
    std::fs::create_dir_all(&out).unwrap();

    // one shard of two proven
    let a = out.join("a.zkinf");
    let e = ok(&p.run(&["export-web", &s(&p.dir), "--out", &s(&a), "--sample", "1"]));
    assert!(e.contains("audit bundle of 2 shard(s)"), "{e}");
    assert!(
        e.contains("proven of 2; one wrong shard is caught with probability 0.500"),
        "{e}"
    );
    let bytes = std::fs::read(&a).unwrap();
    assert_eq!(bytes[12], 2, "an audit bundle");
    let v = ok(&p.run(&["verify-bundle", &s(&a)]));
    assert_eq!(
        v.matches("not sampled (open to challenge)").count(),
        1,
        "{v}"
    );
    assert_eq!(v.matches(": verified (k = ").count(), 1, "{v}");
    assert!(
        v.contains("verified: the audited sample of 2 shard(s)"),
        "{v}"
    );
    let r = json(&p.run(&["verify-bundle", &s(&a), "--json"]));
    assert_eq!(r["verified"], true, "{r}");
    assert_eq!(r["kind"], "audit");
    let sample = r["audit"]["sample"].as_array().unwrap();
    assert_eq!(sample.len(), 1);
    let sampled = sample[0].as_u64().unwrap() as usize;
    assert_eq!(r["shards"][sampled]["status"], "verified");
    assert_eq!(r["shards"][1 - sampled]["status"], "not_sampled");
    assert_eq!(r["shards"][1 - sampled]["proof_bytes"], 0);
    assert_eq!(r["audit"]["detection_one"], 0.5);
    assert!(
        e.contains(&format!("audit: shards [{sampled}] proven of 2")),
        "{e}"
    );
    // the same keys and model as the chain bundle
    assert_eq!(r["model_hash"], p.model_hash().as_str());
    assert_eq!(r["keys_digest"], p.keys_digest().as_str());
    // the sampled proof tampered with
    let t = p.write("audit-tampered.zkinf", &tampered(&bytes, sampled));
    fails_once_with(
        &p.run(&["verify-bundle", &s(&t)]),
        &format!("shard {sampled}: the proof does not verify"),
    );

    // both shards proven
    let all = out.join("all.zkinf");
    ok(&p.run(&["export-web", &s(&p.dir), "--out", &s(&all), "--sample", "2"]));
    let v = ok(&p.run(&["verify-bundle", &s(&all)]));
    assert_eq!(v.matches(": verified (k = ").count(), 2, "{v}");
    assert!(!v.contains("not sampled"), "{v}");

    // the SRS file is not needed: setup recorded its verifier part
    std::fs::remove_dir_all(p.cache.join("srs")).unwrap();
    let again = out.join("again.zkinf");
    ok(&p.run(&["export-web", &s(&p.dir), "--out", &s(&again)]));
    assert_eq!(
        std::fs::read(&again).unwrap(),
        std::fs::read(&p.bundle).unwrap()
    );
    assert!(!p.cache.join("srs").exists(), "no SRS generated");
    let setup: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.dir.join("keys/setup.json")).unwrap())
            .unwrap();
    assert_eq!(setup["keys_digest"], p.keys_digest().as_str());
    assert_eq!(setup["model_hash"], p.model_hash().as_str());

    // errors write no file
    let no = p.tmp.join("none");
    std::fs::create_dir_all(&no).unwrap();
    let target = no.join("b.zkinf");
    let export = |dir: &Path, extra: &[&str]| {
        let mut args = vec!["export-web", dir.to_str().unwrap(), "--out"];
        let t = s(&target);
        args.push(&t);
        args.extend(extra);
        let o = p.run(&args);
        assert!(files_in(&no).is_empty(), "{:?}", files_in(&no));
        o
    };
    for m in ["3", "0"] {
        fails_once_with(
            &export(&p.dir, &["--sample", m]),
            &format!("--sample {m}: this model has 2 shard(s); sample between 1 and 2"),
        );
    }
    // compiled and set up, not proven
    let unproven = p.copy_without("unproven", &["proofs"]);
    fails_once_with(
        &export(&unproven, &[]),
        &format!(
            "{} has no proofs; run `zkinf prove {}` first",
            unproven.display(),
            unproven.display()
        ),
    );
    // compiled only
    let bare = p.copy_without("bare", &["proofs", "keys"]);
    fails_once_with(
        &export(&bare, &[]),
        &format!("{} has no keys; run `zkinf setup", bare.display()),
    );
    // one shard's proof missing
    let half = p.copy_without("half", &["proofs/shard-1.proof"]);
    fails_once_with(&export(&half, &[]), "shard 1 has no proof");
    // a tampered proof in the folder
    let bad = p.copy_without("bad", &[]);
    let pf = bad.join("proofs/shard-1.proof");
    let mut proof = std::fs::read(&pf).unwrap();
    let at = proof.len() - 300;
    proof[at] ^= 0x10;
    std::fs::write(&pf, &proof).unwrap();
    fails_once_with(
        &export(&bad, &[]),
        "do not verify, no bundle written: shard 1: the proof does not verify",
    );
    // proofs of another input than the one given
    let other = p.tmp.join("other.json");
    let mut x: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model_input()).unwrap()).unwrap();
    x["x"][0][20] = serde_json::json!(0.875);
    x["x"][0][36] = serde_json::json!(0.0625);
    std::fs::write(&other, x.to_string()).unwrap();
    fails_once_with(
        &export(&p.dir, &["--input", &s(&other)]),
        "shard 0: the input commitment does not match the claimed input",
    );
    // not a compiled folder
    fails_once_with(&export(&p.tmp.join("nothing"), &[]), "nothing");
}

/// `serve-web` run as a child, killed when dropped (also when a test fails).
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve_command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zkinf"));
    c.arg("serve-web")
        .args(args)
        .env_remove("ZKINF_WEB_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Starts `serve-web ARGS` and reads the address from its first line.
fn serve(args: &[&str]) -> Server {
    let mut child = serve_command(args).spawn().expect("run zkinf serve-web");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let mut server = Server {
        child,
        addr: String::new(),
    };
    let Some(url) = line.split("http://").nth(1) else {
        let mut err = String::new();
        let _ = server.child.kill();
        let _ = server.child.stderr.take().unwrap().read_to_string(&mut err);
        panic!("serve-web did not start: '{line}' {err}");
    };
    assert!(line.starts_with("serving the web verifier"), "{line}");
    assert!(url.contains("/?bundle=bundle.zkinf"), "{line}");
    server.addr = url.split('/').next().unwrap().to_string();
    assert!(server.addr.starts_with("127.0.0.1:"), "{line}");
    server
}

/// `serve-web ARGS` that must fail before serving: its output (stdout read
/// to the end, so a server that did start fails the test, not hangs it).
fn serve_fails(args: &[&str]) -> Output {
    let mut child = serve_command(args).spawn().expect("run zkinf serve-web");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    if !line.is_empty() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("serve-web started: {line}");
    }
    child.wait_with_output().unwrap()
}

struct Response {
    status: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one raw HTTP/1.1 request and reads the answer to the end (the
/// server closes the connection).
fn request(addr: &str, method: &str, path: &str) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    stream.flush().unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().to_string();
    let headers = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect();
    let body = raw[split + 4..].to_vec();
    let r = Response {
        status,
        headers,
        body,
    };
    if method != "HEAD" {
        assert_eq!(
            r.header("Content-Length"),
            Some(r.body.len().to_string().as_str()),
            "{method} {path}"
        );
    }
    r
}

fn get(addr: &str, path: &str) -> Response {
    request(addr, "GET", path)
}

/// A stand-in for the built page.
fn stand_in_page(dir: &Path, wasm: bool) -> Vec<(&'static str, Vec<u8>)> {
    let files: Vec<(&'static str, Vec<u8>)> = vec![
        (
            "index.html",
            b"<!doctype html><title>zkinf stand-in</title>".to_vec(),
        ),
        ("app.js", b"// stand-in app\n".to_vec()),
        ("sw.js", b"// stand-in service worker\n".to_vec()),
        ("pkg/zkinf_web.js", b"// stand-in wasm glue\n".to_vec()),
        (
            "pkg/zkinf_web_bg.wasm",
            [b"\0asm".as_slice(), &[1, 0, 0, 0], &[0xff, 0x00, 0x7f]].concat(),
        ),
    ];
    std::fs::create_dir_all(dir.join("pkg")).unwrap();
    for (name, bytes) in &files {
        if wasm || !name.ends_with(".wasm") {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
    files
}

#[test]
fn serve_web_serves_the_page_and_the_bundle() {
    let p = Proven::new();
    let web = p.tmp.join("web");
    let page = stand_in_page(&web, true);
    let bundle = std::fs::read(&p.bundle).unwrap();
    let server = serve(&[&s(&p.bundle), "--port", "0", "--web", &s(&web)]);
    let addr = server.addr.as_str();

    let html = &page[0].1;
    for path in ["/", "/index.html", "/?bundle=bundle.zkinf", "/index.html#x"] {
        let r = get(addr, path);
        assert_eq!(r.status, "HTTP/1.1 200 OK", "{path}");
        assert_eq!(r.header("Content-Type"), Some("text/html; charset=utf-8"));
        assert_eq!(&r.body, html, "{path}");
    }
    let r = get(addr, "/bundle.zkinf");
    assert_eq!(r.status, "HTTP/1.1 200 OK");
    assert_eq!(r.header("Content-Type"), Some("application/octet-stream"));
    assert_eq!(r.body, bundle, "the exact bundle bytes");
    let r = get(addr, "/pkg/zkinf_web_bg.wasm");
    assert_eq!(r.status, "HTTP/1.1 200 OK");
    assert_eq!(r.header("Content-Type"), Some("application/wasm"));
    assert_eq!(r.body, page[4].1);
    for (path, file) in [("/app.js", 1), ("/sw.js", 2), ("/pkg/zkinf_web.js", 3)] {
        let r = get(addr, path);
        assert_eq!(r.status, "HTTP/1.1 200 OK", "{path}");
        assert_eq!(
            r.header("Content-Type"),
            Some("text/javascript; charset=utf-8"),
            "{path}"
        );
        assert_eq!(r.body, page[file].1, "{path}");
    }
    // HEAD: the headers alone
    let r = request(addr, "HEAD", "/bundle.zkinf");
    assert_eq!(r.status, "HTTP/1.1 200 OK");
    assert_eq!(
        r.header("Content-Length"),
        Some(bundle.len().to_string().as_str())
    );
    assert!(r.body.is_empty());

    // nothing else: no file outside the page, no listing, no other method
    for path in [
        "/../Cargo.toml",
        "/nope",
        "/pkg/",
        "/pkg",
        "/web/index.html",
        "/bundle.zkinf/",
        "//index.html",
        "/%2e%2e/Cargo.toml",
        "/index.html/../../Cargo.toml",
        &format!("/{}", s(&p.bundle)),
    ] {
        let r = get(addr, path);
        assert_eq!(r.status, "HTTP/1.1 404 Not Found", "{path}");
        assert_eq!(r.body, b"not found\n", "{path}");
    }
    for method in ["POST", "PUT", "DELETE"] {
        let r = request(addr, method, "/");
        assert_eq!(r.status, "HTTP/1.1 405 Method Not Allowed", "{method}");
    }
    // still serving after all that
    assert_eq!(get(addr, "/bundle.zkinf").body, bundle);
    drop(server);
}

#[test]
fn serve_web_refuses_to_start_without_a_bundle_or_a_page() {
    let p = Proven::new();
    let web = p.tmp.join("web");
    stand_in_page(&web, true);
    let b = s(&p.bundle);
    let w = s(&web);

    // not a bundle, a cut bundle, no file
    let plan = s(&p.dir.join("plan.bin"));
    fails_once_with(
        &serve_fails(&[&plan, "--port", "0", "--web", &w]),
        "not a zkinf bundle",
    );
    let bytes = std::fs::read(&p.bundle).unwrap();
    let cut = p.write("cut.zkinf", &bytes[..bytes.len() - 10]);
    fails_once_with(
        &serve_fails(&[&s(&cut), "--port", "0", "--web", &w]),
        "the bundle is truncated",
    );
    let missing = s(&p.tmp.join("missing.zkinf"));
    fails_once_with(
        &serve_fails(&[&missing, "--port", "0", "--web", &w]),
        &missing,
    );

    // a page without its wasm, or without its service worker
    let unbuilt = p.tmp.join("unbuilt");
    stand_in_page(&unbuilt, false);
    fails_once_with(
        &serve_fails(&[&b, "--port", "0", "--web", &s(&unbuilt)]),
        &format!(
            "the web verifier is not built (no index.html and pkg/zkinf_web_bg.wasm in {})",
            unbuilt.display()
        ),
    );
    let no_sw = p.tmp.join("no-sw");
    stand_in_page(&no_sw, true);
    std::fs::remove_file(no_sw.join("sw.js")).unwrap();
    fails_once_with(
        &serve_fails(&[&b, "--port", "0", "--web", &s(&no_sw)]),
        &s(&no_sw.join("sw.js")),
    );
    fails_once_with(
        &serve_fails(&[&b, "--port", "0", "--web", &s(&p.tmp.join("nowhere"))]),
        "the web verifier is not built",
    );

    // a port in use
    let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    fails_once_with(
        &serve_fails(&[&b, "--port", &port, "--web", &w]),
        &format!("cannot listen on 127.0.0.1:{port}"),
    );
    drop(taken);
}

/// Hostile bundles that once panicked the verifier crate (a key claiming a
/// huge circuit, G2 bytes that are no field element): `verify-bundle`
/// answers with one `error:` line or a rejection, never a panic.
#[test]
fn verify_bundle_does_not_panic_on_hostile_keys_or_srs() {
    let p = Proven::new();
    let bytes = std::fs::read(&p.bundle).unwrap();
    // shard 0's verifying key claims 2^40 rows (halo2's k: bytes 21..25 of the key file)
    let plan_len = u32_at(&bytes, 13);
    let srs = 13 + 4 + plan_len;
    let mut at = srs + 160;
    for _ in 0..2 {
        at += 4 + 8 * u32_at(&bytes, at);
    }
    let vk0 = at + 4 + 4;
    let mut k40 = bytes.clone();
    k40[vk0 + 21..vk0 + 25].copy_from_slice(&40u32.to_le_bytes());
    let t = p.write("k40.zkinf", &k40);
    fails_once_with(&p.run(&["verify-bundle", &s(&t)]), "shard 0");
    // s·G2 bytes that are no field element
    let mut g2 = bytes.clone();
    g2[srs + 96..srs + 160].copy_from_slice(&[0xff; 64]);
    let t = p.write("g2.zkinf", &g2);
    fails_once_with(&p.run(&["verify-bundle", &s(&t)]), "SRS verifier part");
}
