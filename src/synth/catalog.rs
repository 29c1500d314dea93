//! The vocabulary of the synthetic archive: sites, scanners, procedures.
//! All names are invented; no real person appears.

pub struct Site {
    pub name: &'static str,
    pub code: &'static str,
    pub stations: &'static [&'static str],
}

pub const SITES: &[Site] = &[
    Site {
        name: "Northfield General Hospital",
        code: "NGH",
        stations: &["NGHCT01", "NGHMR01", "NGHXR02", "NGHUS01", "NGHMG01"],
    },
    Site {
        name: "Riverside Medical Center",
        code: "RMC",
        stations: &["RMC-CT-A", "RMC-MR-1", "RMC-DR-3", "RMC-US-2", "RMC-MAMMO"],
    },
    Site {
        name: "St. Aldric University Clinic",
        code: "SAU",
        stations: &["SAUCT2", "SAUMR3", "SAUCR1", "SAUUS4", "SAUMG2"],
    },
    Site {
        name: "Lakeview Imaging Institute",
        code: "LII",
        stations: &["LII_CT", "LII_MR", "LII_DX", "LII_US", "LII_MG"],
    },
];

pub struct Scanner {
    pub manufacturer: &'static str,
    pub model: &'static str,
}

pub struct Procedure {
    pub modality: &'static str,
    pub body_part: &'static str,
    pub study_description: &'static str,
    pub series: &'static [&'static str],
    /// Relative frequency.
    pub weight: f64,
    pub contrast: bool,
}

pub fn scanners(modality: &str) -> &'static [Scanner] {
    match modality {
        "CT" => &[
            Scanner {
                manufacturer: "GE MEDICAL SYSTEMS",
                model: "LightSpeed VCT",
            },
            Scanner {
                manufacturer: "GE MEDICAL SYSTEMS",
                model: "Revolution CT",
            },
            Scanner {
                manufacturer: "SIEMENS",
                model: "SOMATOM Definition AS",
            },
            Scanner {
                manufacturer: "SIEMENS",
                model: "SOMATOM Force",
            },
            Scanner {
                manufacturer: "Philips",
                model: "Brilliance 64",
            },
            Scanner {
                manufacturer: "CANON_MEC",
                model: "Aquilion ONE",
            },
        ],
        "MR" => &[
            Scanner {
                manufacturer: "SIEMENS",
                model: "MAGNETOM Skyra",
            },
            Scanner {
                manufacturer: "GE MEDICAL SYSTEMS",
                model: "SIGNA Premier",
            },
            Scanner {
                manufacturer: "Philips Medical Systems",
                model: "Ingenia",
            },
        ],
        "CR" => &[
            Scanner {
                manufacturer: "FUJIFILM Corporation",
                model: "FCR PROFECT",
            },
            Scanner {
                manufacturer: "Agfa",
                model: "CR 30-X",
            },
        ],
        "DX" => &[
            Scanner {
                manufacturer: "Carestream Health",
                model: "DRX-Evolution",
            },
            Scanner {
                manufacturer: "Agfa",
                model: "DX-D 600",
            },
            Scanner {
                manufacturer: "SIEMENS",
                model: "Ysio Max",
            },
        ],
        "US" => &[
            Scanner {
                manufacturer: "GE Healthcare",
                model: "LOGIQ E9",
            },
            Scanner {
                manufacturer: "Philips",
                model: "EPIQ 7",
            },
        ],
        _ => &[
            Scanner {
                manufacturer: "HOLOGIC, Inc.",
                model: "Selenia Dimensions",
            },
            Scanner {
                manufacturer: "GE MEDICAL SYSTEMS",
                model: "Senographe Pristina",
            },
        ],
    }
}

