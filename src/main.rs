fn main() {
    // Sandbox hooks, before anything else: serve as a benchmark repeater when started as one (and never
    // return); let confined runs go through namespaces (see src/sandbox/repeat.rs, namespaces.rs).
    takehome::sandbox::repeat::serve_or_enable();
    takehome::sandbox::namespaces::enable();
    std::process::exit(takehome::main_with_args(std::env::args_os()));
}
