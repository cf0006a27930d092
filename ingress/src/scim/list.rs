//! List query parameters and the ListResponse envelope (RFC 7644 §3.4.2).

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use scim_core::ScimError;
use scim_core::filter::sql::{Condition, Order, ResourceSql, compile_filter, compile_sort};
use scim_core::filter::{self, AttrPath, Filter};
use scim_core::projection::Projection;
use scim_core::schema::{LIST_RESPONSE_SCHEMA, ResourceSchema};
use serde_json::{Value, json};
use std::collections::HashMap;

use super::members::{self, Members};
use crate::commands::Scope;
use crate::error::ApiError;
use crate::extract::ScimJson;

/// A resource type that can be listed: its schema and how to read one page of it.
pub trait Listed {
    const SCHEMA: &'static ResourceSchema;

    /// The page at `offset`.
    fn page(
        scope: &Scope,
        query: &ListQuery,
        offset: i64,
        count: i64,
    ) -> impl Future<Output = Result<Page, ApiError>> + Send;
}

/// One page of a list.
#[derive(Default)]
pub struct Page {
    /// How many resources match, on every page.
    pub total: i64,
    /// The page's resources, rendered and projected.
    pub resources: Vec<Value>,
    /// The members of the page's groups, written into the response as it is sent.
    pub members: Option<Members>,
}

/// `GET /{Resources}?filter=…&startIndex=…&count=…`.
pub async fn list<R: Listed>(
    scope: Scope,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    respond::<R>(&scope, ListQuery::parse(R::SCHEMA, &params)?).await
}

/// `POST /{Resources}/.search`: a list whose parameters travel in the body.
pub async fn search<R: Listed>(
    scope: Scope,
    ScimJson(body): ScimJson,
) -> Result<Response, ApiError> {
    respond::<R>(&scope, ListQuery::from_search_body(R::SCHEMA, &body)?).await
}

async fn respond<R: Listed>(scope: &Scope, query: ListQuery) -> Result<Response, ApiError> {
    let page = R::page(scope, &query, query.offset(), query.count).await?;
    Ok(members::respond(
        StatusCode::OK,
        &list_response(page.total, query.start_index, page.resources),
        None,
        page.members,
    ))
}

/// Page size when the client names none, and the most it may ask for.
pub const DEFAULT_COUNT: i64 = 100;
pub const MAX_COUNT: i64 = 1000;

/// `sortBy` and `sortOrder`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sort {
    pub by: AttrPath,
    pub descending: bool,
}

#[derive(Debug, PartialEq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    /// `None`: creation order.
    pub sort: Option<Sort>,
    /// 1-based, as in SCIM.
    pub start_index: i64,
    pub count: i64,
    pub projection: Projection,
}

impl ListQuery {
    /// Parameter names are matched case-insensitively; paging as [`paging`] reads it.
    pub fn parse(
        resource: &ResourceSchema,
        params: &HashMap<String, String>,
    ) -> Result<ListQuery, ScimError> {
        let get = |name: &str| param(params, name);
        let filter = match get("filter") {
            Some(f) if !f.trim().is_empty() => Some(filter::parse(f)?.expand_shorthands(resource)),
            _ => None,
        };
        let descending = match get("sortOrder").map(str::trim) {
            None | Some("") => false,
            Some(o) if o.eq_ignore_ascii_case("ascending") => false,
            Some(o) if o.eq_ignore_ascii_case("descending") => true,
            Some(o) => {
                return Err(ScimError::invalid_value(format!(
                    "sortOrder must be \"ascending\" or \"descending\", not {o:?}"
                )));
            }
        };
        let sort = match get("sortBy").map(str::trim) {
            None | Some("") => None,
            Some(by) => {
                let path = filter::parse_path(by)
                    .ok()
                    .filter(|p| p.filter.is_none() && p.sub_after_filter.is_none())
                    .ok_or_else(|| {
                        ScimError::invalid_value(format!("sortBy {by:?} is not an attribute path"))
                    })?;
                Some(Sort {
                    by: path.attr,
                    descending,
                })
            }
        };
        let (start_index, count) = paging(params)?;
        Ok(ListQuery {
            projection: Self::projection(resource, params)?,
            filter,
            sort,
            start_index,
            count,
        })
    }

    /// `attributes`/`excludedAttributes` alone, for requests that are not lists.
    pub fn projection(
        resource: &ResourceSchema,
        params: &HashMap<String, String>,
    ) -> Result<Projection, ScimError> {
        let get = |name: &str| param(params, name);
        Projection::parse(resource, get("attributes"), get("excludedAttributes"))
    }

