//! A directory's snapshot over HTTP: JSON lines (`application/x-ndjson`) streamed as
//! [`commands::snapshot`] writes them.

use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::Failures;
use super::{Actor, AdminError};
use crate::{AppState, commands};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(take))
}

#[utoipa::path(
    get,
    path = "/admin/v1/directories/{id}/snapshot",
    operation_id = "take_snapshot",
    tag = "events",
    params(("id" = Uuid, Path, description = "The directory's id")),
    responses((status = 200, description = "The directory's snapshot: one JSON line each (`scim_events::snapshot::Line`, docs/events.md), streamed, ending with an `end` line", body = String, content_type = "application/x-ndjson"), Failures)
)]
async fn take(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Response, AdminError> {
    let rx = commands::snapshot::take(&state, &actor, &id).await?;
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|line| (Ok::<_, std::io::Error>(line), rx))
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(body),
    )
        .into_response())
}
