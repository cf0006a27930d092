//! `scimctl token`: a directory's SCIM bearer tokens.

use clap::Subcommand;
use scim_admin_api::{NewToken, Token, TokenRequest};
use time::{Duration, OffsetDateTime};
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
        /// Make it stop working after this long: 90d, 12h, 30m. Default: never.
        #[arg(long, value_parser = lifetime)]
        expires: Option<Duration>,
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
        Command::Create { directory, expires } => {
            let path = format!("{}/tokens", directory.path());
            let request = TokenRequest {
                expires_at: expires.map(|d| OffsetDateTime::now_utc() + d),
            };
            let new: NewToken = admin.post(&path, Some(&request)).await?;
            let text = format!(
                "token {} ({})\nbearer token:  {}\nexpires:       {}\nThe token is shown only now. Paste it into the identity provider, then revoke the old one.",
                new.token.prefix,
                new.token.id,
                new.token.token,
                new.token.expires_at.map_or_else(|| "never".to_owned(), at)
            );
            Output::new(&new, text)
        }
        Command::List { directory } => {
            let tokens: Vec<Token> = admin.get(&format!("{}/tokens", directory.path())).await?;
            let text = rows(&tokens, |t| {
                let now = OffsetDateTime::now_utc();
                let state = match (t.revoked_at, t.expires_at) {
                    (Some(r), _) => format!("revoked {}", at(r)),
                    (None, Some(e)) if e <= now => format!("expired {}", at(e)),
                    (None, Some(e)) => format!("live, expires {}", at(e)),
                    (None, None) => "live".to_owned(),
                };
                format!(
                    "{}  {:<14} created {}  last used {}  {state}",
                    t.id,
                    t.prefix,
                    at(t.created_at),
                    or_dash(t.last_used_at.map(at)),
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

/// A token's lifetime as an operator writes it: a whole number of days (`d`), hours
/// (`h`) or minutes (`m`).
pub(crate) fn lifetime(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.char_indices().last().map_or(0, |(i, _)| i);
    let (number, unit) = text.split_at(split);
    let n: i64 = number
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{text:?} is not a lifetime such as 90d, 12h or 30m"))?;
    match unit {
        "d" => Ok(Duration::days(n)),
        "h" => Ok(Duration::hours(n)),
        "m" => Ok(Duration::minutes(n)),
        _ => Err(format!(
            "{text:?} is not a lifetime such as 90d, 12h or 30m"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_days_hours_or_minutes() {
        assert_eq!(lifetime("90d"), Ok(Duration::days(90)));
        assert_eq!(lifetime(" 12h"), Ok(Duration::hours(12)));
        assert_eq!(lifetime("30m"), Ok(Duration::minutes(30)));
        for bad in ["", "d", "0d", "-1d", "90", "1.5d", "2w", "90 d", "é"] {
            assert!(lifetime(bad).is_err(), "{bad:?}");
        }
    }
}
