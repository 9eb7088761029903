// Rebuild when the embedded Python package changes (include_dir does not
// notice files that are added or removed).
fn main() {
    println!("cargo:rerun-if-changed=workload/gil_lab");
}
