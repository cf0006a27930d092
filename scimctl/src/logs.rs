//! `scimctl requests`, `members` and `audit`: what happened, newest first, and the
//! product's members.

use clap::Args;
use scim_admin_api::{AuditRecord, ManagedBy, Member, RequestEntry};
use uuid::Uuid;

use crate::DirectoryRef;
use crate::client::Admin;
use crate::output::{Output, at, or_dash, rows};

/// The directory's SCIM requests, newest first.
#[derive(Args)]
pub(crate) struct Requests {
    #[command(flatten)]
    directory: DirectoryRef,
    /// A status (401), a class (4xx) or "errors".
    #[arg(long)]
    status: Option<String>,
    #[arg(long, default_value_t = 50)]
    limit: u32,
}

pub(crate) async fn requests(admin: &Admin, args: Requests) -> anyhow::Result<Output> {
    let mut path = format!("{}/requests?limit={}", args.directory.path(), args.limit);
    if let Some(status) = args.status {
        path.push_str(&format!("&status={status}"));
    }
    let entries: Vec<RequestEntry> = admin.get(&path).await?;
    let text = rows(&entries, |r| {
        format!(
            "{}  {:<6} {} {:>7.1} ms  {}{}{}{}",
            at(r.at),
            r.method,
            r.status,
            r.duration_ms,
            r.path,
            r.resource
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default(),
            r.detail
                .as_ref()
                .map(|d| format!("\n    {d}"))
                .unwrap_or_default(),
            r.body
                .as_ref()
                .map(|b| format!("\n    sent: {b}"))
                .unwrap_or_default()
        )
    });
    Ok(Output::new(&entries, text))
}

/// The product's members of a directory and their teams.
#[derive(Args)]
pub(crate) struct Members {
    #[command(flatten)]
    directory: DirectoryRef,
    /// active, deactivated or removed.
    #[arg(long)]
    status: Option<String>,
    #[arg(long, default_value_t = 100)]
    limit: u32,
}

pub(crate) async fn members(admin: &Admin, args: Members) -> anyhow::Result<Output> {
    let mut path = format!("{}/members?limit={}", args.directory.path(), args.limit);
    if let Some(status) = args.status {
        path.push_str(&format!("&status={status}"));
    }
    let members: Vec<Member> = admin.get(&path).await?;
    let text = rows(&members, |m| {
        let managed_by = match m.managed_by {
            ManagedBy::Provisioned => "provisioned",
            ManagedBy::Adopted => "adopted",
            ManagedBy::Manual => "by hand",
        };
        format!(
            "{:<40} {:<12} {:<12} {:<12} {}  [{}]",
            or_dash(m.email.as_ref()),
            m.status.as_str(),
            managed_by,
            or_dash(m.role.as_ref()),
            m.teams.join(", "),
            m.id
        )
    });
    Ok(Output::new(&members, text))
}

/// Admin actions, newest first.
#[derive(Args)]
pub(crate) struct Audit {
    #[arg(long)]
    directory: Option<Uuid>,
    #[arg(long, default_value_t = 50)]
    limit: u32,
}

pub(crate) async fn audit(admin: &Admin, args: Audit) -> anyhow::Result<Output> {
    let mut path = format!("/audit?limit={}", args.limit);
    if let Some(d) = args.directory {
        path.push_str(&format!("&directory={d}"));
    }
    let records: Vec<AuditRecord> = admin.get(&path).await?;
    let text = rows(&records, |a| {
        format!(
            "{}  {:<28} {:<40} {}  {}",
            at(a.at),
            a.action,
            a.actor,
            or_dash(a.directory_id),
            a.details
        )
    });
    Ok(Output::new(&records, text))
}
