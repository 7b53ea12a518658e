//! TLS for the HTTP client: certificates are always checked, against the system's root
//! certificates plus each client's extra roots (`root_certificates_pem`).
//!
//! On Linux and the other Unix systems but Apple's and Android, the system's roots are files
//! (`/etc/ssl/certs`, or `SSL_CERT_FILE` / `SSL_CERT_DIR`). reqwest's own setup
//! (rustls-platform-verifier) reads all of them again for every client it builds: 146 to 440
//! files opened per client. Here they are read once per process, by [`system_roots`], when the
//! first HTTPS client is built (or at the first TLS handshake of a plain-HTTP client, through a
//! proxy, if that comes first), and shared by every client after that: building a client opens no
//! file. Each client's verifier is webpki's over those roots and its own extra ones, which is what
//! rustls-platform-verifier does on these systems. A process made by `fork()` inherits the roots
//! already read.
//!
//! On macOS, iOS, Windows and Android, certificates are checked by the operating system, which
//! reads no file per client: reqwest's setup (rustls-platform-verifier) is kept there.

#[cfg(all(unix, not(target_os = "android"), not(target_vendor = "apple")))]
pub(super) use shared_roots::configure;

/// Other systems: reqwest's rustls-platform-verifier, with the extra roots merged.
#[cfg(not(all(unix, not(target_os = "android"), not(target_vendor = "apple"))))]
pub(super) fn configure(
    builder: reqwest::ClientBuilder,
    config: &crate::config::Config,
) -> crate::Result<reqwest::ClientBuilder> {
    if config.extra_roots.is_empty() {
        return Ok(builder);
    }
    let mut certificates = Vec::with_capacity(config.extra_roots.len());
    for der in &config.extra_roots {
        certificates.push(reqwest::Certificate::from_der(der).map_err(|e| {
            crate::Error::invalid(format!("an extra root certificate is not usable: {e}"))
        })?);
    }
    Ok(builder.tls_certs_merge(certificates))
}

#[cfg(all(unix, not(target_os = "android"), not(target_vendor = "apple")))]
mod shared_roots {
    use std::sync::{Arc, OnceLock};

    use rustls::client::WebPkiServerVerifier;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

    use crate::config::Config;
    use crate::error::{Error, ErrorCode};

    /// The system's root certificates, read on first need and kept for the life of the process.
    static SYSTEM_ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();

    /// The system's root certificates: read from disk the first time (every certificate file of
    /// the system's store), shared after that. Unreadable files and certificates are skipped
    /// and logged, as rustls-platform-verifier does.
    fn system_roots() -> Arc<RootCertStore> {
        SYSTEM_ROOTS
            .get_or_init(|| {
                let loaded = rustls_native_certs::load_native_certs();
                let mut store = RootCertStore::empty();
                let (added, ignored) = store.add_parsable_certificates(loaded.certs);
                if ignored > 0 {
                    log::warn!(target: "dajisaas", "{ignored} system CA certificates were ignored as unparsable");
                }
                for error in loaded.errors {
                    log::warn!(target: "dajisaas", "could not load a system CA certificate: {error}");
                }
                log::debug!(target: "dajisaas", "loaded {added} system CA certificates (once per process)");
                Arc::new(store)
            })
            .clone()
    }

    /// The crypto provider reqwest would use: the process default if one was installed, else
    /// aws-lc-rs (the one this crate and reqwest are built with).
    fn provider() -> Arc<CryptoProvider> {
        CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
    }

    /// Gives reqwest a rustls configuration of ours: TLS 1.2 and 1.3, HTTP/1.1 by ALPN (as
    /// reqwest sets it without HTTP/2), and [`Verifier`]. An HTTPS client's verifier is built
    /// now, reading the system's roots if no client did before; a plain-HTTP client's only at its
    /// first handshake (an HTTPS proxy), so that it never reads them otherwise.
    pub(in crate::transport) fn configure(
        builder: reqwest::ClientBuilder,
        config: &Config,
    ) -> crate::Result<reqwest::ClientBuilder> {
        let provider = provider();
        let verifier = Verifier {
            provider: provider.clone(),
            extra_roots: config.extra_roots.clone(),
            webpki: OnceLock::new(),
        };
        let failed =
            |why: String| Error::new(ErrorCode::Internal, format!("could not set up TLS: {why}"));
        if config.base_url.scheme() == "https" {
            verifier.webpki().map_err(|e| failed(e.to_string()))?;
        }
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .map_err(|e| failed(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(builder.tls_backend_preconfigured(tls))
    }

    /// webpki's verifier over the system's roots and the client's extra ones, built on first
    /// use. Signatures are checked with the provider's algorithms, which need no roots.
    #[derive(Debug)]
    struct Verifier {
        provider: Arc<CryptoProvider>,
        extra_roots: Vec<CertificateDer<'static>>,
        webpki: OnceLock<Result<Arc<WebPkiServerVerifier>, rustls::Error>>,
    }

    impl Verifier {
        fn webpki(&self) -> Result<&Arc<WebPkiServerVerifier>, rustls::Error> {
            self.webpki
                .get_or_init(|| {
                    let system = system_roots();
                    // Without extra roots the shared store is used as it is, not copied.
                    let roots = if self.extra_roots.is_empty() {
                        system
                    } else {
                        let mut store = (*system).clone();
                        for der in &self.extra_roots {
                            store.add(der.clone())?;
                        }
                        Arc::new(store)
                    };
                    if roots.is_empty() {
                        return Err(rustls::Error::General(
                            "no CA certificates were loaded from the system (set SSL_CERT_FILE \
                             or SSL_CERT_DIR, or add root_certificates_pem)"
                                .into(),
                        ));
                    }
                    WebPkiServerVerifier::builder_with_provider(roots, self.provider.clone())
                        .build()
                        .map_err(|e| rustls::Error::General(e.to_string()))
                })
                .as_ref()
                .map_err(Clone::clone)
        }
    }

    impl ServerCertVerifier for Verifier {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp_response: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            self.webpki()?.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            )
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    }
}
