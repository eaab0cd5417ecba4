//! What a scenario says must happen.

/// The scenario's `[expect] outcome`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expectation {
    /// The job finishes and committed output equals the oracle's.
    ExactlyOnce,
    /// The job finishes and no input record is without output; duplicates
    /// (and the counts they shift) are allowed.
    AtLeastOnce,
    /// The job ends FAILED with a reason containing this text, and nothing
    /// is committed after the failure.
    JobFailed { reason: String },
}
