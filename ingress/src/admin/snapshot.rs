//! A directory's snapshot over HTTP: JSON lines (`application/x-ndjson`) streamed as
//! [`commands::snapshot`] writes them.

use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{Actor, AdminError};
use crate::{AppState, commands};

pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/admin/v1/directories/{id}/snapshot", get(take))
}

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
