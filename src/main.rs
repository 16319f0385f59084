fn main() {
    // Sandbox hook (owned by src/sandbox/namespaces.rs): when started as the sandbox's trampoline, act as
    // it and never return; otherwise register this binary as the trampoline. Must come first.
    takehome::sandbox::namespaces::enter_or_enable();
    std::process::exit(takehome::main_with_args(std::env::args_os()));
}
