//! Directories, their controls and their SCIM bearer tokens.

use crate::secret;
use scim_core::hold::Policy;
use scim_core::profile::Idp;
use scim_core::roles::Catalogue;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgExecutor, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

/// Tokens start with this, so secret scanners can recognize a leaked one.
pub const TOKEN_PREFIX: &str = "scim_";
/// Live tokens a directory may hold at once: enough to rotate without a gap.
pub const MAX_LIVE_TOKENS: i64 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    pub id: Uuid,
    pub name: String,
    pub idp: Idp,
}

/// What a SCIM request needs to know about its directory besides its id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Controls {
    /// Most active users; `None` for no limit.
    pub seat_limit: Option<i32>,
    /// Lower-case email domains users must be on; empty accepts any.
    pub trusted_domains: Vec<String>,
    /// What a push of someone the product already has (a member made by hand with the
    /// same email) does.
    pub existing_members: ExistingMembers,
}

/// What a directory does when its identity provider pushes someone the product already
/// has as a member made by hand: the `directories.existing_members` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExistingMembers {
    /// Provisioning takes the member over (it is `adopted`).
    #[default]
    Adopt,
    /// The create is refused with 409, naming the member.
    Refuse,
}

impl ExistingMembers {
    pub fn as_str(self) -> &'static str {
        match self {
            ExistingMembers::Adopt => "adopt",
            ExistingMembers::Refuse => "refuse",
        }
    }

    fn parse(text: &str) -> ExistingMembers {
        if text == "refuse" {
            ExistingMembers::Refuse
        } else {
            ExistingMembers::Adopt
        }
    }
}

/// How a directory's provisioning assigns teams: its team mode and that mode's
/// setting, held in the `directories` columns `team_mode`, `team_attribute`,
/// `mirror_pattern` and `unmapped_values`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TeamMapping {
    /// Admins map teams to exact group names (the Cal.com way).
    #[default]
    Mapped,
    /// Each pushed group is a team, with exactly the group's members (the Teamup way);
    /// with a pattern, only groups whose names match it (`*` for any characters, case
    /// ignored).
    Mirrored { pattern: Option<String> },
    /// The values of this URN-qualified extension attribute name the teams (the
    /// Calendly way), through the directory's value table where it has a row.
    Attribute {
        attribute: String,
        /// What a value without a row in the value table does.
        unmapped: Unmapped,
    },
}

/// Attribute mode: what a value that the value table does not map does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unmapped {
    /// Names a team, made on the value's first use.
    #[default]
    Create,
    /// Names no team.
    Ignore,
}

impl Unmapped {
    pub fn as_str(self) -> &'static str {
        match self {
            Unmapped::Create => "create",
            Unmapped::Ignore => "ignore",
        }
    }
}

impl TeamMapping {
    pub fn mode(&self) -> &'static str {
        match self {
            TeamMapping::Mapped => "mapped",
            TeamMapping::Mirrored { .. } => "mirrored",
            TeamMapping::Attribute { .. } => "attribute",
        }
    }

    /// Whether the identity provider owns team membership: manual changes are refused.
    pub fn owns_membership(&self) -> bool {
        !matches!(self, TeamMapping::Mapped)
    }

    /// From the `directories` columns, which a CHECK constraint keeps consistent.
    pub fn from_columns(
        mode: &str,
        attribute: Option<String>,
        pattern: Option<String>,
        unmapped: &str,
    ) -> Result<TeamMapping, sqlx::Error> {
        let unmapped = match unmapped {
            "ignore" => Unmapped::Ignore,
            _ => Unmapped::Create,
        };
        match (mode, attribute) {
            ("mapped", _) => Ok(TeamMapping::Mapped),
            ("mirrored", _) => Ok(TeamMapping::Mirrored { pattern }),
            ("attribute", Some(attribute)) => Ok(TeamMapping::Attribute {
                attribute,
                unmapped,
            }),
            (mode, _) => Err(sqlx::Error::Decode(
                format!("no team mode {mode:?} with these settings").into(),
            )),
        }
    }

    fn columns(&self) -> (&'static str, Option<&str>, Option<&str>, &'static str) {
        match self {
            TeamMapping::Mapped => ("mapped", None, None, "create"),
            TeamMapping::Mirrored { pattern } => ("mirrored", None, pattern.as_deref(), "create"),
            TeamMapping::Attribute {
                attribute,
                unmapped,
            } => ("attribute", Some(attribute), None, unmapped.as_str()),
        }
    }
}

