//! The `switchboard` binary: one executable for the server and its tools.

use std::net::SocketAddr;
use std::path::PathBuf;

use std::io::Write;

mod ask;
mod eval;
mod knowledge;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use switchboard_server::domain::{Email, Name, Password, bootstrap_org};
use switchboard_server::{Application, Settings, telemetry};

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "AI customer-support agents: knowledge, agents, conversations, channels"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API, the web apps and the background workers.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on (overrides [server] listen).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Create an organization with its owner and the owner's first API key.
    Init {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        /// Print {"org_id", "user_id", "api_key"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        common: Common,
    },
    /// Add files and directories to a collection (made when missing) and ingest them here, to the end.
    Ingest(knowledge::IngestArgs),
    /// Search a collection: results with each signal's rank and score, and heading paths.
    Search(knowledge::SearchArgs),
    /// Send an agent one customer message: the reply, outcome, citations, confidence, usage, per-stage timings.
    Ask(ask::AskArgs),
    /// Measure retrieval: quality on a labelled dataset, latency on a collection.
    Eval {
        #[command(subcommand)]
        command: eval::EvalCommand,
    },
    /// Print the documented example configuration.
    DefaultConfig,
    /// Print the version.
    Version,
    /// Print the OpenAPI document (`web/openapi.json` keeps a copy the web client is generated from).
    #[command(hide = true)]
    Openapi,
    /// Give an organization the demo: a collection with the documents of a
    /// folder, an agent answering from it, and a widget deployment allowing
    /// the given origins (run by scripts/serve-demo).
    #[command(name = "demo-setup", hide = true)]
    DemoSetup {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        org_id: String,
        /// A folder of documents, e.g. samples/shop/kb.
        #[arg(long)]
        knowledge: PathBuf,
        /// An origin the demo page is opened at (repeat for several).
        #[arg(long = "origin", required = true)]
        origins: Vec<String>,
        /// Print {"collection_id", "agent_id", "deployment_id", "identity_secret", "documents"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Parse one document from stdin under memory and time limits (run by the
    /// ingestion workers, not by people).
    #[command(name = "extract-worker", hide = true)]
    ExtractWorker,
}

#[derive(Args)]
pub(crate) struct Common {
    /// Data directory (SQLite database, stored files). Overrides `data_dir`.
    #[arg(long)]
    data: Option<PathBuf>,
    /// A TOML configuration file (see `switchboard default-config`).
    #[arg(long, env = "SWITCHBOARD_CONFIG")]
    config: Option<PathBuf>,
}

impl Common {
    pub(crate) fn settings(&self) -> anyhow::Result<Settings> {
        let mut settings = Settings::load(self.config.as_deref()).context("reading settings")?;
        if let Some(data) = &self.data {
            settings.data_dir = data.clone();
        }
        Ok(settings)
    }
}

pub(crate) async fn open_store(settings: &Settings) -> anyhow::Result<std::sync::Arc<dyn switchboard_store::Store>> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating data dir {}", settings.data_dir.display()))?;
    let durability = settings.database.sqlite_synchronous.parse().map_err(anyhow::Error::msg)?;
    switchboard_store::open(&settings.database_url(), settings.database.max_connections, durability)
        .await
        .context("opening the database")
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    let cli = Cli::parse();
    // The parsing child stays single-threaded and starts no runtime: its address-space limit
    // is for the document, not for idle worker threads' stacks.
    if let Command::ExtractWorker = cli.command {
        return Ok(switchboard_server::knowledge::extractor::worker_main());
    }
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run(cli.command))?;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve { common, listen } => {
            let mut settings = common.settings()?;
            if let Some(listen) = listen {
                settings.server.listen = listen;
            }
            telemetry::init(&settings.log);
            let store = open_store(&settings).await?;
            let app = Application::build(settings.clone(), store).await?;
            let url = settings.server.public_url.clone().unwrap_or_else(|| format!("http://{}", app.local_addr()));
            tracing::info!(url, backend = ?app.state().store.backend(), "switchboard listening");
            // Written with errors ignored: a closed stdout must not take the server down.
            let banner = format!(
                "Switchboard {version} listening on {url}\n  \
                 API description: {url}/v1/openapi.json   health: {url}/healthz   ready: {url}/readyz\n  \
                 Log in: POST {url}/v1/auth/login {{\"email\", \"password\"}} as the owner `switchboard init` created,\n  \
                 or call the API with `Authorization: Bearer <api key>` (init prints the owner's first key).\n",
                version = env!("CARGO_PKG_VERSION")
            );
            let mut stdout = std::io::stdout();
            let _ = stdout.write_all(banner.as_bytes()).and_then(|()| stdout.flush());
            app.run_until(shutdown_signal()).await
        }
        Command::Init { common, org, email, password, json } => {
            let settings = common.settings()?;
            let org = Name::parse("org", &org).map_err(|e| anyhow::anyhow!(e.detail))?;
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!(e.detail))?;
            let password = Password::parse(&password).map_err(|e| anyhow::anyhow!(e.detail))?;
            let store = open_store(&settings).await?;
            let done = bootstrap_org(store.as_ref(), &org, &email, &password).await?;
            if json {
                let out = serde_json::json!({"org_id": done.org.id, "user_id": done.user.id, "api_key": done.api_key});
                println!("{out}");
            } else {
                println!("Created organization {} ({})", done.org.name, done.org.id);
                println!("Owner: {} ({})", done.user.email, done.user.id);
                println!("API key (shown once): {}", done.api_key);
            }
            Ok(())
        }
        Command::Migrate { common } => {
            let settings = common.settings()?;
            let store = open_store(&settings).await?;
            println!("migrations applied ({:?})", store.backend());
            Ok(())
        }
        Command::Ingest(args) => knowledge::ingest(args).await,
        Command::Search(args) => knowledge::search_command(args).await,
        Command::Ask(args) => ask::ask(args).await,
        Command::Eval { command } => eval::run(command).await,
        Command::DefaultConfig => {
            print!("{}", switchboard_server::settings::EXAMPLE_TOML);
            Ok(())
        }
        Command::Openapi => {
            print!("{}", switchboard_server::routes::spec_json());
            Ok(())
        }
        Command::DemoSetup { common, org_id, knowledge, origins, json } => {
            let settings = common.settings()?;
            let store = open_store(&settings).await?;
            let sealer = switchboard_server::secrets::Sealer::from_settings(&settings)?;
            let request = switchboard_server::demo::DemoRequest {
                org_id: &org_id,
                knowledge_dir: &knowledge,
                origins: &origins,
                job_max_attempts: settings.knowledge.job_max_attempts,
            };
            let done = switchboard_server::demo::setup(store.as_ref(), &sealer, &request).await?;
            if json {
                let out = serde_json::json!({
                    "collection_id": done.collection_id,
                    "documents": done.documents,
                    "agent_id": done.agent_id,
                    "deployment_id": done.deployment_id,
                    "identity_secret": done.identity_secret,
                });
                println!("{out}");
            } else {
                println!("Collection {} with {} documents (ingested by `serve`)", done.collection_id, done.documents);
                println!("Agent {}", done.agent_id);
                println!("Widget deployment {} for {}", done.deployment_id, origins.join(", "));
                println!("Identity secret (shown once): {}", done.identity_secret);
            }
            Ok(())
        }
        Command::Version => {
            println!("switchboard {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::ExtractWorker => unreachable!("handled before the runtime starts"),
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
