//! The product's member records, derived from the directory's SCIM users. Each event is
//! a trigger: the worker re-reads the user and writes the member it implies, guarded by
//! the user's version, so duplicates and stale events change nothing.

use scim_shared::db::users;
use scim_shared::user::User;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    /// Lost access: deactivated in the identity provider.
    Deactivated,
    /// Deleted in the identity provider; the row stays as a tombstone holding the
    /// version, so a late event cannot bring the member back. Personal data is cleared.
    Removed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Deactivated => "deactivated",
            Status::Removed => "removed",
        }
    }
}

/// What a member record holds, derived from a SCIM user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub status: Status,
}

impl Profile {
    pub fn from_user(user: &User) -> Profile {
        let a = user.attrs();
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let emails = a
            .get("emails")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let email = emails
            .iter()
            .find(|e| e.get("primary") == Some(&Value::Bool(true)))
            .or_else(|| emails.first())
            .and_then(|e| text(e.get("value")))
            .or_else(|| Some(user.user_name().to_owned()).filter(|n| n.contains('@')));
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
                Status::Active
            } else {
                Status::Deactivated
            },
        }
    }

    fn removed() -> Profile {
        Profile {
            email: None,
            display_name: None,
            given_name: None,
            family_name: None,
            status: Status::Removed,
        }
    }
}

/// Brings the member of SCIM user `user_id` up to the user's current state. When the
/// user no longer exists, the member becomes a tombstone at `event_version`. Returns
/// whether anything was written.
pub async fn apply_user(
    pool: &PgPool,
    directory: Uuid,
    user_id: Uuid,
    event_version: i64,
) -> Result<bool, sqlx::Error> {
    let (profile, version) = match users::get(pool, directory, user_id).await? {
        Some(stored) => (Profile::from_user(&stored.user), stored.version),
        None => (Profile::removed(), event_version),
    };
    let written = sqlx::query(
        "INSERT INTO members (id, directory_id, scim_user_id, email, display_name, given_name, family_name, status, scim_version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (directory_id, scim_user_id) DO UPDATE
         SET email = EXCLUDED.email, display_name = EXCLUDED.display_name, given_name = EXCLUDED.given_name,
             family_name = EXCLUDED.family_name, status = EXCLUDED.status, scim_version = EXCLUDED.scim_version,
             updated_at = now()
         WHERE members.scim_version < EXCLUDED.scim_version",
    )
    .bind(Uuid::now_v7())
    .bind(directory)
    .bind(user_id)
    .bind(profile.email)
    .bind(profile.display_name)
    .bind(profile.given_name)
    .bind(profile.family_name)
    .bind(profile.status.as_str())
    .bind(version)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(written > 0)
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
        assert_eq!(p.status, Status::Active);
    }

    #[test]
    fn falls_back_to_user_name_and_full_name() {
        let p = profile(
            json!({"userName": "jane@x.com", "name": {"givenName": "Jane", "familyName": "Doe"}, "active": false}),
        );
        assert_eq!(p.email.as_deref(), Some("jane@x.com"));
        assert_eq!(p.display_name.as_deref(), Some("Jane Doe"));
        assert_eq!(p.status, Status::Deactivated);
        let p = profile(json!({"userName": "jdoe"}));
        assert_eq!((p.email, p.display_name), (None, None));
    }
}