/// The directory's team mapping.
pub async fn team_mapping(
    db: impl PgExecutor<'_>,
    directory: Uuid,
) -> Result<TeamMapping, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT team_mode, team_attribute, mirror_pattern, unmapped_values FROM directories
         WHERE id = $1",
        directory
    )
    .fetch_optional(db)
    .await?;
    match row {
        Some(r) => TeamMapping::from_columns(
            &r.team_mode,
            r.team_attribute,
            r.mirror_pattern,
            &r.unmapped_values,
        ),
        None => Ok(TeamMapping::Mapped),
    }
}

/// Sets the directory's team mapping; returns its settings version (raised when the
/// mapping changed).
pub async fn set_team_mapping(
    conn: &mut PgConnection,
    directory: Uuid,
    mapping: &TeamMapping,
) -> Result<i64, sqlx::Error> {
    let (mode, attribute, pattern, unmapped) = mapping.columns();
    sqlx::query_scalar!(
        "UPDATE directories
         SET version = version + ((team_mode, team_attribute, mirror_pattern, unmapped_values)
                         IS DISTINCT FROM ($2::text, $3::text, $4::text, $5::text))::int,
             team_mode = $2, team_attribute = $3, mirror_pattern = $4, unmapped_values = $5
         WHERE id = $1 RETURNING version",
        directory,
        mode,
        attribute,
        pattern,
        unmapped
    )
    .fetch_one(conn)
    .await
}

/// A directory with its settings and counts.
#[derive(Debug, Clone)]
pub struct Summary {
    pub directory: Directory,
    pub controls: Controls,
    pub team_mapping: TeamMapping,
    pub created_at: OffsetDateTime,
    pub last_request_at: Option<OffsetDateTime>,
    pub users: i64,
    pub active_users: i64,
    pub groups: i64,
    pub teams: i64,
    pub version: i64,
    /// Until when the request log keeps what every request sends (the request
    /// inspector's window); `None` when it is not open.
    pub inspect_until: Option<OffsetDateTime>,
    /// The mass-deprovisioning hold's threshold; `None`: the hold is off.
    pub hold: Option<Policy>,
    /// Since when provisioning is paused: the product's data is left as it is.
    pub paused_at: Option<OffsetDateTime>,
    /// Users deactivated and unchanged this many days are deleted; `None`: never.
    pub retention_days: Option<i32>,
}

impl Summary {
    /// The directory as its events carry it: its settings, without counts.
    pub fn event_resource(&self) -> Value {
        let mapping = &self.team_mapping;
        json!({
            "id": self.directory.id,
            "name": self.directory.name,
            "idp": self.directory.idp,
            "seat_limit": self.controls.seat_limit,
            "trusted_domains": self.controls.trusted_domains,
            "existing_members": self.controls.existing_members.as_str(),
            "team_mode": mapping.mode(),
            "team_attribute": match mapping {
                TeamMapping::Attribute { attribute, .. } => Some(attribute),
                _ => None,
            },
            "mirror_pattern": match mapping {
                TeamMapping::Mirrored { pattern } => pattern.as_ref(),
                _ => None,
            },
            "unmapped_values": match mapping {
                TeamMapping::Attribute { unmapped, .. } => Some(unmapped.as_str()),
                _ => None,
            },
            "paused": self.paused_at.is_some(),
            "retention_days": self.retention_days,
            "hold_policy": self.hold.map(|p| json!({
                "min_members": p.min_members,
                "share_percent": p.share_percent,
            })),
        })
    }
}

/// Where a token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenOrigin {
    /// Issued with its directory (`directory create`).
    DirectoryCreated,
    /// Issued by an operator (admin API, `scimctl`, the console).
    Operator,
    /// Generated on the directory's setup page.
    SetupLink,
}

