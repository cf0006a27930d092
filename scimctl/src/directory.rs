//! `scimctl directory`: directories, one per identity-provider connection, and their
//! controls.

use anyhow::bail;
use clap::Subcommand;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use scim_admin_api::{
    CreatedDirectory, DeletedDirectory, Directory, ExistingMembers, ExistingMembersSetting,
    HoldPolicy, Idp, Inspection, IssuedSetupLink, MemberChangeKind, NewDirectory, NewSetupLink,
    Preview, Reconciliation, RetentionSetting, SeatLimit, SetupLink, TeamMapping, TrustedDomains,
    Unmapped,
};

use crate::DirectoryRef;
use crate::client::{Admin, NO_BODY};
use crate::output::{self, Output, rows};

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Create a directory and print its SCIM base URL and a bearer token (shown only now).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "generic", value_parser = idp())]
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
    /// Keep what every request of the directory sends (the request inspector, redacted)
    /// for --minutes (at most 60), not only failed ones; --stop ends it. `scimctl
    /// requests --json` shows the bodies.
    Inspect {
        #[command(flatten)]
        directory: DirectoryRef,
        #[arg(long, conflicts_with = "stop", required_unless_present = "stop")]
        minutes: Option<u32>,
        #[arg(long)]
        stop: bool,
    },
    /// Accept only users with emails on these domains (repeat --domain), or, with
    /// --clear, users on any domain.
    TrustedDomains {
        #[command(flatten)]
        directory: DirectoryRef,
        #[arg(long = "domain")]
        domains: Vec<String>,
        /// Accept users on any domain (clears the list; needed to say so explicitly).
        #[arg(long, conflicts_with = "domains")]
        clear: bool,
    },
    /// Issue a setup link for the customer's IT admin (shown only now): it opens the
    /// directory's setup page, and expires (72h unless --expires says otherwise).
    SetupLink {
        #[command(flatten)]
        directory: DirectoryRef,
        /// Make it stop working after this long: 72h, 7d (at most 30 days).
        #[arg(long, value_parser = crate::token::lifetime)]
        expires: Option<time::Duration>,
        /// Let the page change the directory's trusted domains, seat limit and team mode,
        /// and decide a deprovisioning hold.
        #[arg(long)]
        allow_controls: bool,
    },
    /// List the directory's setup links (never their secrets).
    SetupLinks {
        #[command(flatten)]
        directory: DirectoryRef,
    },
    /// Revoke a setup link: its sessions end at once.
    RevokeSetupLink {
        #[command(flatten)]
        directory: DirectoryRef,
        /// The link's id (from `directory setup-links`).
        #[arg(long)]
        link: uuid::Uuid,
    },
    /// Choose how provisioning assigns teams: `mapped` (teams map group names, the
    /// default), `mirrored` (each pushed group is a team) or `attribute` (a user
    /// attribute's values name teams). See docs/teams.md.
    TeamMapping {
        #[command(flatten)]
        directory: DirectoryRef,
        #[arg(long, value_parser = ["mapped", "mirrored", "attribute"])]
        mode: Option<String>,
        /// `attribute` mode: a URN-qualified extension attribute, e.g.
        /// urn:acme:scim:schemas:2.0:User:group (implies --mode attribute).
        #[arg(long)]
        attribute: Option<String>,
        /// `mirrored` mode: only groups whose names match, `*` for any characters
        /// (e.g. "app-*"); case is ignored.
        #[arg(long)]
        pattern: Option<String>,
        /// `attribute` mode: what a value the value table does not map does: names a
        /// team made on first use (`create`, the default) or no team (`ignore`).
        #[arg(long, value_parser = ["create", "ignore"])]
        unmapped: Option<String>,
        /// Show which teams would be made, renamed or deleted and who would join or
        /// leave, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// What a push of someone the product already has (a member made by hand with the
    /// same email) does: `adopt` it (the default: provisioning takes the member over) or
    /// `refuse` the create with 409 naming the member.
    ExistingMembers {
        #[command(flatten)]
        directory: DirectoryRef,
        #[arg(long, value_parser = ["adopt", "refuse"])]
        mode: String,
    },
    /// Delete users that stayed deactivated and unchanged for --days (as the identity
    /// provider deleting them would: `user.deleted`); --off keeps them (the default).
    Retention {
        #[command(flatten)]
        directory: DirectoryRef,
        #[arg(long, conflicts_with = "off", required_unless_present = "off")]
        days: Option<i32>,
        #[arg(long)]
        off: bool,
    },
    /// Recompute the product's members and teams from the directory (after a restored
    /// backup or a hand edit of the product's tables) and print what differed;
    /// deprovisioning goes through the hold. --dry-run prints it and changes nothing.
    Reconcile {
        #[command(flatten)]
        directory: DirectoryRef,
        #[arg(long)]
        dry_run: bool,
    },
    /// Pause the directory's provisioning: the identity provider is still answered and
    /// the directory records what it sends, but the product's members and teams are left
    /// as they are until `resume`.
    Pause {
        #[command(flatten)]
        directory: DirectoryRef,
    },
    /// Resume it: the product's members and teams are recomputed from the directory's
    /// current state (mass deprovisioning through the hold).
    Resume {
        #[command(flatten)]
        directory: DirectoryRef,
    },
    /// The mass-deprovisioning hold: `show` who is held and why, `apply` the held
    /// deactivations and deletions, or `keep` the held members' access.
    Hold {
        #[command(subcommand)]
        command: crate::hold::Command,
    },
    /// Hold deprovisioning past more than --min-members members and more than --share
    /// percent of the active members within an hour (default 10 and 10); --off turns
    /// the hold off.
    HoldPolicy {
        #[command(flatten)]
        directory: DirectoryRef,
        #[arg(
            long,
            conflicts_with = "off",
            required_unless_present = "off",
            requires = "share"
        )]
        min_members: Option<u32>,
        #[arg(
            long,
            value_name = "PERCENT",
            conflicts_with = "off",
            requires = "min_members"
        )]
        share: Option<u32>,
        #[arg(long)]
        off: bool,
    },
}

