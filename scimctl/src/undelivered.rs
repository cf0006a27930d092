//! `scimctl dead-letters` and `outbox`: events that did not reach their consumers.

use clap::Subcommand;
use scim_admin_api::{DeadLetter, Discarded, ParkedEvent, Replayed, Republished};
use uuid::Uuid;

use crate::client::Admin;
use crate::output::{Output, at, rows};

#[derive(Subcommand)]
pub(crate) enum DeadLetters {
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

pub(crate) async fn dead_letters(admin: &Admin, command: DeadLetters) -> anyhow::Result<Output> {
    Ok(match command {
        DeadLetters::List { limit } => {
            let letters: Vec<DeadLetter> =
                admin.get(&format!("/dead-letters?limit={limit}")).await?;
            let text = rows(&letters, |d| {
                format!(
                    "{:>6}  {:<60} attempts {}  {}",
                    d.seq, d.subject, d.attempts, d.reason
                )
            });
            Output::new(&letters, text)
        }
        DeadLetters::Replay { seq } => {
            let path = format!("/dead-letters/{seq}/replay");
            let replayed: Replayed = admin.post(&path, None::<&()>).await?;
            let text = format!(
                "replayed {} on {}",
                replayed
                    .replayed
                    .event_type
                    .as_deref()
                    .unwrap_or("an event"),
                replayed.replayed.subject
            );
            Output::new(&replayed, text)
        }
    })
}

#[derive(Subcommand)]
pub(crate) enum Outbox {
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

pub(crate) async fn outbox(admin: &Admin, command: Outbox) -> anyhow::Result<Output> {
    Ok(match command {
        Outbox::Parked { directory } => {
            let mut path = "/outbox/parked".to_owned();
            if let Some(d) = directory {
                path.push_str(&format!("?directory={d}"));
            }
            let parked: Vec<ParkedEvent> = admin.get(&path).await?;
            let text = rows(&parked, |p| {
                format!(
                    "{:>8}  {}  {:<60} {:>9} bytes  {}",
                    p.seq,
                    at(p.parked_at),
                    p.subject,
                    p.bytes,
                    p.reason
                )
            });
            Output::new(&parked, text)
        }
        Outbox::Republish { seq } => {
            let path = format!("/outbox/parked/{seq}/republish");
            let done: Republished = admin.post(&path, None::<&()>).await?;
            let text = format!(
                "{} is back in the outbox as {}",
                done.republished.subject, done.outbox_seq
            );
            Output::new(&done, text)
        }
        Outbox::Discard { seq } => {
            let done: Discarded = admin.delete(&format!("/outbox/parked/{seq}")).await?;
            Output::new(&done, format!("discarded {}", done.discarded.subject))
        }
    })
}
