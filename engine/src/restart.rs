//! Restart strategies. PLACEHOLDER: being written.