/// A reconciliation for a person: each member record that differed, then the teams.
fn reconciliation(r: &Reconciliation) -> String {
    let would = if r.dry_run { "would" } else { "did" };
    let mut lines = vec![if r.dry_run {
        "dry run: nothing was changed".to_owned()
    } else {
        "reconciled".to_owned()
    }];
    lines.push(match r.changed {
        0 => format!("every member record matches the directory: no member {would} change"),
        n => format!(
            "{n} member records differed from the directory ({} held by the hold)",
            r.held
        ),
    });
    lines.extend(r.members.iter().map(|m| {
        let change = match m.change {
            MemberChangeKind::Created => "create",
            MemberChangeKind::Updated => "update",
            MemberChangeKind::Deactivated => "deactivate",
            MemberChangeKind::Reactivated => "reactivate",
            MemberChangeKind::Removed => "remove",
        };
        let held = if m.held { " (held)" } else { "" };
        format!(
            "{change:<10} {}  {}{held}",
            m.scim_user_id,
            output::or_dash(m.email.as_ref())
        )
    }));
    if r.members.len() < r.changed {
        lines.push(format!(
            "… and {} more (--json lists the first {})",
            r.changed - r.members.len(),
            r.members.len()
        ));
    }
    lines.extend(output::team_lines(&r.teams, would));
    lines.join("\n")
}

/// The identity provider kinds, as the API spells them.
fn idp() -> impl TypedValueParser<Value = Idp> {
    PossibleValuesParser::new(Idp::ALL.map(Idp::as_str)).try_map(|s| s.parse::<Idp>())
}

