use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = worker::Config::parse();
    let telemetry = scim_shared::telemetry::init("scim-worker");
    let ran = worker::run(config, scim_shared::shutdown::on_signal()).await;
    telemetry.shutdown();
    ran
}
