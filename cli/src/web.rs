//! Bundles and the web verifier: `zkinf export-web` (one file with all a
//! verifier needs), `zkinf verify-bundle` (the native verifier of that
//! file) and `zkinf serve-web` (the page and a bundle on 127.0.0.1).

use crate::artifacts::{self, write_file_atomic};
use crate::proving::{
    done, file_err, load_srs, quantized_inputs, read_proof_files, read_setup, read_shards,
    read_vk_files, srs_source, step, ProvingError,
};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Instant;
use zkinf_verifier::{
    audit_sample, keys_digest, verify_bundle, AuditRecord, Bundle, BundleShard, Pins, Report,
    ShardStatus, SrsVerifierPart,
};

fn claimed_ints(claim: &serde_json::Value, key: &str) -> Option<Vec<i64>> {
    claim[key]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_i64()).collect::<Option<Vec<_>>>())?
}

/// `zkinf export-web DIR --out BUNDLE [--sample M] [--input IN.json]`.
pub fn export_web(
    dir: &Path,
    out: &Path,
    sample: Option<u32>,
    input: Option<&Path>,
) -> Result<(), ProvingError> {
    let plan = artifacts::load_plan(dir)?;
    let plan_path = dir.join(artifacts::PLAN_FILE);
    let plan_bytes = std::fs::read(&plan_path).map_err(|e| file_err(&plan_path, e))?;
    let shards = read_shards(dir, &plan)?;
    let setup = read_setup(dir)?;
    setup.check(&plan, &shards)?;
    let n = shards.len();
    if let Some(m) = sample.filter(|&m| m == 0 || m as usize > n) {
        return Err(ProvingError::Setup(format!(
            "--sample {m}: this model has {n} shard(s); sample between 1 and {n}"
        )));
    }
    let vks = read_vk_files(dir, &setup)?;
    let proofs_dir = dir.join("proofs");
    let claim_path = proofs_dir.join("claim.json");
    let claim: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&claim_path).map_err(|_| {
            ProvingError::Setup(format!(
                "{} has no proofs; run `zkinf prove {}` first",
                dir.display(),
                dir.display()
            ))
        })?)
        .map_err(|e| file_err(&claim_path, e))?;
    let output = claimed_ints(&claim, "output_q")
        .ok_or_else(|| file_err(&claim_path, "no recorded output"))?;
    let input = match input {
        Some(path) => quantized_inputs(&plan, path)?[0].iter().copied().collect(),
        None => claimed_ints(&claim, "input_q").ok_or_else(|| {
            file_err(
                &claim_path,
                "no recorded input (proved by an older zkinf): pass --input IN.json",
            )
        })?,
    };
    let proofs = read_proof_files(dir, n)?;
    let part = match &setup.srs_part {
        Some(p) => *p,
        None => {
            let max_k = setup.max_k();
            let srs = load_srs(&srs_source(&setup)?, max_k, &[max_k])?;
            SrsVerifierPart::of(
                srs.get(max_k)
                    .ok_or_else(|| ProvingError::Setup(format!("no SRS of 2^{max_k} points")))?,
            )
        }
    };
    let mut bundle = Bundle {
        plan: plan_bytes,
        srs: part,
        input,
        output,
        shards: vks
            .into_iter()
            .zip(&proofs)
            .map(|((vk, _), (proof, _))| BundleShard {
                vk,
                proof: Some(proof.clone()),
            })
            .collect(),
        audit: None,
    };
    if let Some(m) = sample {
        let mut boundaries: Vec<_> = proofs.iter().map(|(_, p)| p.input_commitment()).collect();
        boundaries.push(proofs[n - 1].1.output_commitment());
        let hash = sha2_32(&bundle.plan);
        let chosen = audit_sample(&hash, &keys_digest(&bundle), &boundaries, m);
        for (i, s) in bundle.shards.iter_mut().enumerate() {
            if !chosen.contains(&(i as u32)) {
                s.proof = None;
            }
        }
        bundle.audit = Some(AuditRecord {
            sample: m,
            boundaries,
        });
    }
    let t = step("verifying the bundle before writing it");
    let started = Instant::now();
    let report = verify_bundle(&bundle, &Pins::default(), &|| {
        started.elapsed().as_secs_f64() * 1e3
    })
    .map_err(|e| ProvingError::Setup(e.to_string()))?;
    done(t);
    if let Some(e) = &report.error {
        return Err(ProvingError::Setup(format!(
            "the proofs in {} do not verify, no bundle written: {e}",
            proofs_dir.display()
        )));
    }
    let bytes = bundle.to_bytes();
    write_file_atomic(out, &bytes)?;
    println!(
        "wrote {} ({} bytes): {} bundle of {n} shard(s)",
        out.display(),
        bytes.len(),
        report.kind
    );
    println!("model hash:  {}", report.model_hash);
    println!("keys digest: {}", report.keys_digest);
    if let Some(a) = &report.audit {
        println!(
            "audit: shards {:?} proven of {n}; one wrong shard is caught with probability {:.3}",
            a.sample, a.detection_one
        );
    }
    Ok(())
}