pub(crate) async fn run(admin: &Admin, command: Command) -> anyhow::Result<Output> {
    Ok(match command {
        Command::Hold { command } => crate::hold::run(admin, command).await?,
        Command::ExistingMembers { directory, mode } => {
            let existing_members = if mode == "refuse" {
                ExistingMembers::Refuse
            } else {
                ExistingMembers::Adopt
            };
            let path = format!("{}/existing-members", directory.path());
            let body = ExistingMembersSetting { existing_members };
            let changed: Directory = admin.put(&path, &body).await?;
            let text = match changed.existing_members {
                ExistingMembers::Adopt => {
                    "a push of someone the product already has adopts that member"
                }
                ExistingMembers::Refuse => {
                    "a push of someone the product already has is refused (409), naming the member"
                }
            };
            Output::new(&changed, text)
        }
        Command::Retention {
            directory, days, ..
        } => {
            let path = format!("{}/retention", directory.path());
            let body = RetentionSetting {
                retention_days: days,
            };
            let changed: Directory = admin.put(&path, &body).await?;
            let text = match changed.retention_days {
                Some(d) => format!(
                    "users deactivated and unchanged for {d} days are deleted (user.deleted)"
                ),
                None => "deactivated users are kept".to_owned(),
            };
            Output::new(&changed, text)
        }
        Command::Reconcile { directory, dry_run } => {
            let path = format!("{}/reconcile", directory.path());
            let path = if dry_run {
                format!("{path}/preview")
            } else {
                path
            };
            let done: Reconciliation = admin.post(&path, NO_BODY).await?;
            Output::new(&done, reconciliation(&done))
        }
        Command::Pause { directory } => {
            let path = format!("{}/pause", directory.path());
            let changed: Directory = admin.post(&path, NO_BODY).await?;
            let text = format!(
                "provisioning paused{}: the identity provider is still answered; members and teams stay as they are until `scimctl directory resume`",
                changed
                    .paused_at
                    .map(|at| format!(" since {}", output::at(at)))
                    .unwrap_or_default()
            );
            Output::new(&changed, text)
        }
        Command::Resume { directory } => {
            let path = format!("{}/resume", directory.path());
            let changed: Directory = admin.post(&path, NO_BODY).await?;
            let text =
                "provisioning resumed: members and teams are being recomputed from the directory";
            Output::new(&changed, text)
        }
        Command::HoldPolicy {
            directory,
            min_members,
            share,
            ..
        } => {
            let policy = min_members
                .zip(share)
                .map(|(min_members, share_percent)| HoldPolicy {
                    min_members,
                    share_percent,
                });
            crate::hold::set_policy(admin, &directory, policy).await?
        }
        Command::Create { name, idp } => {
            let new = NewDirectory { name, idp };
            let created: CreatedDirectory = admin.post("/directories", Some(&new)).await?;
            let d = &created.directory;
            let text = format!(
                "directory:     {} ({})\nSCIM base URL: {}\nbearer token:  {}\nThe token is shown only now; store it in the identity provider.",
                d.name, d.id, d.scim_base_url, created.token.token
            );
            Output::new(&created, text)
        }
        Command::List => {
            let all: Vec<Directory> = admin.get("/directories").await?;
            let text = rows(&all, |d| {
                format!(
                    "{}  {:<7} {:<30} users {:>7} (active {:>7})  groups {:>5}  teams {:>4}",
                    d.id,
                    d.idp.as_str(),
                    d.name,
                    d.users,
                    d.active_users,
                    d.groups,
                    d.teams
                )
            });
            Output::new(&all, text)
        }
        Command::Show { directory } => {
            let found: Directory = admin.get(&directory.path()).await?;
            Output::new(&found, serde_json::to_string_pretty(&found)?)
        }
        Command::Snapshot { directory } => {
            // JSON lines as they come, whatever --json says: a snapshot may be large.
            admin
                .download(&format!("{}/snapshot", directory.path()))
                .await?;
            Output::Written
        }
        Command::Delete { directory, yes } => {
            if !yes {
                bail!(
                    "deleting a directory removes all its data and deprovisions its members; add --yes"
                );
            }
            let deleted: DeletedDirectory = admin.delete(&directory.path()).await?;
            let r = &deleted.removed;
            let text = format!(
                "deleted directory {} ({}): {} users, {} groups, {} teams",
                r.name, deleted.deleted, r.users, r.groups, r.teams
            );
            Output::new(&deleted, text)
        }
        Command::Seats {
            directory, limit, ..
        } => {
            let path = format!("{}/seat-limit", directory.path());
            let changed: Directory = admin.put(&path, &SeatLimit { seat_limit: limit }).await?;
            let text = match changed.seat_limit {
                Some(n) => format!("at most {n} active users ({} now)", changed.active_users),
                None => "no seat limit".into(),
            };
            Output::new(&changed, text)
        }
        Command::Inspect {
            directory, minutes, ..
        } => {
            let path = format!("{}/inspection", directory.path());
            let body = Inspection {
                minutes: minutes.unwrap_or(0),
            };
            let changed: Directory = admin.put(&path, &body).await?;
            let text = match changed.inspect_until {
                Some(until) => format!(
                    "keeping what every request sends until {}",
                    output::at(until)
                ),
                None => "keeping only what failed requests send".into(),
            };
            Output::new(&changed, text)
        }
        Command::TrustedDomains {
            directory,
            domains,
            clear,
        } => {
            if domains.is_empty() && !clear {
                bail!(
                    "name the trusted domains with --domain (repeat it), or pass --clear to accept users on any domain"
                );
            }
            let path = format!("{}/trusted-domains", directory.path());
            let changed: Directory = admin.put(&path, &TrustedDomains { domains }).await?;
            let text = match changed.trusted_domains.as_slice() {
                [] => "users on any domain are accepted".to_owned(),
                domains => format!("users must have emails on: {}", domains.join(", ")),
            };
            Output::new(&changed, text)
        }
        Command::SetupLink {
            directory,
            expires,
            allow_controls,
        } => {
            let new = NewSetupLink {
                expires_at: expires.map(|d| time::OffsetDateTime::now_utc() + d),
                allow_controls,
            };
            let path = format!("{}/setup-links", directory.path());
            let issued: IssuedSetupLink = admin.post(&path, Some(&new)).await?;
            let text = format!(
                "setup link: {}\nexpires:    {}\nThe link is shown only now. Send it to the customer's IT admin over a secure channel; anyone holding it can set up this directory until it expires or is revoked (scimctl directory revoke-setup-link --directory {} --link {}).",
                issued.url,
                output::at(issued.expires_at),
                directory.directory,
                issued.link.id
            );
            Output::new(&issued, text)
        }
        Command::SetupLinks { directory } => {
            let links: Vec<SetupLink> = admin
                .get(&format!("{}/setup-links", directory.path()))
                .await?;
            let text = rows(&links, |l| {
                let state = match (l.revoked_at, l.first_used_at) {
                    (Some(r), _) => format!("revoked {}", output::at(r)),
                    (None, Some(u)) => format!("opened {}", output::at(u)),
                    (None, None) => "not opened yet".to_owned(),
                };
                format!(
                    "{}  expires {}  {state}{}",
                    l.id,
                    output::at(l.expires_at),
                    if l.allow_controls {
                        "  may change controls"
                    } else {
                        ""
                    }
                )
            });
            Output::new(&links, text)
        }
        Command::RevokeSetupLink { directory, link } => {
            let path = format!("{}/setup-links/{link}", directory.path());
            let revoked: SetupLink = admin.delete(&path).await?;
            Output::new(
                &revoked,
                format!("setup link {link} revoked; its sessions ended"),
            )
        }
        Command::TeamMapping {
            directory,
            mode,
            attribute,
            pattern,
            unmapped,
            dry_run,
        } => {
            let ignore = match unmapped.as_deref() {
                None => None,
                Some("ignore") => Some(Unmapped::Ignore),
                Some(_) => Some(Unmapped::Create),
            };
            let mapping = match (mode.as_deref(), attribute, pattern, ignore) {
                (None | Some("mapped"), None, None, None) => TeamMapping::Mapped,
                (None | Some("attribute"), Some(attribute), None, unmapped) => {
                    TeamMapping::Attribute {
                        attribute,
                        unmapped: unmapped.unwrap_or_default(),
                    }
                }
                (Some("mirrored"), None, pattern, None) => TeamMapping::Mirrored { pattern },
                (Some("attribute"), None, ..) => bail!("--mode attribute needs --attribute"),
                _ => bail!(
                    "--attribute and --unmapped go with --mode attribute, --pattern with --mode mirrored"
                ),
            };
            let path = format!("{}/team-mapping", directory.path());
            if dry_run {
                let preview: Preview = admin
                    .post(&format!("{path}/preview"), Some(&mapping))
                    .await?;
                return Ok(output::preview(&preview));
            }
            let changed: Directory = admin.put(&path, &mapping).await?;
            let text = match &changed.team_mapping {
                TeamMapping::Mapped => "teams now follow the group names mapped to them".into(),
                TeamMapping::Mirrored { pattern: None } => {
                    "every pushed group is now a team, with the group's members".into()
                }
                TeamMapping::Mirrored { pattern: Some(p) } => format!(
                    "every pushed group whose name matches {p:?} is now a team, with the group's members"
                ),
                TeamMapping::Attribute {
                    attribute,
                    unmapped,
                } => format!(
                    "teams now follow the user attribute {attribute} (through the value table; other values {})",
                    match unmapped {
                        Unmapped::Create => "name a team, made on first use",
                        Unmapped::Ignore => "are ignored",
                    }
                ),
            };
            Output::new(&changed, text)
        }
    })
}
