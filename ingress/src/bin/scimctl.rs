//! `scimctl`: operator commands against the database (migrations, directories).

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use scim_shared::config::DatabaseConfig;
use scim_shared::db::{self, directories};
use serde_json::json;

#[derive(Parser)]
#[command(name = "scimctl", about = "Administer the SCIM provisioning service")]
struct Cli {
    #[command(flatten)]
    database: DatabaseConfig,
    /// Public URL of the ingress, used to print SCIM base URLs.
    #[arg(
        long,
        env = "PUBLIC_BASE_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    public_base_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending database migrations.
    Migrate,
    /// Directories: one per identity-provider connection.
    Directory {
        #[command(subcommand)]
        command: DirectoryCommand,
    },
}

#[derive(Subcommand)]
enum DirectoryCommand {
    /// Create a directory and print its SCIM base URL and a new bearer token (shown only now).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value_t = Idp::Generic)]
        idp: Idp,
        /// Print one JSON object: id, scim_base_url, token.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Idp {
    Okta,
    Entra,
    Generic,
}

impl Idp {
    fn as_str(self) -> &'static str {
        match self {
            Idp::Okta => "okta",
            Idp::Entra => "entra",
            Idp::Generic => "generic",
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let pool = db::connect(&cli.database)
        .await
        .context("connecting to Postgres")?;
    match cli.command {
        Command::Migrate => {
            db::migrate(&pool).await?;
            println!("migrations applied");
        }
        Command::Directory {
            command: DirectoryCommand::Create { name, idp, json },
        } => {
            db::migrate(&pool).await?;
            let mut tx = pool.begin().await?;
            let dir = directories::create(&mut *tx, &name, idp.as_str()).await?;
            let token = directories::issue_token(&mut *tx, dir.id).await?;
            tx.commit().await?;
            let base_url = format!(
                "{}/scim/v2/{}",
                cli.public_base_url.trim_end_matches('/'),
                dir.id
            );
            if json {
                println!(
                    "{}",
                    json!({"id": dir.id, "scim_base_url": base_url, "token": token.token})
                );
            } else {
                println!("directory:     {} ({})", dir.name, dir.id);
                println!("SCIM base URL: {base_url}");
                println!("bearer token:  {}", token.token);
                println!("The token is shown only now; store it in the identity provider.");
            }
        }
    }
    Ok(())
}
