//! The hybrid mode with the CLI and real proofs, on the digits MLP cut into
//! three shards: `commit` (no proof), `sample` with the verifier's
//! randomness, `prove --record --shards-of` (the sampled shards only),
//! `export-web`/`verify-bundle` of the audit, `challenge`, `respond` and
//! `verify-response`; a prover that lies at one boundary is caught by the
//! sample or, when the sample misses it, by a challenge no response can
//! answer.

mod common;

use common::proven::*;
use common::{ok, s, zkinf};
use std::path::{Path, PathBuf};

struct Hybrid {
    _tmp: tempfile::TempDir,
    tmp: PathBuf,
    cache: PathBuf,
    dir: PathBuf,
}

impl Hybrid {
    fn new() -> Hybrid {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let cache = root.join("cache");
        let dir = root.join("mlp");
        let onnx = common::root().join(format!("models/digits/{MODEL}.onnx"));
        let c = ok(&zkinf(
            &cache,
            &[
                "compile",
                &s(&onnx),
                "--out",
                &s(&dir),
                "--shards",
                "3",
                "--quiet",
            ],
        ));
        assert!(c.contains("wrote"), "{c}");
        ok(&zkinf(&cache, &["setup", &s(&dir), "--dev-srs"]));
        Hybrid {
            _tmp: tmp,
            tmp: root,
            cache,
            dir,
        }
    }
    fn run(&self, args: &[&str]) -> std::process::Output {
        zkinf(&self.cache, args)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.tmp.join(name)
    }
    fn proofs(&self) -> Vec<String> {
        let d = self.dir.join("proofs");
        if !d.exists() {
            return Vec::new();
        }
        files_in(&d)
            .into_iter()
            .filter(|f| f.ends_with(".proof"))
            .collect()
    }
    /// `zkinf prove --record --shards-of` (its output), then `export-web`
    /// of the audit into `bundle`.
    fn prove_and_export(&self, input: &str, record: &Path, sample: &Path, bundle: &Path) -> String {
        let (dir, record, sample) = (s(&self.dir), s(record), s(sample));
        let p = ok(&self.run(&[
            "prove",
            &dir,
            "--input",
            input,
            "--record",
            &record,
            "--shards-of",
            &sample,
        ]));
        ok(&self.run(&[
            "export-web",
            &dir,
            "--out",
            &s(bundle),
            "--record",
            &record,
            "--sample",
            &sample,
        ]));
        p
    }
    /// `zkinf sample` of `record` with `seed`: the shards drawn.
    fn sample(&self, record: &Path, seed: &str, size: u32, out: &Path) -> Vec<u64> {
        ok(&self.run(&[
            "sample",
            &s(record),
            "--seed",
            seed,
            "--size",
            &size.to_string(),
            "--out",
            &s(out),
        ]));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
        v["shards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect()
    }
}

fn record_hash(commit_out: &str) -> String {
    commit_out
        .lines()
        .find_map(|l| l.strip_prefix("record hash: "))
        .map(|l| l[..64].to_string())
        .unwrap_or_else(|| panic!("no record hash in {commit_out}"))
}

#[test]
fn commit_sample_prove_the_sample_challenge_and_respond() {
    let h = Hybrid::new();
    let input = s(&model_input());
    // commit: every boundary, no proof
    let rec = h.path("run.rec");
    let c = ok(&h.run(&["commit", &s(&h.dir), "--input", &input, "--out", &s(&rec)]));
    assert!(
        c.contains("the commitments at the 4 boundaries of 3 shard(s); nothing proven yet"),
        "{c}"
    );
    let hash = record_hash(&c);
    assert!(h.proofs().is_empty(), "{:?}", h.proofs());
    let bytes = std::fs::read(&rec).unwrap();
    assert_eq!(&bytes[..8], b"ZKINFREC");
    assert_eq!(bytes.len(), 81 + 4 * 32);
    // committing again gives the same record
    let again = h.path("again.rec");
    ok(&h.run(&["commit", &s(&h.dir), "--input", &input, "--out", &s(&again)]));
    assert_eq!(std::fs::read(&again).unwrap(), bytes);

    // the verifier's randomness, after it kept the hash; one shard sampled
    let smp = h.path("s.json");
    let sampled = h.sample(&rec, "auditor-7", 1, &smp);
    assert_eq!(sampled.len(), 1);
    let j = sampled[0] as usize;
    // the sampled shard proven, and the audit bundle
    let a = h.path("a.zkinf");
    let p = h.prove_and_export(&input, &rec, &smp, &a);
    assert!(p.contains("proved 1 of 3 shard(s)"), "{p}");
    assert_eq!(h.proofs(), vec![format!("shard-{j}.proof")]);

    // verified with every pin
    let v = ok(&h.run(&[
        "verify-bundle",
        &s(&a),
        "--record-hash",
        &hash,
        "--randomness",
        "auditor-7",
        "--min-sample",
        "1",
    ]));
    assert!(
        v.contains("the audited sample of 1 of 3 shard(s) (an audit, not a proof of every shard: one wrong shard is caught with probability 0.333; 3 and 3 sampled shards catch it with 0.9 and 0.99"),
        "{v}"
    );
    assert_eq!(
        v.matches("not sampled (open to challenge)").count(),
        2,
        "{v}"
    );

    // a challenge of an unsampled shard, answered
    let other = (j + 1) % 3;
    let ch = h.path("c.json");
    let o = ok(&h.run(&[
        "challenge",
        &s(&rec),
        "--shard",
        &other.to_string(),
        "--out",
        &s(&ch),
    ]));
    assert!(
        o.contains(&format!("shard {other} of record {hash} challenged")),
        "{o}"
    );
    let resp = h.path("r.proof");
    let o = ok(&h.run(&[
        "respond",
        &s(&h.dir),
        "--input",
        &input,
        "--record",
        &s(&rec),
        "--challenge",
        &s(&ch),
        "--out",
        &s(&resp),
    ]));
    assert!(
        o.contains(&format!("shard {other}: proved against the record")),
        "{o}"
    );
    let o = ok(&h.run(&[
        "verify-response",
        &s(&h.dir),
        "--record",
        &s(&rec),
        "--challenge",
        &s(&ch),
        "--response",
        &s(&resp),
    ]));
    assert!(
        o.contains(&format!("response verified: shard {other} (k = "))
            && o.contains(&format!(
                "proven against record {hash}'s boundaries {other} and {}",
                other + 1
            )),
        "{o}"
    );
    // another shard's proof is not a response to this challenge
    let wrong = h.dir.join(format!("proofs/shard-{j}.proof"));
    fails_once_with(
        &h.run(&[
            "verify-response", &s(&h.dir), "--record", &s(&rec), "--challenge", &s(&ch),
            "--response", &s(&wrong),
        ]),
        &format!("the response does not answer the challenge: position {other} of the chain holds the proof of shard {j}"),
    );
    // a challenge of a shard the record does not have; of another record
    fails_once_with(
        &h.run(&[
            "challenge",
            &s(&rec),
            "--shard",
            "3",
            "--out",
            &s(&h.path("x.json")),
        ]),
        "shard 3",
    );
    let mut other_rec = bytes.clone();
    other_rec[100] ^= 1;
    let other_rec_path = h.path("other.rec");
    std::fs::write(&other_rec_path, &other_rec).unwrap();
    fails_once_with(
        &h.run(&[
            "verify-response",
            &s(&h.dir),
            "--record",
            &s(&other_rec_path),
            "--challenge",
            &s(&ch),
            "--response",
            &s(&resp),
        ]),
        &format!("is for record {hash}, not for this record"),
    );
}

/// quicknet round 657413 as drand published it.
const BEACON_SIG: &str = "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b";

#[test]
fn a_record_naming_a_beacon_round_is_sampled_by_its_signature() {
    let h = Hybrid::new();
    let input = s(&model_input());
    let rec = h.path("beacon.rec");
    let (dir, rec_s) = (s(&h.dir), s(&rec));
    let commit = |extra: &[&str]| {
        let mut a = vec!["commit", &dir, "--input", &input, "--out", &rec_s];
        a.extend(extra);
        h.run(&a)
    };
    // a round already emitted: refused under --strict, else warned about
    fails_once_with(
        &commit(&[
            "--beacon",
            "quicknet",
            "--beacon-round",
            "657413",
            "--strict",
        ]),
        "beacon round 657413 of quicknet was emitted at 2023-09-15 11:00:03 UTC",
    );
    fails_once_with(
        &commit(&["--beacon", "default"]),
        "unknown beacon chain default",
    );
    let o = commit(&["--beacon", "quicknet", "--beacon-round", "657413"]);
    let c = ok(&o);
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("WARNING: beacon round 657413 of quicknet was emitted at"),
        "{o:?}"
    );
    assert!(
        c.contains("beacon:      drand quicknet round 657413 (emitted 2023-09-15 11:00:03 UTC"),
        "{c}"
    );
    let hash = record_hash(&c);
    // the default round: the first one a minute from now
    let later = h.path("later.rec");
    let l = ok(&h.run(&[
        "commit",
        &s(&h.dir),
        "--input",
        &input,
        "--out",
        &s(&later),
        "--beacon",
        "quicknet",
        "--strict",
    ]));
    assert!(l.contains("publish the record hash before then"), "{l}");

