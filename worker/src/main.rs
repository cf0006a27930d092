use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = worker::Config::parse();
    scim_shared::config::init_tracing();
    worker::run(config, scim_shared::shutdown::on_signal()).await
}
