// Gives the shared library the ELF soname `veclite.so`, the name `make install` installs
// it under. ldconfig indexes only files whose names start with "lib" and keys its cache
// by soname, so the `libveclite.so -> veclite.so` link that `make install` adds makes
// the cache map `veclite.so` to the installed file: that is how dlopen("veclite.so"),
// i.e. `.load veclite`, finds it in /usr/local/lib, which is searched only through the
// cache. Loading the library by its path is unaffected.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" || os == "android" || os == "freebsd" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,veclite.so");
    }
}