impl TokenOrigin {
    fn as_str(self) -> &'static str {
        match self {
            TokenOrigin::DirectoryCreated => "directory_created",
            TokenOrigin::Operator => "operator",
            TokenOrigin::SetupLink => "setup_link",
        }
    }

    fn parse(s: &str) -> Option<TokenOrigin> {
        [
            TokenOrigin::DirectoryCreated,
            TokenOrigin::Operator,
            TokenOrigin::SetupLink,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// A token as listed: never its secret.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub id: Uuid,
    /// The token's first characters, enough to tell tokens apart.
    pub prefix: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    /// When it stops working; `None` for never.
    pub expires_at: Option<OffsetDateTime>,
    /// Where it came from; `None` for a token issued before this was recorded.
    pub origin: Option<TokenOrigin>,
}

/// A newly issued token: the only time the plain text exists.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub id: Uuid,
    pub prefix: String,
    pub token: String,
    /// When it stops working; `None` for never.
    pub expires_at: Option<OffsetDateTime>,
}

/// A caller a token identifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub directory: Uuid,
    /// When the token stops working; `None` for never.
    pub expires_at: Option<OffsetDateTime>,
    /// The directory's identity provider kind.
    pub idp: Idp,
    pub token: Uuid,
    pub controls: Controls,
    /// The directory's request inspector window ([`Summary::inspect_until`]).
    pub inspect_until: Option<OffsetDateTime>,
}

/// The `idp` column, which only ever holds a kind's spelling (a CHECK constraint).
fn idp(column: &str) -> Result<Idp, sqlx::Error> {
    column
        .parse()
        .map_err(|e: String| sqlx::Error::Decode(e.into()))
}

fn token_prefix(id: Uuid) -> String {
    format!("{TOKEN_PREFIX}{}", &id.simple().to_string()[..8])
}

/// The directory named `name` (case ignored), if any; for a check of a new name to
/// hold, the transaction takes [`lock_names`] first.
pub async fn named(db: impl PgExecutor<'_>, name: &str) -> Result<Option<Directory>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT id, name, idp FROM directories WHERE lower(name) = lower($1) LIMIT 1",
        name
    )
    .fetch_optional(db)
    .await?;
    row.map(|r| {
        Ok(Directory {
            id: r.id,
            name: r.name,
            idp: idp(&r.idp)?,
        })
    })
    .transpose()
}

/// Serializes the naming of directories until the transaction ends: two operators
/// creating "Acme" at once get one directory and one refusal.
pub async fn lock_names(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtext('scim.directory_names'))")
        .execute(conn)
        .await?;
    Ok(())
}

/// Makes a directory with this role catalogue (the deployment's): one statement, so
/// a directory never exists without its roles.
pub async fn create(
    db: impl PgExecutor<'_>,
    name: &str,
    idp: Idp,
    roles: &Catalogue,
) -> Result<Directory, sqlx::Error> {
    let id = Uuid::now_v7();
    let columns = crate::roles::Columns::of(roles);
    sqlx::query!(
        "WITH dir AS (
             INSERT INTO directories (id, name, idp, default_role) VALUES ($1, $2, $3, $4)
         )
         INSERT INTO directory_roles (directory_id, id, display_name, description, position)
         SELECT $1, r.id, r.display_name, r.description, r.position
         FROM unnest($5::text[], $6::text[], $7::text[], $8::int4[])
             AS r(id, display_name, description, position)",
        id,
        name,
        idp.as_str(),
        roles.default,
        &columns.ids,
        &columns.names,
        &columns.descriptions,
        &columns.positions
    )
    .execute(db)
    .await?;
    Ok(Directory {
        id,
        name: name.to_owned(),
        idp,
    })
}

/// The directory `id`, or every directory (oldest first) when `id` is `None`, with
/// its counts.
async fn summaries(db: impl PgExecutor<'_>, id: Option<Uuid>) -> Result<Vec<Summary>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT d.id, d.name, d.idp, d.seat_limit, d.trusted_domains, d.existing_members,
                d.team_mode, d.team_attribute, d.mirror_pattern, d.unmapped_values,
                d.created_at, d.last_request_at, d.version, d.inspect_until,
                d.hold_min_members, d.hold_share_percent, d.paused_at, d.retention_days,
                c.users AS "users!", c.active_users AS "active_users!", c.groups AS "groups!",
                (SELECT count(*) FROM teams t WHERE t.directory_id = d.id) AS "teams!"
           FROM directories d CROSS JOIN LATERAL (
               SELECT coalesce(sum(users), 0)::int8 AS users,
                      coalesce(sum(active_users), 0)::int8 AS active_users,
                      coalesce(sum(groups), 0)::int8 AS groups
               FROM directory_counts WHERE directory_id = d.id) c
           WHERE $1::uuid IS NULL OR d.id = $1
           ORDER BY d.id"#,
        id as Option<Uuid>
    )
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Summary {
                directory: Directory {
                    id: r.id,
                    name: r.name,
                    idp: idp(&r.idp)?,
                },
                controls: Controls {
                    seat_limit: r.seat_limit,
                    trusted_domains: r.trusted_domains,
                    existing_members: ExistingMembers::parse(&r.existing_members),
                },
                team_mapping: TeamMapping::from_columns(
                    &r.team_mode,
                    r.team_attribute,
                    r.mirror_pattern,
                    &r.unmapped_values,
                )?,
                created_at: r.created_at,
                last_request_at: r.last_request_at,
                users: r.users,
                active_users: r.active_users,
                groups: r.groups,
                teams: r.teams,
                version: r.version,
                inspect_until: r.inspect_until,
                hold: policy_of(r.hold_min_members, r.hold_share_percent),
                paused_at: r.paused_at,
                retention_days: r.retention_days,
            })
        })
        .collect()
}

