use clap::Parser;
use ingress::{Application, Config};

// glibc's allocator spent ~15 % of the ingress's CPU under load (docs/benchmarks-history.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let telemetry = scim_service::telemetry::init("scim-ingress");
    let app = Application::build(config).await?;
    tracing::info!(base_url = app.base_url(), "ingress listening");
    let served = app.run(scim_service::shutdown::on_signal()).await;
    telemetry.shutdown();
    served
}
