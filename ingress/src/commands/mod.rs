//! What each change does, whoever asks for it. For a directory's users and groups (a
//! SCIM request, an operation of `/Bulk`, the admin API): the controls it must pass,
//! the events it records with it, how it is batched with others' changes, and the
//! version it leaves. For the admin half ([`admin`], [`directory`], [`directories`],
//! [`teams`], [`roles`], [`tokens`], [`setup_links`], [`hold`], [`reconcile`], [`preview`], [`undelivered`], [`snapshot`],
//! [`pipeline`]): who asks, what each admin change does, previews, snapshots, where the
//! events stand, and how each change is recorded. HTTP is not here: a handler extracts
//! the request, calls a command and renders what it returns.

pub(crate) mod admin;
mod batch;
pub(crate) mod directories;
pub(crate) mod directory;
pub(crate) mod groups;
pub(crate) mod hold;
pub(crate) mod pipeline;
pub(crate) mod preview;
pub(crate) mod reconcile;
pub(crate) mod roles;
pub(crate) mod setup_links;
pub(crate) mod snapshot;
pub(crate) mod teams;
pub(crate) mod tokens;
pub(crate) mod undelivered;
pub(crate) mod users;

use scim_core::profile::Profile;
use scim_store::directories::Controls;
use uuid::Uuid;

use crate::AppState;

/// Where a change is made: one directory, under its controls (trusted domains, seat
/// limit) as its token's caller saw them.
#[derive(Clone)]
pub(crate) struct Scope {
    pub state: AppState,
    pub directory: Uuid,
    pub controls: Controls,
    /// What the directory's identity provider expects where providers differ.
    pub profile: Profile,
}

/// Optimistic writes retried this often before the client is told to retry (503).
const WRITE_ATTEMPTS: usize = 5;