/// Every directory, oldest first.
pub async fn list(db: impl PgExecutor<'_>) -> Result<Vec<Summary>, sqlx::Error> {
    summaries(db, None).await
}

pub async fn show(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Summary>, sqlx::Error> {
    Ok(summaries(db, Some(id)).await?.pop())
}

pub async fn exists(db: impl PgExecutor<'_>, id: Uuid) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM directories WHERE id = $1) AS "exists!""#,
        id
    )
    .fetch_one(db)
    .await
}

/// Locks the directory's row against concurrent changes of its settings (not against
/// SCIM writes) and returns its summary.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<Summary>, sqlx::Error> {
    if lock_row(&mut *conn, id).await? {
        show(conn, id).await
    } else {
        Ok(None)
    }
}

/// Locks the directory's row as [`lock`] does, without reading its summary; `false`
/// if there is no such directory.
pub async fn lock_row(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let found = sqlx::query_scalar!(
        "SELECT id FROM directories WHERE id = $1 FOR NO KEY UPDATE",
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

/// Writes a locked directory's controls and bumps its version; returns the new version.
pub async fn set_controls(
    conn: &mut PgConnection,
    id: Uuid,
    controls: &Controls,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE directories SET seat_limit = $2, trusted_domains = $3, existing_members = $4,
                version = version + 1
         WHERE id = $1 RETURNING version",
        id,
        controls.seat_limit,
        &controls.trusted_domains,
        controls.existing_members.as_str()
    )
    .fetch_one(conn)
    .await
}

/// Writes a locked directory's hold policy (`None`: off) and bumps its version;
/// returns the new version.
pub async fn set_hold_policy(
    conn: &mut PgConnection,
    id: Uuid,
    policy: Option<Policy>,
) -> Result<i64, sqlx::Error> {
    let column = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    sqlx::query_scalar!(
        "UPDATE directories SET hold_min_members = $2, hold_share_percent = $3,
                version = version + 1
         WHERE id = $1 RETURNING version",
        id,
        policy.map(|p| column(p.min_members)),
        policy.map(|p| column(p.share_percent))
    )
    .fetch_one(conn)
    .await
}

/// Pauses (`true`) or resumes a locked directory's provisioning and bumps its version;
/// returns when it was paused (`None`: resumed) and the new version.
pub async fn set_paused(
    conn: &mut PgConnection,
    id: Uuid,
    paused: bool,
) -> Result<(Option<OffsetDateTime>, i64), sqlx::Error> {
    let r = sqlx::query!(
        "UPDATE directories
         SET paused_at = CASE WHEN $2 THEN coalesce(paused_at, now()) END, version = version + 1
         WHERE id = $1 RETURNING paused_at, version",
        id,
        paused
    )
    .fetch_one(conn)
    .await?;
    Ok((r.paused_at, r.version))
}

/// Writes a locked directory's retention (`None`: off) and bumps its version; returns
/// the new version.
pub async fn set_retention(
    conn: &mut PgConnection,
    id: Uuid,
    days: Option<i32>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE directories SET retention_days = $2, version = version + 1
         WHERE id = $1 RETURNING version",
        id,
        days
    )
    .fetch_one(conn)
    .await
}

/// Those of `ids` whose provisioning is paused.
pub async fn paused(db: impl PgExecutor<'_>, ids: &[Uuid]) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM directories WHERE id = ANY($1) AND paused_at IS NOT NULL",
        ids
    )
    .fetch_all(db)
    .await
}

