//! HTTPS for `protoreg serve` (rustls, TLS 1.2 and 1.3 only): the server
//! certificate behind an [`ArcSwap`], so SIGHUP can replace it for new
//! connections without touching open ones, and optional client
//! certificates (mutual TLS) checked against `tls.client_ca_file`.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};

use crate::config::TlsConfig;

/// The crypto provider of every TLS connection: ring, which the HTTP client
/// (reqwest) uses too; aws-lc-rs would add a CMake build of its C library.
/// rustls marks it deprecated only for lacking post-quantum key exchange.
#[allow(deprecated)]
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads a PEM certificate chain (leaf first).
pub fn read_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("reading certificates from {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading certificates from {}", path.display()))?;
    anyhow::ensure!(
        !certs.is_empty(),
        "{}: no PEM certificate (-----BEGIN CERTIFICATE-----) in the file",
        path.display()
    );
    Ok(certs)
}

/// Reads the certificate chain and its private key and checks that they
/// belong together.
pub fn load_certified_key(cert_file: &Path, key_file: &Path) -> anyhow::Result<CertifiedKey> {
    let certs = read_certs(cert_file)?;
    let key = PrivateKeyDer::from_pem_file(key_file)
        .with_context(|| format!("reading a PEM private key from {}", key_file.display()))?;
    CertifiedKey::from_der(certs, key, &provider()).with_context(|| {
        format!(
            "the key in {} does not fit the certificate in {}",
            key_file.display(),
            cert_file.display()
        )
    })
}

/// The server certificate in force: read at start, replaced by
/// [`CertStore::reload`].
pub struct CertStore {
    cert_file: std::path::PathBuf,
    key_file: std::path::PathBuf,
    current: ArcSwap<CertifiedKey>,
}

impl fmt::Debug for CertStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertStore")
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .finish_non_exhaustive()
    }
}

impl CertStore {
    pub fn open(cert_file: &Path, key_file: &Path) -> anyhow::Result<Self> {
        let key = load_certified_key(cert_file, key_file)?;
        Ok(Self {
            cert_file: cert_file.to_owned(),
            key_file: key_file.to_owned(),
            current: ArcSwap::from_pointee(key),
        })
    }

    /// Reads both files again; new connections get the new certificate. A
    /// pair that does not load leaves the old one in force (and says why).
    pub fn reload(&self) -> anyhow::Result<()> {
        let key = load_certified_key(&self.cert_file, &self.key_file)?;
        self.current.store(Arc::new(key));
        Ok(())
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// The rustls configuration of the listener: TLS 1.2+, the certificate
/// from `certs`, client certificates required when `client_ca_file` is set.
pub fn server_config(config: &TlsConfig, certs: Arc<CertStore>) -> anyhow::Result<ServerConfig> {
    let provider = provider();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("TLS protocol versions")?;
    let builder = match &config.client_ca_file {
        None => builder.with_no_client_auth(),
        Some(ca_file) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certs(ca_file)? {
                roots.add(cert).with_context(|| {
                    format!("{}: not a usable CA certificate", ca_file.display())
                })?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .context("client certificate verifier")?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    Ok(builder.with_cert_resolver(certs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert_file = dir.join(format!("{name}.pem"));
        let key_file = dir.join(format!("{name}.key"));
        std::fs::write(&cert_file, cert.cert.pem()).unwrap();
        std::fs::write(&key_file, cert.signing_key.serialize_pem()).unwrap();
        (cert_file, key_file)
    }

    #[test]
    fn a_bad_new_pair_keeps_the_old_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let (cert_file, key_file) = write_pair(dir.path(), "a");
        let store = CertStore::open(&cert_file, &key_file).unwrap();
        let before = store.current.load_full().cert.clone();

        std::fs::write(&cert_file, "not a certificate").unwrap();
        let err = store.reload().unwrap_err();
        assert!(format!("{err:#}").contains("no PEM certificate"), "{err:#}");
        assert_eq!(store.current.load_full().cert, before);

        // A certificate with someone else's key.
        let (other_cert, _) = write_pair(dir.path(), "b");
        std::fs::copy(&other_cert, &cert_file).unwrap();
        let err = store.reload().unwrap_err();
        assert!(format!("{err:#}").contains("does not fit"), "{err:#}");
        assert_eq!(store.current.load_full().cert, before);

        let (new_cert, new_key) = write_pair(dir.path(), "c");
        std::fs::copy(&new_cert, &cert_file).unwrap();
        std::fs::copy(&new_key, &key_file).unwrap();
        store.reload().unwrap();
        assert_ne!(store.current.load_full().cert, before);
    }
}