    /// The filter (placeholders from `$2`, after the directory) and the order, compiled
    /// over `resource`'s table.
    pub fn sql(
        &self,
        resource: &'static ResourceSql,
    ) -> Result<(Option<Condition>, Order), ScimError> {
        let condition = self
            .filter
            .as_ref()
            .map(|f| compile_filter(resource, f, 2))
            .transpose()?;
        let order = match &self.sort {
            Some(s) => compile_sort(resource, &s.by, s.descending)?,
            None => Order::default(),
        };
        Ok((condition, order))
    }

    pub fn offset(&self) -> i64 {
        self.start_index - 1
    }

    /// The parameters of a `POST /.search` body (RFC 7644 §3.4.3), read like a query.
    pub fn from_search_body(
        resource: &ResourceSchema,
        body: &Value,
    ) -> Result<ListQuery, ScimError> {
        let Value::Object(fields) = body else {
            return Err(ScimError::invalid_syntax(
                "a search request must be a JSON object",
            ));
        };
        let mut params = HashMap::new();
        for (key, value) in fields {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                // attributes and excludedAttributes are lists in a search body.
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                _ => continue,
            };
            params.insert(key.clone(), text);
        }
        ListQuery::parse(resource, &params)
    }
}

/// A query parameter, its name matched case-insensitively.
/// `startIndex` and `count`, names matched case-insensitively: a `startIndex` below 1
/// is read as 1 and a negative `count` as 0 (RFC 7644 §3.4.2.4); larger counts are
/// capped.
pub(crate) fn paging(params: &HashMap<String, String>) -> Result<(i64, i64), ScimError> {
    let int = |name: &str| -> Result<Option<i64>, ScimError> {
        param(params, name)
            .map(|v| v.trim().parse::<i64>())
            .transpose()
            .map_err(|_| ScimError::invalid_value(format!("{name} must be an integer")))
    };
    Ok((
        int("startIndex")?.unwrap_or(1).max(1),
        int("count")?.unwrap_or(DEFAULT_COUNT).clamp(0, MAX_COUNT),
    ))
}

fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

pub fn list_response(total: i64, start_index: i64, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Result<ListQuery, ScimError> {
        ListQuery::parse(
            &scim_core::schema::USER,
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn defaults_and_okta_test_connection() {
        let d = q(&[]).unwrap();
        assert_eq!(d.projection, Projection::All);
        assert_eq!((d.start_index, d.count, d.filter), (1, DEFAULT_COUNT, None));
        let okta = q(&[("startIndex", "1"), ("count", "2")]).unwrap();
        assert_eq!((okta.start_index, okta.count), (1, 2));
    }

    #[test]
    fn search_bodies_read_like_queries() {
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "userName eq \"a\"",
            "startIndex": 3,
            "count": 7,
            "attributes": ["userName", "name.givenName"],
        });
        let q = ListQuery::from_search_body(&scim_core::schema::USER, &body).unwrap();
        assert!(q.filter.is_some());
        assert_eq!((q.start_index, q.count), (3, 7));
        assert!(matches!(q.projection, Projection::Only(ref t) if t.len() == 2));
        assert!(
            ListQuery::from_search_body(&scim_core::schema::USER, &serde_json::json!([])).is_err()
        );
    }

    #[test]
    fn sort_parameters() {
        let s = q(&[("sortBy", "name.familyName"), ("sortorder", "Descending")]).unwrap();
        let sort = s.sort.unwrap();
        assert_eq!(
            (
                sort.by.attr.as_str(),
                sort.by.sub.as_deref(),
                sort.descending
            ),
            ("name", Some("familyName"), true)
        );
        assert!(
            !q(&[("sortBy", "userName")])
                .unwrap()
                .sort
                .unwrap()
                .descending
        );
        assert_eq!(q(&[("sortOrder", "descending")]).unwrap().sort, None);
        for bad in [
            [("sortBy", "emails[type eq \"work\"]"), ("sortOrder", "")],
            [("sortBy", "userName"), ("sortOrder", "up")],
            [("sortBy", "a b"), ("sortOrder", "")],
        ] {
            assert_eq!(
                q(&bad).unwrap_err().scim_type(),
                Some(scim_core::ScimType::InvalidValue),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn clamps_out_of_range_paging_and_rejects_garbage() {
        let c = q(&[("startindex", "-4"), ("COUNT", "100000")]).unwrap();
        assert_eq!((c.start_index, c.count, c.offset()), (1, MAX_COUNT, 0));
        assert_eq!(q(&[("count", "-1")]).unwrap().count, 0);
        assert!(q(&[("count", "ten")]).is_err());
        assert!(q(&[("attributes", "userName"), ("excludedAttributes", "name")]).is_err());
        assert_eq!(
            q(&[("filter", "userName eq")]).unwrap_err().scim_type(),
            Some(scim_core::ScimType::InvalidFilter)
        );
    }
}
