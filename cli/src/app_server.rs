//! Serves the bridge page for `ghostbridge devnet`: the static files of `app/dist` (built by
//! `cd app && npm ci && npm run build`) and a generated `/config.json` (both chains with their
//! RPC URL and deployment JSON, the status API URL, and the devnet's demo account key) on
//! `127.0.0.1:<port base + 24>`, the origin the relayer's status API allows (CORS).
//!
//! Through the bounded listener every daemon uses ([`ghostbridge_agent::listener`]). Only `GET`
//! and `HEAD`; a path is served only when each segment is a plain file name (letters, digits,
//! `.`, `-`, `_`, not starting with `.`) with a known extension (html, js, css, png, svg, ico,
//! map, txt) and the file, symlinks resolved, lies inside `app/dist`; anything else is a 404.
//! The answers carry a Content-Security-Policy that allows connections only to the devnet's
//! own RPC and API URLs, so the page cannot reach anything else.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use ghostbridge_core::config::ListenerLimits;
use tokio_util::sync::CancellationToken;

use crate::devnet::{Devnet, USER_KEY};

/// Offset of the page's port above the devnet's port base (the status API's CORS origin).
pub const APP_PORT_OFFSET: u16 = 24;

/// Largest request body: the page server is GET-only.
const MAX_BODY: usize = 1024;

/// The running page server; dropping it stops it.
#[derive(Debug)]
pub struct AppServer {
    /// Where the page is served (`http://127.0.0.1:<port>/`).
    pub url: String,
    shutdown: CancellationToken,
}

impl Drop for AppServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

#[derive(Debug, Clone)]
struct Site {
    dist: PathBuf,
    config: Arc<Vec<u8>>,
    csp: HeaderValue,
}

/// The page's address for a devnet: `127.0.0.1:<port base + 24>`.
pub fn app_addr(devnet: &Devnet) -> Option<SocketAddr> {
    let port = devnet.opts.port_base.checked_add(APP_PORT_OFFSET)?;
    Some(SocketAddr::from(([127, 0, 0, 1], port)))
}

/// The `/config.json` the page reads: chains (id, RPC, deployment JSON), the status API, and the
/// devnet's demo account key (public, like every anvil key).
pub fn devnet_config(devnet: &Devnet) -> anyhow::Result<serde_json::Value> {
    let mut chains = Vec::new();
    for c in &devnet.chains {
        let path = devnet.opts.dir.join(format!("{}.json", c.chain_id));
        let deployment: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        chains.push(serde_json::json!({
            "chainId": c.chain_id,
            "name": format!("devnet {}", c.chain_id),
            "rpcUrl": c.rpc,
            "deployment": deployment,
        }));
    }
    Ok(serde_json::json!({
        "network": "devnet",
        "chains": chains,
        "apiUrl": devnet.api_url(),
        "devAccountKey": USER_KEY,
    }))
}

/// Starts serving `app/dist` for `devnet` if it was built; prints a one-line hint (and returns
/// `None`) when it was not, or when the port cannot be had.
pub async fn start_for(devnet: &Devnet) -> Option<AppServer> {
    let dist = devnet.opts.root.join("app/dist");
    if !dist.join("index.html").is_file() {
        if devnet.opts.verbose {
            println!("bridge page: not built; build the page: (cd app && npm ci && npm run build)");
        }
        return None;
    }
    let addr = app_addr(devnet)?;
    let config = match devnet_config(devnet) {
        Ok(c) => c,
        Err(e) => {
            println!("bridge page: not served: cannot write its config: {e:#}");
            return None;
        }
    };
    let mut connect = vec!["'self'".to_owned(), devnet.api_url()];
    connect.extend(devnet.chains.iter().map(|c| c.rpc.clone()));
    match serve(&dist, addr, &config, &connect).await {
        Ok(s) => Some(s),
        Err(e) => {
            println!("bridge page: not served: {e:#}");
            None
        }
    }
}

/// Serves the files of `dist` and `config` as `/config.json` on `addr`; `connect` are the
/// origins the page may fetch from (its CSP `connect-src`).
pub async fn serve(
    dist: &Path,
    addr: SocketAddr,
    config: &serde_json::Value,
    connect: &[String],
) -> anyhow::Result<AppServer> {
    let dist = std::fs::canonicalize(dist)?;
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src {}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        connect.join(" ")
    );
    let site = Site {
        dist,
        config: Arc::new(serde_json::to_vec_pretty(config)?),
        csp: HeaderValue::from_str(&csp)?,
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} (bridge page): {e}"))?;
    let bound = listener.local_addr()?;
    let shutdown = CancellationToken::new();
    let limits = ListenerLimits {
        max_body_bytes: MAX_BODY,
        ..ListenerLimits::default()
    };
    tokio::spawn(ghostbridge_agent::listener::serve(
        "app",
        listener,
        router(site),
        None,
        limits,
        shutdown.clone(),
    ));
    Ok(AppServer {
        url: format!("http://{bound}/"),
        shutdown,
    })
}

