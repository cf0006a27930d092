//! `scimctl roles`: a directory's product roles (their order is the precedence), the
//! group names mapped to them, and the role of a member made by hand.

use anyhow::bail;
use clap::Subcommand;
use scim_admin_api::{MemberRole, NewRole, Role, RoleMappings, RolePreview, RoleSource, Roles};
use std::collections::BTreeMap;
use uuid::Uuid;

use crate::DirectoryRef;
use crate::client::Admin;
use crate::output::{Output, or_dash, rows};

#[derive(Subcommand)]
pub(crate) enum Command {
    /// List the directory's roles, highest first, and its default role.
    List {
        #[command(flatten)]
        directory: DirectoryRef,
    },
    /// Replace the directory's roles: each `--role "ID=Display name"`, highest first
    /// (where a member has several roles, the first listed wins), and the default role
    /// of provisioned members nothing else gives one. Every member's role is recomputed.
    Set {
        #[command(flatten)]
        directory: DirectoryRef,
        #[arg(long = "role", value_name = "ID=NAME", required = true)]
        roles: Vec<String>,
        /// One of the roles' ids.
        #[arg(long)]
        default: String,
        /// Show whose role would change, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Show the group names mapped to roles, or replace them: each `--group
    /// "GROUP=ROLE"` maps a group, spelled exactly as in the identity provider, to a
    /// role id; `--clear` removes every mapping. A member in several mapped groups gets
    /// the highest of their roles; a role the identity provider assigns in the user's
    /// roles comes first.
    Map {
        #[command(flatten)]
        directory: DirectoryRef,
        #[arg(long = "group", value_name = "GROUP=ROLE")]
        groups: Vec<String>,
        #[arg(long, conflicts_with = "groups")]
        clear: bool,
        /// With --group or --clear: show whose role would change, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Set the role of a member made by hand (a provisioned member's role follows the
    /// identity provider: refused).
    Assign {
        #[command(flatten)]
        directory: DirectoryRef,
        /// The member's id (`scimctl members`).
        #[arg(long)]
        member: Uuid,
        /// A role id.
        #[arg(long)]
        role: String,
    },
}

fn source(s: RoleSource) -> &'static str {
    match s {
        RoleSource::IdentityProvider => "identity provider",
        RoleSource::Group => "group",
        RoleSource::Default => "default",
        RoleSource::Admin => "by hand",
    }
}

fn preview(p: &RolePreview) -> Output {
    let text = if p.changed == 0 {
        "no member's role would change".to_owned()
    } else {
        let mut lines = vec![format!("{} members' roles would change:", p.changed)];
        lines.extend(p.changes.iter().map(|c| {
            format!(
                "  {:<40} {} -> {} ({})",
                or_dash(c.email.as_ref()),
                or_dash(c.from.as_ref()),
                c.to,
                source(c.source)
            )
        }));
        lines.join("\n")
    };
    Output::new(p, text)
}

fn describe(roles: &Roles) -> String {
    rows(&roles.roles, |r| {
        format!(
            "{:<20} {:<30} {}{}",
            r.id,
            r.display_name,
            r.description,
            if r.id == roles.default_role {
                "  (default)"
            } else {
                ""
            }
        )
    })
}

pub(crate) async fn run(admin: &Admin, command: Command) -> anyhow::Result<Output> {
    Ok(match command {
        Command::List { directory } => {
            let roles: Roles = admin.get(&format!("{}/roles", directory.path())).await?;
            Output::new(&roles, describe(&roles))
        }
        Command::Set {
            directory,
            roles,
            default,
            dry_run,
        } => {
            let mut list = Vec::with_capacity(roles.len());
            for role in &roles {
                let Some((id, name)) = role.split_once('=') else {
                    bail!("--role {role:?}: write it as ID=NAME");
                };
                list.push(Role {
                    id: id.trim().to_owned(),
                    display_name: name.trim().to_owned(),
                    description: String::new(),
                });
            }
            let body = Roles {
                roles: list,
                default_role: default,
            };
            let path = format!("{}/roles", directory.path());
            if dry_run {
                let p: RolePreview = admin.post(&format!("{path}/preview"), Some(&body)).await?;
                return Ok(preview(&p));
            }
            let set: Roles = admin.put(&path, &body).await?;
            Output::new(&set, describe(&set))
        }
        Command::Map {
            directory,
            groups,
            clear,
            dry_run,
        } => {
            let path = format!("{}/role-mappings", directory.path());
            let mappings: RoleMappings = if groups.is_empty() && !clear {
                admin.get(&path).await?
            } else {
                let mut map = BTreeMap::new();
                for row in &groups {
                    let Some((group, role)) = row.rsplit_once('=') else {
                        bail!("--group {row:?}: write it as GROUP=ROLE");
                    };
                    map.insert(group.to_owned(), role.trim().to_owned());
                }
                let body = RoleMappings { groups: map };
                if dry_run {
                    let p: RolePreview =
                        admin.post(&format!("{path}/preview"), Some(&body)).await?;
                    return Ok(preview(&p));
                }
                admin.put(&path, &body).await?
            };
            let text = if mappings.groups.is_empty() {
                "no group is mapped to a role".to_owned()
            } else {
                mappings
                    .groups
                    .iter()
                    .map(|(group, role)| format!("{group:<40} -> {role}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            Output::new(&mappings, text)
        }
        Command::Assign {
            directory,
            member,
            role,
        } => {
            let path = format!("{}/members/{member}/role", directory.path());
            let set: MemberRole = admin.put(&path, &NewRole { role }).await?;
            let text = format!("member {} is {} (set by hand)", set.member_id, set.role);
            Output::new(&set, text)
        }
    })
}
