//! Prints the architecture it was compiled for and the user it runs as:
//! "hello from linux/aarch64 uid=333333 gid=333333".

use std::fs;

/// The real uid or gid from /proc/self/status ("Uid:\t333333\t...").
fn id(field: &str) -> String {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).map(String::from))
        })
        .unwrap_or_else(|| "unknown".to_string())
}

fn main() {
    println!(
        "hello from {}/{} uid={} gid={}",
        std::env::consts::OS,
        std::env::consts::ARCH,
        id("Uid:"),
        id("Gid:")
    );
}
