//! The product's member records, derived from the directory's SCIM users. Each event is
//! a trigger: the worker re-reads the users and writes the members they imply, guarded
//! by the users' versions, so duplicates and stale events change nothing.

use scim_core::user::User;
use serde_json::Value;
use sqlx::PgConnection;

use uuid::Uuid;

/// A member's status: the `members.status` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberStatus {
    /// Can sign in.
    Active,
    /// Lost access: deactivated in the identity provider.
    Deactivated,
    /// Deleted in the identity provider; the row stays as a tombstone holding the
    /// version, so a late event cannot bring the member back, and the email it was
    /// known by, nothing else of it.
    Removed,
}

impl MemberStatus {
    pub const ALL: [MemberStatus; 3] = [
        MemberStatus::Active,
        MemberStatus::Deactivated,
        MemberStatus::Removed,
    ];

    /// As the column holds it.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Deactivated => "deactivated",
            MemberStatus::Removed => "removed",
        }
    }

    fn parse(text: &str) -> Option<MemberStatus> {
        MemberStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

text_column!(MemberStatus, "member status");

/// What a member record holds, derived from a SCIM user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub status: MemberStatus,
}

impl Profile {
    pub fn from_user(user: &User) -> Profile {
        let a = user.attrs();
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let email = user.main_email().map(str::to_owned);
        let given_name = text(a.get("name").and_then(|n| n.get("givenName")));
        let family_name = text(a.get("name").and_then(|n| n.get("familyName")));
        let display_name = text(a.get("displayName"))
            .or_else(|| text(a.get("name").and_then(|n| n.get("formatted"))))
            .or_else(|| {
                let full = [given_name.as_deref(), family_name.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                (!full.is_empty()).then_some(full)
            });
        Profile {
            email,
            display_name,
            given_name,
            family_name,
            status: if user.active() {
                MemberStatus::Active
            } else {
                MemberStatus::Deactivated
            },
        }
    }

    pub(crate) fn removed() -> Profile {
        Profile {
            email: None,
            display_name: None,
            given_name: None,
            family_name: None,
            status: MemberStatus::Removed,
        }
    }
}

/// A user an event is about, and the version the event announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touched {
    pub directory: Uuid,
    pub user: Uuid,
    pub version: i64,
}

/// Writes these member records (sorted by directory and user), each where the member's
/// version is older; returns the rows written.
pub(crate) async fn upsert(conn: &mut PgConnection, rows: &Rows) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "INSERT INTO members (id, directory_id, scim_user_id, email, display_name, given_name, family_name, status, scim_version)
         SELECT r.* FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[])
             AS r(id, directory_id, scim_user_id, email, display_name, given_name, family_name, status, scim_version)
         -- Events of a deleted directory find nothing to write.
         JOIN directories d ON d.id = r.directory_id
         -- Rows are locked in the order they are written: keep the sorted order
         -- whatever the join does, as `teams::lock_members` does.
         ORDER BY r.directory_id, r.scim_user_id
         -- A removal keeps the email the member was known by (what the team events of
         -- the removal name, and what a subscriber keys on), and nothing else of them.
         ON CONFLICT (directory_id, scim_user_id) DO UPDATE
         SET email = CASE WHEN EXCLUDED.status = 'removed' THEN members.email ELSE EXCLUDED.email END,
             display_name = EXCLUDED.display_name, given_name = EXCLUDED.given_name,
             family_name = EXCLUDED.family_name, status = EXCLUDED.status, scim_version = EXCLUDED.scim_version,
             updated_at = now()
         WHERE members.scim_version < EXCLUDED.scim_version",
        &rows.ids,
        &rows.directories,
        &rows.users,
        &rows.emails as &[Option<String>],
        &rows.display_names as &[Option<String>],
        &rows.given_names as &[Option<String>],
        &rows.family_names as &[Option<String>],
        &rows.statuses as &[&str],
        &rows.versions
    )
    .execute(conn)
    .await?
    .rows_affected())
}

