//! The thermal vocabulary (docs/physics.md, "Rooms and cooling"): a room's ASHRAE
//! class with its temperature limits, and the band a temperature is in. The
//! simulator raises the temperature events by these limits and the dashboard
//! colours rooms by them (served in `/api/schema`), so the numbers are written once.

use serde::{Deserialize, Serialize};

use crate::kind::Tone;

/// ASHRAE TC 9.9 (2021) recommended maximum inlet temperature, every class \[°C\].
pub const RECOMMENDED_MAX_C: f64 = 27.0;

/// What one class means.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClassSpec {
    /// In topology files: `A1` … `A4`.
    pub word: &'static str,
    /// Recommended maximum \[°C\] (27 for every class).
    pub recommended_max_c: f64,
    /// Allowable maximum \[°C\].
    pub allowable_max_c: f64,
}

macro_rules! classes {
    ($( $variant:ident = $word:literal, $allowable:literal; )*) => {
        /// An ASHRAE 2021 equipment class: how hot the inlet air may get.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum AshraeClass {
            $( #[serde(rename = $word)] $variant, )*
        }

        impl AshraeClass {
            /// Every class, from the strictest.
            pub const ALL: [AshraeClass; [$( AshraeClass::$variant ),*].len()] =
                [$( AshraeClass::$variant ),*];

            pub fn spec(self) -> ClassSpec {
                match self {
                    $( AshraeClass::$variant => ClassSpec {
                        word: $word,
                        recommended_max_c: RECOMMENDED_MAX_C,
                        allowable_max_c: $allowable,
                    }, )*
                }
            }
        }
    };
}

classes! {
    A1 = "A1", 32.0;
    A2 = "A2", 35.0;
    A3 = "A3", 40.0;
    A4 = "A4", 45.0;
}

impl AshraeClass {
    pub fn as_str(self) -> &'static str {
        self.spec().word
    }

    /// Parses a class word; `None` for an unknown one.
    pub fn parse(word: &str) -> Option<AshraeClass> {
        AshraeClass::ALL.into_iter().find(|c| c.as_str() == word)
    }

    /// The band temperature `c` is in.
    pub fn band(self, c: f64) -> Band {
        let spec = self.spec();
        if c > spec.allowable_max_c {
            Band::Critical
        } else if c > spec.recommended_max_c {
            Band::High
        } else {
            Band::Normal
        }
    }
}

/// Where a temperature is against its class's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// At or below the recommended maximum.
    Normal,
    /// Above the recommended maximum, at or below the allowable one.
    High,
    /// Above the allowable maximum.
    Critical,
}

/// A band as the schema describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BandSpec {
    pub word: Band,
    pub tone: Tone,
}

impl Band {
    /// Every band, from the coolest.
    pub const ALL: [Band; 3] = [Band::Normal, Band::High, Band::Critical];

    pub fn spec(self) -> BandSpec {
        BandSpec {
            word: self,
            tone: self.tone(),
        }
    }

    /// How the dashboard shows it.
    pub fn tone(self) -> Tone {
        match self {
            Band::Normal => Tone::Good,
            Band::High => Tone::Warn,
            Band::Critical => Tone::Bad,
        }
    }
}
