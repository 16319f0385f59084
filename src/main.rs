fn main() {
    std::process::exit(takehome::main_with_args(std::env::args_os()));
}