/// Who manages a member: the `members.managed_by` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagedBy {
    /// Created from a SCIM user.
    Provisioned,
    /// Made by hand (or by sign-in) and taken over by the first push with its email.
    Adopted,
    /// Made by hand: provisioning never changes it.
    Manual,
}

impl ManagedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            ManagedBy::Provisioned => "provisioned",
            ManagedBy::Adopted => "adopted",
            ManagedBy::Manual => "manual",
        }
    }

    fn parse(text: &str) -> Option<ManagedBy> {
        [
            ManagedBy::Provisioned,
            ManagedBy::Adopted,
            ManagedBy::Manual,
        ]
        .into_iter()
        .find(|m| m.as_str() == text)
    }
}

text_column!(ManagedBy, "member manager");

/// Adopts, in directories that adopt existing members, the member made by hand with the
/// email of each (directory, user, email) pushed for the first time: the upsert that
/// follows then brings it up to date as the user's member. One statement for all.
pub(crate) async fn adopt(
    conn: &mut PgConnection,
    pushed: &[(Uuid, Uuid, String)],
) -> Result<(), sqlx::Error> {
    if pushed.is_empty() {
        return Ok(());
    }
    let dirs: Vec<Uuid> = pushed.iter().map(|p| p.0).collect();
    let users: Vec<Uuid> = pushed.iter().map(|p| p.1).collect();
    let emails: Vec<String> = pushed.iter().map(|p| p.2.clone()).collect();
    sqlx::query!(
        "WITH pushed AS (
             SELECT r.d, r.u, r.email FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS r(d, u, email)
             JOIN directories dir ON dir.id = r.d AND dir.existing_members = 'adopt'
             WHERE NOT EXISTS (SELECT 1 FROM members x WHERE x.directory_id = r.d AND x.scim_user_id = r.u)
         ), matched AS (
             SELECT DISTINCT ON (m.id) m.id, p.u FROM pushed p
             JOIN members m ON m.directory_id = p.d AND m.scim_user_id IS NULL
                           AND lower(m.email) = lower(p.email)
             ORDER BY m.id, p.u
         ), one AS (
             SELECT DISTINCT ON (u) id, u FROM matched ORDER BY u, id
         )
         UPDATE members m SET scim_user_id = one.u, managed_by = 'adopted', updated_at = now()
         FROM one WHERE m.id = one.id",
        &dirs,
        &users,
        &emails
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The directory's member made by hand with this email (case ignored), if any: what a
/// directory that refuses existing members names when it refuses a push.
pub async fn made_by_hand(
    db: impl sqlx::PgExecutor<'_>,
    directory: Uuid,
    email: &str,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM members
         WHERE directory_id = $1 AND scim_user_id IS NULL AND lower(email) = lower($2)
         ORDER BY id LIMIT 1",
        directory,
        email
    )
    .fetch_optional(db)
    .await
}

/// Members a held deletion left behind whose access was kept: the directory no longer
/// has their user, so they become members managed by hand, which provisioning never
/// changes.
pub(crate) async fn detach(conn: &mut PgConnection, members: &[Uuid]) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE members SET scim_user_id = NULL, managed_by = 'manual', updated_at = now()
         WHERE id = ANY($1)",
        members
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The directory's users that have no member record yet (the worker has not applied
/// their creation): what a preview applies first, in its transaction, so that it shows
/// what a change does to people pushed a moment ago.
pub(crate) async fn pending(
    conn: &mut PgConnection,
    directory: Uuid,
) -> Result<Vec<Touched>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT u.id, u.version FROM scim_users u
         WHERE u.directory_id = $1
           AND NOT EXISTS (SELECT 1 FROM members m
                           WHERE m.directory_id = u.directory_id AND m.scim_user_id = u.id)",
        directory
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Touched {
            directory,
            user: r.id,
            version: r.version,
        })
        .collect())
}

/// A provisioned member record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub id: Uuid,
    pub scim_user_id: Uuid,
    pub profile: Profile,
    pub version: i64,
}

