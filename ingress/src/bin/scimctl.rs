//! `scimctl`: the operator's command line. Everything but `migrate` goes through the
//! ingress's admin API (`ADMIN_URL`, authenticated with `ADMIN_TOKEN`), so every change
//! is audited and announced like any other admin action.

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use reqwest::{Method, StatusCode};
use scim_store as db;
use scim_store::DatabaseConfig;
use serde_json::{Value, json};
use uuid::Uuid;

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
    /// Print the API's JSON instead of text.
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
    #[command(flatten)]
    Api(ApiCommand),
}

/// The commands that go through the admin API.
#[derive(Subcommand)]
enum ApiCommand {
    /// Directories: one per identity-provider connection.
    Directory {
        #[command(subcommand)]
        command: DirectoryCommand,
    },
    /// A directory's SCIM bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Teams and how provisioning fills them.
    Team {
        #[command(subcommand)]
        command: TeamCommand,
    },
    /// The directory's SCIM requests, newest first.
    Requests {
        #[command(flatten)]
        directory: DirectoryRef,
        /// A status (401), a class (4xx) or "errors".
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// The product's members of a directory and their teams.
    Members {
        #[command(flatten)]
        directory: DirectoryRef,
        /// active, deactivated or removed.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Events the worker gave up on.
    DeadLetters {
        #[command(subcommand)]
        command: DeadLetterCommand,
    },
    /// Events the relay set aside because NATS refused them for good.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Admin actions, newest first.
    Audit {
        #[arg(long)]
        directory: Option<Uuid>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

#[derive(Args)]
struct DirectoryRef {
    /// The directory's id.
    #[arg(long)]
    directory: Uuid,
}

#[derive(Subcommand)]
enum DirectoryCommand {
    /// Create a directory and print its SCIM base URL and a bearer token (shown only now).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value_t = Idp::Generic)]
        idp: Idp,
    },
    List,
    /// Settings, counts, SCIM base URL and last request time.
    Show {
        #[command(flatten)]
        directory: DirectoryRef,
    },
    /// Write the directory's snapshot to standard output: its users, groups, memberships,
    /// teams and team members, one JSON line each, stamped with the event stream's
    /// sequence it is consistent with (docs/events.md, "Starting on an existing
    /// directory").
    Snapshot {
        #[command(flatten)]
        directory: DirectoryRef,
    },
    /// Delete a directory with all its data; its members are deprovisioned (with events).
    Delete {
        #[command(flatten)]
        directory: DirectoryRef,
        /// Confirms the deletion.
        #[arg(long)]
        yes: bool,
    },
    /// Limit the active users (seats); --unlimited removes the limit.
    Seats {
        #[command(flatten)]
        directory: DirectoryRef,
        #[arg(
            long,
            conflicts_with = "unlimited",
            required_unless_present = "unlimited"
        )]
        limit: Option<i32>,
        #[arg(long)]
        unlimited: bool,
    },
    /// Accept only users with emails on these domains (repeat --domain; none accepts any).
    TrustedDomains {
        #[command(flatten)]
        directory: DirectoryRef,
        #[arg(long = "domain")]
        domains: Vec<String>,
    },
    /// Choose how provisioning assigns teams: by group names mapped to teams (the
    /// default), or by the values of a user attribute, creating teams on first use.
    TeamMapping {
        #[command(flatten)]
        directory: DirectoryRef,
        /// A URN-qualified extension attribute, e.g.
        /// urn:acme:scim:schemas:2.0:User:group. Omit to map by groups.
        #[arg(long)]
        attribute: Option<String>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue a token (at most two live at once); shown only now.
    Create {
        #[command(flatten)]
        directory: DirectoryRef,
    },
    List {
        #[command(flatten)]
        directory: DirectoryRef,
    },
    /// Revoke a token: every replica refuses it at once.
    Revoke {
        #[command(flatten)]
        directory: DirectoryRef,
        /// The token's id (from `token list`).
        #[arg(long)]
        token: Uuid,
    },
}

#[derive(Subcommand)]
enum DeadLetterCommand {
    /// The oldest first, with the reason each was given up on.
    List {
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Publish a dead letter's event again (once its cause is fixed) and remove it.
    Replay {
        /// The letter's sequence number (from `dead-letters list`).
        #[arg(long)]
        seq: u64,
    },
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// The events set aside, oldest first, each with NATS's reason.
    Parked {
        #[arg(long)]
        directory: Option<Uuid>,
    },
    /// Put a set-aside event back in the outbox (once its cause is fixed): the relay
    /// publishes it, or sets it aside again.
    Republish {
        /// The event's seq (from `outbox parked`).
        #[arg(long)]
        seq: i64,
    },
    /// Delete a set-aside event for good: subscribers never see it.
    Discard {
        #[arg(long)]
        seq: i64,
    },
}

#[derive(Args)]
struct TeamRef {
    #[command(flatten)]
    directory: DirectoryRef,
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
    },
    List {
        #[command(flatten)]
        directory: DirectoryRef,
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

/// The admin API, as this command line calls it.
struct Admin {
    http: reqwest::Client,
    url: String,
    token: String,
    actor: String,
}

impl Admin {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let mut req = self
            .http
            .request(method, format!("{}/admin/v1{path}", self.url))
            .bearer_auth(&self.token)
            .header("x-admin-actor", &self.actor);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req
            .send()
            .await
            .with_context(|| format!("reaching the admin API at {}", self.url))?;
        let status = res.status();
        let text = res.text().await.unwrap_or_default();
        if !status.is_success() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
                .unwrap_or(text);
            if status == StatusCode::UNAUTHORIZED {
                bail!("{message} (set ADMIN_TOKEN to one of the ingress's operator tokens)");
            }
            bail!("{status}: {message}");
        }
        Ok(if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)?
        })
    }

