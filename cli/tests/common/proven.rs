//! A proven two-shard folder of the digits MLP and its bundle, for the
//! bundle and serve-web tests, and the bundle's byte layout.

#![allow(unused_imports)]

use super::{fails_with, ok, root, s, zkinf};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub const MODEL: &str = "mlp_int8_qdq";

pub fn model_input() -> PathBuf {
    root().join(format!("models/digits/{MODEL}.input.json"))
}

/// A proven two-shard folder of [`MODEL`] and its chain bundle.
pub struct Proven {
    pub _tmp: tempfile::TempDir,
    pub tmp: PathBuf,
    pub cache: PathBuf,
    pub dir: PathBuf,
    pub bundle: PathBuf,
    /// stdout of `setup` and of `export-web`
    pub setup_out: String,
    pub export_out: String,
}

impl Proven {
    pub fn new() -> Proven {
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

    pub fn run(&self, args: &[&str]) -> Output {
        zkinf(&self.cache, args)
    }

    /// `model_hash` of the compiled folder's report.json.
    pub fn model_hash(&self) -> String {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(self.dir.join("report.json")).unwrap())
                .unwrap();
        v["model_hash"].as_str().unwrap().to_string()
    }

    /// The keys digest `setup` printed.
    pub fn keys_digest(&self) -> String {
        let line = self
            .setup_out
            .lines()
            .find(|l| l.starts_with("keys digest:"))
            .unwrap_or_else(|| panic!("no keys digest in: {}", self.setup_out));
        line.split_whitespace().nth(2).unwrap().to_string()
    }

    /// A copy of the proven folder, without the files `drop` names.
    pub fn copy_without(&self, name: &str, drop: &[&str]) -> PathBuf {
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
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.tmp.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
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

pub fn u32_at(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

/// Where shard `shard`'s proof file is in a bundle, and its length (the
/// layout as scripts/tamper-bundle.py reads it).
pub fn proof_at(b: &[u8], shard: usize) -> (usize, usize) {
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
        at += 8; // the shard's nodes
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
pub fn tampered(b: &[u8], shard: usize) -> Vec<u8> {
    let (at, n) = proof_at(b, shard);
    let header = 8 + 4 + 1 + 4 + 4 * 32 + 4;
    assert!(n > 400, "shard {shard} has no proof");
    let mut t = b.to_vec();
    t[at + header + (n - header) / 2] ^= 0x01;
    t
}

/// Exactly one `error:` line (the last), naming `fragment`; no panic.
pub fn fails_once_with(o: &Output, fragment: &str) {
    fails_with(o, fragment);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{err}"
    );
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

pub fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

pub fn flat(v: &serde_json::Value) -> Vec<f64> {
    match v {
        serde_json::Value::Array(a) => a.iter().flat_map(flat).collect(),
        n => vec![n.as_f64().unwrap()],
    }
}
