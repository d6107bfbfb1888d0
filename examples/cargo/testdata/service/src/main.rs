// Proves the C code ran on the target: a SHA-256 computed by ring's C and
// assembly, and the OpenSSL version string from the target's libssl. The
// other crates are there to make a dependency graph of a real service's
// size (clap, tokio, serde, regex, env_logger...).
use serde::Serialize;

#[derive(Serialize)]
struct Report {
    arch: &'static str,
    sha256: String,
}

fn main() {
    env_logger::init();
    let args = clap::Command::new("service").arg(clap::Arg::new("input").default_value("crossllb")).get_matches();
    let input = args.get_one::<String>("input").unwrap();
    let digest = ring::digest::digest(&ring::digest::SHA256, input.as_bytes());
    let sha256 = hex::encode(digest.as_ref());
    assert!(regex::Regex::new("^[0-9a-f]{64}$").unwrap().is_match(&sha256));
    log::info!("base64 {}", base64::encode(digest.as_ref()));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let report = rt.block_on(async { Report { arch: std::env::consts::ARCH, sha256 } });
    println!("{} {}", serde_json::to_string(&report).unwrap(), openssl::version::version());
}