    /// Copies what a GET answers to standard output as it arrives.
    async fn download(&self, path: &str) -> anyhow::Result<()> {
        use std::io::Write;
        let mut res = self
            .http
            .get(format!("{}/admin/v1{path}", self.url))
            .bearer_auth(&self.token)
            .header("x-admin-actor", &self.actor)
            .send()
            .await
            .with_context(|| format!("reaching the admin API at {}", self.url))?;
        if !res.status().is_success() {
            bail!("{}: {}", res.status(), res.text().await.unwrap_or_default());
        }
        let mut out = std::io::stdout().lock();
        while let Some(chunk) = res.chunk().await? {
            out.write_all(&chunk)?;
        }
        out.flush()?;
        Ok(())
    }

    async fn team_id(&self, team: &TeamRef) -> anyhow::Result<String> {
        let teams = self
            .call(
                Method::GET,
                &format!("/directories/{}/teams", team.directory.directory),
                None,
            )
            .await?;
        teams
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["name"] == team.team.as_str())
            .and_then(|t| t["id"].as_str().map(str::to_owned))
            .with_context(|| {
                format!(
                    "no team {:?} in directory {}",
                    team.team, team.directory.directory
                )
            })
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = match cli.command {
        Command::Migrate { database } => {
            let pool = db::connect(&database, "scimctl")
                .await
                .context("connecting to Postgres")?;
            db::migrate(&pool).await?;
            println!("migrations applied");
            return Ok(());
        }
        Command::Api(command) => command,
    };
    let admin = Admin {
        http: reqwest::Client::new(),
        url: cli.admin_url.trim_end_matches('/').to_owned(),
        token: cli
            .admin_token
            .split(',')
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        actor: cli
            .actor
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "scimctl".into()),
    };
    if admin.token.is_empty() {
        bail!("set ADMIN_TOKEN (or --admin-token) to an operator token of the ingress");
    }
    let out = run(&admin, command).await?;
    if out.written {
        return Ok(());
    }
    if cli.json {
        println!("{}", out.value);
    } else {
        println!("{}", out.text);
    }
    Ok(())
}

/// A command's result: the API's JSON and how to show it to a person, unless the
/// command wrote its output itself.
struct Output {
    value: Value,
    text: String,
    written: bool,
}

