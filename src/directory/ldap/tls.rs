//! The TLS client configuration of LDAPS and StartTLS: the system's roots, or the PEM
//! certificates of a private CA instead.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::directory::DirectoryError;

/// Named in the errors, so an operator knows which setting to look at.
const PEM_VAR: &str = "DIRECT_OAUTH_LDAP_CA_PEM (LdapCaPem)";
/// The usual cause: a PEM's line breaks lost on the way through `--parameter-overrides`.
const PEM_HINT: &str = "; keep its line breaks (README: \"A private CA's certificate\")";

pub(super) fn client_config(
    ca_pem: Option<&str>,
) -> Result<Arc<rustls::ClientConfig>, DirectoryError> {
    let bad = |why: String| DirectoryError::Misconfigured(why);
    let mut roots = RootCertStore::empty();
    match ca_pem {
        Some(pem) => {
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|e| bad(format!("{PEM_VAR}: not PEM ({e}){PEM_HINT}")))?;
                roots
                    .add(cert)
                    .map_err(|e| bad(format!("the LDAP CA's certificate: {e}")))?;
            }
            if roots.is_empty() {
                return Err(bad(format!("{PEM_VAR} holds no certificate{PEM_HINT}")));
            }
        }
        None => {
            // A certificate the system cannot read is skipped, as a browser would.
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
    }
    // The AWS SDK's provider, named: with more than one in the build, rustls would not
    // pick one by itself.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