    // the sample: from the round's signature, not a seed
    let smp = h.path("s.json");
    let sample = |r: &Path, how: &[&str]| {
        let mut a = vec![
            "sample".to_string(),
            s(r),
            "--size".into(),
            "1".into(),
            "--out".into(),
            s(&smp),
        ];
        a.extend(how.iter().map(|x| x.to_string()));
        h.run(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    fails_once_with(
        &sample(&rec, &["--seed", "auditor-7"]),
        "the record names quicknet round 657413: its randomness must be that round's signature in hex",
    );
    let mut forged = BEACON_SIG.to_string();
    forged.replace_range(50..51, if &forged[50..51] == "0" { "1" } else { "0" });
    let f = sample(&rec, &["--beacon-signature", &forged]);
    assert!(!f.status.success());
    let plain = h.path("plain.rec");
    ok(&h.run(&["commit", &s(&h.dir), "--input", &input, "--out", &s(&plain)]));
    fails_once_with(
        &sample(&plain, &["--beacon-signature", BEACON_SIG]),
        "this record names no beacon round: give your own randomness with --seed",
    );
    ok(&sample(
        &rec,
        &["--beacon-signature", &BEACON_SIG.to_uppercase()],
    ));

    // prove the sample, bundle it, verify with the record hash pinned only
    let a = h.path("a.zkinf");
    h.prove_and_export(&input, &rec, &smp, &a);
    let v = ok(&h.run(&["verify-bundle", &s(&a), "--record-hash", &hash]));
    assert!(
        v.contains("randomness from drand quicknet round 657413 (signature verified; emitted 2023-09-15 11:00:03 UTC")
            && v.contains("record hash pinned, randomness pinned"),
        "{v}"
    );
}

/// A verifying-key-only setup: the same keys digest and record as a full
/// one, no proving key written; proving the sample makes (and keeps) the
/// sampled shard's proving key only, and its proof verifies.
#[test]
fn a_verifying_key_only_setup_proves_the_sample_with_keys_made_on_demand() {
    let h = Hybrid::new();
    let full = std::fs::read_to_string(h.dir.join("keys/setup.json")).unwrap();
    let vk0 = std::fs::read(h.dir.join("keys/shard-0.vk")).unwrap();
    std::fs::remove_dir_all(h.dir.join("keys")).unwrap();
    let o = ok(&h.run(&["setup", &s(&h.dir), "--dev-srs", "--verifying-keys-only"]));
    assert!(o.contains("keys digest:"), "{o}");
    assert_eq!(
        std::fs::read_to_string(h.dir.join("keys/setup.json")).unwrap(),
        full,
        "the same record (and keys digest)"
    );
    assert_eq!(std::fs::read(h.dir.join("keys/shard-0.vk")).unwrap(), vk0);
    let keys = files_in(&h.dir.join("keys"));
    assert!(keys.iter().all(|f| !f.ends_with(".pk")), "{keys:?}");
    // set up again: the verifying keys on disk are kept
    let again = h.run(&["setup", &s(&h.dir), "--dev-srs", "--verifying-keys-only"]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(!err.contains("generating"), "{err}");

    let input = s(&model_input());
    let rec = h.path("run.rec");
    ok(&h.run(&["commit", &s(&h.dir), "--input", &input, "--out", &s(&rec)]));
    let smp = h.path("s.json");
    let j = h.sample(&rec, "vk-only", 1, &smp)[0];
    let p = h.run(&[
        "prove",
        &s(&h.dir),
        "--input",
        &input,
        "--record",
        &s(&rec),
        "--shards-of",
        &s(&smp),
    ]);
    ok(&p);
    let err = String::from_utf8_lossy(&p.stderr);
    assert!(
        err.contains(&format!("shard {j}: generating its proving key")),
        "{err}"
    );
    let keys = files_in(&h.dir.join("keys"));
    let pks: Vec<&String> = keys.iter().filter(|f| f.ends_with(".pk")).collect();
    assert_eq!(
        pks,
        vec![&format!("shard-{j}.pk")],
        "only the sampled shard's"
    );
    // proving it again reads the kept key
    let p = h.run(&[
        "prove",
        &s(&h.dir),
        "--input",
        &input,
        "--record",
        &s(&rec),
        "--shards-of",
        &s(&smp),
    ]);
    ok(&p);
    assert!(
        String::from_utf8_lossy(&p.stderr).contains(&format!("shard {j}: reading its proving key"))
    );
    let v = ok(&h.run(&[
        "verify",
        &s(&h.dir),
        "--record",
        &s(&rec),
        "--sample",
        &s(&smp),
    ]));
    assert!(
        v.contains("verified (pinned)") || v.contains("verified, UNPINNED"),
        "{v}"
    );
    assert!(v.contains(&format!("shard {j}: verified")), "{v}");
}

#[test]
fn a_lie_at_one_boundary_is_caught_by_the_sample_or_by_a_challenge() {
    let h = Hybrid::new();
    let input = s(&model_input());
    let honest = h.path("honest.rec");
    ok(&h.run(&[
        "commit",
        &s(&h.dir),
        "--input",
        &input,
        "--out",
        &s(&honest),
    ]));
    // the cheater claims another output of shard 1 (boundary 2): shard 1
    // cannot end there, shard 2 cannot start there
    let mut lie = std::fs::read(&honest).unwrap();
    lie[80 + 2 * 32 + 3] ^= 0x40;
    let lie_path = h.path("lie.rec");
    std::fs::write(&lie_path, &lie).unwrap();
    let c = ok(&h.run(&[
        "sample",
        &s(&lie_path),
        "--seed",
        "probe",
        "--size",
        "1",
        "--out",
        &s(&h.path("probe.json")),
    ]));
    assert!(c.contains("prove shards"), "{c}");

    // the sample hits the lie (shard 1 or 2): no proof against the record
    // exists, and none is written
    let mut hit = None;
    let mut missed = None;
    for seed in 0..64 {
        let name = format!("seed-{seed}");
        let out = h.path(&format!("{name}.json"));
        let s1 = h.sample(&lie_path, &name, 1, &out);
        match s1[0] {
            0 if missed.is_none() => missed = Some(out),
            1 | 2 if hit.is_none() => hit = Some((out, s1[0])),
            _ => {}
        }
        if hit.is_some() && missed.is_some() {
            break;
        }
    }
    let (hit, shard) = hit.expect("a seed that samples shard 1 or 2");
    let side = if shard == 1 { "output" } else { "input" };
    fails_once_with(
        &h.run(&[
            "prove", &s(&h.dir), "--input", &input, "--record", &s(&lie_path), "--shards-of",
            &s(&hit),
        ]),
        &format!("shard {shard}: its {side} commitment on this input is not the commitment record's: no proof of this shard against the record exists"),
    );
    assert!(h.proofs().is_empty(), "{:?}", h.proofs());

    // the sample misses it (shard 0): the audit verifies with probability
    // 1/3 of catching one wrong shard, and the lie stays open to challenge
    let missed = missed.expect("a seed that samples shard 0");
    let a = h.path("lie.zkinf");
    h.prove_and_export(&input, &lie_path, &missed, &a);
    let v = ok(&h.run(&["verify-bundle", &s(&a)]));
    assert!(v.contains("caught with probability 0.333"), "{v}");
    for j in [1u32, 2] {
        let ch = h.path(&format!("c{j}.json"));
        ok(&h.run(&[
            "challenge",
            &s(&lie_path),
            "--shard",
            &j.to_string(),
            "--out",
            &s(&ch),
        ]));
        let side = if j == 1 { "output" } else { "input" };
        let resp = h.path(&format!("r{j}.proof"));
        fails_once_with(
            &h.run(&[
                "respond",
                &s(&h.dir),
                "--input",
                &input,
                "--record",
                &s(&lie_path),
                "--challenge",
                &s(&ch),
                "--out",
                &s(&resp),
            ]),
            &format!(
                "shard {j}: its {side} commitment on this input is not the commitment record's"
            ),
        );
        assert!(!resp.exists());
        // an honest proof of that shard (against the honest record) does
        // not answer the challenge of the lie either
        let honest_ch = h.path(&format!("hc{j}.json"));
        ok(&h.run(&[
            "challenge",
            &s(&honest),
            "--shard",
            &j.to_string(),
            "--out",
            &s(&honest_ch),
        ]));
        let honest_resp = h.path(&format!("hr{j}.proof"));
        ok(&h.run(&[
            "respond",
            &s(&h.dir),
            "--input",
            &input,
            "--record",
            &s(&honest),
            "--challenge",
            &s(&honest_ch),
            "--out",
            &s(&honest_resp),
        ]));
        fails_once_with(
            &h.run(&[
                "verify-response",
                &s(&h.dir),
                "--record",
                &s(&lie_path),
                "--challenge",
                &s(&ch),
                "--response",
                &s(&honest_resp),
            ]),
            &format!(
                "the response does not answer the challenge: shard {j}: the {side} commitment"
            ),
        );
    }
}
