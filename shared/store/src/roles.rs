//! A directory's product roles (`directory_roles`, `directories.default_role`) and the
//! group names mapped to them (`role_group_mappings`). Which role each member has is
//! the product's (`scim_product::roles`).

use scim_core::roles::{Catalogue, Role};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

/// A catalogue as column arrays, for one `unnest` insert.
pub(crate) struct Columns {
    pub ids: Vec<String>,
    pub names: Vec<String>,
    pub descriptions: Vec<String>,
    pub positions: Vec<i32>,
}

impl Columns {
    pub(crate) fn of(catalogue: &Catalogue) -> Columns {
        let roles = &catalogue.roles;
        Columns {
            ids: roles.iter().map(|r| r.id.clone()).collect(),
            names: roles.iter().map(|r| r.display_name.clone()).collect(),
            descriptions: roles.iter().map(|r| r.description.clone()).collect(),
            // A catalogue holds at most `MAX_ROLES`.
            positions: (0..roles.len() as i32).collect(),
        }
    }
}

/// The directory's catalogue, highest role first.
pub async fn catalogue(conn: &mut PgConnection, directory: Uuid) -> Result<Catalogue, sqlx::Error> {
    let roles = sqlx::query_as!(
        Role,
        "SELECT id, display_name, description FROM directory_roles
         WHERE directory_id = $1 ORDER BY position",
        directory
    )
    .fetch_all(&mut *conn)
    .await?;
    let default = sqlx::query_scalar!(
        "SELECT default_role FROM directories WHERE id = $1",
        directory
    )
    .fetch_optional(&mut *conn)
    .await?
    .unwrap_or_default();
    Ok(Catalogue { roles, default })
}

/// Replaces the directory's catalogue (checked by the caller); mappings to roles it no
/// longer has go with them. Returns the previous catalogue.
pub async fn set_catalogue(
    conn: &mut PgConnection,
    directory: Uuid,
    catalogue: &Catalogue,
) -> Result<Catalogue, sqlx::Error> {
    let previous = self::catalogue(&mut *conn, directory).await?;
    let columns = Columns::of(catalogue);
    sqlx::query!(
        "DELETE FROM directory_roles WHERE directory_id = $1 AND NOT (id = ANY($2))",
        directory,
        &columns.ids
    )
    .execute(&mut *conn)
    .await?;
    // Positions are unique, checked at commit: a reorder swaps them freely.
    sqlx::query!(
        "INSERT INTO directory_roles (directory_id, id, display_name, description, position)
         SELECT $1, r.id, r.display_name, r.description, r.position
         FROM unnest($2::text[], $3::text[], $4::text[], $5::int4[])
             AS r(id, display_name, description, position)
         ON CONFLICT (directory_id, id) DO UPDATE
         SET display_name = EXCLUDED.display_name, description = EXCLUDED.description,
             position = EXCLUDED.position",
        directory,
        &columns.ids,
        &columns.names,
        &columns.descriptions,
        &columns.positions
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE directories SET default_role = $2 WHERE id = $1",
        directory,
        catalogue.default
    )
    .execute(&mut *conn)
    .await?;
    Ok(previous)
}

/// The directory's group names mapped to roles, by name: (group name, role id).
pub async fn group_mappings(
    db: impl PgExecutor<'_>,
    directory: Uuid,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT group_name, role FROM role_group_mappings
         WHERE directory_id = $1 ORDER BY group_name",
        directory
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.group_name, r.role)).collect())
}

/// Replaces the directory's group → role mappings (each role one of its catalogue's:
/// the foreign key refuses others); returns the previous ones.
pub async fn set_group_mappings(
    conn: &mut PgConnection,
    directory: Uuid,
    mappings: &[(String, String)],
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let previous = group_mappings(&mut *conn, directory).await?;
    let (names, roles): (Vec<String>, Vec<String>) = mappings.iter().cloned().unzip();
    sqlx::query!(
        "DELETE FROM role_group_mappings WHERE directory_id = $1",
        directory
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO role_group_mappings (directory_id, group_name, role)
         SELECT $1, r.name, r.role FROM unnest($2::text[], $3::text[]) AS r(name, role)",
        directory,
        &names,
        &roles
    )
    .execute(&mut *conn)
    .await?;
    Ok(previous)
}

/// Each of these users' groups mapped to a role: (user, group name, role id).
pub async fn mapped_groups(
    conn: &mut PgConnection,
    directory: Uuid,
    users: &[Uuid],
) -> Result<Vec<(Uuid, String, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT gm.user_id, g.display_name, m.role
           FROM scim_group_members gm
           JOIN scim_groups g ON g.directory_id = gm.directory_id AND g.id = gm.group_id
           JOIN role_group_mappings m ON m.directory_id = gm.directory_id
                                     AND m.group_name = g.display_name
           WHERE gm.directory_id = $1 AND gm.user_id = ANY($2)"#,
        directory,
        users
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.user_id, r.display_name, r.role))
        .collect())
}

/// Whether joining or leaving the group, or renaming it from `previous`, can change
/// anyone's role: a mapping names the group's name or its previous one, or the group
/// is gone (its name is no longer known).
pub async fn group_can_matter(
    db: impl PgExecutor<'_>,
    directory: Uuid,
    group: Uuid,
    previous: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let can = sqlx::query_scalar!(
        r#"SELECT g.id IS NULL OR EXISTS (
                  SELECT 1 FROM role_group_mappings m
                  WHERE m.directory_id = d.id
                    AND (m.group_name = g.display_name OR m.group_name = $3)) AS "can!"
           FROM directories d
           LEFT JOIN scim_groups g ON g.directory_id = d.id AND g.id = $2
           WHERE d.id = $1"#,
        directory,
        group,
        previous
    )
    .fetch_optional(db)
    .await?;
    Ok(can.unwrap_or(false))
}

/// A user's stored `roles` and `entitlements` attributes.
pub type Assigned = (Option<serde_json::Value>, Option<serde_json::Value>);

/// Each of these users' stored `roles` and `entitlements`, where it has either.
pub async fn assigned(
    conn: &mut PgConnection,
    directory: Uuid,
    users: &[Uuid],
) -> Result<Vec<(Uuid, Assigned)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT id, resource->'roles' AS roles, resource->'entitlements' AS entitlements
         FROM scim_users
         WHERE directory_id = $1 AND id = ANY($2) AND resource ?| array['roles', 'entitlements']",
        directory,
        users
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, (r.roles, r.entitlements)))
        .collect())
}