fn sha2_32(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

fn bundle_err(path: &Path, e: impl ToString) -> ProvingError {
    file_err(path, e)
}

/// `zkinf verify-bundle BUNDLE [--model HASH] [--keys DIGEST] [--json]`.
pub fn verify_bundle_file(path: &Path, pins: Pins, json: bool) -> Result<Report, ProvingError> {
    let bytes = std::fs::read(path).map_err(|e| file_err(path, e))?;
    let bundle = Bundle::from_bytes(&bytes).map_err(|e| bundle_err(path, e))?;
    let started = Instant::now();
    let report = verify_bundle(&bundle, &pins, &|| started.elapsed().as_secs_f64() * 1e3)
        .map_err(|e| bundle_err(path, e))?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print_report(&report);
    }
    Ok(report)
}

fn print_report(r: &Report) {
    println!("model hash:  {}", r.model_hash);
    println!("keys digest: {}", r.keys_digest);
    for s in &r.shards {
        let k = s.k.map_or("?".to_string(), |k| k.to_string());
        match s.status {
            ShardStatus::Verified => {
                println!("shard {}: verified (k = {k}, {:.1} ms)", s.index, s.ms)
            }
            ShardStatus::NotSampled => {
                println!("shard {}: not sampled (open to challenge)", s.index)
            }
            ShardStatus::Rejected => println!(
                "shard {}: REJECTED: {}",
                s.index,
                s.error.as_deref().unwrap_or("")
            ),
        }
    }
    let shown: Vec<String> = r.output.values.iter().map(|v| format!("{v:.3}")).collect();
    println!(
        "claimed output {}: [{}]{}",
        r.output.name,
        shown.join(", "),
        r.output
            .argmax
            .map(|a| format!(" (argmax {a})"))
            .unwrap_or_default()
    );
    if let Some(a) = &r.audit {
        println!(
            "audit: shards {:?} of {} proven; one wrong shard is caught with probability {:.3}",
            a.sample, a.shards, a.detection_one
        );
    }
    match &r.error {
        None => println!(
            "verified: {} of {} shard(s) in {:.1} ms",
            if r.kind == "audit" {
                "the audited sample"
            } else {
                "the linked chain"
            },
            r.shards.len(),
            r.verify_ms
        ),
        Some(e) => println!("NOT verified: {e}"),
    }
}

/// The page's files, in memory.
struct Site {
    files: Vec<(&'static str, &'static str, Vec<u8>)>,
}

/// The page's files, relative to the web folder, with their content types.
const SITE_FILES: &[(&str, &str, &str)] = &[
    ("/", "index.html", "text/html; charset=utf-8"),
    ("/index.html", "index.html", "text/html; charset=utf-8"),
    ("/app.js", "app.js", "text/javascript; charset=utf-8"),
    ("/worker.js", "worker.js", "text/javascript; charset=utf-8"),
    ("/sw.js", "sw.js", "text/javascript; charset=utf-8"),
    (
        "/pkg/zkinf_web.js",
        "pkg/zkinf_web.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "/pkg/zkinf_web_bg.wasm",
        "pkg/zkinf_web_bg.wasm",
        "application/wasm",
    ),
];

