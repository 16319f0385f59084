//! Running an external checker program (Kattis output-validator protocol) on a case's output.
