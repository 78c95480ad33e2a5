//! Winter River reliability analysis.
