//! Our Storage SCP, the destination of C-MOVE: a listener thread that
//! accepts the PACS's associations and writes each C-STORE into the folder
//! of the series it belongs to, exactly as received (like C-GET). Only
//! images we asked for are kept: a C-STORE whose SOP Instance UID was not
//! announced with [`StorageScp::expect`] is refused, so nobody can fill the
//! cache by pushing to the port.

use super::assoc::{Association, Peer};
use super::dimse::{self, field, Dimse};
use super::get::{self, StoreFail};
use super::{NetError, Timeouts};
use dicom_ul::association::server::ServerAssociationOptions;
use dicom_ul::association::Association as _;
use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Where each expected image goes (SOP Instance UID -> series folder).
type Routes = Arc<Mutex<HashMap<String, PathBuf>>>;

/// A running Storage SCP; stops when dropped.
pub struct StorageScp {
    port: u16,
    routes: Routes,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StorageScp {
    /// Listens on `port` (all interfaces: the PACS is usually another
    /// machine) as `ae_title`.
    pub fn start(port: u16, ae_title: &str, timeouts: Timeouts) -> Result<StorageScp, NetError> {
        let listener = TcpListener::bind(("0.0.0.0", port)).map_err(|e| NetError::ScpPort {
            port,
            detail: e.to_string(),
        })?;
        listener
            .set_nonblocking(true)
            .map_err(|e| NetError::ScpPort {
                port,
                detail: e.to_string(),
            })?;
        let routes: Routes = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (routes, stop, ae) = (routes.clone(), stop.clone(), ae_title.to_string());
            std::thread::Builder::new()
                .name("storage-scp".into())
                .spawn(move || accept_loop(listener, &ae, timeouts, &routes, &stop))
                .map_err(|e| NetError::ScpPort {
                    port,
                    detail: e.to_string(),
                })?
        };
        Ok(StorageScp {
            port,
            routes,
            stop,
            thread: Some(thread),
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Announces images to accept, each into `dest` (an existing folder).
    pub fn expect(&self, sops: &[String], dest: &Path) {
        let mut r = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        for s in sops {
            r.insert(s.clone(), dest.to_path_buf());
        }
    }

    /// Stops accepting these images (their C-MOVE is over).
    pub fn forget(&self, sops: &[String]) {
        let mut r = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        for s in sops {
            r.remove(s);
        }
    }
}

impl Drop for StorageScp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    ae: &str,
    timeouts: Timeouts,
    routes: &Routes,
    stop: &AtomicBool,
) {
    std::thread::scope(|scope| {
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((stream, _)) => {
                    let _ = std::thread::Builder::new()
                        .name("storage-scp-assoc".into())
                        .spawn_scoped(scope, move || serve(stream, ae, timeouts, routes));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    });
}

/// One association from the PACS: C-STOREs (and C-ECHOs) until it releases.
fn serve(stream: TcpStream, ae: &str, timeouts: Timeouts, routes: &Routes) {
    let remote = stream
        .peer_addr()
        .map(|a| (a.ip().to_string(), a.port()))
        .unwrap_or_default();
    if stream.set_nonblocking(false).is_err() {
        return;
    }
    let _ = stream.set_nodelay(true);
    let mut opts = ServerAssociationOptions::new()
        .accept_called_ae_title()
        .ae_title(ae)
        .promiscuous(true)
        .max_pdu_length(super::assoc::MAX_PDU)
        .read_timeout(timeouts.read)
        .write_timeout(timeouts.read)
        .with_abstract_syntax(dimse::VERIFICATION);
    for ts in get::IMAGE_TS {
        opts = opts.with_transfer_syntax(*ts);
    }
    let Ok(assoc) = opts.establish(stream) else {
        return;
    };
    let peer = Peer {
        host: remote.0,
        port: remote.1,
        called_ae: assoc.peer_ae_title().to_string(),
        calling_ae: ae.to_string(),
        timeouts,
    };
    let mut d = Dimse::new(Association::Server(assoc), peer);
    loop {
        let cmd = match d.read_command() {
            Ok(c) => c,
            Err(_) if d.was_released() => return,
            Err(_) => {
                d.abort();
                return;
            }
        };
        let sent = match cmd.field() {
            field::C_ECHO_RQ => d.send(
                cmd.pc_id,
                dimse::response(&cmd, field::C_ECHO_RSP, 0x0000),
                None,
            ),
            field::C_STORE_RQ => {
                let inst = cmd
                    .text(dicom_dictionary_std::tags::AFFECTED_SOP_INSTANCE_UID)
                    .unwrap_or_default();
                let dest = routes
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&inst)
                    .cloned();
                let status = match dest {
                    // Not asked for: refused (not authorised).
                    None => match drain(&mut d, &cmd) {
                        Ok(()) => 0x0124,
                        Err(_) => break,
                    },
                    Some(dest) => match get::store_one(&mut d, &cmd, &dest) {
                        Ok(_) => 0x0000,
                        Err(StoreFail::Refused) => 0xA700,
                        Err(StoreFail::Net(_)) => break,
                    },
                };
                d.send(cmd.pc_id, dimse::store_response(&cmd, status), None)
            }
            _ => break,
        };
        if sent.is_err() {
            break;
        }
    }
    d.abort();
}

fn drain(d: &mut Dimse, cmd: &dimse::Command) -> Result<(), NetError> {
    if cmd.has_data() {
        d.read_data(cmd.pc_id, &mut std::io::sink())?;
    }
    Ok(())
}
