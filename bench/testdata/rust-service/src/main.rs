// The bench's Rust service: it answers one HTTP request on 127.0.0.1 with
// a JSON report (its architecture, a SHA-256 computed by ring's C and
// assembly, the OpenSSL version of the target's libssl, the TLS versions
// rustls offers) and exits.
use serde::Serialize;
use std::convert::Infallible;

#[derive(Serialize)]
struct Report {
    arch: &'static str,
    sha256: String,
    openssl: &'static str,
    tls: Vec<String>,
}

fn report(input: &str) -> Report {
    let digest = ring::digest::digest(&ring::digest::SHA256, input.as_bytes());
    let sha256 = hex::encode(digest.as_ref());
    assert!(regex::Regex::new("^[0-9a-f]{64}$").unwrap().is_match(&sha256));
    log::info!("base64 {}", base64::encode(digest.as_ref()));
    let tls = rustls::ALL_VERSIONS.iter().map(|v| format!("{:?}", v.version)).collect();
    Report { arch: std::env::consts::ARCH, sha256, openssl: openssl::version::version(), tls }
}

fn main() {
    env_logger::init();
    let args = clap::Command::new("service").arg(clap::Arg::new("input").default_value("crossllb")).get_matches();
    let input = args.get_one::<String>("input").unwrap().clone();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let body = rt.block_on(async move {
        let make = hyper::service::make_service_fn(move |_| {
            let input = input.clone();
            async move {
                Ok::<_, Infallible>(hyper::service::service_fn(move |_req| {
                    let json = serde_json::to_string(&report(&input)).unwrap();
                    async move { Ok::<_, Infallible>(hyper::Response::new(hyper::Body::from(json))) }
                }))
            }
        });
        let server = hyper::Server::bind(&([127, 0, 0, 1], 0).into()).serve(make);
        let addr = server.local_addr();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(server.with_graceful_shutdown(async {
            rx.await.ok();
        }));
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        stream.write_all(b"GET / HTTP/1.1\r\nHost: service\r\nConnection: close\r\n\r\n").await.unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).await.unwrap();
        tx.send(()).ok();
        server.await.unwrap().unwrap();
        out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string()
    });
    println!("{}", body);
}