pub const PROCEDURES: &[Procedure] = &[
    Procedure {
        modality: "CT",
        body_part: "CHEST",
        study_description: "CT CHEST WITHOUT CONTRAST",
        series: &["AXIAL 1.25MM LUNG", "AXIAL 5MM SOFT TISSUE"],
        weight: 10.0,
        contrast: false,
    },
    Procedure {
        modality: "CT",
        body_part: "CHEST",
        study_description: "CT CHEST WITH CONTRAST",
        series: &["AXIAL 1MM LUNG", "AXIAL 3MM MEDIASTINUM", "CORONAL MPR"],
        weight: 6.0,
        contrast: true,
    },
    Procedure {
        modality: "CT",
        body_part: "CHEST",
        study_description: "LOW DOSE CT LUNG SCREENING",
        series: &["AXIAL 1MM LUNG"],
        weight: 5.0,
        contrast: false,
    },
    Procedure {
        modality: "CT",
        body_part: "ABDOMEN",
        study_description: "CT ABDOMEN PELVIS WITH CONTRAST",
        series: &["AXIAL 5MM PORTAL VENOUS", "CORONAL 3MM"],
        weight: 7.0,
        contrast: true,
    },
    Procedure {
        modality: "CT",
        body_part: "HEAD",
        study_description: "CT HEAD WITHOUT CONTRAST",
        series: &["AXIAL 5MM BRAIN", "AXIAL BONE"],
        weight: 6.0,
        contrast: false,
    },
    Procedure {
        modality: "MR",
        body_part: "BRAIN",
        study_description: "MRI BRAIN WITH AND WITHOUT CONTRAST",
        series: &["T1 AX", "T2 AX", "FLAIR AX", "T1 AX POST"],
        weight: 5.0,
        contrast: true,
    },
    Procedure {
        modality: "MR",
        body_part: "KNEE",
        study_description: "MRI KNEE WITHOUT CONTRAST",
        series: &["PD FS COR", "PD SAG", "T1 COR"],
        weight: 3.0,
        contrast: false,
    },
    Procedure {
        modality: "MR",
        body_part: "LSPINE",
        study_description: "MRI LUMBAR SPINE",
        series: &["T2 SAG", "T1 SAG", "T2 AX"],
        weight: 3.0,
        contrast: false,
    },
    Procedure {
        modality: "CR",
        body_part: "CHEST",
        study_description: "XR CHEST 2 VIEWS",
        series: &["PA", "LATERAL"],
        weight: 8.0,
        contrast: false,
    },
    Procedure {
        modality: "DX",
        body_part: "CHEST",
        study_description: "XR CHEST PA AND LATERAL",
        series: &["PA", "LAT"],
        weight: 10.0,
        contrast: false,
    },
    Procedure {
        modality: "DX",
        body_part: "KNEE",
        study_description: "XR KNEE 3 VIEWS",
        series: &["AP", "LATERAL", "SUNRISE"],
        weight: 3.0,
        contrast: false,
    },
    Procedure {
        modality: "US",
        body_part: "ABDOMEN",
        study_description: "US ABDOMEN COMPLETE",
        series: &["ABDOMEN"],
        weight: 5.0,
        contrast: false,
    },
    Procedure {
        modality: "US",
        body_part: "THYROID",
        study_description: "US THYROID",
        series: &["THYROID"],
        weight: 2.0,
        contrast: false,
    },
    Procedure {
        modality: "MG",
        body_part: "BREAST",
        study_description: "MAMMO SCREENING BILATERAL",
        series: &["L CC", "R CC", "L MLO", "R MLO"],
        weight: 6.0,
        contrast: false,
    },
];

pub const FAMILY_NAMES: &[&str] = &[
    "Ashworth",
    "Brennan",
    "Castellano",
    "Dunmore",
    "Eriksen",
    "Fairbanks",
    "Galloway",
    "Hollis",
    "Ibarra",
    "Jovanovic",
    "Kowalczyk",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okonkwo",
    "Pereira",
    "Quintero",
    "Rasmussen",
    "Sorensen",
    "Thibault",
    "Underwood",
    "Valcourt",
    "Whitlock",
    "Yilmaz",
    "Zimmer",
    "Müller",
    "Lefèvre",
    "Núñez",
    "Østergaard",
    "Çelik",
];
pub const GIVEN_NAMES_F: &[&str] = &[
    "Alice", "Beatrix", "Clara", "Dolores", "Elena", "Fiona", "Greta", "Hanna", "Ines", "Judith",
    "Katrin", "Lena", "Maren", "Nadia", "Olga", "Paula", "Renée", "Sofía",
];
pub const GIVEN_NAMES_M: &[&str] = &[
    "Anton", "Bruno", "Carlos", "Dmitri", "Emil", "Felix", "Gustav", "Henrik", "Ivo", "Jonas",
    "Karl", "Lukas", "Marek", "Nils", "Oskar", "Pavel", "Rémi", "Sven",
];
pub const REFERRERS: &[&str] = &[
    "Halvorsen^Ingrid",
    "Obi^Chinedu",
    "Marchetti^Luca",
    "Tanaka^Yumi",
    "Brandt^Ole",
];
