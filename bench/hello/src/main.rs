//! Axum hello-world for bench/http/run: `GET /` answers "Hello, World!".
//! Usage: bench-hello [ADDR]   (default 127.0.0.1:3000)

use axum::{Router, routing::get};

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let app = Router::new().route("/", get(|| async { "Hello, World!" }));
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    eprintln!("bench-hello listening on {}", listener.local_addr().expect("local addr"));
    axum::serve(listener, app).await.expect("serve");
}
