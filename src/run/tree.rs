//! Copying input trees into a working folder, keeping what matters for a test: symbolic links as
//! links, hard links as links, holes in sparse files, permissions.
