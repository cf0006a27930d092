//! `scimctl team`: teams and how provisioning fills them.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use scim_admin_api::{
    AddedMember, GroupMapping, NewMember, NewTeam, Preview, RemovedMember, Team, TeamMember,
    ValueTable,
};

use crate::DirectoryRef;
use crate::client::Admin;
use crate::output::{self, Output, or_dash, rows};

#[derive(Args)]
pub(crate) struct TeamRef {
    #[command(flatten)]
    directory: DirectoryRef,
    /// The team's name.
    #[arg(long)]
    team: String,
}

impl TeamRef {
    /// The team's path in the API, found by its name.
    async fn path(&self, admin: &Admin) -> anyhow::Result<String> {
        let teams: Vec<Team> = admin.get(&self.teams()).await?;
        let team = teams
            .iter()
            .find(|t| t.name == self.team)
            .with_context(|| {
                format!(
                    "no team {:?} in directory {}",
                    self.team, self.directory.directory
                )
            })?;
        Ok(format!("{}/{}", self.teams(), team.id))
    }

    fn teams(&self) -> String {
        format!("{}/teams", self.directory.path())
    }
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
        /// Pin each name to the one pushed group that has it now: a later rename of that
        /// group keeps the team (unpinned, a name matches whatever group has it).
        #[arg(long)]
        pin: bool,
        /// Show who would join or leave, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Rename a team (a mirrored team follows its group's name instead).
    Rename {
        #[command(flatten)]
        team: TeamRef,
        /// The new name.
        #[arg(long)]
        to: String,
    },
    /// Delete a team with every membership in it.
    Delete {
        #[command(flatten)]
        team: TeamRef,
    },
    /// Remove a member added by hand (in mapped mode; a provisioned membership is the
    /// identity provider's).
    RemoveMember {
        #[command(flatten)]
        team: TeamRef,
        #[arg(long)]
        email: String,
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
    /// Show attribute mode's value table, or replace it: each `--set "VALUE=TEAM"` maps
    /// an attribute value, exactly as the identity provider sends it, to an existing
    /// team (several values may map to one team); `--clear` empties it.
    Values {
        #[command(flatten)]
        directory: DirectoryRef,
        #[arg(long = "set", value_name = "VALUE=TEAM")]
        set: Vec<String>,
        #[arg(long, conflicts_with = "set")]
        clear: bool,
        /// With --set or --clear: show which teams would be made and who would join or
        /// leave, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// A team on one line: its name, what fills it, and its id.
fn describe(t: &Team) -> String {
    let groups: Vec<String> = t
        .groups
        .iter()
        .map(|g| match t.pinned.get(g) {
            Some(id) => format!("{g:?} (pinned to group {id})"),
            None => format!("{g:?}"),
        })
        .collect();
    let fill = match (t.mirrors, groups.is_empty()) {
        (Some(group), _) => format!("mirrors group {group}"),
        (None, true) => "no groups mapped".to_owned(),
        (None, false) => format!("groups {}", groups.join(", ")),
    };
    format!("{:<30} {fill}  [{}]", t.name, t.id)
}

pub(crate) async fn run(admin: &Admin, command: Command) -> anyhow::Result<Output> {
    Ok(match command {
        Command::Create { team } => {
            let new = NewTeam {
                name: team.team.clone(),
            };
            let created: Team = admin.post(&team.teams(), Some(&new)).await?;
            let text = format!("team {} ({})", created.name, created.id);
            Output::new(&created, text)
        }
        Command::List { directory } => {
            let teams: Vec<Team> = admin.get(&format!("{}/teams", directory.path())).await?;
            Output::new(&teams, rows(&teams, describe))
        }
        Command::Map {
            team,
            groups,
            pin,
            dry_run,
        } => {
            let path = format!("{}/groups", team.path(admin).await?);
            let body = GroupMapping { groups, pin };
            if dry_run {
                let preview: Preview = admin.post(&format!("{path}/preview"), Some(&body)).await?;
                return Ok(output::preview(&preview));
            }
            let mapped: Team = admin.put(&path, &body).await?;
            Output::new(&mapped, describe(&mapped))
        }
        Command::Rename { team, to } => {
            let path = team.path(admin).await?;
            let renamed: Team = admin.patch(&path, &NewTeam { name: to }).await?;
            let text = format!("team {} is now {}", team.team, renamed.name);
            Output::new(&renamed, text)
        }
        Command::Delete { team } => {
            let path = team.path(admin).await?;
            admin.delete_empty(&path).await?;
            let deleted = serde_json::json!({"team": team.team, "deleted": true});
            Output::new(&deleted, format!("team {} deleted", team.team))
        }
        Command::RemoveMember { team, email } => {
            let path = format!("{}/members", team.path(admin).await?);
            let members: Vec<TeamMember> = admin.get(&path).await?;
            let member = members
                .iter()
                .find(|m| {
                    m.email
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(&email))
                })
                .with_context(|| format!("{email} is not a member of {}", team.team))?;
            let removed: RemovedMember = admin
                .delete(&format!("{path}/{}", member.member_id))
                .await?;
            let text = format!(
                "{email} is no longer a member of {} by hand{}",
                team.team,
                if removed.still_provisioned {
                    " (still a member through the identity provider)"
                } else {
                    ""
                }
            );
            Output::new(&removed, text)
        }
        Command::AddMember { team, email } => {
            let path = format!("{}/members", team.path(admin).await?);
            let added: AddedMember = admin.post(&path, Some(&NewMember { email })).await?;
            let text = format!(
                "{} is a member of {} (added by hand{})",
                added.email,
                team.team,
                if added.suspended {
                    "; suspended while the member is not active"
                } else {
                    ""
                }
            );
            Output::new(&added, text)
        }
        Command::Values {
            directory,
            set,
            clear,
            dry_run,
        } => {
            let path = format!("{}/team-values", directory.path());
            let table: ValueTable = if set.is_empty() && !clear {
                admin.get(&path).await?
            } else {
                let mut values = std::collections::BTreeMap::new();
                for row in &set {
                    let Some((value, team)) = row.rsplit_once('=') else {
                        bail!("--set {row:?}: write it as VALUE=TEAM");
                    };
                    values.insert(value.to_owned(), team.to_owned());
                }
                let table = ValueTable { values };
                if dry_run {
                    let preview: Preview =
                        admin.post(&format!("{path}/preview"), Some(&table)).await?;
                    return Ok(output::preview(&preview));
                }
                admin.put(&path, &table).await?
            };
            let text = if table.values.is_empty() {
                "the value table is empty".to_owned()
            } else {
                table
                    .values
                    .iter()
                    .map(|(value, team)| format!("{value:<40} -> {team}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            Output::new(&table, text)
        }
        Command::Members { team } => {
            let path = format!("{}/members", team.path(admin).await?);
            let members: Vec<TeamMember> = admin.get(&path).await?;
            let text = rows(&members, |m| {
                format!(
                    "{:<40} {:<12} {:<11} {}{}",
                    or_dash(m.email.as_ref()),
                    m.member_status.as_str(),
                    m.source.as_str(),
                    m.via.join(", "),
                    if m.suspended { " (suspended)" } else { "" },
                )
            });
            Output::new(&members, text)
        }
    })
}
