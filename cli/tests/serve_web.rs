//! `zkinf serve-web`: the page's files and the bundle over HTTP on
//! 127.0.0.1 (a stand-in page, raw TCP requests: content types, exact bytes,
//! 404 for anything else, 405 for other methods), and refusals to start
//! without a bundle, a page or a free port, each with one line.

mod common;

use common::proven::*;
use common::s;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

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
        ("worker.js", b"// stand-in verifier worker\n".to_vec()),
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
    assert_eq!(r.body, page[5].1);
    for (path, file) in [
        ("/app.js", 1),
        ("/sw.js", 2),
        ("/worker.js", 3),
        ("/pkg/zkinf_web.js", 4),
    ] {
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
