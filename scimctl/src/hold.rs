//! `scimctl directory hold` and `hold-policy`: the mass-deprovisioning hold (see
//! docs/operations.md, "A deprovisioning hold").

use clap::Subcommand;
use scim_admin_api::{
    Decision, Directory, HeldChange, HoldDecision, HoldPolicy, HoldPolicySetting, HoldStatus,
};

use crate::DirectoryRef;
use crate::client::{Admin, NO_BODY};
use crate::output::{self, Output};

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Who the open hold keeps active, why, and since when.
    Show {
        #[command(flatten)]
        directory: DirectoryRef,
    },
    /// Apply the held deactivations and deletions: those members lose access now.
    Apply {
        #[command(flatten)]
        directory: DirectoryRef,
    },
    /// Keep the held members' access (while the identity provider is fixed): the hold
    /// ends and they stay active.
    Keep {
        #[command(flatten)]
        directory: DirectoryRef,
    },
}

/// Held members read per request while `show` pages through them.
const PAGE: usize = 1000;

pub(crate) async fn run(admin: &Admin, command: Command) -> anyhow::Result<Output> {
    match command {
        Command::Show { directory } => show(admin, &directory).await,
        Command::Apply { directory } => decide(admin, &directory, "apply").await,
        Command::Keep { directory } => decide(admin, &directory, "keep").await,
    }
}

/// The hold with every held member (paged through; one JSON document with `--json`).
async fn show(admin: &Admin, directory: &DirectoryRef) -> anyhow::Result<Output> {
    let path = format!("{}/hold?limit={PAGE}", directory.path());
    let mut status: HoldStatus = admin.get(&path).await?;
    if let Some(hold) = status.hold.as_mut() {
        while let Some(after) = hold.next_after.take() {
            let page: HoldStatus = admin.get(&format!("{path}&after={after}")).await?;
            let Some(next) = page.hold else { break };
            hold.held.extend(next.held);
            hold.next_after = next.next_after;
        }
    }
    let policy = match status.policy {
        Some(p) => policy_text(p),
        None => "the hold is off".to_owned(),
    };
    let text = match &status.hold {
        None => format!("no hold: nothing is held ({policy})"),
        Some(h) => {
            let mut lines = vec![
                format!(
                    "held since {}: {} deactivations, {} deletions, {} members leaving teams",
                    output::at(h.since),
                    h.deactivations,
                    h.removals,
                    h.team_removals
                ),
                format!("why: {}", h.reason),
                "decide with `scimctl directory hold apply` or `hold keep`".to_owned(),
            ];
            lines.extend(h.held.iter().map(|m| {
                format!(
                    "{}  {:<10} {}  {}",
                    m.scim_user_id,
                    match m.change {
                        HeldChange::Deactivate => "deactivate".to_owned(),
                        HeldChange::Remove => "delete".to_owned(),
                        HeldChange::LeaveTeams => format!("leave {}", m.teams.join(", ")),
                    },
                    m.email.as_deref().unwrap_or("-"),
                    m.display_name.as_deref().unwrap_or(""),
                )
            }));
            lines.join("\n")
        }
    };
    Ok(Output::new(&status, text))
}

async fn decide(admin: &Admin, directory: &DirectoryRef, how: &str) -> anyhow::Result<Output> {
    let path = format!("{}/hold/{how}", directory.path());
    let decided: HoldDecision = admin.post(&path, NO_BODY).await?;
    let (d, r, t) = (
        decided.deactivations,
        decided.removals,
        decided.team_removals,
    );
    let text = match decided.decision {
        Decision::Applied => format!(
            "applied: {d} members deactivated and {r} removed, {t} left their teams; the hold has ended"
        ),
        Decision::Kept => format!(
            "kept: {} members keep their access and teams; the hold has ended",
            d + r + t
        ),
    };
    Ok(Output::new(&decided, text))
}

/// `scimctl directory hold-policy`.
pub(crate) async fn set_policy(
    admin: &Admin,
    directory: &DirectoryRef,
    policy: Option<HoldPolicy>,
) -> anyhow::Result<Output> {
    let path = format!("{}/hold-policy", directory.path());
    let body = HoldPolicySetting {
        hold_policy: policy,
    };
    let changed: Directory = admin.put(&path, &body).await?;
    let text = match changed.hold_policy {
        Some(p) => policy_text(p),
        None => "the hold is off: every deprovisioning takes effect".to_owned(),
    };
    Ok(Output::new(&changed, text))
}

fn policy_text(p: HoldPolicy) -> String {
    format!(
        "deprovisioning is held past more than {} members and more than {} % of the active members within an hour",
        p.min_members, p.share_percent
    )
}
