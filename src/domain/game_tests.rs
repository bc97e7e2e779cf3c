//! Unit tests of the phase machine and answer judging (being written).
