//! A real PACS for the network tests: Orthanc (Debian packages `orthanc`,
//! `orthanc-dicomweb`) on loopback with its own configuration, free ports
//! and storage folder; stopped when dropped. In CI (`CI=true`) a missing
//! Orthanc fails the test instead of skipping it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Our calling AE title, registered on the PACS (C-FIND/C-GET are refused
/// to unknown AEs; C-MOVE needs its address).
pub const OUR_AE: &str = "PACSCOHORT";
pub const PACS_AE: &str = "ORTHANC";

const DICOMWEB_PLUGIN: &str = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";

pub struct Orthanc {
    child: Option<Child>,
    pub http_port: u16,
    pub dicom_port: u16,
    /// The port our Storage SCP would listen on (registered for C-MOVE).
    pub scp_port: u16,
    pub dir: tempfile::TempDir,
    agent: ureq::Agent,
}

/// Settings that differ between tests.
#[derive(Default)]
pub struct Config {
    /// Orthanc's `LimitFindResults` (0: none).
    pub limit_find_results: u32,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn binary() -> Option<PathBuf> {
    ["/usr/sbin/Orthanc", "/usr/bin/Orthanc"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

impl Orthanc {
    /// Starts Orthanc, or `None` (skip) when it is not installed outside CI.
    pub fn start(cfg: Config) -> Option<Orthanc> {
        let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let (Some(bin), true) = (binary(), Path::new(DICOMWEB_PLUGIN).is_file()) else {
            assert!(
                !in_ci,
                "Orthanc or its DICOMweb plugin is missing; .ci/run installs the Debian packages orthanc and orthanc-dicomweb"
            );
            eprintln!(
                "skipped: Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)"
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let (http_port, dicom_port, scp_port) = (free_port(), free_port(), free_port());
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).unwrap();
        let config = serde_json::json!({
            "Name": "pacs-cohort-test",
            "StorageDirectory": storage,
            "IndexDirectory": storage,
            "HttpPort": http_port,
            "DicomPort": dicom_port,
            "DicomAet": PACS_AE,
            "RemoteAccessAllowed": false,
            "AuthenticationEnabled": false,
            "DicomCheckCalledAet": true,
            "DicomModalities": { "pacscohort": [OUR_AE, "127.0.0.1", scp_port] },
            "Plugins": [DICOMWEB_PLUGIN],
            "DicomWeb": { "Enable": true, "Root": "/dicom-web/" },
            "LimitFindResults": cfg.limit_find_results,
            "StorageCompression": false,
            "OverwriteInstances": true,
            "ConcurrentJobs": 2,
            "HttpThreadsCount": 4
        });
        let cfg_path = dir.path().join("orthanc.json");
        std::fs::write(&cfg_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        let log = std::fs::File::create(dir.path().join("orthanc.log")).unwrap();
        let child = Command::new(bin)
            .arg(&cfg_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("Orthanc starts");
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build(),
        );
        let mut o = Orthanc {
            child: Some(child),
            http_port,
            dicom_port,
            scp_port,
            dir,
            agent,
        };
        o.wait_ready();
        Some(o)
    }

    /// Waits until the REST API answers (readiness, not a timing claim: a
    /// generous bound only so that a broken install fails instead of hanging).
    fn wait_ready(&mut self) {
        for _ in 0..600 {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    panic!("Orthanc exited at start ({status}): {}", self.log());
                }
            }
            if let Ok(r) = self.agent.get(&self.url("/system")).call() {
                if r.status() == 200 {
                    // The DICOM port opens with the REST one, but be sure.
                    if std::net::TcpStream::connect(("127.0.0.1", self.dicom_port)).is_ok() {
                        return;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("Orthanc did not become ready: {}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("orthanc.log")).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http_port)
    }

    pub fn dicomweb_url(&self) -> String {
        self.url("/dicom-web")
    }

    /// Uploads every file below `dir` (REST `POST /instances`); returns
    /// how many Orthanc stored.
    pub fn upload(&self, dir: &Path) -> u64 {
        let mut stored = 0;
        for f in crate::common::all_files(dir) {
            let bytes = std::fs::read(&f).unwrap();
            let r = self
                .agent
                .post(&self.url("/instances"))
                .send(&bytes[..])
                .unwrap();
            if r.status() == 200 {
                stored += 1;
            }
        }
        stored
    }

    /// Orthanc's own counts: (studies, series, instances).
    pub fn counts(&self) -> (u64, u64, u64) {
        let mut r = self.agent.get(&self.url("/statistics")).call().unwrap();
        let v: serde_json::Value =
            serde_json::from_slice(&r.body_mut().read_to_vec().unwrap()).unwrap();
        let n = |k: &str| v[k].as_u64().unwrap();
        (n("CountStudies"), n("CountSeries"), n("CountInstances"))
    }

    /// Stops the server now (a "stopped PACS" for failure tests).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Adds this server as a DIMSE node named `name` to a workspace.
    pub fn add_dimse_node(&self, db: &Path, name: &str, extra: &[&str]) {
        let port = self.dicom_port.to_string();
        let scp = self.scp_port.to_string();
        let mut args = vec![
            "pacs",
            "add",
            name,
            "--ae-title",
            PACS_AE,
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--calling-ae",
            OUR_AE,
            "--scp-port",
            &scp,
        ];
        args.extend_from_slice(extra);
        let out = crate::common::run(db, &args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Adds this server's DICOMweb root as a node named `name`.
    pub fn add_web_node(&self, db: &Path, name: &str) {
        let url = self.dicomweb_url();
        let out = crate::common::run(db, &["pacs", "add", name, "--url", &url]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Orthanc {
    fn drop(&mut self) {
        self.stop();
    }
}