/// A directory's hold policy (`None`: off, or no such directory).
pub async fn hold_policy(db: impl PgExecutor<'_>, id: Uuid) -> Result<Option<Policy>, sqlx::Error> {
    let row = sqlx::query!(
        "SELECT hold_min_members, hold_share_percent FROM directories WHERE id = $1",
        id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.and_then(|r| policy_of(r.hold_min_members, r.hold_share_percent)))
}

/// The hold policy as its columns hold it (a CHECK keeps them both set or both NULL).
fn policy_of(min_members: Option<i32>, share_percent: Option<i32>) -> Option<Policy> {
    let whole = |v: i32| u32::try_from(v).ok();
    Some(Policy {
        min_members: whole(min_members?)?,
        share_percent: whole(share_percent?)?,
    })
}

/// Bumps a locked directory's version (for announced changes stored elsewhere, such as
/// tokens); returns it.
pub async fn bump_version(conn: &mut PgConnection, id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE directories SET version = version + 1 WHERE id = $1 RETURNING version",
        id
    )
    .fetch_one(conn)
    .await
}

/// Deletes the directory and everything in it. Group memberships and the request log
/// have no foreign key (migrations 0003 and 0008), so they go first, memberships under
/// the lock that waits for membership changes in flight.
pub async fn delete(conn: &mut PgConnection, id: Uuid) -> Result<(), sqlx::Error> {
    super::memberships::lock(&mut *conn, id, true).await?;
    sqlx::query!("DELETE FROM scim_group_members WHERE directory_id = $1", id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!("DELETE FROM request_log WHERE directory_id = $1", id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!("DELETE FROM directories WHERE id = $1", id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The seat limit and the active users counted against it, with the directory locked
/// so that concurrent activations are counted one after the other. `None` when the
/// directory has no limit (nothing is locked then).
pub async fn seats_locked(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Option<(i64, i64)>, sqlx::Error> {
    let limit = sqlx::query_scalar!(
        "SELECT seat_limit FROM directories WHERE id = $1 FOR NO KEY UPDATE",
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(Some(limit)) = limit else {
        return Ok(None);
    };
    // The kept count (migration 0016): every statement that changes who is active adds
    // to it in its own transaction, so under the lock it is as exact as counting the
    // directory's users, without reading them all on every create.
    let in_use = sqlx::query_scalar!(
        r#"SELECT coalesce(sum(active_users), 0)::int8 AS "in_use!"
           FROM directory_counts WHERE directory_id = $1"#,
        id
    )
    .fetch_one(conn)
    .await?;
    Ok(Some((i64::from(limit), in_use)))
}

/// Issues a token for a directory: `scim_<token id, 32 hex><secret, 64 hex>`, working
/// until `expires_at` (or for good).
pub async fn issue_token(
    db: impl PgExecutor<'_>,
    directory_id: Uuid,
    expires_at: Option<OffsetDateTime>,
    origin: TokenOrigin,
) -> Result<IssuedToken, sqlx::Error> {
    let id = Uuid::new_v4();
    let secret_hex = secret::new();
    let digest = secret::digest(&secret_hex);
    sqlx::query!(
        "INSERT INTO tokens (id, directory_id, secret_sha256, expires_at, origin)
         VALUES ($1, $2, $3, $4, $5)",
        id,
        directory_id,
        digest.as_slice(),
        expires_at,
        origin.as_str()
    )
    .execute(db)
    .await?;
    Ok(IssuedToken {
        id,
        prefix: token_prefix(id),
        token: secret::join(TOKEN_PREFIX, id, &secret_hex),
        expires_at,
    })
}

pub async fn live_tokens(db: impl PgExecutor<'_>, directory_id: Uuid) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "live!" FROM tokens
           WHERE directory_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"#,
        directory_id
    )
    .fetch_one(db)
    .await
}

/// The directory's tokens, newest first, revoked ones included.
pub async fn tokens(
    db: impl PgExecutor<'_>,
    directory_id: Uuid,
) -> Result<Vec<TokenInfo>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT id, created_at, last_used_at, revoked_at, expires_at, origin FROM tokens
         WHERE directory_id = $1 ORDER BY created_at DESC, id",
        directory_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| TokenInfo {
            id: r.id,
            prefix: token_prefix(r.id),
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
            expires_at: r.expires_at,
            origin: r.origin.as_deref().and_then(TokenOrigin::parse),
        })
        .collect())
}

/// Revokes a live token of the directory; false if it has no such live token.
pub async fn revoke_token(
    db: impl PgExecutor<'_>,
    directory_id: Uuid,
    token_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE tokens SET revoked_at = now()
         WHERE id = $1 AND directory_id = $2 AND revoked_at IS NULL",
        token_id,
        directory_id
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Revokes every live token of the directory (before it is deleted).
pub async fn revoke_all_tokens(
    db: impl PgExecutor<'_>,
    directory_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE tokens SET revoked_at = now() WHERE directory_id = $1 AND revoked_at IS NULL",
        directory_id
    )
    .execute(db)
    .await?;
    Ok(())
}

/// What a presented token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    /// A live token: its caller.
    Valid(Authenticated),
    /// A token of a directory that expired: refused, and the caller is told why.
    Expired,
    /// Unknown, malformed, revoked, or with the wrong secret.
    Refused,
}

/// What a presented token is. The secret is compared in constant time, and only a
/// token whose secret matches is ever called expired.
pub async fn authenticate(pool: &PgPool, token: &str) -> Result<TokenCheck, sqlx::Error> {
    let Some((id, presented)) = secret::split(token, TOKEN_PREFIX) else {
        return Ok(TokenCheck::Refused);
    };
    let row = sqlx::query!(
        r#"SELECT t.directory_id, t.secret_sha256, t.expires_at,
                  t.expires_at IS NOT NULL AND t.expires_at <= now() AS "expired!",
                  d.idp, d.seat_limit, d.trusted_domains, d.existing_members, d.inspect_until
           FROM tokens t JOIN directories d ON d.id = t.directory_id
           WHERE t.id = $1 AND t.revoked_at IS NULL"#,
        id
    )
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(TokenCheck::Refused);
    };
    if !secret::matches(&presented, &row.secret_sha256) {
        return Ok(TokenCheck::Refused);
    }
    if row.expired {
        return Ok(TokenCheck::Expired);
    }
    Ok(TokenCheck::Valid(Authenticated {
        directory: row.directory_id,
        expires_at: row.expires_at,
        idp: idp(&row.idp)?,
        token: id,
        controls: Controls {
            seat_limit: row.seat_limit,
            trusted_domains: row.trusted_domains,
            existing_members: ExistingMembers::parse(&row.existing_members),
        },
        inspect_until: row.inspect_until,
    }))
}

