fn main() {
    // Confined runs may go through namespaces (see src/sandbox/namespaces.rs). Must come before any run.
    takehome::sandbox::namespaces::enable();
    std::process::exit(takehome::main_with_args(std::env::args_os()));
}
