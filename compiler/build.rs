//! Compiles the vendored ONNX schema with protox (pure Rust, no protoc binary).
fn main() {
    println!("cargo:rerun-if-changed=proto/onnx.proto3");
    let fds = protox::compile(["proto/onnx.proto3"], ["proto"]).expect("proto/onnx.proto3 parses");
    prost_build::Config::new()
        .compile_fds(fds)
        .expect("prost code generation");
}
