//! HTTPS for the sandbox: a throwaway CA, a certificate for 127.0.0.1 and localhost signed by
//! it, and a listener that completes the TLS handshake before handing connections to axum.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::serve::Listener;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// What a TLS sandbox needs: the CA to give clients and the server's configuration.
pub(crate) struct TlsMaterial {
    pub ca_pem: String,
    pub acceptor: TlsAcceptor,
}

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

pub(crate) fn generate() -> io::Result<TlsMaterial> {
    let ca_key = KeyPair::generate().map_err(other)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(other)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name
        .push(DnType::CommonName, "dajisaas sandbox CA");
    let ca_pem = ca.self_signed(&ca_key).map_err(other)?.pem();
    let issuer = Issuer::new(ca, ca_key);

    let leaf_key = KeyPair::generate().map_err(other)?;
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .map_err(other)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "dajisaas sandbox");
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(other)?;

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![leaf_cert.der().clone()], key)
        .map_err(other)?;
    Ok(TlsMaterial {
        ca_pem,
        acceptor: TlsAcceptor::from(Arc::new(config)),
    })
}

/// TCP connections that have completed a TLS handshake; failed handshakes (a client that does
/// not trust the CA) are dropped and the next connection is accepted.
pub(crate) struct TlsListener {
    pub tcp: TcpListener,
    pub acceptor: TlsAcceptor,
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
