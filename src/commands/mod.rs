//! One module per verb.

pub fn dispatch(args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    let _ = args.into_iter().count();
    crate::exit_codes::PASSED
}
