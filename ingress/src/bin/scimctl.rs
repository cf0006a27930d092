//! `scimctl`: operator commands against the database (migrations, directories, teams).
//! Changes that affect team assignment are recorded with an event in the same
//! transaction; the worker then re-evaluates the affected teams.

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use scim_shared::config::DatabaseConfig;
use scim_shared::db::teams::{self, Source};
use scim_shared::db::{self, directories, outbox};
use scim_shared::event::{Action, Event, ResourceType};
use scim_shared::team::{self as team_logic, Change};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

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
    /// Teams and how provisioning fills them.
    Team {
        #[command(subcommand)]
        command: TeamCommand,
    },
}

#[derive(Args)]
struct TeamRef {
    /// The directory's id.
    #[arg(long)]
    directory: Uuid,
    /// The team's name.
    #[arg(long)]
    team: String,
}

#[derive(Subcommand)]
enum TeamCommand {
    /// Create a team (or find it, if the directory has one of that name).
    Create {
        #[command(flatten)]
        team: TeamRef,
        #[arg(long)]
        json: bool,
    },
    /// Set the group names mapped to a team, spelled exactly as in the identity
    /// provider (repeat --group; none removes the mapping). Members of those groups join.
    Map {
        #[command(flatten)]
        team: TeamRef,
        #[arg(long = "group")]
        groups: Vec<String>,
    },
    /// Add a member by hand; provisioning never removes such a membership.
    AddMember {
        #[command(flatten)]
        team: TeamRef,
        #[arg(long)]
        email: String,
    },
    /// List a team's members with the source of each membership.
    Members {
        #[command(flatten)]
        team: TeamRef,
        #[arg(long)]
        json: bool,
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
    /// Choose how provisioning assigns teams: by group names mapped to teams (the
    /// default), or by the values of a user attribute, creating teams on first use.
    TeamMapping {
        #[arg(long)]
        directory: Uuid,
        /// A URN-qualified extension attribute, e.g.
        /// urn:acme:scim:schemas:2.0:User:group. Omit to map by groups.
        #[arg(long)]
        attribute: Option<String>,
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
        Command::Directory {
            command:
                DirectoryCommand::TeamMapping {
                    directory,
                    attribute,
                },
        } => set_team_mapping(&pool, directory, attribute).await?,
        Command::Team { command } => team(&pool, command).await?,
    }
    Ok(())
}

async fn set_team_mapping(
    pool: &PgPool,
    directory: Uuid,
    attribute: Option<String>,
) -> anyhow::Result<()> {
    if let Some(a) = &attribute
        && team_logic::split_attribute(a).is_none()
    {
        bail!(
            "{a:?} is not a URN-qualified attribute such as urn:acme:scim:schemas:2.0:User:group"
        );
    }
    let mut tx = pool.begin().await?;
    let (previous, version) =
        teams::set_team_attribute(&mut tx, directory, attribute.as_deref()).await?;
    if previous != attribute {
        let event = Event::new(
            directory,
            ResourceType::Directory,
            directory,
            Action::MappingChanged,
            version,
            json!({"id": directory, "team_attribute": attribute}),
            None,
        )
        .with_previous(json_object(json!({"team_attribute": previous})));
        outbox::insert(&mut *tx, &[event]).await?;
    }
    tx.commit().await?;
    match attribute {
        Some(a) => println!("teams now follow the user attribute {a}"),
        None => println!("teams now follow the group mappings"),
    }
    Ok(())
}

fn json_object(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match v {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    }
}

async fn find_team(pool: &PgPool, t: &TeamRef) -> anyhow::Result<teams::Team> {
    teams::by_name(pool, t.directory, &t.team)
        .await?
        .with_context(|| format!("no team {:?} in directory {}", t.team, t.directory))
}

async fn team(pool: &PgPool, command: TeamCommand) -> anyhow::Result<()> {
    match command {
        TeamCommand::Create { team, json } => {
            let created = teams::create(pool, team.directory, &team.team).await?;
            if json {
                println!("{}", json!({"id": created.id, "name": created.name}));
            } else {
                println!("team {} ({})", created.name, created.id);
            }
        }
        TeamCommand::Map { team, groups } => {
            let found = find_team(pool, &team).await?;
            let mut tx = pool.begin().await?;
            let mut groups = groups;
            groups.sort();
            groups.dedup();
            let previous =
                teams::set_group_mapping(&mut tx, team.directory, found.id, &groups).await?;
            if previous != groups {
                let versions = teams::bump_versions(&mut tx, &[(found.id, 1)]).await?;
                let version = versions.get(&found.id).map_or(1, |(_, v)| *v);
                let event = Event::new(
                    team.directory,
                    ResourceType::Team,
                    found.id,
                    Action::MappingChanged,
                    version,
                    json!({"id": found.id, "name": found.name, "groups": groups}),
                    None,
                )
                .with_previous(json_object(json!({"groups": previous})));
                outbox::insert(&mut *tx, &[event]).await?;
            }
            tx.commit().await?;
            println!("team {} maps groups {groups:?}", found.name);
        }
        TeamCommand::AddMember { team, email } => {
            let found = find_team(pool, &team).await?;
            add_manual_member(pool, team.directory, &found, &email).await?;
            println!("{email} is a member of {} (added by hand)", found.name);
        }
        TeamCommand::Members { team, json } => {
            let found = find_team(pool, &team).await?;
            let members = teams::team_members(pool, found.id).await?;
            if json {
                println!("{}", serde_json::to_string(&members)?);
            } else {
                for m in members {
                    println!(
                        "{:<40} {:<12} {:<11} {}{}",
                        m.email.as_deref().unwrap_or("-"),
                        m.member_status,
                        m.source,
                        m.via.join(", "),
                        if m.suspended { " (suspended)" } else { "" },
                    );
                }
            }
        }
    }
    Ok(())
}

/// Adds a manual membership (suspended while the member is not active) and announces
/// it when it puts the member in the team.
async fn add_manual_member(
    pool: &PgPool,
    directory: Uuid,
    team: &teams::Team,
    email: &str,
) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let member = teams::member_by_email(&mut tx, directory, email).await?;
    let current = teams::memberships(&mut tx, &[member.id]).await?;
    let was_in = current.iter().any(|m| m.team == team.id && !m.suspended);
    let row = teams::Membership {
        team: team.id,
        member: member.id,
        source: Source::Manual,
        via: Vec::new(),
        suspended: member.status != "active",
    };
    teams::write_memberships(&mut tx, std::slice::from_ref(&row), &[]).await?;
    if !was_in && !row.suspended {
        let versions = teams::bump_versions(&mut tx, &[(team.id, 1)]).await?;
        let version = versions.get(&team.id).map_or(1, |(_, v)| *v);
        let change = Change {
            team: team.id,
            member,
            added: true,
            cause: json!({"reason": "manual", "source": "manual"}),
        };
        let event = team_logic::member_event(directory, (team.id, &team.name), version, &change);
        outbox::insert(&mut *tx, &[event]).await?;
    }
    tx.commit().await?;
    Ok(())
}
