//! What the store's test files share: a fresh database on the backend under
//! test (SQLite in a temporary folder, or a new database on the PostgreSQL
//! server `SWITCHBOARD_TEST_DATABASE_URL` names), and a tenant in it.

use switchboard_store::*;

/// The URL of a fresh, empty database; SQLite files go in `dir`.
pub async fn fresh_url(dir: &tempfile::TempDir) -> String {
    match std::env::var("SWITCHBOARD_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
        Some(base) => {
            use sqlx::Connection;
            let name = format!("sbt_{}", uuid::Uuid::new_v4().simple());
            let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
            format!("{}/{name}", base.rsplit_once('/').unwrap().0)
        }
        None => format!("sqlite://{}", dir.path().join("store.db").display()),
    }
}

/// A new organization named `name`, as a tenant.
pub async fn tenant(store: &dyn Store, name: &str) -> Tenant {
    let (org, _, _) = store
        .bootstrap_org(BootstrapOrg {
            org_name: name.into(),
            owner_email: format!("{}@example.com", uuid::Uuid::new_v4().simple()),
            owner_name: "o".into(),
            owner_password_hash: "x".into(),
            first_key: NewApiKey {
                name: "k".into(),
                prefix: "sb_x".into(),
                key_hash: uuid::Uuid::new_v4().to_string(),
                role: Role::Owner,
                scopes: vec![Scope::Read],
                created_by: None,
            },
        })
        .await
        .unwrap();
    Tenant::new(org.id)
}
