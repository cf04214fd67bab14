//! roots_prop
