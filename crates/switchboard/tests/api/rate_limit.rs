//! Per-credential and per-address rate limits answer 429 with Retry-After.

use crate::helpers::*;

#[tokio::test]
async fn per_key_limit_is_429_with_retry_after() {
    let app = spawn_app_with(|s| s.rate_limit.per_key_per_minute = 3).await;
    for _ in 0..3 {
        assert_eq!(app.get("/v1/org", &app.a.key).await.status(), 200);
    }
    let r = app.get("/v1/org", &app.a.key).await;
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_problem(r, 429, "rate-limited").await;
    // Another tenant's key is not affected.
    let b = app.new_tenant("Tenant B").await;
    assert_eq!(app.get("/v1/org", &b.key).await.status(), 200);
}

#[tokio::test]
async fn per_address_limit_is_429_even_without_credentials() {
    let app = spawn_app_with(|s| s.rate_limit.per_ip_per_minute = 5).await;
    for _ in 0..5 {
        app.client.get(app.url("/v1/org")).send().await.unwrap();
    }
    let r = app.client.get(app.url("/v1/org")).bearer_auth(&app.a.key).send().await.unwrap();
    assert!(r.headers().contains_key("retry-after"));
    assert_problem(r, 429, "rate-limited").await;
}