/// Opens the directory's request inspector window until `until`, or closes it (`None`).
pub async fn set_inspection(
    db: impl PgExecutor<'_>,
    id: Uuid,
    until: Option<OffsetDateTime>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE directories SET inspect_until = $2 WHERE id = $1",
        id,
        until
    )
    .execute(db)
    .await?;
    Ok(())
}

/// A live token within the warning window of its expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expiring {
    pub directory: Uuid,
    pub id: Uuid,
    pub prefix: String,
    pub expires_at: OffsetDateTime,
}

/// Claims the live tokens that expire within `window_seconds` and were not announced
/// yet, in `conn`'s transaction: each is claimed once, by whichever replica asks first.
pub async fn claim_expiring(
    conn: &mut PgConnection,
    window_seconds: f64,
) -> Result<Vec<Expiring>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"UPDATE tokens SET expiry_announced_at = now()
           WHERE revoked_at IS NULL AND expiry_announced_at IS NULL
             AND expires_at > now() AND expires_at <= now() + make_interval(secs => $1)
           RETURNING directory_id, id, expires_at AS "expires_at!""#,
        window_seconds
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Expiring {
            directory: r.directory_id,
            id: r.id,
            prefix: token_prefix(r.id),
            expires_at: r.expires_at,
        })
        .collect())
}

/// Live tokens that expire within `window_seconds`, and tokens past their expiry that
/// nobody revoked (identity providers still holding one get 401s).
pub async fn expiry_counts(
    db: impl PgExecutor<'_>,
    window_seconds: f64,
) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE expires_at > now()
                                   AND expires_at <= now() + make_interval(secs => $1)) AS "expiring!",
                  count(*) FILTER (WHERE expires_at <= now()) AS "expired!"
           FROM tokens WHERE revoked_at IS NULL AND expires_at IS NOT NULL"#,
        window_seconds
    )
    .fetch_one(db)
    .await?;
    Ok((row.expiring, row.expired))
}