/// Where the page is: `--web`, `$ZKINF_WEB_DIR`, `./web`, or `web/` in a
/// folder above the executable (a checkout's `target/release/zkinf`).
fn find_web_dir(given: Option<&Path>) -> Result<PathBuf, ProvingError> {
    let built =
        |d: &Path| d.join("index.html").is_file() && d.join("pkg/zkinf_web_bg.wasm").is_file();
    let mut tried: Vec<PathBuf> = Vec::new();
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(d) = given {
        candidates.push(d.to_path_buf());
    } else {
        if let Some(d) = std::env::var_os("ZKINF_WEB_DIR") {
            candidates.push(PathBuf::from(d));
        }
        candidates.push(PathBuf::from("web"));
        if let Ok(exe) = std::env::current_exe() {
            candidates.extend(exe.ancestors().skip(1).take(4).map(|a| a.join("web")));
        }
    }
    for d in candidates {
        if built(&d) {
            return Ok(d);
        }
        tried.push(d);
    }
    let tried: Vec<String> = tried.iter().map(|d| d.display().to_string()).collect();
    Err(ProvingError::Setup(format!(
        "the web verifier is not built (no index.html and pkg/zkinf_web_bg.wasm in {}): run `bash scripts/build-web.sh`",
        tried.join(", ")
    )))
}

/// `zkinf serve-web BUNDLE --port P [--web DIR]`: serves the page and the
/// bundle on 127.0.0.1 until interrupted.
pub fn serve_web(bundle_path: &Path, port: u16, web: Option<&Path>) -> Result<(), ProvingError> {
    let bytes = std::fs::read(bundle_path).map_err(|e| file_err(bundle_path, e))?;
    Bundle::from_bytes(&bytes).map_err(|e| bundle_err(bundle_path, e))?;
    let dir = find_web_dir(web)?;
    let mut site = Site { files: Vec::new() };
    for &(route, file, ctype) in SITE_FILES {
        let p = dir.join(file);
        site.files.push((
            route,
            ctype,
            std::fs::read(&p).map_err(|e| file_err(&p, e))?,
        ));
    }
    site.files
        .push(("/bundle.zkinf", "application/octet-stream", bytes));
    let listener = TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| ProvingError::Setup(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ProvingError::Setup(e.to_string()))?;
    println!(
        "serving the web verifier and {} at http://{addr}/?bundle=bundle.zkinf (Ctrl-C to stop)",
        bundle_path.display()
    );
    let _ = std::io::stdout().flush();
    let site = std::sync::Arc::new(site);
    for stream in listener.incoming().flatten() {
        let site = site.clone();
        std::thread::spawn(move || {
            let _ = answer(stream, &site);
        });
    }
    Ok(())
}

/// Answers one HTTP/1.1 request (GET or HEAD of a known file) and closes.
fn answer(mut stream: TcpStream, site: &Site) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    // the request line and headers: at most 16 KiB are read
    let mut reader = BufReader::new(std::io::Read::take(stream.try_clone()?, 16 << 10));
    let mut line = String::new();
    reader.read_line(&mut line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split(['?', '#']).next().unwrap_or("");
    let (status, ctype, body): (&str, &str, &[u8]) = if method != "GET" && method != "HEAD" {
        (
            "405 Method Not Allowed",
            "text/plain",
            b"method not allowed\n",
        )
    } else {
        match site.files.iter().find(|(r, _, _)| *r == path) {
            Some((_, ctype, body)) => ("200 OK", ctype, body),
            None => ("404 Not Found", "text/plain", b"not found\n"),
        }
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    if method != "HEAD" {
        stream.write_all(body)?;
    }
    stream.flush()
}
