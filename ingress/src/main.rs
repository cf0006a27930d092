use clap::Parser;
use ingress::{Application, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    scim_shared::config::init_tracing();
    let app = Application::build(config).await?;
    tracing::info!(base_url = app.base_url(), "ingress listening");
    app.run(scim_shared::shutdown::on_signal()).await
}
