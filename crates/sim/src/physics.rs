//! Pure formulas of DESIGN §5.
