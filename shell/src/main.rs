//! The `waldb` shell.

fn main() {
    println!("waldb {}", env!("CARGO_PKG_VERSION"));
}
