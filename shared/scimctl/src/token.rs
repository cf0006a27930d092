//! `scimctl token`: a directory's SCIM bearer tokens.

use clap::Subcommand;
use scim_admin_api::{NewToken, Token};
use uuid::Uuid;

use crate::DirectoryRef;
use crate::client::Admin;
use crate::output::{Output, at, or_dash, rows};

#[derive(Subcommand)]
pub(crate) enum Command {
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

pub(crate) async fn run(admin: &Admin, command: Command) -> anyhow::Result<Output> {
    Ok(match command {
        Command::Create { directory } => {
            let path = format!("{}/tokens", directory.path());
            let new: NewToken = admin.post(&path, None::<&()>).await?;
            let text = format!(
                "token {} ({})\nbearer token:  {}\nThe token is shown only now. Paste it into the identity provider, then revoke the old one.",
                new.token.prefix, new.token.id, new.token.token
            );
            Output::new(&new, text)
        }
        Command::List { directory } => {
            let tokens: Vec<Token> = admin.get(&format!("{}/tokens", directory.path())).await?;
            let text = rows(&tokens, |t| {
                format!(
                    "{}  {:<14} created {}  last used {}  {}",
                    t.id,
                    t.prefix,
                    at(t.created_at),
                    or_dash(t.last_used_at.map(at)),
                    t.revoked_at
                        .map_or_else(|| "live".to_owned(), |r| format!("revoked {}", at(r)))
                )
            });
            Output::new(&tokens, text)
        }
        Command::Revoke { directory, token } => {
            admin
                .delete_empty(&format!("{}/tokens/{token}", directory.path()))
                .await?;
            Output::new(&(), format!("token {token} revoked"))
        }
    })
}
