//! `scimctl`: the operator's command line. Everything but `migrate` goes through the
//! ingress's admin API (`ADMIN_URL`, authenticated with `ADMIN_TOKEN`), so every change
//! is audited and announced like any other admin action.

mod client;
mod directory;
mod hold;
mod logs;
mod manual;
mod output;
mod roles;
mod team;
mod token;
mod undelivered;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use scim_store::DatabaseConfig;
use std::process::ExitCode;
use uuid::Uuid;

use client::{Admin, Failure};
use output::Format;

#[derive(Parser)]
#[command(name = "scimctl", about = "Administer the SCIM provisioning service")]
struct Cli {
    /// The ingress's admin API.
    #[arg(
        long,
        env = "ADMIN_URL",
        default_value = "http://127.0.0.1:8090",
        global = true
    )]
    admin_url: String,
    /// An operator token (the first, if several are given comma-separated).
    #[arg(
        long,
        env = "ADMIN_TOKEN",
        default_value = "",
        hide_env_values = true,
        global = true
    )]
    admin_token: String,
    /// Who you are, for the audit log.
    #[arg(long, env = "SCIMCTL_ACTOR", global = true)]
    actor: Option<String>,
    /// How to print results: lines for a person, the API's JSON, or a table.
    #[arg(long, value_enum, default_value_t = Format::Text, global = true)]
    output: Format,
    /// Print the API's JSON (the same as --output json).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending database migrations (directly against the database).
    Migrate {
        #[command(flatten)]
        database: DatabaseConfig,
    },
    /// Print a shell's completion script (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
    /// Print scimctl's manual page (roff): `scimctl man > scimctl.1`.
    Man,
    #[command(flatten)]
    Api(ApiCommand),
}

/// The commands that go through the admin API.
#[derive(Subcommand)]
enum ApiCommand {
    /// Directories: one per identity-provider connection.
    Directory {
        #[command(subcommand)]
        command: directory::Command,
    },
    /// A directory's SCIM bearer tokens.
    Token {
        #[command(subcommand)]
        command: token::Command,
    },
    /// Teams and how provisioning fills them.
    Team {
        #[command(subcommand)]
        command: team::Command,
    },
    /// The product's roles, group → role mappings and members' roles.
    Roles {
        #[command(subcommand)]
        command: roles::Command,
    },
    /// The directory's SCIM requests, newest first.
    Requests(logs::Requests),
    /// The product's members of a directory and their teams.
    Members(logs::Members),
    /// Events the worker gave up on.
    DeadLetters {
        #[command(subcommand)]
        command: undelivered::DeadLetters,
    },
    /// Events the relay set aside because NATS refused them for good.
    Outbox {
        #[command(subcommand)]
        command: undelivered::Outbox,
    },
    /// Admin actions, newest first.
    Audit(logs::Audit),
}

/// The directory a command is about.
#[derive(Args)]
struct DirectoryRef {
    /// The directory's id.
    #[arg(long)]
    directory: Uuid,
}

impl DirectoryRef {
    /// The directory's path in the admin API.
    fn path(&self) -> String {
        format!("/directories/{}", self.directory)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(e.downcast_ref::<Failure>().map_or(1, Failure::exit_code))
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = match cli.command {
        Command::Migrate { database } => {
            let pool = scim_store::connect(&database, "scimctl")
                .await
                .context("connecting to Postgres")?;
            scim_store::migrate(&pool).await?;
            println!("migrations applied");
            return Ok(());
        }
        Command::Completions { shell } => return manual::completions(shell),
        Command::Man => return manual::page(),
        Command::Api(command) => command,
    };
    let token = cli
        .admin_token
        .split(',')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if token.is_empty() {
        return Err(Failure::Unauthorized("no operator token".into()).into());
    }
    let actor = cli
        .actor
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "scimctl".into());
    let admin = Admin::new(&cli.admin_url, token, actor);
    let output = match command {
        ApiCommand::Directory { command } => directory::run(&admin, command).await?,
        ApiCommand::Token { command } => token::run(&admin, command).await?,
        ApiCommand::Team { command } => team::run(&admin, command).await?,
        ApiCommand::Roles { command } => roles::run(&admin, command).await?,
        ApiCommand::Requests(args) => logs::requests(&admin, args).await?,
        ApiCommand::Members(args) => logs::members(&admin, args).await?,
        ApiCommand::DeadLetters { command } => undelivered::dead_letters(&admin, command).await?,
        ApiCommand::Outbox { command } => undelivered::outbox(&admin, command).await?,
        ApiCommand::Audit(args) => logs::audit(&admin, args).await?,
    };
    output.print(if cli.json { Format::Json } else { cli.output });
    Ok(())
}

/// The command line, for its completions and manual page.
fn cli() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}
