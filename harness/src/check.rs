//! Checkers. PLACEHOLDER: being written.
