//! `zkinf serve-web`: the web verifier's page and one bundle over HTTP on
//! 127.0.0.1 (std only: GET and HEAD of a fixed list of files, 404
//! otherwise; at most 16 KiB of a request's line and headers are read).

use crate::error::ProveError;
use crate::folder::read_file;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use zkinf_verifier::Bundle;

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

/// The page's files in memory: (route, content type, body).
pub struct Site {
    files: Vec<(&'static str, &'static str, Vec<u8>)>,
}

/// Where the built page is: `given`, else `$ZKINF_WEB_DIR`, `./web`, `web/`
/// in a folder above the executable, or the `web/` of the source tree this
/// zkinf was built from (wherever cargo put the executable).
pub fn find_web_dir(given: Option<&Path>) -> Result<PathBuf, ProveError> {
    let built =
        |d: &Path| d.join("index.html").is_file() && d.join("pkg/zkinf_web_bg.wasm").is_file();
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
        candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../web"));
    }
    if let Some(d) = candidates.iter().find(|d| built(d)) {
        return Ok(d.clone());
    }
    let tried: Vec<String> = candidates.iter().map(|d| d.display().to_string()).collect();
    Err(ProveError::NoPage {
        tried: tried.join(", "),
    })
}

impl Site {
    /// The page in `web` (see [`find_web_dir`]) and the bundle at `bundle`
    /// (checked to be one) as `/bundle.zkinf`.
    pub fn load(bundle: &Path, web: &Path) -> Result<Site, ProveError> {
        let bytes = read_file(bundle)?;
        Bundle::from_bytes(&bytes).map_err(|source| ProveError::Bundle {
            path: bundle.to_path_buf(),
            source,
        })?;
        let mut files = Vec::new();
        for &(route, file, ctype) in SITE_FILES {
            files.push((route, ctype, read_file(&web.join(file))?));
        }
        files.push(("/bundle.zkinf", "application/octet-stream", bytes));
        Ok(Site { files })
    }
}

/// Listens on 127.0.0.1:`port` (0: any free port).
pub fn listen(port: u16) -> Result<TcpListener, ProveError> {
    TcpListener::bind(("127.0.0.1", port)).map_err(|source| ProveError::Listen { port, source })
}

/// Serves `site` on `listener` until the process ends, a thread per
/// connection.
pub fn serve(listener: TcpListener, site: Site) {
    let site = std::sync::Arc::new(site);
    for stream in listener.incoming().flatten() {
        let site = site.clone();
        std::thread::spawn(move || {
            let _ = answer(stream, &site);
        });
    }
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
