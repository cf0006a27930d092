use clap::Parser;

// glibc's allocator spent ~15 % of the ingress's CPU under load (docs/benchmarks-history.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = worker::Config::parse();
    let telemetry = scim_service::telemetry::init("scim-worker");
    let ran = worker::run(config, scim_service::shutdown::on_signal()).await;
    telemetry.shutdown();
    ran
}