/// The member records of these users.
pub async fn stored(
    conn: &mut PgConnection,
    directory: Uuid,
    users: &[Uuid],
) -> Result<Vec<Stored>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, scim_user_id AS "scim_user_id!", email, display_name, given_name,
                  family_name, status AS "status: MemberStatus", scim_version
           FROM members WHERE directory_id = $1 AND scim_user_id = ANY($2)"#,
        directory,
        users
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Stored {
            id: r.id,
            scim_user_id: r.scim_user_id,
            profile: Profile {
                email: r.email,
                display_name: r.display_name,
                given_name: r.given_name,
                family_name: r.family_name,
                status: r.status,
            },
            version: r.scim_version,
        })
        .collect())
}

/// Provisioned members whose user the directory no longer has, not yet removed.
pub async fn orphans(conn: &mut PgConnection, directory: Uuid) -> Result<Vec<Stored>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT m.scim_user_id AS "scim_user_id!" FROM members m
           WHERE m.directory_id = $1 AND m.scim_user_id IS NOT NULL AND m.status <> 'removed'
             AND NOT EXISTS (SELECT 1 FROM scim_users u
                             WHERE u.directory_id = $1 AND u.id = m.scim_user_id)
           ORDER BY 1"#,
        directory
    )
    .fetch_all(&mut *conn)
    .await?;
    stored(
        conn,
        directory,
        &rows.into_iter().map(|r| r.scim_user_id).collect::<Vec<_>>(),
    )
    .await
}

/// Lowers these members' versions to at most the given ones, so that a write at the
/// version above takes effect whatever a hand edit or a restore left there.
pub async fn lower_versions(
    conn: &mut PgConnection,
    members: &[(Uuid, i64)],
) -> Result<(), sqlx::Error> {
    if members.is_empty() {
        return Ok(());
    }
    let (ids, versions): (Vec<Uuid>, Vec<i64>) = members.iter().copied().unzip();
    sqlx::query!(
        "UPDATE members m SET scim_version = LEAST(m.scim_version, r.v)
         FROM unnest($1::uuid[], $2::bigint[]) AS r(id, v) WHERE m.id = r.id",
        &ids,
        &versions
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Column arrays for one `unnest` upsert.
#[derive(Default)]
pub(crate) struct Rows {
    ids: Vec<Uuid>,
    directories: Vec<Uuid>,
    users: Vec<Uuid>,
    emails: Vec<Option<String>>,
    display_names: Vec<Option<String>>,
    given_names: Vec<Option<String>>,
    family_names: Vec<Option<String>>,
    statuses: Vec<&'static str>,
    versions: Vec<i64>,
}

impl Rows {
    pub(crate) fn push(&mut self, directory: Uuid, user: Uuid, p: Profile, version: i64) {
        self.ids.push(Uuid::now_v7());
        self.directories.push(directory);
        self.users.push(user);
        self.emails.push(p.email);
        self.display_names.push(p.display_name);
        self.given_names.push(p.given_name);
        self.family_names.push(p.family_name);
        self.statuses.push(p.status.as_str());
        self.versions.push(version);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn profile(v: Value) -> Profile {
        Profile::from_user(&User::from_request(v).unwrap())
    }

    #[test]
    fn prefers_the_primary_email_and_the_display_name() {
        let p = profile(json!({
            "userName": "jdoe",
            "displayName": "Jane D",
            "name": {"givenName": "Jane", "familyName": "Doe"},
            "emails": [{"value": "other@x.com"}, {"value": "jane@x.com", "primary": true}],
        }));
        assert_eq!(p.email.as_deref(), Some("jane@x.com"));
        assert_eq!(p.display_name.as_deref(), Some("Jane D"));
        assert_eq!(p.status, MemberStatus::Active);
    }

    #[test]
    fn falls_back_to_user_name_and_full_name() {
        let p = profile(
            json!({"userName": "jane@x.com", "name": {"givenName": "Jane", "familyName": "Doe"}, "active": false}),
        );
        assert_eq!(p.email.as_deref(), Some("jane@x.com"));
        assert_eq!(p.display_name.as_deref(), Some("Jane Doe"));
        assert_eq!(p.status, MemberStatus::Deactivated);
        let p = profile(json!({"userName": "jdoe"}));
        assert_eq!((p.email, p.display_name), (None, None));
    }
}