fn rows(value: &Value, row: impl Fn(&Value) -> String) -> String {
    let lines: Vec<String> = value.as_array().into_iter().flatten().map(row).collect();
    if lines.is_empty() {
        "(none)".into()
    } else {
        lines.join("\n")
    }
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn run(admin: &Admin, command: ApiCommand) -> anyhow::Result<Output> {
    use Method as M;
    let dir = |d: &DirectoryRef| format!("/directories/{}", d.directory);
    let value;
    let text = match command {
        ApiCommand::Directory { command } => match command {
            DirectoryCommand::Snapshot { directory } => {
                // JSON lines as they come, whatever --json says: a snapshot may be large.
                admin
                    .download(&format!("{}/snapshot", dir(&directory)))
                    .await?;
                return Ok(Output {
                    value: Value::Null,
                    text: String::new(),
                    written: true,
                });
            }
            DirectoryCommand::Create { name, idp } => {
                value = admin
                    .call(
                        M::POST,
                        "/directories",
                        Some(json!({"name": name, "idp": idp.as_str()})),
                    )
                    .await?;
                format!(
                    "directory:     {} ({})\nSCIM base URL: {}\nbearer token:  {}\nThe token is shown only now; store it in the identity provider.",
                    s(&value["name"]),
                    s(&value["id"]),
                    s(&value["scim_base_url"]),
                    s(&value["token"]["token"])
                )
            }
            DirectoryCommand::List => {
                value = admin.call(M::GET, "/directories", None).await?;
                rows(&value, |d| {
                    format!(
                        "{}  {:<7} {:<30} users {:>7} (active {:>7})  groups {:>5}  teams {:>4}",
                        s(&d["id"]),
                        s(&d["idp"]),
                        s(&d["name"]),
                        s(&d["users"]),
                        s(&d["active_users"]),
                        s(&d["groups"]),
                        s(&d["teams"])
                    )
                })
            }
            DirectoryCommand::Show { directory } => {
                value = admin.call(M::GET, &dir(&directory), None).await?;
                serde_json::to_string_pretty(&value)?
            }
            DirectoryCommand::Delete { directory, yes } => {
                if !yes {
                    bail!(
                        "deleting a directory removes all its data and deprovisions its members; add --yes"
                    );
                }
                value = admin.call(M::DELETE, &dir(&directory), None).await?;
                format!(
                    "deleted directory {}: {}",
                    directory.directory, value["removed"]
                )
            }
            DirectoryCommand::Seats {
                directory, limit, ..
            } => {
                value = admin
                    .call(
                        M::PUT,
                        &format!("{}/seat-limit", dir(&directory)),
                        Some(json!({"seat_limit": limit})),
                    )
                    .await?;
                match limit {
                    Some(n) => format!(
                        "at most {n} active users ({} now)",
                        s(&value["active_users"])
                    ),
                    None => "no seat limit".into(),
                }
            }
            DirectoryCommand::TrustedDomains { directory, domains } => {
                value = admin
                    .call(
                        M::PUT,
                        &format!("{}/trusted-domains", dir(&directory)),
                        Some(json!({"domains": domains})),
                    )
                    .await?;
                match value["trusted_domains"].as_array() {
                    Some(d) if !d.is_empty() => format!(
                        "users must have emails on: {}",
                        d.iter().map(s).collect::<Vec<_>>().join(", ")
                    ),
                    _ => "users on any domain are accepted".into(),
                }
            }
            DirectoryCommand::TeamMapping {
                directory,
                attribute,
            } => {
                value = admin
                    .call(
                        M::PUT,
                        &format!("{}/team-mapping", dir(&directory)),
                        Some(json!({"attribute": attribute})),
                    )
                    .await?;
                match attribute {
                    Some(a) => format!("teams now follow the user attribute {a}"),
                    None => "teams now follow the group mappings".into(),
                }
            }
        },
        ApiCommand::Token { command } => match command {
            TokenCommand::Create { directory } => {
                value = admin
                    .call(M::POST, &format!("{}/tokens", dir(&directory)), None)
                    .await?;
                format!(
                    "token {} ({})\nbearer token:  {}\nThe token is shown only now. Paste it into the identity provider, then revoke the old one.",
                    s(&value["prefix"]),
                    s(&value["id"]),
                    s(&value["token"])
                )
            }
            TokenCommand::List { directory } => {
                value = admin
                    .call(M::GET, &format!("{}/tokens", dir(&directory)), None)
                    .await?;
                rows(&value, |t| {
                    format!(
                        "{}  {:<14} created {}  last used {}  {}",
                        s(&t["id"]),
                        s(&t["prefix"]),
                        s(&t["created_at"]),
                        s(&t["last_used_at"]),
                        if t["revoked_at"].is_null() {
                            "live".to_owned()
                        } else {
                            format!("revoked {}", s(&t["revoked_at"]))
                        }
                    )
                })
            }
            TokenCommand::Revoke { directory, token } => {
                value = admin
                    .call(
                        M::DELETE,
                        &format!("{}/tokens/{token}", dir(&directory)),
                        None,
                    )
                    .await?;
                format!("token {token} revoked")
            }
        },
        ApiCommand::Team { command } => match command {
            TeamCommand::Create { team } => {
                value = admin
                    .call(
                        M::POST,
                        &format!("{}/teams", dir(&team.directory)),
                        Some(json!({"name": team.team})),
                    )
                    .await?;
                format!("team {} ({})", s(&value["name"]), s(&value["id"]))
            }
            TeamCommand::List { directory } => {
                value = admin
                    .call(M::GET, &format!("{}/teams", dir(&directory)), None)
                    .await?;
                rows(&value, |t| {
                    format!(
                        "{}  {:<30} groups {}",
                        s(&t["id"]),
                        s(&t["name"]),
                        t["groups"]
                    )
                })
            }
            TeamCommand::Map { team, groups } => {
                let id = admin.team_id(&team).await?;
                value = admin
                    .call(
                        M::PUT,
                        &format!("{}/teams/{id}/groups", dir(&team.directory)),
                        Some(json!({"groups": groups})),
                    )
                    .await?;
                format!("team {} maps groups {}", team.team, value["groups"])
            }
            TeamCommand::AddMember { team, email } => {
                let id = admin.team_id(&team).await?;
                value = admin
                    .call(
                        M::POST,
                        &format!("{}/teams/{id}/members", dir(&team.directory)),
                        Some(json!({"email": email})),
                    )
                    .await?;
                format!("{email} is a member of {} (added by hand)", team.team)
            }
            TeamCommand::Members { team } => {
                let id = admin.team_id(&team).await?;
                value = admin
                    .call(
                        M::GET,
                        &format!("{}/teams/{id}/members", dir(&team.directory)),
                        None,
                    )
                    .await?;
                rows(&value, |m| {
                    format!(
                        "{:<40} {:<12} {:<11} {}{}",
                        s(&m["email"]),
                        s(&m["member_status"]),
                        s(&m["source"]),
                        m["via"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(s)
                            .collect::<Vec<_>>()
                            .join(", "),
                        if m["suspended"] == true {
                            " (suspended)"
                        } else {
                            ""
                        },
                    )
                })
            }
        },
        ApiCommand::Requests {
            directory,
            status,
            limit,
        } => {
            let mut path = format!("{}/requests?limit={limit}", dir(&directory));
            if let Some(status) = status {
                path.push_str(&format!("&status={status}"));
            }
            value = admin.call(M::GET, &path, None).await?;
            rows(&value, |r| {
                format!(
                    "{}  {:<6} {} {:>7.1} ms  {}{}",
                    s(&r["at"]),
                    s(&r["method"]),
                    s(&r["status"]),
                    r["duration_ms"].as_f64().unwrap_or_default(),
                    s(&r["path"]),
                    r["detail"]
                        .as_str()
                        .map(|d| format!("\n    {d}"))
                        .unwrap_or_default()
                )
            })
        }
        ApiCommand::Members {
            directory,
            status,
            limit,
        } => {
            let mut path = format!("{}/members?limit={limit}", dir(&directory));
            if let Some(status) = status {
                path.push_str(&format!("&status={status}"));
            }
            value = admin.call(M::GET, &path, None).await?;
            rows(&value, |m| {
                format!(
                    "{:<40} {:<12} {}",
                    s(&m["email"]),
                    s(&m["status"]),
                    m["teams"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(s)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
        }
        ApiCommand::DeadLetters { command } => match command {
            DeadLetterCommand::List { limit } => {
                value = admin
                    .call(M::GET, &format!("/dead-letters?limit={limit}"), None)
                    .await?;
                rows(&value, |d| {
                    format!(
                        "{:>6}  {:<60} attempts {}  {}",
                        s(&d["seq"]),
                        s(&d["subject"]),
                        s(&d["attempts"]),
                        s(&d["reason"])
                    )
                })
            }
            DeadLetterCommand::Replay { seq } => {
                value = admin
                    .call(M::POST, &format!("/dead-letters/{seq}/replay"), None)
                    .await?;
                format!(
                    "replayed {} on {}",
                    s(&value["replayed"]["event_type"]),
                    s(&value["replayed"]["subject"])
                )
            }
        },
        ApiCommand::Outbox { command } => match command {
            OutboxCommand::Parked { directory } => {
                let mut path = "/outbox/parked".to_owned();
                if let Some(d) = directory {
                    path.push_str(&format!("?directory={d}"));
                }
                value = admin.call(M::GET, &path, None).await?;
                rows(&value, |p| {
                    format!(
                        "{:>8}  {}  {:<60} {:>9} bytes  {}",
                        s(&p["seq"]),
                        s(&p["parked_at"]),
                        s(&p["subject"]),
                        s(&p["bytes"]),
                        s(&p["reason"])
                    )
                })
            }
            OutboxCommand::Republish { seq } => {
                value = admin
                    .call(M::POST, &format!("/outbox/parked/{seq}/republish"), None)
                    .await?;
                format!(
                    "{} is back in the outbox as {}",
                    s(&value["republished"]["subject"]),
                    s(&value["outbox_seq"])
                )
            }
            OutboxCommand::Discard { seq } => {
                value = admin
                    .call(M::DELETE, &format!("/outbox/parked/{seq}"), None)
                    .await?;
                format!("discarded {}", s(&value["discarded"]["subject"]))
            }
        },
        ApiCommand::Audit { directory, limit } => {
            let mut path = format!("/audit?limit={limit}");
            if let Some(d) = directory {
                path.push_str(&format!("&directory={d}"));
            }
            value = admin.call(M::GET, &path, None).await?;
            rows(&value, |a| {
                format!(
                    "{}  {:<28} {:<40} {}  {}",
                    s(&a["at"]),
                    s(&a["action"]),
                    s(&a["actor"]),
                    s(&a["directory_id"]),
                    a["details"]
                )
            })
        }
    };
    Ok(Output {
        value,
        text,
        written: false,
    })
}