fn router(site: Site) -> Router {
    Router::new().fallback(handle).with_state(site)
}

/// The content type of a served extension; `None`: not served.
fn content_type(ext: &str) -> Option<&'static str> {
    Some(match ext {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        _ => return None,
    })
}

/// The file under `dist` a URL path names, if it is a plain one (no traversal, no hidden files).
fn file_for(dist: &Path, url_path: &str) -> Option<(PathBuf, &'static str)> {
    let rel = url_path.strip_prefix('/')?;
    let rel = if rel.is_empty() { "index.html" } else { rel };
    let mut path = dist.to_path_buf();
    for seg in rel.split('/') {
        let plain = !seg.is_empty()
            && !seg.starts_with('.')
            && seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        if !plain {
            return None;
        }
        path.push(seg);
    }
    let ext = path.extension()?.to_str()?;
    let ctype = content_type(ext)?;
    Some((path, ctype))
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

async fn handle(State(site): State<Site>, req: Request) -> Response {
    let method = req.method().clone();
    let mut resp = if method != Method::GET && method != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        r
    } else if req.uri().path() == "/config.json" {
        (
            [(header::CONTENT_TYPE, "application/json")],
            Body::from(site.config.as_ref().clone()),
        )
            .into_response()
    } else {
        match read(&site.dist, req.uri().path()).await {
            Some((bytes, ctype)) => ([(header::CONTENT_TYPE, ctype)], bytes).into_response(),
            None => plain(StatusCode::NOT_FOUND, "not found\n"),
        }
    };
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CONTENT_SECURITY_POLICY, site.csp.clone());
    // HEAD: the server drops the body and keeps its Content-Length.
    resp
}

/// Reads the file a URL path names, refusing one whose real path (symlinks resolved) leaves `dist`.
async fn read(dist: &Path, url_path: &str) -> Option<(Vec<u8>, &'static str)> {
    let (path, ctype) = file_for(dist, url_path)?;
    let real = tokio::fs::canonicalize(&path).await.ok()?;
    if !real.starts_with(dist) || !tokio::fs::metadata(&real).await.ok()?.is_file() {
        return None;
    }
    let bytes = tokio::fs::read(&real).await.ok()?;
    Some((bytes, ctype))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_plain_files_with_known_extensions() {
        let d = Path::new("/srv/dist");
        assert_eq!(
            file_for(d, "/").unwrap(),
            (d.join("index.html"), "text/html; charset=utf-8")
        );
        assert_eq!(
            file_for(d, "/app.js").unwrap().1,
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            file_for(d, "/img/logo.svg").unwrap().0,
            d.join("img/logo.svg")
        );
        for bad in [
            "/../etc/passwd",
            "/..",
            "/a/../../x.js",
            "/.env",
            "/x/.hidden.js",
            "//etc/passwd.js",
            "/a//b.js",
            "/%2e%2e/x.js",
            "/a\\..\\b.js",
            "/noext",
            "/x.exe",
            "/x.json",
            "",
        ] {
            assert!(file_for(d, bad).is_none(), "{bad:?} must not be served");
        }
    }

    #[tokio::test]
    async fn serves_dist_and_config_and_nothing_else() {
        let tmp = std::env::temp_dir().join(format!("gb-app-test-{}", std::process::id()));
        let dist = tmp.join("dist");
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(dist.join("index.html"), "<!doctype html>hi").unwrap();
        std::fs::write(dist.join("app.js"), "1").unwrap();
        std::fs::write(tmp.join("secret.js"), "secret").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(tmp.join("secret.js"), dist.join("link.js")).unwrap();
        let cfg = serde_json::json!({"apiUrl": "http://127.0.0.1:1"});
        let s = serve(
            &dist,
            "127.0.0.1:0".parse().unwrap(),
            &cfg,
            &["'self'".into()],
        )
        .await
        .unwrap();
        let get = |p: &str| reqwest::get(format!("{}{}", s.url, p.trim_start_matches('/')));
        let r = get("/").await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        assert!(r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("connect-src 'self'"));
        assert_eq!(r.text().await.unwrap(), "<!doctype html>hi");
        let r = get("/app.js").await.unwrap();
        assert_eq!(
            r.headers()["content-type"],
            "text/javascript; charset=utf-8"
        );
        let r = get("/config.json").await.unwrap();
        assert_eq!(r.json::<serde_json::Value>().await.unwrap(), cfg);
        for p in [
            "/link.js",
            "/missing.js",
            "/..%2fsecret.js",
            "/%2e%2e/secret.js",
        ] {
            assert_eq!(get(p).await.unwrap().status(), 404, "{p}");
        }
        let r = reqwest::Client::new()
            .head(format!("{}index.html", s.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-length"], "17");
        assert_eq!(r.bytes().await.unwrap().len(), 0);
        let r = reqwest::Client::new()
            .post(format!("{}app.js", s.url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405);
        drop(s);
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
