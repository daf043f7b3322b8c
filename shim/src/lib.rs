pub fn shim_main() {}
