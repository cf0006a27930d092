//! A subscribing service in miniature: keeps a copy of every directory's users, groups
//! and memberships from the event stream alone, following the ordering rule, and prints
//! what it holds as events arrive.
//!
//!   NATS_URL=nats://127.0.0.1:4222 NATS_USER=scim-subscriber NATS_PASSWORD=… \
//!     cargo run -p scim-events --example directory_copy
//!
//! (`scripts/up.sh` prints the subscriber user's password.) It reads from the oldest
//! event the stream keeps, through a durable consumer of its own, `directory-copy-example`.

use async_nats::jetstream;
use scim_events::copy::DirectoryCopy;
use scim_events::subscriber::{self, Settings};
use scim_events::{Kind, Positions};
use std::collections::BTreeMap;
use uuid::Uuid;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let user = var("NATS_USER");
    let url = match var("NATS_URL") {
        u if u.is_empty() => "nats://127.0.0.1:4222".to_owned(),
        u => u,
    };
    // Replies come back on the user's own inbox prefix (deploy/nats/permissions.conf).
    let client =
        async_nats::ConnectOptions::with_user_and_password(user.clone(), var("NATS_PASSWORD"))
            .custom_inbox_prefix(format!("_INBOX_{user}"))
            .connect(url)
            .await?;
    let js = jetstream::new(client);
    let settings = Settings::new("directory-copy-example");
    let consumer = subscriber::consumer(&js, &settings).await?;
    let mut copies: BTreeMap<Uuid, DirectoryCopy> = BTreeMap::new();
    let mut positions = Positions::new();
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    subscriber::run(&consumer, &settings, &mut positions, stop, |event| {
        let copy = copies.entry(event.directory_id).or_default();
        copy.apply(&event);
        if let Kind::Other = event.kind() {
            println!(
                "{} (a type this example does not know: ignored)",
                event.event_type
            );
        } else {
            println!(
                "{:<26} directory {}: {} users, {} groups, {} memberships",
                event.event_type,
                event.directory_id,
                copy.users.len(),
                copy.groups.len(),
                copy.groups.values().map(|g| g.members.len()).sum::<usize>()
            );
        }
        async { Ok(()) }
    })
    .await?;
    Ok(())
}
