//! What an auditor embeds: verify a proven zkinf folder with the library
//! alone (no CLI), from the files a prover publishes.
//!
//!     cargo run -p zkinf-verifier --example audit -- DIR SRS_FILE
//!
//! `DIR` is a folder after `zkinf prove` (`plan.bin`, `keys/shard-N.vk`,
//! `proofs/shard-N.proof`); `SRS_FILE` the KZG SRS the keys were made with
//! (halo2 raw format; with `--dev-srs` it is `~/.cache/zkinf/srs/dev-srs-kK.bin`).
//! The model identity is recomputed from `plan.bin`, so a proof of another
//! model is rejected; the chain's input and output commitments are printed
//! for comparison with the ones the auditor computes from the claimed input
//! and output (`zkinf_circuits::poseidon::commit_tensor`).

use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::halo2curves::ff::PrimeField;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use std::path::Path;
use zkinf_circuits::{shard::model_id, CheckedPlan, Plan};
use zkinf_verifier::{
    keys_digest_of, read_verifying_key, verify_chain, ShardProof, SrsByK, SrsVerifierPart,
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 2 {
        eprintln!("usage: audit DIR SRS_FILE");
        std::process::exit(2);
    }
    if let Err(e) = audit(Path::new(&args[0]), Path::new(&args[1])) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn audit(dir: &Path, srs_file: &Path) -> Result<(), String> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let plan = Plan::from_bytes(&read(&dir.join("plan.bin"))?).map_err(|e| e.to_string())?;
    let plan = CheckedPlan::new(plan).map_err(|e| e.to_string())?;
    let mut vks = Vec::new();
    let mut vk_files = Vec::new();
    let mut proofs = Vec::new();
    while dir.join(format!("keys/shard-{}.vk", vks.len())).is_file() {
        let i = vks.len();
        let bytes = read(&dir.join(format!("keys/shard-{i}.vk")))?;
        vks.push(read_verifying_key(&bytes).map_err(|e| format!("shard {i}: {e}"))?);
        vk_files.push(bytes);
        proofs.push(
            ShardProof::from_bytes(&read(&dir.join(format!("proofs/shard-{i}.proof")))?)
                .map_err(|e| format!("shard {i}: {e}"))?,
        );
    }
    let srs =
        ParamsKZG::<Bn256>::read_custom(&mut read(srs_file)?.as_slice(), SerdeFormat::RawBytes)
            .map_err(|e| format!("{}: not a KZG SRS ({e})", srs_file.display()))?;
    // the keys are the folder's own: the digest says which they are
    let keys = keys_digest_of(
        &SrsVerifierPart::of(&srs),
        vk_files.iter().map(Vec::as_slice),
    );
    let srs = SrsByK::from_full(&srs, vks.iter().map(|vk| vk.get_domain().k()));
    let started = std::time::Instant::now();
    verify_chain(&srs, &vks, &proofs, model_id(&plan), None, None).map_err(|e| e.to_string())?;
    let hex = |f: halo2_proofs::halo2curves::bn256::Fr| {
        f.to_repr()
            .iter()
            .rev()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    println!(
        "verified {} linked shard(s) of model {} in {:.1} ms",
        proofs.len(),
        plan.hash_hex(),
        started.elapsed().as_secs_f64() * 1e3
    );
    if let (Some(first), Some(last)) = (proofs.first(), proofs.last()) {
        println!("input commitment:  0x{}", hex(first.input_commitment()));
        println!("output commitment: 0x{}", hex(last.output_commitment()));
    }
    println!(
        "keys digest: {} (the folder's own keys: trust the verdict only if this and the model hash equal the ones the model owner published)",
        zkinf_verifier::hex(&keys)
    );
    Ok(())
}
