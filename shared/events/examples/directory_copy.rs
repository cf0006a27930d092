//! A subscribing service in miniature: keeps a copy of every directory's users, groups
//! and memberships from the event stream alone, following the ordering rule, and prints
//! what it holds as events arrive.
//!
//!   NATS_URL=nats://127.0.0.1:4222 NATS_USER=scim-subscriber NATS_PASSWORD=… \
//!     cargo run -p scim-events --example directory_copy
//!
//! (`scripts/up.sh` prints the subscriber user's password.) It keeps its copy and its
//! positions together in one file, `DIRECTORY_COPY_STATE` (default
//! `directory-copy.json`), written with every event before the event is acknowledged,
//! so a restart, even after `kill -9`, resumes where it stopped. Without that file it
//! starts over: from `DIRECTORY_COPY_SNAPSHOT` (a `scimctl directory snapshot` of one
//! directory) when given, else from the stream's first event. `DIRECTORY_COPY_DIRECTORY`
//! reads one directory's events only. Its durable consumer, `directory-copy-example`, is
//! deleted by the server after an hour without the example.

use async_nats::jetstream;
use scim_events::copy::DirectoryCopy;
use scim_events::subscriber::{self, Failure, Settings, Start};
use scim_events::{Kind, Positions, snapshot};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use uuid::Uuid;

/// What the example keeps: its copies, and the position of every resource in them.
#[derive(Default, Serialize, Deserialize)]
struct State {
    copies: BTreeMap<Uuid, DirectoryCopy>,
    positions: Positions,
}

impl State {
    /// Written whole to a file beside it, then renamed over it: a crash leaves the
    /// last state or the new one, never half of one.
    fn save(&self, path: &Path) -> std::io::Result<()> {
        let partial = path.with_extension("partial");
        std::fs::write(&partial, serde_json::to_vec(self)?)?;
        std::fs::rename(partial, path)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let user = var("NATS_USER").unwrap_or_default();
    let url = var("NATS_URL").unwrap_or_else(|| "nats://127.0.0.1:4222".to_owned());
    let path = PathBuf::from(var("DIRECTORY_COPY_STATE").unwrap_or("directory-copy.json".into()));
    // Replies come back on the user's own inbox prefix (deploy/nats/permissions.conf).
    let client = async_nats::ConnectOptions::with_user_and_password(
        user.clone(),
        var("NATS_PASSWORD").unwrap_or_default(),
    )
    .custom_inbox_prefix(format!("_INBOX_{user}"))
    .connect(url)
    .await?;
    let js = jetstream::new(client);
    let mut settings = Settings::new("directory-copy-example");
    settings.inactive_threshold = Some(Duration::from_secs(3600));
    if let Some(directory) = var("DIRECTORY_COPY_DIRECTORY") {
        settings.filter = format!("scim.v1.{directory}.>");
    }

    let (mut state, start) = if path.exists() {
        let state: State = serde_json::from_slice(&std::fs::read(&path)?)?;
        println!("resuming from {}", path.display());
        let start = Start::Kept(state.positions.clone());
        (state, start)
    } else if let Some(file) = var("DIRECTORY_COPY_SNAPSHOT") {
        let text = std::fs::read_to_string(&file)?;
        let loaded = snapshot::load(text.lines())?;
        println!("starting from the snapshot {file}");
        let state = State {
            copies: BTreeMap::from([(loaded.directory_id, loaded.copy)]),
            positions: loaded.positions.clone(),
        };
        let start = Start::Snapshot {
            start_after_sequence: loaded.start_after_sequence,
            positions: loaded.positions,
        };
        (state, start)
    } else {
        println!("starting from the stream's first event");
        (State::default(), Start::Nothing)
    };
    let (consumer, mut positions) = subscriber::consumer(&js, &settings, start).await?;
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    subscriber::run(&consumer, &settings, &mut positions, stop, |event| {
        let copy = state.copies.entry(event.directory_id).or_default();
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
        // The position is kept with what was applied, before the event is acknowledged.
        state.positions.applied(&event);
        let saved = state.save(&path);
        async move { saved.map_err(|e| Failure::Retry(format!("saving the copy: {e}"))) }
    })
    .await?;
    Ok(())
}
