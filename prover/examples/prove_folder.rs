//! The whole pipeline through the library, without the `zkinf` binary:
//! compile an ONNX model into a folder, set up its keys (a development SRS,
//! cached), prove an input, and verify the proofs into a report.
//!
//!     cargo run -p zkinf-prover --example prove_folder [-- MODEL.onnx INPUT.json DIR]
//!
//! Without arguments: the bundled int8 digits CNN, its sample input, and
//! the folder `zkinf-example` in the system's temporary folder. An existing
//! compiled folder is proven as it is when MODEL.onnx is `-`.

use std::path::PathBuf;
use zkinf_compiler::CompileOptions;
use zkinf_prover::{
    compile_to_folder, prove_folder, setup, verify_folder, Folder, Progress, SrsSource,
};
use zkinf_verifier::Pins;

/// Progress lines on stderr.
struct Log;

impl Progress for Log {
    fn step(&mut self, what: &str) {
        eprintln!("... {what}");
    }
    fn done(&mut self) {}
    fn note(&mut self, msg: &str) {
        eprintln!("note: {msg}");
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (model, input, dir) = match args.as_slice() {
        [m, i, d] => (m.clone(), PathBuf::from(i), PathBuf::from(d)),
        [] => (
            root.join("models/digits/cnn_int8_qdq.onnx")
                .display()
                .to_string(),
            root.join("models/digits/cnn_int8_qdq.input.json"),
            std::env::temp_dir().join("zkinf-example"),
        ),
        _ => return Err("usage: prove_folder [MODEL.onnx|- INPUT.json DIR]".into()),
    };
    if model != "-" {
        let compiled =
            compile_to_folder(model.as_ref(), &CompileOptions::default(), u64::MAX, &dir)?;
        println!(
            "compiled {} into {} shard(s), model hash {}",
            compiled.report.source,
            compiled.report.shards.shards.as_ref().map_or(0, Vec::len),
            compiled.report.model_hash
        );
    }
    let folder = Folder::new(&dir);
    let keys = setup(&folder, SrsSource::dev(), None, &mut Log)?;
    println!("keys digest {}", keys.keys_digest());
    let proved = prove_folder(&folder, &input, None, None, &mut Log)?;
    println!(
        "proved {} shard(s) in {:.1} s",
        proved.proved.len(),
        proved.secs
    );
    // pinned to the values the setup published: the verdict is "pinned"
    let pins = Pins {
        model_hash: Some(keys.record.model_hash.clone()),
        keys_digest: Some(keys.keys_digest().to_string()),
        ..Pins::default()
    };
    let report = verify_folder(&folder, Some(&input), None, &pins)?;
    println!("{}", report.verdict);
    if report.verified {
        Ok(())
    } else {
        Err("not verified".into())
    }
}
