//! quizload: the load generator (being written).
fn main() {}
