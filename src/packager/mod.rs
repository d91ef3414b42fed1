//! packager (being built).
