//! The demo an organization gets from `switchboard demo-setup` (run by
//! `scripts/serve-demo`): a collection holding a sample knowledge base (every
//! file of a folder, queued for ingestion like an upload), an agent answering
//! from it, and a widget deployment allowing the demo page's origins.

use std::path::Path;

use anyhow::Context;
use switchboard_store::{AuditCtx, NewCollection, NewDeployment, Store, Tenant, new_id};

use crate::conversation::agent::AgentConfig;
use crate::knowledge::embedding::DEFAULT_EMBEDDING_MODEL;
use crate::routes::deployments::Appearance;
use crate::secrets::Sealer;
use crate::widget::access::normalize_origins;
use crate::widget::identity;

pub struct DemoSetup {
    pub collection_id: String,
    pub documents: usize,
    pub agent_id: String,
    pub deployment_id: String,
    /// The deployment's identity secret, shown once.
    pub identity_secret: String,
}

pub struct DemoRequest<'a> {
    pub org_id: &'a str,
    /// A folder of documents (the sample shop's `kb/`).
    pub knowledge_dir: &'a Path,
    /// Origins the demo page is reached at.
    pub origins: &'a [String],
    pub job_max_attempts: i32,
}

pub async fn setup(store: &dyn Store, sealer: &Sealer, req: &DemoRequest<'_>) -> anyhow::Result<DemoSetup> {
    let t = Tenant::new(req.org_id);
    store.get_org(&t).await.with_context(|| format!("no organization {}", req.org_id))?;
    let a = AuditCtx::system("demo-setup");
    let origins = normalize_origins(req.origins).map_err(anyhow::Error::msg)?;

    let mut files: Vec<_> = std::fs::read_dir(req.knowledge_dir)
        .with_context(|| format!("reading {}", req.knowledge_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    anyhow::ensure!(!files.is_empty(), "{} holds no documents", req.knowledge_dir.display());

    let collection = store
        .create_collection(
            &t,
            &a,
            &NewCollection {
                name: "Help centre".into(),
                description: "The sample shop's knowledge base".into(),
                embedding_model: DEFAULT_EMBEDDING_MODEL.0.to_owned(),
                embedding_dim: DEFAULT_EMBEDDING_MODEL.1,
                embedding_endpoint: None,
            },
        )
        .await?;
    for file in &files {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let version = crate::knowledge::uploads::file_version(&name, None, bytes, usize::MAX)
            .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        store.add_document_version(&t, &a, &collection.id, &version, req.job_max_attempts).await?;
    }

    let config: AgentConfig = serde_json::from_value(serde_json::json!({
        "name": "Shop assistant",
        "collection_ids": [collection.id],
        "persona": "The friendly support assistant of the shop",
    }))?;
    let config = config.validate().map_err(|e| anyhow::anyhow!(e.detail))?;
    let stored = serde_json::to_value(&config)?;
    let (agent, _) = store.create_agent(&t, &a, &config.name, &stored, &config.collection_ids).await?;

    let id = new_id();
    let secret = identity::mint_secret();
    let appearance = Appearance {
        greeting: Some("Hi! Ask me about orders, returns, shipping or our products.".into()),
        launcher_text: Some("Help".into()),
        ..Appearance::default()
    };
    let deployment = store
        .create_deployment(
            &t,
            &a,
            &NewDeployment {
                sealed_secret: identity::seal(sealer, &id, &secret),
                id,
                agent_id: agent.id.clone(),
                name: "Demo website".into(),
                allowed_origins: origins,
                identity_verification: false,
                appearance: serde_json::to_value(appearance)?,
            },
        )
        .await?;
    Ok(DemoSetup {
        collection_id: collection.id,
        documents: files.len(),
        agent_id: agent.id,
        deployment_id: deployment.id,
        identity_secret: secret,
    })
}
