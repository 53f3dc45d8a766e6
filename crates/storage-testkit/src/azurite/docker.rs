//! The Docker route: Azurite's official image through testcontainers, for
//! machines with a Docker engine and no Node.js.

use testcontainers_modules::azurite::{Azurite as AzuriteImage, BLOB_PORT};
use testcontainers_modules::testcontainers::runners::SyncRunner;
use testcontainers_modules::testcontainers::Container as TcContainer;

/// A running Azurite container; removed when dropped.
pub(crate) struct Container {
    pub port: u16,
    _container: TcContainer<AzuriteImage>,
}

/// Starts the image and finds the host port of its blob service.
pub(crate) fn start() -> Result<Container, String> {
    let container = AzuriteImage::default()
        .start()
        .map_err(|e| format!("cannot start the Azurite Docker image: {e}"))?;
    let port = container
        .get_host_port_ipv4(BLOB_PORT)
        .map_err(|e| format!("the Azurite container exposes no blob port: {e}"))?;
    Ok(Container {
        port,
        _container: container,
    })
}
